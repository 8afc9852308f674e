//! Starting the pools of a declaration (`#[outgoing_pools]`): the static description the
//! macro generates ([`PoolSpec`]), overrides at start ([`Overrides`]), building the connector
//! ([`FromSettings`]) and the pool. How a value is resolved and checked is in
//! [`crate::settings`].

use std::collections::HashMap;
use std::fmt;

use pool_spec::{Driver, PoolType};

use crate::PoolBuilder;
use crate::error::PoolName;
use crate::settings::{PoolOptions, Settings};
use crate::strategy::Strategy;

mod start;

#[doc(hidden)]
pub use start::BUILT_IN;
pub use start::{
    AnyPool, CONNECTING_AT_ONCE, Prepare, Prepared, Started, prepare, shutdown_all, start_all,
};

/// Why the pools of a declaration could not start. Every variant names the pool; `Debug`
/// prints the whole cause on one line (so `fn main() -> Result<(), Box<dyn Error>>` shows it).
#[non_exhaustive]
pub enum StartError {
    /// A value comes from an environment variable that is not set and has no default.
    MissingEnv {
        /// The pool.
        pool: PoolName,
        /// The key.
        key: String,
        /// The variable.
        var: String,
    },
    /// A value read at start is not what the key takes.
    InvalidValue {
        /// The pool.
        pool: PoolName,
        /// The key (`tls.<key>` for TLS keys).
        key: String,
        /// Where the value came from (`` the variable `X` ``, `the builder`).
        source_name: String,
        /// What is wrong and what would be valid (never the value of a secret).
        problem: String,
    },
    /// A required key has no value.
    MissingKey {
        /// The pool.
        pool: PoolName,
        /// The key.
        key: String,
    },
    /// An override (a builder `set` or an `OUTGOING_POOLS__…` variable) names a pool or key the
    /// declaration does not have, or a key that cannot change at start.
    UnknownOverride {
        /// The override: `` `pool` `key` `` or `` the variable `NAME` ``.
        target: String,
        /// What is wrong, with "did you mean" when something is close.
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
                problem,
            } => write!(f, "pool `{pool}`: `{key}` from {source_name}: {problem}"),
            StartError::MissingKey { pool, key } => {
                write!(f, "pool `{pool}`: `{key}` is required and has no value")
            }
            StartError::UnknownOverride { target, problem } => {
                write!(f, "override of {target}: {problem}")
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

/// One declared setting of a pool (an option or a connection key).
#[derive(Clone, Copy, Debug)]
pub struct SettingSpec {
    /// The key, dotted for groups (`tls.cacertfile`, `auth.plain.username`).
    pub key: &'static str,
    /// Where the value comes from.
    pub source: Source,
    /// Whether the declaration wrote it, rather than the table's default standing in: rules
    /// about keys written together (a Redis Cluster's `servers` beside `host`) look only at
    /// written ones, at start as at build time.
    pub written: bool,
}

/// A declared pool, expanded and with every default resolved (generated by the macro).
#[derive(Clone, Copy, Debug)]
pub struct PoolSpec {
    /// `<type>.<host or global>.<tag>`, e.g. `"rdbms.global.default"`.
    pub name: &'static str,
    /// The pool type.
    pub pool_type: PoolType,
    /// The `rdbms` driver, if any.
    pub driver: Option<Driver>,
    /// The host it serves, or `None` for a global pool.
    pub host: Option<&'static str>,
    /// The tag.
    pub tag: &'static str,
    /// The connector (`Pgsql`, `Generic`, …).
    pub connector: &'static str,
    /// The strategy's declaration name.
    pub strategy: &'static str,
    /// The pool options that can change at start, defaults resolved (`workers`, …).
    pub options: &'static [SettingSpec],
    /// The connection settings (TLS ones prefixed `tls.`), defaults resolved.
    pub connection: &'static [SettingSpec],
}

impl PoolSpec {
    /// The pool options as declared (defaults resolved), before anything set at start.
    ///
    /// ```
    /// # use pool_runtime::declared::{PoolSpec, SettingSpec, Source};
    /// # use pool_runtime::settings::PoolType;
    /// let spec = PoolSpec {
    ///     name: "generic.global.default",
    ///     pool_type: PoolType::Generic,
    ///     driver: None,
    ///     host: None,
    ///     tag: "default",
    ///     connector: "Generic",
    ///     strategy: "best_worker",
    ///     options: &[SettingSpec { key: "workers", source: Source::Int(4), written: true }],
    ///     connection: &[],
    /// };
    /// assert_eq!(spec.options().workers, 4);
    /// ```
    pub fn options(&self) -> PoolOptions {
        Settings::declared_options(self).expect("the macro checked the declared pool options")
    }

    /// The declared setting `key` (a pool option or a connection key, `tls.<key>` for TLS).
    pub fn setting(&self, key: &str) -> Option<&'static SettingSpec> {
        self.options
            .iter()
            .chain(self.connection)
            .find(|s| s.key == key)
    }

    /// Whether `key` is a secret (printed as `***`).
    pub fn is_secret(&self, key: &str) -> bool {
        crate::settings::rows(self.pool_type, self.driver).any(|d| d.secret && d.key() == key)
    }

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
            part(self.pool_type.name()),
            part(self.host.unwrap_or("global")),
            part(self.tag),
            part(key)
        )
    }
}

impl fmt::Display for PoolSpec {
    /// One line: name, connector, strategy, every pool option, then the connection with
    /// secrets redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<28} {:<8} {:<22}",
            self.name, self.connector, self.strategy
        )?;
        for s in self.options.iter().chain(self.connection) {
            let secret = self.is_secret(s.key);
            write!(f, " {}=", s.key)?;
            match (secret, s.source) {
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

    /// The override of `key` of the pool named `pool`.
    pub(crate) fn get(&self, pool: &str, key: &str) -> Option<&str> {
        self.values
            .get(&(pool.to_owned(), key.to_owned()))
            .map(String::as_str)
    }

    /// Checks that every override, and every `OUTGOING_POOLS__…` variable of the process,
    /// names a declared pool and a key that can be set at start.
    ///
    /// # Errors
    ///
    /// The first that does not, with "did you mean" when a pool, key or variable is close.
    pub fn check(&self, specs: &[PoolSpec]) -> Result<(), StartError> {
        self.check_with(
            specs,
            std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()),
        )
    }

    pub(crate) fn check_with(
        &self,
        specs: &[PoolSpec],
        vars: impl Iterator<Item = String>,
    ) -> Result<(), StartError> {
        let mut keys = self.values.keys().collect::<Vec<_>>();
        keys.sort();
        for (pool, key) in keys {
            let target = format!("`{pool}` `{key}`");
            let Some(spec) = specs.iter().find(|s| s.name == pool) else {
                let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
                return Err(StartError::UnknownOverride {
                    target,
                    problem: format!("no such pool{}", pool_spec::hint(pool, &names)),
                });
            };
            let rows: Vec<_> = crate::settings::rows(spec.pool_type, spec.driver).collect();
            match rows.iter().find(|d| d.key() == *key) {
                Some(d) if d.fixed.is_some() => {
                    return Err(StartError::UnknownOverride {
                        target,
                        problem: crate::settings::fixed_problem(d),
                    });
                }
                Some(_) => {}
                None => {
                    return Err(StartError::UnknownOverride {
                        target,
                        problem: crate::settings::unknown_key(spec.pool_type, spec.driver, key),
                    });
                }
            }
        }
        let mut known: Vec<(String, &'static pool_spec::OptionDesc)> = Vec::new();
        for spec in specs {
            for d in crate::settings::rows(spec.pool_type, spec.driver) {
                known.push((spec.override_var(&d.key()), d));
            }
        }
        let mut vars: Vec<String> = vars.filter(|v| v.starts_with(OVERRIDE_PREFIX)).collect();
        vars.sort();
        for var in vars {
            let target = format!("the variable `{var}`");
            match known.iter().find(|(name, _)| *name == var) {
                Some((_, d)) if d.fixed.is_some() => {
                    return Err(StartError::UnknownOverride {
                        target,
                        problem: crate::settings::fixed_problem(d),
                    });
                }
                Some(_) => {}
                None => {
                    if let Some(problem) = unknown_variable(specs, &known, &var) {
                        return Err(StartError::UnknownOverride { target, problem });
                    }
                }
            }
        }
        Ok(())
    }
}

/// Every override variable starts with this.
const OVERRIDE_PREFIX: &str = "OUTGOING_POOLS__";

/// What is wrong with an `OUTGOING_POOLS__…` variable that is none of the declaration's, or
/// `None` when it may be another declaration's: a process can hold several, and each checks
/// the variables of its own pools. A variable is this declaration's when it names one of its
/// pools (then its key must be one of that pool's), or a pool of one of its types within a
/// typo of one of its pools.
fn unknown_variable(
    specs: &[PoolSpec],
    known: &[(String, &'static pool_spec::OptionDesc)],
    var: &str,
) -> Option<String> {
    // `closest` compares lowercase names.
    let close_among = |names: Vec<String>, input: &str| {
        let lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        let refs: Vec<&str> = lower.iter().map(String::as_str).collect();
        pool_spec::closest(input, &refs).map(str::to_ascii_uppercase)
    };
    let pool_prefix = |spec: &PoolSpec| spec.override_var("");
    if let Some(spec) = specs.iter().find(|s| var.starts_with(&pool_prefix(s))) {
        let names = known
            .iter()
            .filter(|(n, _)| n.starts_with(&pool_prefix(spec)))
            .map(|(n, _)| n.clone())
            .collect();
        return Some(match close_among(names, var) {
            Some(close) => format!(
                "pool `{}` has no such key; did you mean `{close}`?",
                spec.name
            ),
            None => format!("pool `{}` has no such key", spec.name),
        });
    }
    let rest = var.strip_prefix(OVERRIDE_PREFIX)?;
    let (pool_type, _) = rest.split_once("__")?;
    let ours: Vec<&PoolSpec> = specs
        .iter()
        .filter(|s| s.pool_type.name().eq_ignore_ascii_case(pool_type))
        .collect();
    if ours.is_empty() {
        return None;
    }
    let names = ours
        .iter()
        .flat_map(|spec| {
            known
                .iter()
                .filter(|(n, _)| n.starts_with(&pool_prefix(spec)))
                .map(|(n, _)| n.clone())
        })
        .collect();
    close_among(names, var)
        .map(|close| format!("it names no declared pool; did you mean `{close}`?"))
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
    /// The status of each of `pools`, named by the spec at the same index (what the generated
    /// `status()` reports).
    pub fn of(specs: &[PoolSpec], pools: &[&dyn AnyPool]) -> Self {
        StatusTable(
            specs
                .iter()
                .zip(pools)
                .map(|(spec, pool)| (spec.name, pool.status()))
                .collect(),
        )
    }

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
            fn from_settings(settings: &$crate::settings::Settings) -> Result<Self, $crate::declared::StartError> {
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
