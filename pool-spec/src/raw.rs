//! The form-neutral tree both front ends produce, and its interpretation into the model.
//!
//! Attribute tokens and TOML tables both become `RawEntry` lists; everything from here on (keys,
//! values, defaults, messages) is shared, so the two forms cannot drift apart.

use crate::check;
use crate::error::{Ctxt, Loc, Spanned};
use crate::model::{Origin, PoolDecl, PoolType, Scope, Server, Setting, TlsDecl, Value};
use crate::names;
use crate::options::{self, Kind, Level, OptionDesc};

/// Which front end produced a tree; it only changes how messages spell things.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Form {
    Attr,
    Toml,
}

pub(crate) struct RawEntry {
    pub key: String,
    pub key_loc: Loc,
    pub value: RawValue,
    pub value_loc: Loc,
}

pub(crate) struct RawItem {
    pub value: RawValue,
    pub loc: Loc,
}

pub(crate) enum RawValue {
    Int(i128),
    Str(String),
    Bool(bool),
    Ident(String),
    Env {
        name: Spanned<String>,
        default: Option<Spanned<String>>,
    },
    List(Vec<RawItem>),
    /// A section: `name(...)`, `{ ... }`, or a TOML table.
    Table(Vec<RawEntry>),
    /// A bare name in the attribute (`generic`, `tls`): an empty section where one is expected.
    Bare,
    /// Something no option takes, described for the message (`a float`).
    Other(String),
    /// Already reported; checks skip it silently.
    Invalid,
}

impl RawValue {
    /// How messages describe what was found.
    pub(crate) fn found(&self, form: Form, key: &str) -> String {
        match self {
            RawValue::Int(i) => format!("`{i}`"),
            RawValue::Str(s) => format!("{s:?}"),
            RawValue::Bool(b) => format!("`{b}`"),
            RawValue::Ident(s) => format!("`{s}`"),
            RawValue::Env { .. } => "`env(...)`".into(),
            RawValue::List(_) => "a list".into(),
            RawValue::Table(_) => match form {
                Form::Attr => format!("`{key}(...)`"),
                Form::Toml => "a table".into(),
            },
            RawValue::Bare => "no value".into(),
            RawValue::Other(what) => what.clone(),
            RawValue::Invalid => "an invalid value".into(),
        }
    }
}

/// How a section is written in each form, for "expected ..." messages.
pub(crate) fn section_syntax(form: Form, key: &str) -> String {
    match form {
        Form::Attr => format!("`{key}(...)`"),
        Form::Toml => "a table".into(),
    }
}

/// What a pool entry is, before its keys are read.
pub(crate) struct PoolInput<'a> {
    pub pool_type: PoolType,
    pub loc: Loc,
    pub origin: Origin,
    pub form: Form,
    pub entries: &'a [RawEntry],
    /// TOML: the tag is the section name.
    pub tag: Option<Spanned<String>>,
    /// TOML `[[host_config]]`: the host the section belongs to.
    pub host_config: Option<Spanned<String>>,
}

/// Tracks keys already written in one section, for the duplicate-key rule.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    /// Records `name`; false (and an error on `loc`) if it was already there.
    fn insert(&mut self, cx: &Ctxt, name: &str, written: &str, loc: &Loc, label: &str) -> bool {
        if self.0.iter().any(|n| n == name) {
            check::duplicate_key(cx, written, loc, label);
            false
        } else {
            self.0.push(name.to_owned());
            true
        }
    }
}

pub(crate) fn interpret_pool(cx: &Ctxt, input: PoolInput<'_>) -> PoolDecl {
    let PoolInput {
        pool_type,
        loc,
        origin,
        form,
        entries,
        tag,
        host_config,
    } = input;
    let mut pool = PoolDecl {
        pool_type,
        scope: Spanned::new(Scope::Global, loc.clone()),
        tag: tag.unwrap_or_else(|| Spanned::new(names::DEFAULT_TAG.to_owned(), loc.clone())),
        loc: loc.clone(),
        options: Vec::new(),
        connection_loc: None,
        connection: Vec::new(),
        tls: None,
        origin,
        poisoned: Vec::new(),
    };
    if let Some(host) = &host_config {
        pool.scope = Spanned::new(Scope::Literal(host.value.clone()), host.loc.clone());
    }
    let label = pool.label(Level::Pool);
    let mut seen = Seen::default();
    // TOML `scope = "single_host"` names its host in a sibling key.
    let mut single_host: Option<Loc> = None;
    let mut host_key: Option<&RawEntry> = None;

    for entry in entries {
        let key = entry.key.as_str();
        match key {
            names::CONNECTION => {
                if !seen.insert(cx, key, key, &entry.key_loc, &label) {
                    continue;
                }
                pool.connection_loc = Some(entry.key_loc.clone());
                match &entry.value {
                    RawValue::Table(inner) => interpret_connection(cx, form, &mut pool, inner),
                    RawValue::Bare => {}
                    RawValue::Invalid => {}
                    other => check::wrong_type(
                        cx,
                        key,
                        &section_syntax(form, key),
                        &other.found(form, key),
                        &entry.value_loc,
                    ),
                }
            }
            names::SCOPE if host_config.is_some() => {
                check::scope_in_host_config(cx, &entry.key_loc, host_config.as_ref());
            }
            names::SCOPE => {
                if !seen.insert(cx, key, key, &entry.key_loc, &label) {
                    continue;
                }
                match interpret_scope(cx, form, &entry.value, &entry.value_loc) {
                    ScopeRead::Scope(scope) => {
                        pool.scope = Spanned::new(scope, entry.value_loc.clone());
                    }
                    ScopeRead::SingleHost => single_host = Some(entry.value_loc.clone()),
                    ScopeRead::Invalid => {}
                }
            }
            names::TAG if form == Form::Toml => {
                check::tag_in_toml(cx, &entry.key_loc, &pool.tag.value);
            }
            names::TAG => {
                if !seen.insert(cx, key, key, &entry.key_loc, &label) {
                    continue;
                }
                let text = match &entry.value {
                    RawValue::Ident(s) | RawValue::Str(s) => s.clone(),
                    RawValue::Invalid => continue,
                    other => {
                        check::wrong_type(
                            cx,
                            key,
                            &Kind::Tag.expected(),
                            &other.found(form, key),
                            &entry.value_loc,
                        );
                        continue;
                    }
                };
                if check::tag_is_valid(cx, &text, &entry.value_loc) {
                    pool.tag = Spanned::new(text, entry.value_loc.clone());
                }
            }
            names::HOST_KEY if form == Form::Toml && host_config.is_none() => {
                if seen.insert(cx, key, key, &entry.key_loc, &label) {
                    host_key = Some(entry);
                }
            }
            _ => {
                let Some(desc) = options::lookup(Level::Pool, pool_type, key) else {
                    check::unknown_key(cx, pool_type, Level::Pool, "", key, &entry.key_loc, &label);
                    continue;
                };
                if !seen.insert(cx, desc.name, key, &entry.key_loc, &label) {
                    continue;
                }
                match interpret_value(cx, form, desc, key, &entry.value, &entry.value_loc) {
                    Some(value) => pool.options.push(Setting {
                        desc,
                        key_loc: entry.key_loc.clone(),
                        value: Spanned::new(value, entry.value_loc.clone()),
                    }),
                    None => pool.poisoned.push((Level::Pool, desc.name)),
                }
            }
        }
    }

    match (single_host, host_key) {
        (Some(_), Some(entry)) => match &entry.value {
            RawValue::Str(host) => {
                pool.scope = Spanned::new(Scope::Literal(host.clone()), entry.value_loc.clone());
            }
            RawValue::Invalid => {}
            other => check::wrong_type(
                cx,
                names::HOST_KEY,
                &Kind::Str.expected(),
                &other.found(form, names::HOST_KEY),
                &entry.value_loc,
            ),
        },
        (Some(loc), None) => check::single_host_without_host(cx, &loc, &label),
        (None, Some(entry)) => check::host_without_single_host(cx, &entry.key_loc),
        (None, None) => {}
    }
    pool
}

enum ScopeRead {
    Scope(Scope),
    SingleHost,
    Invalid,
}

fn interpret_scope(cx: &Ctxt, form: Form, value: &RawValue, loc: &Loc) -> ScopeRead {
    match (form, value) {
        (_, RawValue::Invalid) => ScopeRead::Invalid,
        (Form::Attr, RawValue::Ident(word)) | (Form::Toml, RawValue::Str(word)) => {
            match word.as_str() {
                names::GLOBAL => ScopeRead::Scope(Scope::Global),
                names::HOST | names::HOST_TYPE => ScopeRead::Scope(Scope::Host),
                names::SINGLE_HOST if form == Form::Toml => ScopeRead::SingleHost,
                _ => {
                    check::unknown_scope(cx, form, word, loc);
                    ScopeRead::Invalid
                }
            }
        }
        (Form::Attr, RawValue::Str(host)) => ScopeRead::Scope(Scope::Literal(host.clone())),
        (_, other) => {
            let expected = match form {
                Form::Attr => Kind::Scope.expected(),
                Form::Toml => crate::text::one_of(&[
                    names::GLOBAL,
                    names::HOST,
                    names::HOST_TYPE,
                    names::SINGLE_HOST,
                ]),
            };
            check::wrong_type(
                cx,
                names::SCOPE,
                &expected,
                &other.found(form, names::SCOPE),
                loc,
            );
            ScopeRead::Invalid
        }
    }
}

fn interpret_connection(cx: &Ctxt, form: Form, pool: &mut PoolDecl, entries: &[RawEntry]) {
    let mut seen = Seen::default();
    let mut settings = Vec::new();
    let mut poisoned = Vec::new();
    let label = pool.label(Level::Connection);
    for entry in entries {
        if entry.key == names::TLS {
            if !seen.insert(cx, names::TLS, names::TLS, &entry.key_loc, &label) {
                continue;
            }
            if !pool.pool_type.has_tls() {
                check::tls_unsupported(cx, pool.pool_type, &entry.key_loc);
                continue;
            }
            let inner: &[RawEntry] = match &entry.value {
                RawValue::Table(inner) => inner,
                RawValue::Bare => &[],
                RawValue::Invalid => continue,
                other => {
                    check::wrong_type(
                        cx,
                        names::TLS,
                        &section_syntax(form, names::TLS),
                        &other.found(form, names::TLS),
                        &entry.value_loc,
                    );
                    continue;
                }
            };
            let tls_label = pool.label(Level::Tls);
            let mut tls_settings = Vec::new();
            let mut tls_seen = Seen::default();
            interpret_section(
                cx,
                form,
                pool.pool_type,
                Level::Tls,
                "",
                inner,
                &tls_label,
                &mut tls_seen,
                &mut tls_settings,
                &mut poisoned,
            );
            pool.tls = Some(TlsDecl {
                loc: entry.key_loc.clone(),
                settings: tls_settings,
            });
            continue;
        }
        interpret_section(
            cx,
            form,
            pool.pool_type,
            Level::Connection,
            "",
            std::slice::from_ref(entry),
            &label,
            &mut seen,
            &mut settings,
            &mut poisoned,
        );
    }
    pool.connection = settings;
    pool.poisoned.extend(poisoned);
}

/// Reads the keys of a connection or tls section, recursing into groups (`reconnect(...)`).
#[allow(clippy::too_many_arguments)]
fn interpret_section(
    cx: &Ctxt,
    form: Form,
    pool_type: PoolType,
    level: Level,
    prefix: &str,
    entries: &[RawEntry],
    label: &str,
    seen: &mut Seen,
    out: &mut Vec<Setting>,
    poisoned: &mut Vec<(Level, &'static str)>,
) {
    for entry in entries {
        let full = if prefix.is_empty() {
            entry.key.clone()
        } else {
            format!("{prefix}.{}", entry.key)
        };
        if let Some(desc) = options::lookup(level, pool_type, &full) {
            if !seen.insert(cx, desc.name, &full, &entry.key_loc, label) {
                continue;
            }
            match interpret_value(cx, form, desc, &full, &entry.value, &entry.value_loc) {
                Some(value) => out.push(Setting {
                    desc,
                    key_loc: entry.key_loc.clone(),
                    value: Spanned::new(value, entry.value_loc.clone()),
                }),
                None => poisoned.push((level, desc.name)),
            }
        } else if options::is_group(level, pool_type, &full) {
            match &entry.value {
                RawValue::Table(inner) => interpret_section(
                    cx, form, pool_type, level, &full, inner, label, seen, out, poisoned,
                ),
                RawValue::Invalid => {}
                other => check::wrong_type(
                    cx,
                    &full,
                    &section_syntax(form, &entry.key),
                    &other.found(form, &entry.key),
                    &entry.value_loc,
                ),
            }
        } else {
            check::unknown_key(
                cx,
                pool_type,
                level,
                prefix,
                &entry.key,
                &entry.key_loc,
                label,
            );
        }
    }
}

/// Checks one value against its descriptor; `None` when it was reported as invalid.
pub(crate) fn interpret_value(
    cx: &Ctxt,
    form: Form,
    desc: &'static OptionDesc,
    key: &str,
    value: &RawValue,
    loc: &Loc,
) -> Option<Value> {
    let value = interpret_kind(cx, form, desc, key, value, loc)?;
    // Integers had their range checked, with the value's own location, while being read.
    if !matches!(value, Value::Int(_))
        && let Some(problem) = desc.value_problem(&value)
    {
        cx.error(loc, format!("`{key}` {problem}"));
        return None;
    }
    Some(value)
}

/// The value read as its descriptor's kind; `None` when it was reported as invalid.
fn interpret_kind(
    cx: &Ctxt,
    form: Form,
    desc: &'static OptionDesc,
    key: &str,
    value: &RawValue,
    loc: &Loc,
) -> Option<Value> {
    let wrong = |cx: &Ctxt| {
        check::wrong_type(cx, key, &desc.kind.expected(), &value.found(form, key), loc);
        None
    };
    match value {
        RawValue::Invalid => return None,
        RawValue::Env { name, default } => {
            return check_env(cx, desc, key, name, default.as_ref(), loc);
        }
        _ => {}
    }
    match desc.kind {
        Kind::Int => match value {
            RawValue::Int(i) => check_int(cx, desc, key, *i, loc),
            _ => wrong(cx),
        },
        Kind::IntOrInfinity => match value {
            RawValue::Int(i) => check_int(cx, desc, key, *i, loc),
            RawValue::Ident(s) | RawValue::Str(s) if s == names::INFINITY => Some(Value::Infinity),
            _ => wrong(cx),
        },
        Kind::Str => match value {
            RawValue::Str(s) => Some(Value::Str(s.clone())),
            _ => wrong(cx),
        },
        Kind::Url => match value {
            RawValue::Str(s) => {
                if check::url_is_valid(cx, key, s, loc) {
                    Some(Value::Str(s.clone()))
                } else {
                    None
                }
            }
            _ => wrong(cx),
        },
        Kind::Bool => match value {
            RawValue::Bool(b) => Some(Value::Bool(*b)),
            _ => wrong(cx),
        },
        Kind::Enum(allowed) => match value {
            RawValue::Ident(s) | RawValue::Str(s) => {
                if allowed.contains(&s.as_str()) {
                    Some(Value::Ident(s.clone()))
                } else {
                    check::unknown_enum_value(cx, key, s, allowed, loc);
                    None
                }
            }
            _ => wrong(cx),
        },
        Kind::StrList => match value {
            RawValue::List(items) => {
                let mut out = Vec::new();
                let mut ok = true;
                for item in items {
                    match &item.value {
                        RawValue::Str(s) => out.push(s.clone()),
                        RawValue::Invalid => ok = false,
                        other => {
                            check::wrong_type(
                                cx,
                                key,
                                &desc.kind.expected(),
                                &format!("{} in the list", other.found(form, key)),
                                &item.loc,
                            );
                            ok = false;
                        }
                    }
                }
                ok.then_some(Value::List(out))
            }
            _ => wrong(cx),
        },
        Kind::Servers(default_port) => match value {
            RawValue::List(items) => {
                let mut out = Vec::new();
                let mut ok = true;
                for item in items {
                    match read_server(cx, form, key, default_port, item) {
                        Some(server) => out.push(server),
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Servers(out))
            }
            _ => wrong(cx),
        },
        // Scope and tag are structural and read before options are looked up.
        Kind::Scope | Kind::Tag => wrong(cx),
    }
}

fn check_int(cx: &Ctxt, desc: &OptionDesc, key: &str, value: i128, loc: &Loc) -> Option<Value> {
    if let Some(range) = desc.range
        && !range.contains(value)
    {
        check::out_of_range(cx, key, range, value, loc);
        return None;
    }
    match i64::try_from(value) {
        Ok(v) => Some(Value::Int(v)),
        Err(_) => {
            check::out_of_range(
                cx,
                key,
                options::Range {
                    min: i64::MIN,
                    max: i64::MAX,
                },
                value,
                loc,
            );
            None
        }
    }
}

fn check_env(
    cx: &Ctxt,
    desc: &OptionDesc,
    key: &str,
    name: &Spanned<String>,
    default: Option<&Spanned<String>>,
    loc: &Loc,
) -> Option<Value> {
    if !desc.env {
        check::env_not_allowed(cx, key, desc.level, loc);
        return None;
    }
    let mut ok = check::env_name_is_valid(cx, &name.value, &name.loc);
    if let Some(default) = default {
        ok &= check::env_default_is_valid(cx, desc, key, &default.value, &default.loc);
    }
    ok.then(|| Value::Env {
        name: name.value.clone(),
        default: default.map(|d| d.value.clone()),
    })
}

fn read_server(
    cx: &Ctxt,
    form: Form,
    key: &str,
    default_port: u16,
    item: &RawItem,
) -> Option<Server> {
    let wrong = |found: &RawValue| {
        check::wrong_type(
            cx,
            key,
            &Kind::Servers(default_port).expected(),
            &format!("{} in the list", found.found(form, key)),
            &item.loc,
        );
        None
    };
    match &item.value {
        // The text form values read at start take, so a server is written alike everywhere.
        RawValue::Str(text) => Server::parse(text, default_port).or_else(|| wrong(&item.value)),
        RawValue::Table(fields) => {
            let mut host = None;
            let mut port = default_port;
            let mut ok = true;
            let mut seen = Seen::default();
            let label = format!("`{key}` item");
            for field in fields {
                if !seen.insert(cx, &field.key, &field.key, &field.key_loc, &label) {
                    ok = false;
                    continue;
                }
                match (field.key.as_str(), &field.value) {
                    (_, RawValue::Invalid) => ok = false,
                    (names::SERVER_HOST, RawValue::Str(h)) if !h.is_empty() => {
                        host = Some(h.clone());
                    }
                    (names::SERVER_PORT, RawValue::Int(p)) => {
                        if let Ok(p) = u16::try_from(*p)
                            && p != 0
                        {
                            port = p;
                        } else {
                            check::out_of_range(
                                cx,
                                names::SERVER_PORT,
                                options::Range { min: 1, max: 65535 },
                                *p,
                                &field.value_loc,
                            );
                            ok = false;
                        }
                    }
                    (names::SERVER_HOST, other) => {
                        check::wrong_type(
                            cx,
                            names::SERVER_HOST,
                            "a non-empty string",
                            &other.found(form, names::SERVER_HOST),
                            &field.value_loc,
                        );
                        ok = false;
                    }
                    (names::SERVER_PORT, other) => {
                        check::wrong_type(
                            cx,
                            names::SERVER_PORT,
                            &Kind::Int.expected(),
                            &other.found(form, names::SERVER_PORT),
                            &field.value_loc,
                        );
                        ok = false;
                    }
                    (other, _) => {
                        check::unknown_server_field(cx, other, &field.key_loc);
                        ok = false;
                    }
                }
            }
            match host {
                Some(host) if ok => Some(Server { host, port }),
                Some(_) => None,
                None => {
                    if ok {
                        check::server_without_host(cx, key, &item.loc);
                    }
                    None
                }
            }
        }
        RawValue::Invalid => None,
        other => wrong(other),
    }
}
