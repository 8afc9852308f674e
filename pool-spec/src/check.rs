//! Every rule of a declaration, one function each. Value-level rules are called while reading
//! (they need the raw value); [`check`] runs the rules that look across keys and pools.
//!
//! Messages follow rustc's style: lowercase, no trailing period, names in backticks, and they
//! say what would be valid.

use std::collections::HashMap;

use crate::combinations::{self, SetKey};
use crate::error::{Ctxt, Loc, Spanned};
use crate::kinds::ConnectorKind;
use crate::model::{
    Declaration, Driver, Origin, PoolDecl, PoolType, Scope, Strategy, Value, host_variant,
};
use crate::names;
use crate::options::{self, Kind, Level, Need, OptionDesc, Range};
use crate::raw::Form;
use crate::text;

// ---------------------------------------------------------------- names and keys

// A pool type must be one of the nine known types.
pub(crate) fn unknown_pool_type(cx: &Ctxt, name: &str, loc: &Loc) {
    cx.error(
        loc,
        format!(
            "unknown pool type `{name}`{}",
            text::hint(name, PoolType::NAMES)
        ),
    );
}

// The attribute's top level takes `hosts`, `host_types`, `crate`, `file` and `TYPE(...)`
// entries only.
pub(crate) fn unknown_top_level_key(cx: &Ctxt, key: &str, loc: &Loc) {
    let mut candidates = vec![names::HOSTS, names::HOST_TYPES, names::CRATE, names::FILE];
    candidates.extend_from_slice(PoolType::NAMES);
    let hint = match text::closest(key, &candidates) {
        Some(best) => format!("; did you mean `{best}`?"),
        None => "; expected `hosts`, `host_types`, `crate`, `file` or a pool type".to_owned(),
    };
    cx.error(loc, format!("unknown key `{key}`{hint}"));
}

// A TOML file holds `[general]`/`hosts`, `[outgoing_pools...]` and `[[host_config]]`; other
// MongooseIM sections are tolerated and ignored.
pub(crate) fn unknown_toml_key(cx: &Ctxt, key: &str, loc: &Loc) {
    let candidates = [
        names::GENERAL,
        names::HOSTS,
        names::HOST_TYPES,
        names::OUTGOING_POOLS,
        names::HOST_CONFIG,
    ];
    cx.error(
        loc,
        format!(
            "unknown top-level key `{key}`{}",
            text::hint(key, &candidates)
        ),
    );
}

// A key must be an option of its pool type at the level where it is written.
pub(crate) fn unknown_key(
    cx: &Ctxt,
    pool_type: PoolType,
    level: Level,
    prefix: &str,
    key: &str,
    loc: &Loc,
    label: &str,
) {
    let shown = if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    };
    let mut candidates = options::names_in(level, pool_type, prefix);
    if prefix.is_empty() {
        match level {
            Level::Pool => candidates.push(names::CONNECTION),
            Level::Connection if pool_type.has_tls() => candidates.push(names::TLS),
            _ => {}
        }
    }
    let elsewhere = |level: Level| {
        options::lookup(level, pool_type, &shown).is_some()
            || (level == Level::Connection && shown == names::TLS && pool_type.has_tls())
    };
    let hint = if let Some(best) = text::closest(key, &candidates) {
        if prefix.is_empty() {
            format!("; did you mean `{best}`?")
        } else {
            format!("; did you mean `{prefix}.{best}`?")
        }
    } else if level != Level::Connection && elsewhere(Level::Connection) {
        format!("; `{shown}` belongs in `connection`")
    } else if level != Level::Pool && elsewhere(Level::Pool) {
        format!("; `{shown}` is a pool key, it belongs outside `connection`")
    } else if level != Level::Tls && elsewhere(Level::Tls) {
        format!("; `{shown}` belongs in `tls`")
    } else if candidates.is_empty() {
        format!("; `{pool_type}` pools take no connection keys")
    } else {
        text::hint(key, &candidates)
    };
    cx.error(loc, format!("unknown key `{shown}` in {label}{hint}"));
}

// A key may be written once per section (the error points at the second one).
pub(crate) fn duplicate_key(cx: &Ctxt, key: &str, loc: &Loc, label: &str) {
    cx.error(loc, format!("duplicate key `{key}` in {label}"));
}

// A value must have the kind its option takes.
pub(crate) fn wrong_type(cx: &Ctxt, key: &str, expected: &str, found: &str, loc: &Loc) {
    cx.error(
        loc,
        format!("expected {expected} for `{key}`, found {found}"),
    );
}

// A name-valued option takes one of its listed names.
pub(crate) fn unknown_enum_value(cx: &Ctxt, key: &str, value: &str, allowed: &[&str], loc: &Loc) {
    let what = match key {
        names::STRATEGY => format!("unknown strategy `{value}`"),
        names::DRIVER => format!("unknown driver `{value}`"),
        _ => format!("unknown value `{value}` for `{key}`"),
    };
    let hint = match text::closest(value, allowed) {
        Some(best) => format!("; did you mean `{best}`?"),
        None => format!("; expected {}", text::one_of(allowed)),
    };
    cx.error(loc, format!("{what}{hint}"));
}

// Numbers stay in their option's range (workers ≥ 1, ports 1..=65535, timeouts > 0).
pub(crate) fn out_of_range(cx: &Ctxt, key: &str, range: Range, value: i128, loc: &Loc) {
    cx.error(
        loc,
        format!("`{key}` must be {}, got {value}", range.describe()),
    );
}

// `scope` is `global`, `host` or a host string (TOML: `global`, `host`, `host_type`,
// `single_host`).
pub(crate) fn unknown_scope(cx: &Ctxt, form: Form, word: &str, loc: &Loc) {
    let allowed: &[&str] = match form {
        Form::Attr => &[names::GLOBAL, names::HOST],
        Form::Toml => &[
            names::GLOBAL,
            names::HOST,
            names::HOST_TYPE,
            names::SINGLE_HOST,
        ],
    };
    let hint = match text::closest(word, allowed) {
        Some(best) => format!("; did you mean `{best}`?"),
        None => match form {
            Form::Attr => "; expected `global`, `host` or a host string such as \"a.com\"".into(),
            Form::Toml => format!(
                "; expected {} (one host takes `scope = \"single_host\"` and `host = \"...\"`)",
                text::one_of(allowed)
            ),
        },
    };
    cx.error(loc, format!("unknown scope `{word}`{hint}"));
}

// TOML `scope = "single_host"` needs `host = "..."` beside it.
pub(crate) fn single_host_without_host(cx: &Ctxt, loc: &Loc, label: &str) {
    cx.error(
        loc,
        format!("missing required key `host` in {label}: `scope = \"single_host\"` needs it"),
    );
}

// TOML `host = "..."` in a pool only goes with `scope = "single_host"`.
pub(crate) fn host_without_single_host(cx: &Ctxt, loc: &Loc) {
    cx.error(
        loc,
        "`host` is only allowed with `scope = \"single_host\"`; connection hosts belong in `connection`",
    );
}

// A `[host_config.outgoing_pools...]` pool belongs to its host; it has no `scope`.
pub(crate) fn scope_in_host_config(cx: &Ctxt, loc: &Loc, host: Option<&Spanned<String>>) {
    let host = host.map_or_else(String::new, |h| format!(" `{}`", h.value));
    cx.error(
        loc,
        format!("`scope` is not allowed in a `host_config` pool; the pool is for host{host}"),
    );
}

// In TOML the tag is the section name, not a key.
pub(crate) fn tag_in_toml(cx: &Ctxt, loc: &Loc, tag: &str) {
    cx.error(
        loc,
        format!("`tag` is not allowed here; the tag is the section name (`{tag}`)"),
    );
}

// A tag is lowercase ASCII letters, digits and `_`, since it becomes part of a method name.
pub(crate) fn tag_is_valid(cx: &Ctxt, tag: &str, loc: &Loc) -> bool {
    let ok = !tag.is_empty()
        && tag
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        cx.error(
            loc,
            format!(
                "invalid tag `{tag}`; a tag is lowercase letters, digits and `_`, as it names the accessor"
            ),
        );
    }
    ok
}

// `elastic` and `generic` connections have no TLS.
pub(crate) fn tls_unsupported(cx: &Ctxt, pool_type: PoolType, loc: &Loc) {
    cx.error(loc, format!("`{pool_type}` pools do not support TLS"));
}

// `env(...)` is for connection values; pool keys select types and sizes at compile time.
pub(crate) fn env_not_allowed(cx: &Ctxt, key: &str, level: Level, loc: &Loc) {
    let why = match level {
        Level::Pool => "pool keys are fixed at compile time",
        Level::Connection | Level::Tls => "it selects code at compile time",
    };
    cx.error(
        loc,
        format!("`{key}` cannot be read from the environment; {why}"),
    );
}

// An environment variable name is letters, digits and `_`, not starting with a digit.
pub(crate) fn env_name_is_valid(cx: &Ctxt, name: &str, loc: &Loc) -> bool {
    let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        cx.error(
            loc,
            format!(
                "invalid environment variable name `{name}`; use letters, digits and `_`, not starting with a digit"
            ),
        );
    }
    ok
}

// An env default must be a valid value of its option, so a missing variable cannot fail at start.
pub(crate) fn env_default_is_valid(
    cx: &Ctxt,
    desc: &OptionDesc,
    key: &str,
    text: &str,
    loc: &Loc,
) -> bool {
    match desc.parse_text(text) {
        Ok(_) => true,
        Err(problem) => {
            cx.error(loc, format!("invalid default for `{key}`: {problem}"));
            false
        }
    }
}

// An http `host` is `http[s]://host[:port]`.
pub(crate) fn url_is_valid(cx: &Ctxt, key: &str, url: &str, loc: &Loc) -> bool {
    match text::url_problem(url) {
        None => true,
        Some(problem) => {
            cx.error(loc, format!("invalid URL `{url}` for `{key}`: {problem}"));
            false
        }
    }
}

// A Cassandra server item has `host` and optionally `port`.
pub(crate) fn unknown_server_field(cx: &Ctxt, field: &str, loc: &Loc) {
    let hint = text::hint(field, &[names::SERVER_HOST, names::SERVER_PORT]);
    cx.error(loc, format!("unknown key `{field}` in a server{hint}"));
}

// A Cassandra server item must name its host.
pub(crate) fn server_without_host(cx: &Ctxt, key: &str, loc: &Loc) {
    cx.error(loc, format!("missing `host` in a `{key}` item"));
}

// `file = "..."` is the whole declaration; it cannot be mixed with entries or `hosts`.
pub(crate) fn file_with_entries(cx: &Ctxt, loc: &Loc) {
    cx.error(
        loc,
        "`file` cannot be combined with `hosts` or pool entries; declare them in the file",
    );
}

// ---------------------------------------------------------------- cross-cutting rules

/// Runs every rule that looks across keys, pools and hosts.
pub(crate) fn check(cx: &Ctxt, decl: &Declaration) {
    check_hosts(cx, decl);
    check_duplicate_pools(cx, decl);
    for pool in &decl.pools {
        check_literal_scope(cx, decl, pool);
        check_host_scope_has_hosts(cx, decl, pool);
        check_required_keys(cx, pool);
        check_paired_keys(cx, pool);
        check_combinations(cx, pool);
        check_connector_keys(cx, pool);
        check_connector_tls(cx, pool);
        check_encrypt_conflict(cx, pool);
        check_max_worker_queue_len(cx, pool);
        check_call_timeout_covers_request(cx, pool);
    }
}

// Hosts are non-empty names without whitespace, declared once, and each names a distinct
// `Host` variant.
fn check_hosts(cx: &Ctxt, decl: &Declaration) {
    let mut seen: Vec<&str> = Vec::new();
    let mut variants: HashMap<String, &str> = HashMap::new();
    for host in &decl.hosts {
        let name = host.value.as_str();
        let host_type = decl.host_types.iter().any(|t| t == name);
        if name.trim().is_empty() || (!host_type && name.chars().any(char::is_whitespace)) {
            let message = match host_type {
                true => format!("invalid host type `{name}`; a host type is a non-empty name"),
                false => {
                    format!("invalid host `{name}`; a host is a non-empty name without spaces")
                }
            };
            cx.error(&host.loc, message);
            continue;
        }
        if seen.contains(&name) {
            cx.error(&host.loc, format!("duplicate host `{name}`"));
            continue;
        }
        seen.push(name);
        match host_variant(name) {
            None => cx.error(
                &host.loc,
                format!("host `{name}` has no ASCII letter or digit to name its `Host` variant"),
            ),
            Some(variant) => {
                if let Some(first) = variants.get(&variant) {
                    cx.error(
                        &host.loc,
                        format!(
                            "hosts `{first}` and `{name}` both map to the `Host` variant `{variant}`"
                        ),
                    );
                } else {
                    variants.insert(variant, name);
                }
            }
        }
    }
}

// Two entries may not declare the same type, tag and scope (the error points at the second).
fn check_duplicate_pools(cx: &Ctxt, decl: &Declaration) {
    let mut seen: Vec<(PoolType, &str, &Scope)> = Vec::new();
    for pool in &decl.pools {
        let key = (pool.pool_type, pool.tag.value.as_str(), &pool.scope.value);
        if seen.contains(&key) {
            let scope = match &pool.scope.value {
                Scope::Global => "global scope".to_owned(),
                Scope::Host => "scope `host`".to_owned(),
                Scope::Literal(host) => format!("host `{host}`"),
            };
            cx.error(
                &pool.loc,
                format!(
                    "duplicate `{}` pool with tag `{}` for {scope}",
                    pool.pool_type, pool.tag.value
                ),
            );
        } else {
            seen.push(key);
        }
    }
}

// A literal scope must be one of the declared hosts.
fn check_literal_scope(cx: &Ctxt, decl: &Declaration, pool: &PoolDecl) {
    let Scope::Literal(host) = &pool.scope.value else {
        return;
    };
    if decl.hosts.iter().any(|h| h.value == *host) {
        return;
    }
    let declared: Vec<&str> = decl.hosts.iter().map(|h| h.value.as_str()).collect();
    let keyword = [names::GLOBAL, names::HOST].contains(&host.as_str());
    let hint = if keyword && pool.origin == Origin::Attr {
        format!("; for the `{host}` scope write `scope = {host}`, without quotes")
    } else if declared.is_empty() {
        "; no hosts are declared: add it to `hosts`".to_owned()
    } else {
        match text::closest(host, &declared) {
            Some(best) => format!("; did you mean `{best}`?"),
            None => format!(
                "; declared hosts are {}",
                text::join_names(&declared, "and")
            ),
        }
    };
    cx.error(
        &pool.scope.loc,
        format!("scope `{host}` is not a declared host{hint}"),
    );
}

// `scope = host` expands over the declared hosts, so there must be some.
fn check_host_scope_has_hosts(cx: &Ctxt, decl: &Declaration, pool: &PoolDecl) {
    if pool.scope.value == Scope::Host && decl.hosts.is_empty() {
        cx.error(
            &pool.scope.loc,
            "scope `host` needs declared hosts; add `hosts = [...]`",
        );
    }
}

// Every required key is written (some only for some drivers).
fn check_required_keys(cx: &Ctxt, pool: &PoolDecl) {
    let driver = pool.driver();
    for level in [Level::Pool, Level::Connection] {
        for desc in options::options_for(level, pool.pool_type) {
            if !desc.is_required(driver)
                || pool.get(level, desc.name).is_some()
                || pool.is_poisoned(level, desc.name)
            {
                continue;
            }
            let mut message = format!(
                "missing required key `{}` in {}",
                desc.name,
                pool.label(level)
            );
            if let (Need::RequiredFor(_), Some(driver)) = (desc.need, driver) {
                message.push_str(&format!(" (needed by driver `{driver}`)"));
            }
            if let Kind::Enum(allowed) = desc.kind {
                message.push_str(&format!("; expected {}", text::one_of(allowed)));
            }
            let loc = match level {
                Level::Connection => pool.connection_loc.as_ref().unwrap_or(&pool.loc),
                _ => &pool.loc,
            };
            cx.error(loc, message);
        }
    }
}

// Paired keys (cassandra `auth.plain.*`, riak credentials, TLS `certfile` and `keyfile`) are
// written together or not at all.
fn check_paired_keys(cx: &Ctxt, pool: &PoolDecl) {
    for level in [Level::Connection, Level::Tls] {
        let paired: Vec<&OptionDesc> = options::options_for(level, pool.pool_type)
            .filter(|d| d.pair_group().is_some())
            .collect();
        for present in paired.iter().filter_map(|d| pool.get(level, d.name)) {
            for missing in &paired {
                if missing.pair_group() == present.desc.pair_group()
                    && pool.get(level, missing.name).is_none()
                    && !pool.is_poisoned(level, missing.name)
                {
                    cx.error(
                        &present.key_loc,
                        format!(
                            "`{}` needs `{}` in {}",
                            present.name(),
                            missing.name,
                            pool.label(level)
                        ),
                    );
                }
            }
        }
    }
}

// Keys that may not go together (a Redis Cluster's `servers`, Sentinels beside `host`): the
// table layer's rules, which the runtime applies again to the values read at start.
fn check_combinations(cx: &Ctxt, pool: &PoolDecl) {
    let written = pool
        .options
        .iter()
        .chain(&pool.connection)
        .chain(pool.tls.iter().flat_map(|t| &t.settings));
    let mut set: Vec<SetKey<'_>> = written
        .map(|s| SetKey {
            desc: s.desc,
            value: (!s.value.is_env()).then_some(&s.value.value),
        })
        .collect();
    // A key whose value was reported invalid is still written: what depends on its value
    // waits, rather than taking the default and adding a second error.
    set.extend(pool.poisoned.iter().filter_map(|(level, name)| {
        let desc = options::lookup(*level, pool.pool_type, name)?;
        Some(SetKey { desc, value: None })
    }));
    for problem in combinations::combination_problems(pool.pool_type, &set) {
        // Only a written key has a token to point at; an invalid one has its error already.
        let Some(setting) = pool.get(problem.desc.level, problem.desc.name) else {
            continue;
        };
        let loc = match problem.at_value {
            true => &setting.value.loc,
            false => &setting.key_loc,
        };
        cx.error(loc, format!("`{}` {}", problem.desc.key(), problem.problem));
    }
}

// A key the pool's connector cannot honour is an error (`tls.required` for mysql, `host` for
// odbc, `settings` for pgsql and mysql, `tls.ciphers` for mysql).
fn check_connector_keys(cx: &Ctxt, pool: &PoolDecl) {
    let driver = pool.driver();
    if pool.pool_type == PoolType::Rdbms && driver.is_none() {
        return;
    }
    let connector = ConnectorKind::of(pool.pool_type, driver);
    // A connector without TLS has its whole `tls` section refused instead
    // (`check_connector_tls`).
    let tls = pool
        .tls
        .iter()
        .filter(|_| has_tls(pool.pool_type, driver))
        .flat_map(|t| &t.settings);
    for setting in pool.connection.iter().chain(tls) {
        if setting.desc.honoured_by(pool.pool_type, driver) {
            continue;
        }
        let shown = match setting.desc.level {
            Level::Tls => format!("{}.{}", names::TLS, setting.name()),
            _ => setting.name().to_owned(),
        };
        let supported: Vec<&str> = match pool.pool_type {
            PoolType::Rdbms => Driver::ALL
                .iter()
                .filter(|d| setting.desc.honoured_by(PoolType::Rdbms, Some(**d)))
                .map(|d| d.name())
                .collect(),
            _ => setting
                .desc
                .connectors
                .iter()
                .filter(|c| c.pool_type() == pool.pool_type)
                .map(|c| c.name())
                .collect(),
        };
        let mut message = format!(
            "key `{shown}` is not supported by {}; it is for {}",
            described(pool.pool_type, driver),
            text::join_names(&supported, "and")
        );
        if connector == ConnectorKind::Odbc {
            message.push_str("; with odbc, use `settings` (an ODBC connection string)");
        }
        cx.error(&setting.key_loc, message);
    }
}

// A connector no TLS key of the table is honoured by has no `tls` section (ODBC takes its SSL
// options from the data source).
fn check_connector_tls(cx: &Ctxt, pool: &PoolDecl) {
    let Some(tls) = &pool.tls else { return };
    let driver = pool.driver();
    if pool.pool_type == PoolType::Rdbms && driver.is_none() {
        return;
    }
    if !has_tls(pool.pool_type, driver) {
        let connector = ConnectorKind::of(pool.pool_type, driver);
        let hint = match connector {
            ConnectorKind::Odbc => "; put the SSL options in the ODBC data source",
            _ => "",
        };
        cx.error(
            &tls.loc,
            format!(
                "TLS is not supported by {}{hint}",
                described(pool.pool_type, driver)
            ),
        );
    }
}

/// How a diagnostic names a pool's connector: by its driver for `rdbms` (``driver `mysql` ``),
/// else ``the `redis` connector``.
fn described(pool_type: PoolType, driver: Option<Driver>) -> String {
    match driver {
        Some(driver) => format!("driver `{driver}`"),
        None => ConnectorKind::of(pool_type, driver).described(),
    }
}

fn has_tls(pool_type: PoolType, driver: Option<Driver>) -> bool {
    options::options_for(Level::Tls, pool_type).any(|d| d.honoured_by(pool_type, driver))
}

// ldap `encrypt = none` contradicts a `tls` section.
fn check_encrypt_conflict(cx: &Ctxt, pool: &PoolDecl) {
    let Some(encrypt) = pool.get(Level::Connection, names::ENCRYPT) else {
        return;
    };
    if pool.tls.is_some() && encrypt.value.as_str() == Some(names::NONE) {
        cx.error(
            &encrypt.value.loc,
            "`encrypt = none` contradicts the `tls` section; remove one of them",
        );
    }
}

// `max_worker_queue_len` only works with `best_worker`.
fn check_max_worker_queue_len(cx: &Ctxt, pool: &PoolDecl) {
    let Some(setting) = pool.get(Level::Pool, names::MAX_WORKER_QUEUE_LEN) else {
        return;
    };
    let strategy = pool.strategy();
    if strategy != Strategy::BestWorker {
        cx.error(
            &setting.key_loc,
            format!("`max_worker_queue_len` requires `strategy = best_worker`, not `{strategy}`"),
        );
    }
}

// An http pool's `call_timeout` must not be shorter than its `request_timeout`.
fn check_call_timeout_covers_request(cx: &Ctxt, pool: &PoolDecl) {
    if pool.pool_type != PoolType::Http {
        return;
    }
    let effective = |level: Level, name: &str| -> Option<(i64, Option<&Loc>)> {
        let desc = options::lookup(level, pool.pool_type, name)?;
        match pool.get(level, name) {
            Some(setting) => match &setting.value.value {
                Value::Int(i) => Some((*i, Some(&setting.key_loc))),
                _ => None,
            },
            None => desc
                .default_for(pool.pool_type, None, false)?
                .as_int()
                .map(|i| (i, None)),
        }
    };
    let (Some((call, call_loc)), Some((request, request_loc))) = (
        effective(Level::Pool, names::CALL_TIMEOUT),
        effective(Level::Connection, names::REQUEST_TIMEOUT),
    ) else {
        return;
    };
    // `request_timeout = 0` sets no limit of its own: `call_timeout` alone bounds a request.
    if request > 0 && call < request {
        let loc = call_loc.or(request_loc).unwrap_or(&pool.loc);
        cx.error(
            loc,
            format!(
                "`call_timeout` ({call} ms) is shorter than `request_timeout` ({request} ms); calls would time out before their requests"
            ),
        );
    }
}
