//! Starting the pools of a declaration (`#[outgoing_pools]`): the static description the
//! macro generates ([`PoolSpec`]), resolving connection settings at start (environment
//! variables, overrides), building the connector ([`FromSettings`]) and the pool.
//!
//! # Overriding a connection value at start
//!
//! Every connection value of a declared pool can be replaced at start without recompiling,
//! in this order of precedence:
//!
//! 1. the `Pools` builder: `Pools::builder().set("rdbms.global.default", "password", secret)`;
//! 2. an environment variable named
//!    `OUTGOING_POOLS__<TYPE>__<HOST or GLOBAL>__<TAG>__<KEY>`, upper-cased, with every
//!    character other than a letter or digit turned into `_`
//!    (`OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__PASSWORD`,
//!    `OUTGOING_POOLS__REDIS__A_COM__DEFAULT__HOST`,
//!    `OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__TLS_CACERTFILE`);
//! 3. the declaration's `env("NAME")` / `env("NAME", default = "…")`;
//! 4. the declaration's literal value, or the option's default.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use crate::error::PoolName;
use crate::strategy::Strategy;
use crate::{Pool, PoolBuilder, QueueType};

/// Why the pools of a declaration could not start. Every variant names the pool; `Debug`
/// prints the whole cause on one line (so `fn main() -> Result<(), Box<dyn Error>>` shows it).
#[non_exhaustive]
pub enum StartError {
    /// A value comes from an environment variable that is not set and has no default.
    MissingEnv {
        /// The pool.
        pool: PoolName,
        /// The connection key.
        key: &'static str,
        /// The variable.
        var: String,
    },
    /// A value read at start is not what the key takes.
    InvalidValue {
        /// The pool.
        pool: PoolName,
        /// The connection key.
        key: String,
        /// Where the value came from (`` the variable `X` ``, `the builder`).
        source_name: String,
        /// The value (`"***"` for a secret).
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
    /// An override names a pool or key the declaration does not have.
    UnknownOverride {
        /// The pool named by the override.
        pool: String,
        /// The key named by the override.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// The connector for this pool type is not compiled in.
    ConnectorMissing {
        /// The pool.
        pool: PoolName,
        /// The pool type (`redis`, `rdbms pgsql`, …).
        pool_type: &'static str,
        /// How to get it, if there is a way.
        hint: &'static str,
    },
    /// The connection settings do not make a valid connector.
    Settings {
        /// The pool.
        pool: PoolName,
        /// What is wrong.
        message: String,
    },
    /// The pool could not start (typically: no worker could connect). As an error it is
    /// transparent: it displays as the pool's [`crate::Error`], and its
    /// [`source`](std::error::Error::source) is that error's (the connector's own error,
    /// for a failed connect).
    Pool {
        /// The pool.
        pool: PoolName,
        /// The pool's error ([`crate::Error`]).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::MissingEnv { pool, key, var } => write!(
                f,
                "pool `{pool}`: `{key}` reads the environment variable `{var}`, which is not set"
            ),
            StartError::InvalidValue {
                pool,
                key,
                source_name,
                value,
                expected,
            } => write!(
                f,
                "pool `{pool}`: `{key}` from {source_name}: expected {expected}, got {value}"
            ),
            StartError::UnknownOverride { pool, key, problem } => {
                write!(f, "override of `{pool}` `{key}`: {problem}")
            }
            StartError::ConnectorMissing {
                pool,
                pool_type,
                hint,
            } => write!(
                f,
                "pool `{pool}`: the `{pool_type}` connector is not available{hint}"
            ),
            StartError::Settings { pool, message } => write!(f, "pool `{pool}`: {message}"),
            StartError::Pool { source, .. } => fmt::Display::fmt(source, f),
        }
    }
}

impl fmt::Debug for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&crate::Chain(self), f)
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Pool { source, .. } => source.source(),
            _ => None,
        }
    }
}

/// A declared value, as the macro wrote it.
#[derive(Clone, Copy, Debug)]
pub enum Source {
    /// An integer.
    Int(i64),
    /// A string.
    Str(&'static str),
    /// A boolean.
    Bool(bool),
    /// A list of strings.
    List(&'static [&'static str]),
    /// `host:port` servers.
    Servers(&'static [(&'static str, u16)]),
    /// `env("NAME", default = "…")`: read at start.
    Env {
        /// The variable.
        var: &'static str,
        /// Its default, as text.
        default: Option<&'static str>,
    },
}

/// What kind of value a key takes, to parse text read at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Decimal integer.
    Int,
    /// Any text.
    Str,
    /// `true` or `false`.
    Bool,
    /// Comma-separated strings.
    List,
    /// Comma-separated `host[:port]`.
    Servers,
}

/// One connection setting of a declared pool.
#[derive(Clone, Copy, Debug)]
pub struct SettingSpec {
    /// The key, dotted for groups (`tls.cacertfile`, `auth.plain.username`).
    pub key: &'static str,
    /// The kind of value it takes.
    pub kind: Kind,
    /// Where the value comes from.
    pub source: Source,
    /// Never printed (passwords).
    pub secret: bool,
}

/// A declared pool, expanded and with every default resolved (generated by the macro).
#[derive(Clone, Copy, Debug)]
pub struct PoolSpec {
    /// `<type>.<host or global>.<tag>`, e.g. `"rdbms.global.default"`.
    pub name: &'static str,
    /// The pool type (`rdbms`, `redis`, …).
    pub pool_type: &'static str,
    /// The host it serves, or `None` for a global pool.
    pub host: Option<&'static str>,
    /// The tag.
    pub tag: &'static str,
    /// The connector (`Pgsql`, `Generic`, …).
    pub connector: &'static str,
    /// The strategy's declaration name.
    pub strategy: &'static str,
    /// `workers`.
    pub workers: usize,
    /// `call_timeout` in ms; `None` = infinity.
    pub call_timeout_ms: Option<u64>,
    /// `queue_type`.
    pub queue_type: QueueType,
    /// `max_worker_queue_len`.
    pub max_worker_queue_len: Option<usize>,
    /// `overrun_warning` in ms; `None` = infinity.
    pub overrun_warning_ms: Option<u64>,
    /// `max_overrun_warnings`; `None` = infinity.
    pub max_overrun_warnings: Option<u64>,
    /// The connection settings (TLS ones prefixed `tls.`).
    pub connection: &'static [SettingSpec],
}

impl PoolSpec {
    /// The environment variable that overrides `key` of this pool (see the module docs).
    pub fn override_var(&self, key: &str) -> String {
        let part = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        format!(
            "OUTGOING_POOLS__{}__{}__{}__{}",
            part(self.pool_type),
            part(self.host.unwrap_or("global")),
            part(self.tag),
            part(key)
        )
    }
}

impl fmt::Display for PoolSpec {
    /// One line: name, strategy, workers, then the connection with secrets redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<28} {:<8} {:<22} workers={:<3}",
            self.name, self.connector, self.strategy, self.workers
        )?;
        for s in self.connection {
            write!(f, " {}=", s.key)?;
            match (s.secret, s.source) {
                (_, Source::Env { var, .. }) => write!(f, "env({var})")?,
                (true, _) => f.write_str("***")?,
                (false, Source::Int(i)) => write!(f, "{i}")?,
                (false, Source::Str(v)) => write!(f, "{v:?}")?,
                (false, Source::Bool(b)) => write!(f, "{b}")?,
                (false, Source::List(l)) => write!(f, "{l:?}")?,
                (false, Source::Servers(l)) => write!(f, "{l:?}")?,
            }
        }
        Ok(())
    }
}

/// A resolved connection value.
#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// A list of strings.
    List(Vec<String>),
    /// `host:port` servers.
    Servers(Vec<(String, u16)>),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::List(l) => write!(f, "{l:?}"),
            Value::Servers(l) => write!(f, "{l:?}"),
        }
    }
}

/// A pool's connection settings, resolved at start: what a connector is built from.
pub struct Settings {
    pool: PoolName,
    values: Vec<(&'static str, Value, bool)>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v, secret) in &self.values {
            if *secret {
                m.entry(k, &"***");
            } else {
                m.entry(k, v);
            }
        }
        m.finish()
    }
}

impl Settings {
    /// Settings from explicit values (for tests and hand-built pools).
    pub fn new(pool: impl Into<PoolName>, values: Vec<(&'static str, Value)>) -> Self {
        Settings {
            pool: pool.into(),
            values: values.into_iter().map(|(k, v)| (k, v, false)).collect(),
        }
    }

    /// The pool these settings are for.
    pub fn pool(&self) -> &PoolName {
        &self.pool
    }

    /// The value of `key`, if declared or defaulted.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values
            .iter()
            .find(|(k, ..)| *k == key)
            .map(|(_, v, _)| v)
    }

    /// `key` as a string, if set.
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// `key` as an integer, if set.
    pub fn int(&self, key: &str) -> Option<i64> {
        match self.get(key) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }

    /// `key` as a boolean, if set.
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.get(key) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// `key` as a list, if set.
    pub fn list(&self, key: &str) -> Option<&[String]> {
        match self.get(key) {
            Some(Value::List(l)) => Some(l),
            _ => None,
        }
    }

    /// Whether any `tls.*` key is set (a `tls(...)` section was declared).
    pub fn has_tls(&self) -> bool {
        self.values.iter().any(|(k, ..)| k.starts_with("tls."))
    }

    /// A required string, or a [`StartError::Settings`] naming it.
    pub fn require_str(&self, key: &str) -> Result<&str, StartError> {
        self.str(key)
            .ok_or_else(|| self.error(format!("`{key}` is required")))
    }

    /// A [`StartError::Settings`] for this pool.
    pub fn error(&self, message: impl Into<String>) -> StartError {
        StartError::Settings {
            pool: self.pool.clone(),
            message: message.into(),
        }
    }
}

/// A connector made from a declared pool's settings.
pub trait FromSettings: crate::Connector + Sized {
    /// Builds the connector, or says which setting is wrong.
    fn from_settings(settings: &Settings) -> Result<Self, StartError>;

    /// Adjusts the pool builder for this connector (e.g. shared use for one that
    /// multiplexes); the declared options are already set.
    fn tune<S: Strategy>(builder: PoolBuilder<Self, S>) -> PoolBuilder<Self, S> {
        builder
    }
}

impl FromSettings for crate::Generic {
    fn from_settings(_: &Settings) -> Result<Self, StartError> {
        Ok(crate::Generic)
    }
}

/// Overrides of connection values, set on the generated `Pools` builder.
#[derive(Clone, Default)]
pub struct Overrides {
    values: HashMap<(String, String), String>,
}

impl fmt::Debug for Overrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be secrets: show only what is overridden.
        f.debug_list().entries(self.values.keys()).finish()
    }
}

impl Overrides {
    /// Overrides `key` of the pool named `pool` (as in the plan: `"rdbms.global.default"`).
    pub fn set(
        &mut self,
        pool: impl Into<String>,
        key: impl Into<String>,
        value: impl Into<String>,
    ) {
        self.values.insert((pool.into(), key.into()), value.into());
    }

    /// Checks that every override names a declared pool and key.
    pub fn check(&self, specs: &[PoolSpec]) -> Result<(), StartError> {
        for (pool, key) in self.values.keys() {
            let Some(spec) = specs.iter().find(|s| s.name == pool) else {
                let known: Vec<_> = specs.iter().map(|s| s.name).collect();
                return Err(StartError::UnknownOverride {
                    pool: pool.clone(),
                    key: key.clone(),
                    problem: format!("no such pool; declared pools are {known:?}"),
                });
            };
            if !spec.connection.iter().any(|s| s.key == key) {
                let keys: Vec<_> = spec.connection.iter().map(|s| s.key).collect();
                return Err(StartError::UnknownOverride {
                    pool: pool.clone(),
                    key: key.clone(),
                    problem: format!("no such connection key; this pool has {keys:?}"),
                });
            }
        }
        Ok(())
    }
}

/// Resolves a pool's connection settings (see the module docs for the order).
pub fn resolve(spec: &PoolSpec, overrides: &Overrides) -> Result<Settings, StartError> {
    resolve_with(spec, overrides, |var| std::env::var(var).ok())
}

fn resolve_with(
    spec: &PoolSpec,
    overrides: &Overrides,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Settings, StartError> {
    let pool = PoolName::from(spec.name);
    let mut values = Vec::with_capacity(spec.connection.len());
    for s in spec.connection {
        let text = |source_name: String, text: String| {
            parse(s.kind, &text).ok_or_else(|| StartError::InvalidValue {
                pool: pool.clone(),
                key: s.key.to_string(),
                source_name,
                value: if s.secret {
                    "***".into()
                } else {
                    format!("{text:?}")
                },
                expected: expected(s.kind),
            })
        };
        let over_var = spec.override_var(s.key);
        let value = if let Some(v) = overrides
            .values
            .get(&(spec.name.to_string(), s.key.to_string()))
        {
            text("the builder".into(), v.clone())?
        } else if let Some(v) = env(&over_var) {
            text(format!("the variable `{over_var}`"), v)?
        } else {
            match s.source {
                Source::Int(i) => Value::Int(i),
                Source::Str(v) => Value::Str(v.into()),
                Source::Bool(b) => Value::Bool(b),
                Source::List(l) => Value::List(l.iter().map(|s| s.to_string()).collect()),
                Source::Servers(l) => {
                    Value::Servers(l.iter().map(|(h, p)| (h.to_string(), *p)).collect())
                }
                Source::Env { var, default } => match (env(var), default) {
                    (Some(v), _) => text(format!("the variable `{var}`"), v)?,
                    (None, Some(d)) => text(format!("the default of `{var}`"), d.into())?,
                    (None, None) => {
                        return Err(StartError::MissingEnv {
                            pool: pool.clone(),
                            key: s.key,
                            var: var.into(),
                        });
                    }
                },
            }
        };
        values.push((s.key, value, s.secret));
    }
    Ok(Settings { pool, values })
}

fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Int => "an integer",
        Kind::Str => "a string",
        Kind::Bool => "`true` or `false`",
        Kind::List => "a comma-separated list",
        Kind::Servers => "a comma-separated list of `host[:port]`",
    }
}

/// Parses text read at start, with the same rules as `pool-spec`'s `OptionDesc::parse_text`.
fn parse(kind: Kind, text: &str) -> Option<Value> {
    let items = || text.split(',').map(str::trim).filter(|s| !s.is_empty());
    Some(match kind {
        Kind::Int => Value::Int(text.trim().parse().ok()?),
        Kind::Str => Value::Str(text.to_string()),
        Kind::Bool => Value::Bool(match text.trim() {
            "true" => true,
            "false" => false,
            _ => return None,
        }),
        Kind::List => Value::List(items().map(String::from).collect()),
        Kind::Servers => Value::Servers(
            items()
                .map(|s| match s.rsplit_once(':') {
                    Some((h, p)) => p.parse().ok().map(|p| (h.to_string(), p)),
                    None => Some((s.to_string(), 0)),
                })
                .collect::<Option<_>>()?,
        ),
    })
}

/// Starts one declared pool: resolves its settings, builds its connector and the pool.
/// `connection` keys that are pool behaviours in this runtime (`keepalive_interval`,
/// `max_start_interval`, both in seconds) configure the pool, whatever the type.
pub async fn start_pool<C, S>(
    spec: &PoolSpec,
    overrides: &Overrides,
) -> Result<Pool<C, S>, StartError>
where
    C: FromSettings,
    S: Strategy,
{
    let settings = resolve(spec, overrides)?;
    let connector = C::from_settings(&settings)?;
    let mut b = Pool::<C, S>::builder(connector)
        .name(spec.name)
        .workers(spec.workers)
        .queue_type(spec.queue_type);
    b = match spec.call_timeout_ms {
        Some(ms) => b.call_timeout(Duration::from_millis(ms)),
        None => b.no_call_timeout(),
    };
    if let Some(n) = spec.max_worker_queue_len {
        b = b.max_worker_queue_len(n);
    }
    if let Some(ms) = spec.overrun_warning_ms {
        b = b.overrun_warning(Duration::from_millis(ms));
    }
    if let Some(n) = spec.max_overrun_warnings {
        b = b.max_overrun_warnings(n);
    }
    if let Some(s) = settings.int("keepalive_interval") {
        b = b.keepalive_interval(Duration::from_secs(s.max(1) as u64));
    }
    if let Some(s) = settings.int("max_start_interval") {
        b = b.max_start_interval(Duration::from_secs(s.max(1) as u64));
    }
    C::tune(b).build().await.map_err(|e| StartError::Pool {
        pool: PoolName::from(spec.name),
        source: Box::new(e),
    })
}

/// The expanded pools of a declaration, without starting anything (`Pools::plan()`).
/// Displays as a table, secrets redacted.
#[derive(Clone, Copy, Debug)]
pub struct Plan(pub &'static [PoolSpec]);

impl Plan {
    /// The pools.
    pub fn pools(&self) -> &'static [PoolSpec] {
        self.0
    }

    /// The pool named `name` (`"redis.a.com.default"`).
    pub fn get(&self, name: &str) -> Option<&'static PoolSpec> {
        self.0.iter().find(|p| p.name == name)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<28} {:<8} {:<22} {:<11} connection",
            "pool", "type", "strategy", "workers"
        )?;
        for p in self.0 {
            writeln!(f, "{p}")?;
        }
        Ok(())
    }
}

/// The status of every pool of a declaration (`Pools::status()`). Displays as a table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusTable(pub Vec<(&'static str, crate::PoolStatus)>);

impl StatusTable {
    /// The status of the pool named `name`.
    pub fn get(&self, name: &str) -> Option<&crate::PoolStatus> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, s)| s)
    }
}

impl fmt::Display for StatusTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<28} {:>7} {:>5} {:>5} {:>5} {:>7} {:>6}",
            "pool", "workers", "idle", "busy", "down", "waiting", "shared"
        )?;
        for (name, s) in &self.0 {
            writeln!(
                f,
                "{:<28} {:>7} {:>5} {:>5} {:>5} {:>7} {:>6}",
                name, s.workers, s.idle, s.busy, s.down, s.waiting, s.shared
            )?;
        }
        Ok(())
    }
}

/// A host name that is not among the declared hosts (`"x".parse::<Host>()`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown host `{host}`; declared hosts are {known:?}")]
pub struct UnknownHost {
    /// The name that was parsed.
    pub host: String,
    /// The declared hosts.
    pub known: &'static [&'static str],
}

/// Declares a connector type whose backend is not compiled in: it names the type in the
/// generated accessors, and starting a pool of it fails with [`StartError::ConnectorMissing`].
macro_rules! missing_connector {
    ($(#[$doc:meta])* $name:ident, $pool_type:literal, $hint:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            never: std::convert::Infallible,
        }

        impl bb8::ManageConnection for $name {
            type Connection = std::convert::Infallible;
            type Error = std::convert::Infallible;

            async fn connect(&self) -> Result<Self::Connection, Self::Error> {
                match self.never {}
            }

            async fn is_valid(&self, _: &mut Self::Connection) -> Result<(), Self::Error> {
                match self.never {}
            }

            fn has_broken(&self, _: &mut Self::Connection) -> bool {
                match self.never {}
            }
        }

        impl $crate::declared::FromSettings for $name {
            fn from_settings(settings: &$crate::declared::Settings) -> Result<Self, $crate::declared::StartError> {
                Err($crate::declared::StartError::ConnectorMissing {
                    pool: settings.pool().clone(),
                    pool_type: $pool_type,
                    hint: $hint,
                })
            }
        }
    };
}
pub(crate) use missing_connector;

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: PoolSpec = PoolSpec {
        name: "rdbms.global.default",
        pool_type: "rdbms",
        host: None,
        tag: "default",
        connector: "Pgsql",
        strategy: "best_worker",
        workers: 5,
        call_timeout_ms: Some(60000),
        queue_type: QueueType::Fifo,
        max_worker_queue_len: None,
        overrun_warning_ms: None,
        max_overrun_warnings: None,
        connection: &[
            SettingSpec {
                key: "host",
                kind: Kind::Str,
                source: Source::Str("localhost"),
                secret: false,
            },
            SettingSpec {
                key: "port",
                kind: Kind::Int,
                source: Source::Int(5432),
                secret: false,
            },
            SettingSpec {
                key: "password",
                kind: Kind::Str,
                source: Source::Env {
                    var: "DB_PASSWORD",
                    default: None,
                },
                secret: true,
            },
            SettingSpec {
                key: "tls.cacertfile",
                kind: Kind::Str,
                source: Source::Env {
                    var: "CA",
                    default: Some("certs/ca.pem"),
                },
                secret: false,
            },
        ],
    };

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn override_variable_names() {
        assert_eq!(
            SPEC.override_var("password"),
            "OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__PASSWORD"
        );
        let host = PoolSpec {
            host: Some("a.com"),
            ..SPEC
        };
        assert_eq!(
            host.override_var("tls.cacertfile"),
            "OUTGOING_POOLS__RDBMS__A_COM__DEFAULT__TLS_CACERTFILE"
        );
    }

    #[test]
    fn env_values_are_read_at_start_with_defaults() {
        let s = resolve_with(&SPEC, &Overrides::default(), env(&[("DB_PASSWORD", "pw")])).unwrap();
        assert_eq!(s.str("password"), Some("pw"));
        assert_eq!(s.str("tls.cacertfile"), Some("certs/ca.pem"));
        assert_eq!(s.int("port"), Some(5432));
        assert!(s.has_tls());
        assert_eq!(
            format!("{s:?}"),
            r#"{"host": "localhost", "port": 5432, "password": "***", "tls.cacertfile": "certs/ca.pem"}"#
        );
    }

    #[test]
    fn a_missing_variable_names_the_pool_the_key_and_the_variable() {
        let err = resolve_with(&SPEC, &Overrides::default(), env(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pool `rdbms.global.default`: `password` reads the environment variable `DB_PASSWORD`, which is not set"
        );
    }

    #[test]
    fn overrides_win_over_variables_and_declarations() {
        let vars = env(&[
            ("DB_PASSWORD", "pw"),
            ("OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__PORT", "6432"),
            ("OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__HOST", "db1"),
        ]);
        let mut o = Overrides::default();
        o.set("rdbms.global.default", "host", "db2");
        let s = resolve_with(&SPEC, &o, vars).unwrap();
        assert_eq!((s.str("host"), s.int("port")), (Some("db2"), Some(6432)));
    }

    #[test]
    fn bad_values_are_start_errors_without_leaking_secrets() {
        let vars = env(&[
            ("DB_PASSWORD", "pw"),
            ("OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__PORT", "x"),
        ]);
        let err = resolve_with(&SPEC, &Overrides::default(), vars).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pool `rdbms.global.default`: `port` from the variable `OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__PORT`: expected an integer, got \"x\""
        );
        let mut o = Overrides::default();
        o.set("rdbms.global.default", "password", "s3cret");
        let secret = PoolSpec {
            connection: &[SettingSpec {
                key: "password",
                kind: Kind::Int,
                source: Source::Int(1),
                secret: true,
            }],
            ..SPEC
        };
        let err = resolve_with(&secret, &o, env(&[])).unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn unknown_overrides_are_refused() {
        let mut o = Overrides::default();
        o.set("rdbms.global.defualt", "host", "x");
        let err = o.check(&[SPEC]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("override of `rdbms.global.defualt` `host`: no such pool"),
            "{err}"
        );
        let mut o = Overrides::default();
        o.set("rdbms.global.default", "hots", "x");
        assert!(
            o.check(&[SPEC])
                .unwrap_err()
                .to_string()
                .contains("no such connection key")
        );
    }

    #[test]
    fn plan_lines_redact_secrets() {
        let line = SPEC.to_string();
        assert!(line.contains("password=env(DB_PASSWORD)"), "{line}");
        let lit = PoolSpec {
            connection: &[SettingSpec {
                key: "password",
                kind: Kind::Str,
                source: Source::Str("hunter2"),
                secret: true,
            }],
            ..SPEC
        };
        assert!(!lit.to_string().contains("hunter2"));
    }
}
