//! The attribute form: the tokens inside `#[outgoing_pools(...)]`.
//!
//! Items are split on top-level commas and read one by one, so a malformed item is reported
//! and the next one is still read: every error shows up in one compile.

use proc_macro2::{Delimiter, Group, Ident, Literal, Span, TokenStream, TokenTree};

use crate::check;
use crate::error::{Ctxt, Loc, Spanned};
use crate::model::{Declaration, Origin, PoolType};
use crate::names;
use crate::raw::{self, Form, PoolInput, RawEntry, RawItem, RawValue};

const TOP_LABEL: &str = "`outgoing_pools`";
const EXPECTED_ITEM: &str = "expected `hosts = [...]`, `crate = path`, `file = \"...\"` or a pool entry such as `redis(...)`";
const EXPECTED_ENTRY: &str = "expected `key = value` or `name(...)`";
const EXPECTED_ENV: &str = "expected `env(\"NAME\")` or `env(\"NAME\", default = \"...\")`";

pub(crate) fn parse(cx: &Ctxt, tokens: TokenStream) -> Declaration {
    let mut decl = Declaration::default();
    let mut seen: Vec<&'static str> = Vec::new();
    for item in split_commas(cx, tokens) {
        let (ident, rest) = match item.split_first() {
            Some((TokenTree::Ident(ident), rest)) => (ident, rest),
            Some((other, _)) => {
                cx.error(&Loc::Span(other.span()), EXPECTED_ITEM);
                continue;
            }
            None => continue,
        };
        let name = ident.to_string();
        let key_loc = Loc::Span(ident.span());
        match (PoolType::from_name(&name), rest) {
            (Some(pool_type), [TokenTree::Group(group)])
                if group.delimiter() == Delimiter::Parenthesis =>
            {
                let entries = parse_entries(cx, group.stream());
                read_pool(cx, &mut decl, pool_type, key_loc, &entries);
            }
            (Some(pool_type), []) => read_pool(cx, &mut decl, pool_type, key_loc, &[]),
            (Some(pool_type), _) => cx.error(
                &key_loc,
                format!("expected `{pool_type}(...)`, a pool entry"),
            ),
            (None, [TokenTree::Punct(eq), value @ ..]) if eq.as_char() == '=' => {
                let key = match name.as_str() {
                    names::HOSTS => names::HOSTS,
                    names::HOST_TYPES => names::HOST_TYPES,
                    names::CRATE => names::CRATE,
                    names::FILE => names::FILE,
                    _ => {
                        check::unknown_top_level_key(cx, &name, &key_loc);
                        continue;
                    }
                };
                if seen.contains(&key) {
                    check::duplicate_key(cx, key, &key_loc, TOP_LABEL);
                    continue;
                }
                seen.push(key);
                read_top_key(cx, &mut decl, key, &key_loc, eq.span(), value);
            }
            (None, [TokenTree::Group(group)]) if group.delimiter() == Delimiter::Parenthesis => {
                if [names::HOSTS, names::HOST_TYPES, names::CRATE, names::FILE]
                    .contains(&name.as_str())
                {
                    cx.error(&key_loc, format!("expected `{name} = ...`"));
                } else {
                    check::unknown_pool_type(cx, &name, &key_loc);
                }
            }
            (None, _) => check::unknown_top_level_key(cx, &name, &key_loc),
        }
    }
    if let Some(file) = &decl.file
        && (!decl.pools.is_empty() || decl.hosts_loc.is_some())
    {
        check::file_with_entries(cx, &file.loc);
    }
    decl
}

fn read_pool(
    cx: &Ctxt,
    decl: &mut Declaration,
    pool_type: PoolType,
    loc: Loc,
    entries: &[RawEntry],
) {
    let pool = raw::interpret_pool(
        cx,
        PoolInput {
            pool_type,
            loc,
            origin: Origin::Attr,
            form: Form::Attr,
            entries,
            tag: None,
            host_config: None,
        },
    );
    decl.pools.push(pool);
}

fn read_top_key(
    cx: &Ctxt,
    decl: &mut Declaration,
    key: &'static str,
    key_loc: &Loc,
    eq_span: Span,
    tokens: &[TokenTree],
) {
    match key {
        names::CRATE => {
            let loc = tokens
                .first()
                .map_or(Loc::Span(eq_span), |t| Loc::Span(t.span()));
            let parsed = match tokens {
                [TokenTree::Literal(lit)] => match syn::Lit::new(lit.clone()) {
                    syn::Lit::Str(s) => syn::parse_str::<syn::Path>(&s.value()).ok(),
                    _ => None,
                },
                _ => syn::parse2::<syn::Path>(tokens.iter().cloned().collect()).ok(),
            };
            match parsed {
                Some(path) => decl.krate = Some(path),
                None => cx.error(
                    &loc,
                    "expected a path for `crate`, such as `crate = ::outgoing_pools`",
                ),
            }
        }
        names::FILE => {
            let (value, loc) = parse_value(cx, key, eq_span, tokens);
            match value {
                RawValue::Str(path) if !path.is_empty() => {
                    decl.file = Some(Spanned::new(path, loc))
                }
                RawValue::Invalid => {}
                other => check::wrong_type(
                    cx,
                    key,
                    "a non-empty path string",
                    &other.found(Form::Attr, key),
                    &loc,
                ),
            }
        }
        // `hosts` and `host_types`: both name what `scope = host` pools are made for.
        _ => {
            decl.hosts_loc.get_or_insert_with(|| key_loc.clone());
            let (value, loc) = parse_value(cx, key, eq_span, tokens);
            match value {
                RawValue::List(items) => {
                    for RawItem { value, loc } in items {
                        match value {
                            RawValue::Str(host) => {
                                if key == names::HOST_TYPES {
                                    decl.host_types.push(host.clone());
                                }
                                decl.hosts.push(Spanned::new(host, loc))
                            }
                            RawValue::Invalid => {}
                            other => check::wrong_type(
                                cx,
                                key,
                                "a list of host strings",
                                &format!("{} in the list", other.found(Form::Attr, key)),
                                &loc,
                            ),
                        }
                    }
                }
                RawValue::Invalid => {}
                other => check::wrong_type(
                    cx,
                    key,
                    "a list of host strings such as `[\"a.com\"]`",
                    &other.found(Form::Attr, key),
                    &loc,
                ),
            }
        }
    }
}

/// Splits on top-level commas; an empty item between two commas is an error.
fn split_commas(cx: &Ctxt, tokens: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut items = Vec::new();
    let mut current = Vec::new();
    for token in tokens {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => {
                if current.is_empty() {
                    cx.error(&Loc::Span(p.span()), "unexpected `,`");
                } else {
                    items.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(token),
        }
    }
    if !current.is_empty() {
        items.push(current);
    }
    items
}

/// The entries inside `name(...)`.
fn parse_entries(cx: &Ctxt, tokens: TokenStream) -> Vec<RawEntry> {
    let mut entries = Vec::new();
    for item in split_commas(cx, tokens) {
        let (ident, rest) = match item.split_first() {
            Some((TokenTree::Ident(ident), rest)) => (ident, rest),
            Some((other, _)) => {
                cx.error(&Loc::Span(other.span()), EXPECTED_ENTRY);
                continue;
            }
            None => continue,
        };
        let key = ident.to_string();
        let key_loc = Loc::Span(ident.span());
        let (value, value_loc) = match rest {
            [] => (RawValue::Bare, key_loc.clone()),
            [TokenTree::Group(group)] if group.delimiter() == Delimiter::Parenthesis => (
                RawValue::Table(parse_entries(cx, group.stream())),
                Loc::Span(group.span()),
            ),
            [TokenTree::Punct(eq), value @ ..] if eq.as_char() == '=' => {
                parse_value(cx, &key, eq.span(), value)
            }
            [other, ..] => {
                cx.error(&Loc::Span(other.span()), EXPECTED_ENTRY);
                (RawValue::Invalid, key_loc.clone())
            }
        };
        entries.push(RawEntry {
            key,
            key_loc,
            value,
            value_loc,
        });
    }
    entries
}

/// The value after `key =`.
fn parse_value(cx: &Ctxt, key: &str, eq_span: Span, tokens: &[TokenTree]) -> (RawValue, Loc) {
    let Some(first) = tokens.first() else {
        cx.error(&Loc::Span(eq_span), format!("missing value for `{key}`"));
        return (RawValue::Invalid, Loc::Span(eq_span));
    };
    let loc = Loc::Span(first.span());
    let (value, used) = match tokens {
        [TokenTree::Punct(minus), TokenTree::Literal(lit), ..] if minus.as_char() == '-' => {
            match literal(lit) {
                Ok(RawValue::Int(i)) => (RawValue::Int(-i), 2),
                Ok(_) | Err(_) => (RawValue::Other(format!("`-{lit}`")), 2),
            }
        }
        [TokenTree::Literal(lit), ..] => match literal(lit) {
            Ok(value) => (value, 1),
            Err(message) => {
                cx.error(&loc, message);
                (RawValue::Invalid, 1)
            }
        },
        [TokenTree::Ident(ident), TokenTree::Group(group), ..]
            if ident == names::ENV && group.delimiter() == Delimiter::Parenthesis =>
        {
            (env(cx, ident, group), 2)
        }
        [TokenTree::Ident(ident), ..] => (ident_value(ident), 1),
        [TokenTree::Group(group), ..] => match group.delimiter() {
            Delimiter::Bracket => (list(cx, key, group), 1),
            Delimiter::Brace | Delimiter::Parenthesis => {
                (RawValue::Table(parse_entries(cx, group.stream())), 1)
            }
            Delimiter::None => (RawValue::Other("an invisible group".into()), 1),
        },
        [TokenTree::Punct(p), ..] if p.as_char() == ':' => (RawValue::Other("a path".into()), 1),
        [TokenTree::Punct(p), ..] => {
            cx.error(&loc, format!("expected a value for `{key}`, found `{p}`"));
            (RawValue::Invalid, tokens.len())
        }
        [] => (RawValue::Invalid, 0),
    };
    if let Some(extra) = tokens.get(used) {
        if !matches!(value, RawValue::Invalid) {
            cx.error(
                &Loc::Span(extra.span()),
                format!(
                    "unexpected `{extra}` after the value of `{key}`; separate entries with `,`"
                ),
            );
        }
        return (RawValue::Invalid, loc);
    }
    (value, loc)
}

fn ident_value(ident: &Ident) -> RawValue {
    let word = ident.to_string();
    match word.as_str() {
        names::TRUE => RawValue::Bool(true),
        names::FALSE => RawValue::Bool(false),
        _ => RawValue::Ident(word),
    }
}

fn literal(lit: &Literal) -> Result<RawValue, String> {
    Ok(match syn::Lit::new(lit.clone()) {
        syn::Lit::Str(s) => RawValue::Str(s.value()),
        syn::Lit::Int(i) => {
            if !i.suffix().is_empty() {
                return Err(format!(
                    "unexpected suffix `{}` on `{lit}`; write a plain integer",
                    i.suffix()
                ));
            }
            match i.base10_parse::<i128>() {
                Ok(n) => RawValue::Int(n),
                Err(_) => return Err(format!("integer `{lit}` is too large")),
            }
        }
        syn::Lit::Float(_) => RawValue::Other(format!("a float `{lit}`")),
        syn::Lit::Bool(b) => RawValue::Bool(b.value),
        _ => RawValue::Other(format!("`{lit}`")),
    })
}

fn list(cx: &Ctxt, key: &str, group: &Group) -> RawValue {
    let mut items = Vec::new();
    for item in split_commas(cx, group.stream()) {
        let span = item.first().map_or(group.span(), TokenTree::span);
        let (value, loc) = parse_value(cx, key, span, &item);
        items.push(RawItem { value, loc });
    }
    RawValue::List(items)
}

/// `env("NAME")` or `env("NAME", default = "...")`.
fn env(cx: &Ctxt, ident: &Ident, group: &Group) -> RawValue {
    let items = split_commas(cx, group.stream());
    let name = match items.first().map(Vec::as_slice) {
        Some([TokenTree::Literal(lit)]) => match literal(lit) {
            Ok(RawValue::Str(name)) => Spanned::new(name, lit.span()),
            _ => {
                cx.error(&Loc::Span(lit.span()), EXPECTED_ENV);
                return RawValue::Invalid;
            }
        },
        Some([first, ..]) => {
            cx.error(&Loc::Span(first.span()), EXPECTED_ENV);
            return RawValue::Invalid;
        }
        _ => {
            cx.error(&Loc::Span(ident.span()), EXPECTED_ENV);
            return RawValue::Invalid;
        }
    };
    let default = match items.get(1).map(Vec::as_slice) {
        None => None,
        Some([TokenTree::Ident(key), TokenTree::Punct(eq), value @ ..])
            if key == names::ENV_DEFAULT && eq.as_char() == '=' =>
        {
            let (value, loc) = parse_value(cx, names::ENV_DEFAULT, eq.span(), value);
            match value {
                RawValue::Str(s) | RawValue::Ident(s) => Some(Spanned::new(s, loc)),
                RawValue::Int(i) => Some(Spanned::new(i.to_string(), loc)),
                RawValue::Bool(b) => Some(Spanned::new(b.to_string(), loc)),
                RawValue::Invalid => return RawValue::Invalid,
                _ => {
                    cx.error(&loc, "expected a string for the `default` of `env(...)`");
                    return RawValue::Invalid;
                }
            }
        }
        Some([first, ..]) => {
            cx.error(&Loc::Span(first.span()), EXPECTED_ENV);
            return RawValue::Invalid;
        }
        Some([]) => None,
    };
    if let Some(extra) = items.get(2).and_then(|i| i.first()) {
        cx.error(&Loc::Span(extra.span()), EXPECTED_ENV);
        return RawValue::Invalid;
    }
    RawValue::Env { name, default }
}
