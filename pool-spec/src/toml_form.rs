//! The file form: a MongooseIM-style TOML file.
//!
//! ```toml
//! [general]
//! hosts = ["a.com", "b.com"]
//! host_types = ["type1"]      # MongooseIM 6's host types, served like hosts
//!
//! [outgoing_pools.redis.default]
//! scope = "host"
//! connection.host = "10.0.0.2"
//!
//! [[host_config]]
//! host = "a.com"
//! [host_config.outgoing_pools.redis.default]
//! connection.host = "10.0.0.1"
//! ```

use std::ops::Range;
use std::sync::Arc;

use toml::Spanned as TomlSpanned;
use toml::de::{DeTable, DeValue};

use crate::check;
use crate::error::{Ctxt, Error, FileLoc, Loc, Spanned};
use crate::model::{Declaration, Origin, PoolType};
use crate::names;
use crate::raw::{self, Form, PoolInput, RawEntry, RawItem, RawValue};

/// Turns byte offsets into `file:line:col`.
struct Source<'a> {
    file: Arc<str>,
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    fn new(text: &'a str, file: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            file: Arc::from(file),
            text,
            line_starts,
        }
    }

    fn loc(&self, range: Range<usize>) -> Loc {
        let start = range.start.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= start);
        let line_start = self.line_starts[line - 1];
        let column = self
            .text
            .get(line_start..start)
            .map_or(1, |s| s.chars().count() + 1);
        Loc::File(FileLoc {
            file: self.file.clone(),
            line,
            column,
            range,
        })
    }
}

/// Reads the file; the flag says whether it was valid TOML.
///
/// Invalid TOML is reported as such (every syntax error, each at `file:line:col`), and what
/// the parser could recover still gives the declaration's pools, so the macro's stub
/// expansion keeps their accessors; nothing else is reported about it, since whatever else
/// looks wrong there follows from the syntax errors.
pub(crate) fn parse(cx: &Ctxt, text: &str, file_name: &str) -> (Declaration, bool) {
    let source = Source::new(text, file_name);
    let (root, syntax) = DeTable::parse_recoverable(text);
    if syntax.is_empty() {
        let entries = table_entries(cx, &source, root.get_ref());
        return (read_root(cx, &entries), true);
    }
    // The parser recovers within a line by guessing, which can add errors about the rest of
    // that line: its first one says what is wrong.
    let mut last_line = None;
    for error in syntax {
        let loc = source.loc(error.span().unwrap_or(0..0));
        let line = match &loc {
            Loc::File(place) => Some(place.line),
            Loc::Span(_) => None,
        };
        if line.is_some() && line == last_line {
            continue;
        }
        last_line = line;
        cx.push(Error::new(
            loc,
            format!("invalid TOML: {}", error.message().trim_end()),
        ));
    }
    let quiet = Ctxt::new();
    let entries = table_entries(&quiet, &source, root.get_ref());
    let decl = read_root(&quiet, &entries);
    drop(quiet.take());
    (decl, false)
}

fn read_root(cx: &Ctxt, entries: &[RawEntry]) -> Declaration {
    let mut decl = Declaration::default();
    let mut lists = Vec::new();
    for entry in entries {
        match entry.key.as_str() {
            names::GENERAL => match &entry.value {
                RawValue::Table(general) => {
                    for key in general.iter().filter(|e| is_host_list(&e.key)) {
                        read_hosts(cx, &mut decl, &mut lists, key);
                    }
                }
                other => expected_table(cx, entry, other),
            },
            names::HOSTS | names::HOST_TYPES => read_hosts(cx, &mut decl, &mut lists, entry),
            names::OUTGOING_POOLS => {
                read_outgoing_pools(cx, &mut decl, entry, names::OUTGOING_POOLS, None);
            }
            names::HOST_CONFIG => match &entry.value {
                RawValue::List(items) => {
                    for item in items {
                        read_host_config(cx, &mut decl, item);
                    }
                }
                other => check::wrong_type(
                    cx,
                    names::HOST_CONFIG,
                    "an array of tables `[[host_config]]`",
                    &other.found(Form::Toml, names::HOST_CONFIG),
                    &entry.value_loc,
                ),
            },
            key if names::FOREIGN_SECTIONS.contains(&key) => {}
            key => check::unknown_toml_key(cx, key, &entry.key_loc),
        }
    }
    decl
}

fn expected_table(cx: &Ctxt, entry: &RawEntry, found: &RawValue) {
    check::wrong_type(
        cx,
        &entry.key,
        "a table",
        &found.found(Form::Toml, &entry.key),
        &entry.value_loc,
    );
}

/// `hosts` and MongooseIM 6's `host_types`: both name what `scope = "host_type"` pools are
/// made for, and what `[[host_config]]` sections belong to.
fn is_host_list(key: &str) -> bool {
    key == names::HOSTS || key == names::HOST_TYPES
}

fn read_hosts(cx: &Ctxt, decl: &mut Declaration, lists: &mut Vec<String>, entry: &RawEntry) {
    if lists.contains(&entry.key) {
        check::duplicate_key(cx, &entry.key, &entry.key_loc, "the file");
        return;
    }
    lists.push(entry.key.clone());
    decl.hosts_loc.get_or_insert_with(|| entry.key_loc.clone());
    match &entry.value {
        RawValue::List(items) => {
            for item in items {
                match &item.value {
                    RawValue::Str(host) => {
                        if entry.key == names::HOST_TYPES {
                            decl.host_types.push(host.clone());
                        }
                        decl.hosts
                            .push(Spanned::new(host.clone(), item.loc.clone()));
                    }
                    RawValue::Invalid => {}
                    other => check::wrong_type(
                        cx,
                        &entry.key,
                        "a list of host strings",
                        &format!("{} in the list", other.found(Form::Toml, &entry.key)),
                        &item.loc,
                    ),
                }
            }
        }
        RawValue::Invalid => {}
        other => check::wrong_type(
            cx,
            &entry.key,
            "a list of host strings such as `[\"a.com\"]`",
            &other.found(Form::Toml, &entry.key),
            &entry.value_loc,
        ),
    }
}

/// `[outgoing_pools.TYPE.TAG]` sections, under the root or under a `[[host_config]]` item.
fn read_outgoing_pools(
    cx: &Ctxt,
    decl: &mut Declaration,
    entry: &RawEntry,
    path: &str,
    host: Option<&Spanned<String>>,
) {
    let RawValue::Table(types) = &entry.value else {
        expected_table(cx, entry, &entry.value);
        return;
    };
    for type_entry in types {
        let Some(pool_type) = PoolType::from_name(&type_entry.key) else {
            check::unknown_pool_type(cx, &type_entry.key, &type_entry.key_loc);
            continue;
        };
        let RawValue::Table(tags) = &type_entry.value else {
            expected_table(cx, type_entry, &type_entry.value);
            continue;
        };
        for tag_entry in tags {
            let RawValue::Table(keys) = &tag_entry.value else {
                expected_table(cx, tag_entry, &tag_entry.value);
                continue;
            };
            if !check::tag_is_valid(cx, &tag_entry.key, &tag_entry.key_loc) {
                continue;
            }
            let pool = raw::interpret_pool(
                cx,
                PoolInput {
                    pool_type,
                    loc: tag_entry.key_loc.clone(),
                    origin: Origin::Toml {
                        section: format!("{path}.{pool_type}.{}", tag_entry.key),
                    },
                    form: Form::Toml,
                    entries: keys,
                    tag: Some(Spanned::new(
                        tag_entry.key.clone(),
                        tag_entry.key_loc.clone(),
                    )),
                    host_config: host.cloned(),
                },
            );
            decl.pools.push(pool);
        }
    }
}

/// One `[[host_config]]` item: `host = "a.com"` plus its `outgoing_pools`.
fn read_host_config(cx: &Ctxt, decl: &mut Declaration, item: &RawItem) {
    let RawValue::Table(entries) = &item.value else {
        check::wrong_type(
            cx,
            names::HOST_CONFIG,
            "a table",
            &item.value.found(Form::Toml, names::HOST_CONFIG),
            &item.loc,
        );
        return;
    };
    let host = entries
        .iter()
        .find(|e| e.key == names::HOST_KEY || e.key == names::HOST_TYPE);
    let host = match host.map(|e| (e, &e.value)) {
        Some((e, RawValue::Str(h))) => Spanned::new(h.clone(), e.value_loc.clone()),
        Some((e, other)) => {
            check::wrong_type(
                cx,
                &e.key,
                "a host string",
                &other.found(Form::Toml, &e.key),
                &e.value_loc,
            );
            return;
        }
        None => {
            cx.error(
                &item.loc,
                "missing required key `host` in `[[host_config]]`",
            );
            return;
        }
    };
    let path = format!("{}.{}", names::HOST_CONFIG, names::OUTGOING_POOLS);
    for entry in entries.iter().filter(|e| e.key == names::OUTGOING_POOLS) {
        read_outgoing_pools(cx, decl, entry, &path, Some(&host));
    }
}

/// A table's entries in file order (the parser's map is sorted by key).
fn table_entries(cx: &Ctxt, source: &Source<'_>, table: &DeTable<'_>) -> Vec<RawEntry> {
    let mut entries: Vec<RawEntry> = table
        .iter()
        .map(|(key, value)| RawEntry {
            key: key.get_ref().to_string(),
            key_loc: source.loc(key.span()),
            value: raw_value(cx, source, value),
            value_loc: source.loc(value.span()),
        })
        .collect();
    entries.sort_by_key(|e| e.key_loc.offset());
    entries
}

fn raw_value(cx: &Ctxt, source: &Source<'_>, value: &TomlSpanned<DeValue<'_>>) -> RawValue {
    match value.get_ref() {
        DeValue::String(s) => RawValue::Str(s.to_string()),
        DeValue::Integer(i) => match i128::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => RawValue::Int(n),
            Err(_) => RawValue::Other(format!("an integer `{i}`")),
        },
        DeValue::Float(f) => RawValue::Other(format!("a float `{f}`")),
        DeValue::Boolean(b) => RawValue::Bool(*b),
        DeValue::Datetime(d) => RawValue::Other(format!("a datetime `{d}`")),
        DeValue::Array(items) => RawValue::List(
            items
                .iter()
                .map(|item| RawItem {
                    value: raw_value(cx, source, item),
                    loc: source.loc(item.span()),
                })
                .collect(),
        ),
        DeValue::Table(table) if table.contains_key(names::ENV) => env(cx, source, value, table),
        DeValue::Table(table) => RawValue::Table(table_entries(cx, source, table)),
    }
}

/// `{ env = "NAME" }` or `{ env = "NAME", default = "..." }`.
fn env(
    cx: &Ctxt,
    source: &Source<'_>,
    whole: &TomlSpanned<DeValue<'_>>,
    table: &DeTable<'_>,
) -> RawValue {
    const EXPECTED: &str =
        "expected `{ env = \"NAME\" }` or `{ env = \"NAME\", default = \"...\" }`";
    let mut name = None;
    let mut default = None;
    for (key, value) in table.iter() {
        let loc = source.loc(value.span());
        match (key.get_ref().as_ref(), value.get_ref()) {
            (names::ENV, DeValue::String(s)) => name = Some(Spanned::new(s.to_string(), loc)),
            (names::ENV_DEFAULT, DeValue::String(s)) => {
                default = Some(Spanned::new(s.to_string(), loc));
            }
            (names::ENV_DEFAULT, DeValue::Integer(i)) => {
                let text = i128::from_str_radix(i.as_str(), i.radix())
                    .map_or_else(|_| i.to_string(), |n| n.to_string());
                default = Some(Spanned::new(text, loc));
            }
            (names::ENV_DEFAULT, DeValue::Boolean(b)) => {
                default = Some(Spanned::new(b.to_string(), loc));
            }
            _ => {
                cx.error(&source.loc(key.span()), EXPECTED);
                return RawValue::Invalid;
            }
        }
    }
    match name {
        Some(name) => RawValue::Env { name, default },
        None => {
            cx.error(&source.loc(whole.span()), EXPECTED);
            RawValue::Invalid
        }
    }
}
