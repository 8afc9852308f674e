//! `#[outgoing_pools(file = "pools.toml")]`: the only I/O the macro does.

use std::path::{Path, PathBuf};

use proc_macro2::Span;

/// A declaration file that was read.
pub(crate) struct FileText {
    /// The text, for `pool_spec::parse_toml`.
    pub text: String,
    /// Where it was read from, for `include_str!` (so cargo rebuilds when it changes).
    pub path: PathBuf,
}

/// Reads `written` (as the user wrote it) relative to `CARGO_MANIFEST_DIR`; errors point at
/// `span`, the `file = "..."` literal.
pub(crate) fn read(written: &str, span: Span) -> Result<FileText, syn::Error> {
    let relative = Path::new(written);
    if relative.is_absolute() || relative.has_root() {
        return Err(syn::Error::new(
            span,
            format!(
                "absolute path `{written}` only works on this machine; give a path relative to the crate's `Cargo.toml` directory (`CARGO_MANIFEST_DIR`)"
            ),
        ));
    }
    let Some(dir) = manifest_dir() else {
        return Err(syn::Error::new(
            span,
            "`CARGO_MANIFEST_DIR` is not set: `file = \"...\"` is relative to it, so build with cargo",
        ));
    };
    let path = dir.join(relative);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(FileText { text, path }),
        Err(error) => Err(syn::Error::new(
            span,
            format!(
                "cannot read `{written}` (relative to the crate's `Cargo.toml` directory): {error}"
            ),
        )),
    }
}

/// The one place the macro reads its environment.
fn manifest_dir() -> Option<PathBuf> {
    std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from)
}
