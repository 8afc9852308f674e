//! A pool's settings at start: one resolution for every source, checked by pool-spec's option
//! table exactly as the declaration is, then read into the typed structs of `generated.rs`
//! (one per connector, [`TlsOptions`], [`PoolOptions`]).
//!
//! A value comes, in this order of precedence, from
//!
//! 1. the `Pools` builder: `Pools::builder().set("rdbms.global.default", "password", secret)`;
//! 2. an environment variable named
//!    `OUTGOING_POOLS__<TYPE>__<HOST or GLOBAL>__<TAG>__<KEY>`, upper-cased, with every
//!    character other than a letter or digit turned into `_`
//!    (`OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__PASSWORD`,
//!    `OUTGOING_POOLS__REDIS__A_COM__DEFAULT__HOST`,
//!    `OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__TLS_CACERTFILE`);
//! 3. the declaration's `env("NAME")` / `env("NAME", default = "…")`, or its literal;
//! 4. the table's default for the pool type (and driver).
//!
//! Every key of the pool's type can be set at start, declared or not, except those that shape
//! the generated types (`strategy`, `driver`) or name the pool (`scope`, `tag`). Text read at
//! start is parsed and checked by the table (kind, range, enum, URL), and the pool's keys
//! together by the declaration's rules across keys (pairs, [`pool_spec::combination_problems`]);
//! an error names the pool, the key, where the value came from and what would be valid, and
//! never prints a secret.
//!
//! A hand-built pool goes through the same checks:
//!
//! ```
//! use pool_runtime::settings::{Driver, PgsqlSettings, PoolType, Settings, keys};
//!
//! let settings = Settings::builder("db", PoolType::Rdbms, Some(Driver::Pgsql))
//!     .set(keys::HOST, "db.example")
//!     .set(keys::DATABASE, "app")
//!     .set(keys::USERNAME, "app")
//!     .set(keys::PASSWORD, "s3cret")
//!     .build()?;
//! let pg = PgsqlSettings::from_settings(&settings)?;
//! assert_eq!(pg.port, 5432); // the table's default for pgsql
//! assert_eq!(format!("{:?}", pg.password), "***");
//!
//! let err = Settings::builder("db", PoolType::Rdbms, Some(Driver::Pgsql))
//!     .set(keys::PORT, "70000")
//!     .build()
//!     .unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "pool `db`: `port` from the builder: must be between 1 and 65535, got 70000"
//! );
//! # Ok::<(), pool_runtime::StartError>(())
//! ```

mod generated;

use std::fmt;
use std::time::Duration;

pub use generated::*;
pub use pool_spec::{Driver, PoolType, Server, Value};
use pool_spec::{Level, OPTIONS, OptionDesc, SetKey};

use crate::QueueType;
use crate::declared::{Overrides, PoolSpec, Source, StartError};
use crate::error::PoolName;

/// A secret value (a password): `Debug` prints `***`; [`Secret::expose`] gives the value.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The value itself.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a resolved value came from, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Origin {
    Builder,
    Variable(String),
    EnvDefault(String),
    Declared,
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Builder => f.write_str("the builder"),
            Origin::Variable(var) => write!(f, "the variable `{var}`"),
            Origin::EnvDefault(var) => write!(f, "the default of `{var}`"),
            Origin::Declared => f.write_str("the declaration"),
            Origin::Default => f.write_str("the default"),
        }
    }
}

struct Resolved {
    desc: &'static OptionDesc,
    value: Value,
    origin: Origin,
}

/// A pool's settings, resolved and checked: what a connector (and the pool) is built from.
/// Read them through the typed structs ([`PgsqlSettings::from_settings`], …).
pub struct Settings {
    pool: PoolName,
    pool_type: PoolType,
    driver: Option<Driver>,
    values: Vec<Resolved>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for r in &self.values {
            let key = r.desc.key();
            if r.desc.secret {
                m.entry(&key, &format_args!("***"));
            } else {
                m.entry(&key, &r.value);
            }
        }
        m.finish()
    }
}

/// Every key of a pool of this type and driver, fixed ones included.
pub(crate) fn rows(
    pool_type: PoolType,
    driver: Option<Driver>,
) -> impl Iterator<Item = &'static OptionDesc> {
    OPTIONS
        .iter()
        .filter(move |d| d.types.contains(&pool_type) && d.honoured_by(pool_type, driver))
}

impl Settings {
    /// Settings for a hand-built pool named `pool`, checked by the same table as a declaration.
    pub fn builder(
        pool: impl Into<PoolName>,
        pool_type: PoolType,
        driver: Option<Driver>,
    ) -> SettingsBuilder {
        SettingsBuilder {
            pool: pool.into(),
            pool_type,
            driver,
            values: Vec::new(),
        }
    }

    /// Resolves a declared pool's settings (see the module docs for the order).
    pub(crate) fn resolve(spec: &PoolSpec, overrides: &Overrides) -> Result<Settings, StartError> {
        Self::resolve_with(spec, overrides, |var| std::env::var(var).ok())
    }

    pub(crate) fn resolve_with(
        spec: &PoolSpec,
        overrides: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, StartError> {
        let pool = PoolName::from(spec.name);
        let declared = spec.options.iter().chain(spec.connection);
        let tls_declared = spec
            .connection
            .iter()
            .any(|s| pool_spec::tls_key(s.key).is_some());
        resolve(
            pool.clone(),
            spec.pool_type,
            spec.driver,
            tls_declared,
            false,
            |desc| {
                let key = desc.key();
                if let Some(text) = overrides.get(spec.name, &key) {
                    return parse(&pool, desc, text, Origin::Builder).map(Some);
                }
                let var = spec.override_var(&key);
                if let Some(text) = env(&var) {
                    return parse(&pool, desc, &text, Origin::Variable(var)).map(Some);
                }
                let Some(setting) = declared.clone().find(|s| s.key == key) else {
                    return Ok(None);
                };
                match setting.source {
                    Source::Env { var, default } => match (env(var), default) {
                        (Some(text), _) => {
                            parse(&pool, desc, &text, Origin::Variable(var.into())).map(Some)
                        }
                        (None, Some(text)) => {
                            parse(&pool, desc, text, Origin::EnvDefault(var.into())).map(Some)
                        }
                        (None, None) => Err(StartError::MissingEnv {
                            pool: pool.clone(),
                            key,
                            var: var.into(),
                        }),
                    },
                    source => declared_value(desc, source, setting.written, &pool).map(Some),
                }
            },
        )
    }

    /// A declared pool's options as declared (or defaulted), before anything set at start.
    pub(crate) fn declared_options(spec: &PoolSpec) -> Result<PoolOptions, StartError> {
        let pool = PoolName::from(spec.name);
        let settings = resolve(
            pool.clone(),
            spec.pool_type,
            spec.driver,
            false,
            true,
            |desc| match spec.options.iter().find(|s| s.key == desc.name) {
                Some(s) => declared_value(desc, s.source, s.written, &pool).map(Some),
                None => Ok(None),
            },
        )?;
        PoolOptions::from_settings(&settings)
    }

    /// The pool these settings are for.
    pub fn pool(&self) -> &PoolName {
        &self.pool
    }

    /// The pool type.
    pub fn pool_type(&self) -> PoolType {
        self.pool_type
    }

    /// The `rdbms` driver, if any.
    pub fn driver(&self) -> Option<Driver> {
        self.driver
    }

    /// The value of `key` (`tls.<key>` for TLS keys), if it has one.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.find(key).map(|r| &r.value)
    }

    fn find(&self, key: &str) -> Option<&Resolved> {
        self.values.iter().find(|r| r.desc.is_key(key))
    }

    /// Whether the pool has a `tls` section (declared, or a TLS key set at start).
    pub fn has_tls(&self) -> bool {
        self.values.iter().any(|r| r.desc.level == Level::Tls)
    }

    /// `key` as a `T`, or `None` when it has no value (or is `infinity`).
    ///
    /// # Errors
    ///
    /// The value is not a `T` (a connector reading a key as the wrong type).
    pub fn opt<T: FromValue>(&self, key: &str) -> Result<Option<T>, StartError> {
        let Some(r) = self.find(key) else {
            return Ok(None);
        };
        if r.value == Value::Infinity {
            return Ok(None);
        }
        T::from_value(&r.value, r.desc).map(Some).ok_or_else(|| {
            self.error(format!(
                "`{key}` from {} cannot be read as {}",
                r.origin,
                std::any::type_name::<T>()
            ))
        })
    }

    /// `key` as a `T`.
    ///
    /// # Errors
    ///
    /// It has no value, or it is not a `T`.
    pub fn req<T: FromValue>(&self, key: &str) -> Result<T, StartError> {
        self.opt(key)?.ok_or_else(|| StartError::MissingKey {
            pool: self.pool.clone(),
            key: key.to_owned(),
        })
    }

    /// A [`StartError::Settings`] for this pool.
    pub fn error(&self, message: impl Into<String>) -> StartError {
        StartError::Settings {
            pool: self.pool.clone(),
            message: message.into(),
        }
    }
}

/// Settings for a hand-built pool: text values, parsed and checked as the environment's are.
#[derive(Debug)]
#[must_use = "`build()` checks and returns the settings"]
pub struct SettingsBuilder {
    pool: PoolName,
    pool_type: PoolType,
    driver: Option<Driver>,
    values: Vec<(String, Secret<String>)>,
}

impl SettingsBuilder {
    /// Sets `key` (`tls.<key>` for TLS keys) from its text form: decimal integers,
    /// `true`/`false`, comma-separated lists, `host[:port]` servers.
    pub fn set(mut self, key: &str, value: impl fmt::Display) -> Self {
        self.values.retain(|(k, _)| k != key);
        self.values
            .push((key.to_owned(), Secret::new(value.to_string())));
        self
    }

    /// [`SettingsBuilder::set`] for each pair.
    pub fn set_all<'a, V: fmt::Display>(
        self,
        values: impl IntoIterator<Item = (&'a str, V)>,
    ) -> Self {
        values.into_iter().fold(self, |b, (k, v)| b.set(k, v))
    }

    /// An `rdbms` pool named `pool` on a made-up server (host, database, user and password
    /// set), for the connectors' unit tests.
    #[cfg(test)]
    pub(crate) fn sql_for_tests(pool: &str, driver: Driver) -> Self {
        Settings::builder(pool, PoolType::Rdbms, Some(driver))
            .set(keys::HOST, "db.example")
            .set(keys::DATABASE, "mydb")
            .set(keys::USERNAME, "mim")
            .set(keys::PASSWORD, "s3cret")
    }

    /// Checks every value and applies the table's defaults.
    ///
    /// # Errors
    ///
    /// A key the pool type does not have (with "did you mean"), a value the key does not
    /// take, a required key left out, half of a pair.
    pub fn build(self) -> Result<Settings, StartError> {
        for (key, _) in &self.values {
            let desc = rows(self.pool_type, self.driver).find(|d| d.is_key(key));
            match desc {
                Some(d) if d.fixed.is_some() => {
                    return Err(self.unknown(key, fixed_problem(d)));
                }
                Some(_) => {}
                None => {
                    let problem = unknown_key(self.pool_type, self.driver, key);
                    return Err(self.unknown(key, problem));
                }
            }
        }
        let tls = self
            .values
            .iter()
            .any(|(k, _)| pool_spec::tls_key(k).is_some());
        let pool = self.pool.clone();
        resolve(
            self.pool.clone(),
            self.pool_type,
            self.driver,
            tls,
            false,
            |desc| match self.values.iter().find(|(k, _)| desc.is_key(k)) {
                Some((_, text)) => parse(&pool, desc, text.expose(), Origin::Builder).map(Some),
                None => Ok(None),
            },
        )
    }

    fn unknown(&self, key: &str, problem: String) -> StartError {
        StartError::UnknownOverride {
            target: format!("`{}` `{key}`", self.pool),
            problem,
        }
    }
}

/// Why `key` is not a key of a pool of this type and driver, with "did you mean".
pub(crate) fn unknown_key(pool_type: PoolType, driver: Option<Driver>, key: &str) -> String {
    if let (Some(driver), true) = (
        driver,
        OPTIONS
            .iter()
            .any(|d| d.types.contains(&pool_type) && d.is_key(key)),
    ) {
        return format!("`{key}` is not supported by driver `{driver}`");
    }
    let known: Vec<String> = rows(pool_type, driver).map(OptionDesc::key).collect();
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    format!(
        "no such key for a `{pool_type}` pool{}",
        pool_spec::hint(key, &known)
    )
}

pub(crate) fn fixed_problem(desc: &OptionDesc) -> String {
    format!(
        "`{}` cannot be set at start: {}",
        desc.key(),
        desc.fixed.unwrap_or_default()
    )
}

/// A literal of the declaration (already checked by the macro) as a value of `desc`; one the
/// declaration did not write is the table's default, which the macro wrote out.
fn declared_value(
    desc: &'static OptionDesc,
    source: Source,
    written: bool,
    pool: &PoolName,
) -> Result<(Value, Origin), StartError> {
    let value = match source {
        Source::Env { var, .. } => {
            return Err(StartError::MissingEnv {
                pool: pool.clone(),
                key: desc.key(),
                var: var.into(),
            });
        }
        Source::Int(i) => Value::Int(i),
        Source::Bool(b) => Value::Bool(b),
        Source::Str(s) => match desc.kind {
            pool_spec::Kind::Enum(_) => Value::Ident(s.into()),
            pool_spec::Kind::IntOrInfinity => Value::Infinity,
            _ => Value::Str(s.into()),
        },
        Source::List(items) => Value::List(items.iter().map(|s| (*s).into()).collect()),
        Source::Servers(items) => Value::Servers(
            items
                .iter()
                .map(|(host, port)| Server {
                    host: (*host).into(),
                    port: *port,
                })
                .collect(),
        ),
    };
    let origin = if written {
        Origin::Declared
    } else {
        Origin::Default
    };
    Ok((value, origin))
}

/// Parses text read at start with the table's rules for `desc`.
fn parse(
    pool: &PoolName,
    desc: &'static OptionDesc,
    text: &str,
    origin: Origin,
) -> Result<(Value, Origin), StartError> {
    match desc.parse_text(text) {
        Ok(value) => Ok((value, origin)),
        Err(problem) => Err(StartError::InvalidValue {
            pool: pool.clone(),
            key: desc.key(),
            source_name: origin.to_string(),
            problem: if desc.secret {
                format!("expected {}", desc.kind.expected())
            } else {
                problem
            },
        }),
    }
}

/// The one resolution: every key of the type that can be set at start, from `given` or the
/// table's default; then the rules that span keys (required, pairs).
fn resolve(
    pool: PoolName,
    pool_type: PoolType,
    driver: Option<Driver>,
    tls_declared: bool,
    pool_options_only: bool,
    mut given: impl FnMut(&'static OptionDesc) -> Result<Option<(Value, Origin)>, StartError>,
) -> Result<Settings, StartError> {
    let mut found = Vec::new();
    for desc in rows(pool_type, driver).filter(|d| d.fixed.is_none()) {
        if pool_options_only && desc.level != Level::Pool {
            continue;
        }
        found.push((desc, given(desc)?));
    }
    let tls_on = tls_declared
        || found
            .iter()
            .any(|(d, v)| d.level == Level::Tls && v.is_some());
    let mut values = Vec::new();
    for (desc, value) in found {
        let value = value.or_else(|| {
            if desc.level == Level::Tls && !tls_on {
                return None;
            }
            let default = desc.default_for(pool_type, driver, tls_on)?;
            Some((default, Origin::Default))
        });
        match value {
            Some((value, origin)) => values.push(Resolved {
                desc,
                value,
                origin,
            }),
            None if desc.is_required(driver) => {
                return Err(StartError::MissingKey {
                    pool,
                    key: desc.key(),
                });
            }
            None => {}
        }
    }
    let settings = Settings {
        pool,
        pool_type,
        driver,
        values,
    };
    check_pairs(&settings)?;
    check_combinations(&settings)?;
    Ok(settings)
}

/// Paired keys (TLS `certfile` and `keyfile`, cassandra `auth.plain.*`) are set together or
/// not at all, as the declaration checks.
fn check_pairs(settings: &Settings) -> Result<(), StartError> {
    for present in settings
        .values
        .iter()
        .filter(|r| r.desc.pair_group().is_some())
    {
        let partners = rows(settings.pool_type, settings.driver)
            .filter(|d| d.pair_group() == present.desc.pair_group());
        for missing in partners {
            if settings.find(&missing.key()).is_none() {
                return Err(settings.error(format!(
                    "`{}` (from {}) needs `{}`",
                    present.desc.key(),
                    present.origin,
                    missing.key()
                )));
            }
        }
    }
    Ok(())
}

/// Keys that may not go together (a Redis Cluster's `servers`, Sentinels beside `host`), by
/// the rules the declaration was checked by, now that every value is known.
fn check_combinations(settings: &Settings) -> Result<(), StartError> {
    let set: Vec<SetKey<'_>> = settings
        .values
        .iter()
        .filter(|r| r.origin != Origin::Default)
        .map(|r| SetKey {
            desc: r.desc,
            value: Some(&r.value),
        })
        .collect();
    let Some(problem) = pool_spec::combination_problems(settings.pool_type, &set)
        .into_iter()
        .next()
    else {
        return Ok(());
    };
    let origin = settings
        .values
        .iter()
        .find(|r| std::ptr::eq(r.desc, problem.desc))
        .map_or(Origin::Default, |r| r.origin.clone());
    Err(StartError::InvalidValue {
        pool: settings.pool.clone(),
        key: problem.desc.key(),
        source_name: origin.to_string(),
        problem: problem.problem,
    })
}

impl TlsOptions {
    /// The `tls` section of `settings`, `None` without one.
    ///
    /// # Errors
    ///
    /// A TLS value this build cannot read (see [`Settings::opt`]).
    pub fn from_section(settings: &Settings) -> Result<Option<Self>, StartError> {
        if settings.has_tls() {
            Self::from_settings(settings).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// A Rust value of a checked setting.
pub trait FromValue: Sized {
    /// `value` as `Self`, with `desc` for its unit; `None` when it is not one.
    fn from_value(value: &Value, desc: &OptionDesc) -> Option<Self>;
}

impl FromValue for String {
    fn from_value(value: &Value, _: &OptionDesc) -> Option<Self> {
        value.as_str().map(str::to_owned)
    }
}

impl FromValue for Secret<String> {
    fn from_value(value: &Value, desc: &OptionDesc) -> Option<Self> {
        String::from_value(value, desc).map(Secret)
    }
}

impl FromValue for bool {
    fn from_value(value: &Value, _: &OptionDesc) -> Option<Self> {
        value.as_bool()
    }
}

impl FromValue for i64 {
    fn from_value(value: &Value, _: &OptionDesc) -> Option<Self> {
        value.as_int()
    }
}

impl FromValue for u32 {
    fn from_value(value: &Value, _: &OptionDesc) -> Option<Self> {
        value.as_int().and_then(|i| u32::try_from(i).ok())
    }
}

impl FromValue for u16 {
    fn from_value(value: &Value, _: &OptionDesc) -> Option<Self> {
        value.as_int().and_then(|i| u16::try_from(i).ok())
    }
}

impl FromValue for Duration {
    fn from_value(value: &Value, desc: &OptionDesc) -> Option<Self> {
        let n = u64::try_from(value.as_int()?).ok()?;
        match desc.unit {
            "ms" => Some(Duration::from_millis(n)),
            "s" => Some(Duration::from_secs(n)),
            _ => None,
        }
    }
}

impl FromValue for Vec<String> {
    fn from_value(value: &Value, _: &OptionDesc) -> Option<Self> {
        match value {
            Value::List(items) => Some(items.clone()),
            _ => None,
        }
    }
}

impl FromValue for Vec<Server> {
    fn from_value(value: &Value, _: &OptionDesc) -> Option<Self> {
        match value {
            Value::Servers(items) => Some(items.clone()),
            _ => None,
        }
    }
}

impl FromValue for QueueType {
    fn from_value(value: &Value, _: &OptionDesc) -> Option<Self> {
        QueueType::from_name(value.as_str()?)
    }
}

#[cfg(test)]
mod tests;
