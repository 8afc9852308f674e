//! Locations, errors and the error accumulator shared by both input forms.

use std::cell::RefCell;
use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;

use proc_macro2::{Span, TokenStream};

/// A position in a TOML file, 1-based like compilers print it.
#[derive(Clone, PartialEq, Eq)]
pub struct FileLoc {
    /// The file name as given to [`parse_toml`](crate::parse_toml).
    pub file: Arc<str>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte range in the file text.
    pub range: Range<usize>,
}

impl fmt::Debug for FileLoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl fmt::Display for FileLoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Where a piece of a declaration came from: a token of the attribute or a place in a file.
///
/// Both forms feed the same validation code, which only ever hands a `Loc` back inside an
/// [`Error`].
#[derive(Clone)]
pub enum Loc {
    /// A token of `#[outgoing_pools(...)]`.
    Span(Span),
    /// A place in a TOML file.
    File(FileLoc),
}

impl Loc {
    /// The span to attach a compile error to; file locations fall back to the call site, the
    /// message then carries `file:line:col`.
    pub fn span(&self) -> Span {
        match self {
            Loc::Span(span) => *span,
            Loc::File(_) => Span::call_site(),
        }
    }

    /// The file location, if this came from a file.
    pub fn file(&self) -> Option<&FileLoc> {
        match self {
            Loc::Span(_) => None,
            Loc::File(file) => Some(file),
        }
    }

    /// Orders file locations by position; spans have no stable order, so they compare equal.
    pub(crate) fn offset(&self) -> usize {
        match self {
            Loc::Span(_) => 0,
            Loc::File(file) => file.range.start,
        }
    }
}

impl fmt::Debug for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Span's own Debug prints byte offsets that change with every edit of the test file.
            Loc::Span(_) => f.write_str("span"),
            Loc::File(file) => fmt::Debug::fmt(file, f),
        }
    }
}

impl From<Span> for Loc {
    fn from(span: Span) -> Self {
        Loc::Span(span)
    }
}

/// A value together with where it was written.
#[derive(Clone)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub loc: Loc,
}

impl<T> Spanned<T> {
    /// Pairs a value with its location.
    pub fn new(value: T, loc: impl Into<Loc>) -> Self {
        Spanned {
            value,
            loc: loc.into(),
        }
    }
}

impl<T> Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.value, f)
    }
}

/// One diagnostic: a message and the narrowest location it applies to.
#[derive(Clone)]
pub struct Error {
    loc: Loc,
    message: String,
}

impl Error {
    /// Creates an error at `loc`.
    pub fn new(loc: impl Into<Loc>, message: impl Into<String>) -> Self {
        Error {
            loc: loc.into(),
            message: message.into(),
        }
    }

    /// The message, without any location prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where the error points.
    pub fn loc(&self) -> &Loc {
        &self.loc
    }

    /// A `syn::Error` on the offending token; errors from a file carry `file:line:col` in the
    /// message and point at `file_span` (typically the `file = "..."` literal).
    pub fn to_syn_error_at(&self, file_span: Span) -> syn::Error {
        match &self.loc {
            Loc::Span(span) => syn::Error::new(*span, &self.message),
            Loc::File(file) => syn::Error::new(file_span, format!("{file}: {}", self.message)),
        }
    }

    /// [`Error::to_syn_error_at`] with the call site for file errors.
    pub fn to_syn_error(&self) -> syn::Error {
        self.to_syn_error_at(Span::call_site())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.loc {
            Loc::Span(_) => f.write_str(&self.message),
            Loc::File(file) => write!(f, "{file}: {}", self.message),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({self})")
    }
}

impl std::error::Error for Error {}

/// Every error found in a declaration, in the order they were found.
#[derive(Clone, Debug, Default)]
pub struct Errors(Vec<Error>);

impl Errors {
    /// The errors, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Error> {
        self.0.iter()
    }

    /// How many errors there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no error.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages without locations, handy in tests.
    pub fn messages(&self) -> Vec<String> {
        self.0.iter().map(|e| e.message.clone()).collect()
    }

    /// One combined `syn::Error` (so rustc shows them all); file errors point at `file_span`.
    ///
    /// # Panics
    ///
    /// Never for a non-empty `Errors`; an empty one yields a generic error.
    pub fn to_syn_error_at(&self, file_span: Span) -> syn::Error {
        let mut iter = self.0.iter();
        let Some(first) = iter.next() else {
            return syn::Error::new(file_span, "invalid `outgoing_pools` declaration");
        };
        let mut combined = first.to_syn_error_at(file_span);
        for error in iter {
            combined.combine(error.to_syn_error_at(file_span));
        }
        combined
    }

    /// [`Errors::to_syn_error_at`] with the call site for file errors.
    pub fn to_syn_error(&self) -> syn::Error {
        self.to_syn_error_at(Span::call_site())
    }

    /// `compile_error!` invocations for every error.
    pub fn to_compile_error(&self) -> TokenStream {
        self.to_syn_error().to_compile_error()
    }
}

impl IntoIterator for Errors {
    type Item = Error;
    type IntoIter = std::vec::IntoIter<Error>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Errors {
    type Item = &'a Error;
    type IntoIter = std::slice::Iter<'a, Error>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            fmt::Display::fmt(error, f)?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}

/// The error accumulator threaded through parsing and checking (serde's `Ctxt`): it takes `&self`
/// so every helper can report and carry on, and it panics if dropped unchecked so no error is
/// ever silently lost.
pub(crate) struct Ctxt {
    errors: RefCell<Option<Vec<Error>>>,
}

impl Ctxt {
    pub(crate) fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    pub(crate) fn error(&self, loc: &Loc, message: impl Into<String>) {
        self.push(Error::new(loc.clone(), message));
    }

    pub(crate) fn push(&self, error: Error) {
        self.errors
            .borrow_mut()
            .as_mut()
            .expect("Ctxt used after check")
            .push(error);
    }

    pub(crate) fn error_count(&self) -> usize {
        self.errors.borrow().as_ref().map_or(0, Vec::len)
    }

    pub(crate) fn check(self) -> Result<(), Errors> {
        let errors = self.take();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Errors(errors))
        }
    }

    pub(crate) fn take(self) -> Vec<Error> {
        self.errors.borrow_mut().take().expect("Ctxt checked twice")
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("forgot to check for errors");
        }
    }
}

pub(crate) fn errors_from(errors: Vec<Error>) -> Errors {
    Errors(errors)
}
