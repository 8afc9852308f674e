//! The one table of option descriptors. Parsing, validation, defaults, the plan and the
//! generated reference all read [`OPTIONS`]; no option name is spelled anywhere else.

use std::fmt::Write as _;

use crate::kinds::{ConnectorKind, Driver, PoolType, QueueType, Server, Strategy, Value};
use crate::names;
use crate::text::one_of;

/// Where an option is written.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Level {
    /// In the pool entry: `redis(workers = 5)`, `[outgoing_pools.redis.default]`.
    Pool,
    /// In `connection(...)`, `[...connection]`.
    Connection,
    /// In `connection(tls(...))`, `[...connection.tls]`.
    Tls,
}

impl Level {
    /// The section name of the level (`connection`, `tls`), empty for the pool itself.
    pub fn section(self) -> &'static str {
        match self {
            Level::Pool => "",
            Level::Connection => names::CONNECTION,
            Level::Tls => names::TLS,
        }
    }
}

/// What values an option takes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// An integer, within the option's `range`.
    Int,
    /// An integer or `infinity`.
    IntOrInfinity,
    /// A string.
    Str,
    /// `true` or `false`.
    Bool,
    /// One of these names (an identifier in the attribute, a string in TOML).
    Enum(&'static [&'static str]),
    /// A list of strings.
    StrList,
    /// A server list: `"host"`, `"host:port"` or `{ host = "...", port = N }` items; the port
    /// is this one unless given.
    Servers(u16),
    /// An `http[s]://host[:port]` URL.
    Url,
    /// `global`, `host` or a declared host.
    Scope,
    /// A tag: lowercase letters, digits and `_`.
    Tag,
}

impl Kind {
    /// How messages describe what is expected.
    pub fn expected(self) -> String {
        match self {
            Kind::Int => "an integer".into(),
            Kind::IntOrInfinity => "an integer or `infinity`".into(),
            Kind::Str => "a string".into(),
            Kind::Bool => "`true` or `false`".into(),
            Kind::Enum(names) => one_of(names),
            Kind::StrList => "a list of strings".into(),
            Kind::Servers(port) => format!(
                "a list of servers (`\"host\"`, `\"host:port\"` or `{{ host = \"...\", port = ... }}`; port {port} unless given)"
            ),
            Kind::Url => "a URL string `http[s]://host[:port]`".into(),
            Kind::Scope => "`global`, `host` or a declared host string".into(),
            Kind::Tag => "a tag of lowercase letters, digits and `_`".into(),
        }
    }

    /// Parses the text form of a value: what `env("NAME")` reads at start and what an env
    /// `default` holds. Integers in decimal, booleans `true`/`false`, lists comma-separated,
    /// servers `host[:port]` comma-separated. The range is not checked here.
    pub fn parse_text(self, text: &str) -> Result<Value, String> {
        let text = text.trim();
        let bad = || format!("expected {}, found `{text}`", self.expected());
        match self {
            Kind::Int => text.parse::<i64>().map(Value::Int).map_err(|_| bad()),
            Kind::IntOrInfinity if text == names::INFINITY => Ok(Value::Infinity),
            Kind::IntOrInfinity => text.parse::<i64>().map(Value::Int).map_err(|_| bad()),
            Kind::Str | Kind::Tag => Ok(Value::Str(text.to_owned())),
            Kind::Url => match crate::text::url_problem(text) {
                None => Ok(Value::Str(text.to_owned())),
                Some(problem) => Err(problem),
            },
            Kind::Bool => match text {
                names::TRUE => Ok(Value::Bool(true)),
                names::FALSE => Ok(Value::Bool(false)),
                _ => Err(bad()),
            },
            Kind::Enum(names) => {
                if names.contains(&text) {
                    Ok(Value::Ident(text.to_owned()))
                } else {
                    Err(bad())
                }
            }
            Kind::StrList => Ok(Value::List(
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )),
            Kind::Servers(port) => text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|item| Server::parse(item, port).ok_or_else(bad))
                .collect::<Result<_, _>>()
                .map(Value::Servers),
            Kind::Scope => Err(bad()),
        }
    }
}

/// An empty list, or the first item it repeats.
fn list_problem(items: impl Iterator<Item = String>) -> Option<String> {
    let mut seen = Vec::new();
    for item in items {
        if seen.contains(&item) {
            return Some(format!("lists {item} twice"));
        }
        seen.push(item);
    }
    seen.is_empty().then(|| "must not be empty".to_owned())
}

/// An inclusive integer range.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Range {
    /// Smallest allowed value.
    pub min: i64,
    /// Largest allowed value.
    pub max: i64,
}

impl Range {
    /// Whether `value` is inside.
    pub fn contains(self, value: i128) -> bool {
        i128::from(self.min) <= value && value <= i128::from(self.max)
    }

    /// "at least 1" or "between 1 and 65535".
    pub fn describe(self) -> String {
        if self.max == UNBOUNDED {
            format!("at least {}", self.min)
        } else {
            format!("between {} and {}", self.min, self.max)
        }
    }
}

/// Numbers have no practical upper limit, but they must fit the runtime's `u32`s and
/// millisecond `Duration`s.
const UNBOUNDED: i64 = u32::MAX as i64;
const POSITIVE: Range = Range {
    min: 1,
    max: UNBOUNDED,
};
const NON_NEGATIVE: Range = Range {
    min: 0,
    max: UNBOUNDED,
};
const PORT: Range = Range { min: 1, max: 65535 };
const CASSANDRA_PORT: u16 = 9042;
const REDIS_PORT: u16 = 6379;
const SENTINEL_PORT: u16 = 26379;

/// A constant default value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Const {
    /// An integer.
    Int(i64),
    /// A string.
    Str(&'static str),
    /// A boolean.
    Bool(bool),
    /// A name of an enum kind.
    Ident(&'static str),
    /// `infinity`.
    Infinity,
    /// A list of strings.
    StrList(&'static [&'static str]),
    /// A server list.
    Servers(&'static [(&'static str, u16)]),
}

impl Const {
    /// The value it stands for.
    pub fn to_value(self) -> Value {
        match self {
            Const::Int(i) => Value::Int(i),
            Const::Str(s) => Value::Str(s.to_owned()),
            Const::Bool(b) => Value::Bool(b),
            Const::Ident(s) => Value::Ident(s.to_owned()),
            Const::Infinity => Value::Infinity,
            Const::StrList(items) => Value::List(items.iter().map(|s| (*s).to_owned()).collect()),
            Const::Servers(items) => Value::Servers(
                items
                    .iter()
                    .map(|(host, port)| Server {
                        host: (*host).to_owned(),
                        port: *port,
                    })
                    .collect(),
            ),
        }
    }
}

/// The default of an option.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DefaultValue {
    /// Not set unless written.
    Unset,
    /// This value.
    Value(Const),
    /// This value, except for the listed types.
    ByType(Const, &'static [(PoolType, Const)]),
    /// Depends on the `rdbms` driver; unset for drivers not listed.
    ByDriver(&'static [(Driver, Const)]),
    /// Depends on whether the connection uses TLS.
    ByTls {
        /// Without TLS.
        plain: Const,
        /// With TLS.
        tls: Const,
    },
}

/// Whether an option must be written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Need {
    /// It may be left out.
    Optional,
    /// It must be written.
    Required,
    /// It must be written for these drivers.
    RequiredFor(&'static [Driver]),
    /// Either every `Paired` option of its group is written, or none.
    Paired,
}

/// Everything known about one option.
#[derive(Clone, Copy, Debug)]
pub struct OptionDesc {
    /// Where it is written.
    pub level: Level,
    /// Its name; dotted inside groups (`reconnect.attempts` is `reconnect(attempts = ...)` and
    /// TOML `reconnect.attempts`).
    pub name: &'static str,
    /// Older names accepted for it (MongooseIM 3.x).
    pub aliases: &'static [&'static str],
    /// Its values.
    pub kind: Kind,
    /// Its default.
    pub default: DefaultValue,
    /// Allowed integers.
    pub range: Option<Range>,
    /// The pool types that have it.
    pub types: &'static [PoolType],
    /// The connectors that honour it; empty means every connector of its types. A key a
    /// connector's client cannot honour is refused at compile time, at its token, rather than
    /// ignored at start (`tls.ciphers` for mysql, `host` for odbc).
    pub connectors: &'static [ConnectorKind],
    /// Whether it must be written.
    pub need: Need,
    /// A string that may not be empty, a list that may be neither empty nor repeat an item
    /// (MongooseIM's `non_empty` and `unique_non_empty`).
    pub non_empty: bool,
    /// A secret: `Debug` and `Display` print `"***"`.
    pub secret: bool,
    /// Whether `env("NAME")` is allowed (connection values; not what selects types at compile
    /// time).
    pub env: bool,
    /// Why it cannot be set at start (by an `OUTGOING_POOLS__…` variable or the `Pools`
    /// builder): it shapes the generated types or names the pool. `None`: it can.
    pub fixed: Option<&'static str>,
    /// Unit of an integer (`ms`, `s`).
    pub unit: &'static str,
    /// One line for the reference.
    pub doc: &'static str,
}

impl OptionDesc {
    const fn new(level: Level, name: &'static str, kind: Kind, types: &'static [PoolType]) -> Self {
        OptionDesc {
            level,
            name,
            aliases: &[],
            kind,
            default: DefaultValue::Unset,
            range: None,
            types,
            connectors: &[],
            need: Need::Optional,
            non_empty: false,
            secret: false,
            env: !matches!(level, Level::Pool),
            fixed: None,
            unit: "",
            doc: "",
        }
    }
    const fn default(mut self, value: Const) -> Self {
        self.default = DefaultValue::Value(value);
        self
    }
    const fn default_by(mut self, default: DefaultValue) -> Self {
        self.default = default;
        self
    }
    const fn range(mut self, range: Range) -> Self {
        self.range = Some(range);
        self
    }
    const fn ms(mut self) -> Self {
        self.unit = "ms";
        self
    }
    const fn secs(mut self) -> Self {
        self.unit = "s";
        self
    }
    const fn connectors(mut self, connectors: &'static [ConnectorKind]) -> Self {
        self.connectors = connectors;
        self
    }
    const fn need(mut self, need: Need) -> Self {
        self.need = need;
        self
    }
    const fn non_empty(mut self) -> Self {
        self.non_empty = true;
        self
    }
    const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }
    const fn no_env(mut self) -> Self {
        self.env = false;
        self
    }
    const fn fixed(mut self, why: &'static str) -> Self {
        self.fixed = Some(why);
        self
    }
    const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }
    const fn doc(mut self, doc: &'static str) -> Self {
        self.doc = doc;
        self
    }

    /// The name overrides, resolved settings and generated code use for it: its name, with
    /// `tls.` before a TLS key (`tls.cacertfile`).
    pub fn key(&self) -> String {
        key_of(self.level, self.name)
    }

    /// Whether `key`, spelt as [`OptionDesc::key`] spells keys, names this option (or one of
    /// its aliases).
    pub fn is_key(&self, key: &str) -> bool {
        std::iter::once(self.name)
            .chain(self.aliases.iter().copied())
            .any(|name| key_of(self.level, name) == key)
    }

    /// The group a [`Need::Paired`] option is written with (its level and dotted prefix:
    /// `auth.plain` for `auth.plain.username`), `None` for an option without a pair.
    pub fn pair_group(&self) -> Option<(Level, &'static str)> {
        (self.need == Need::Paired).then(|| {
            (
                self.level,
                self.name.rsplit_once('.').map_or("", |(g, _)| g),
            )
        })
    }

    /// Whether `name` is this option's name or one of its aliases.
    pub fn is_named(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }

    /// Whether the connector of a pool of `pool_type` (with `driver`, for `rdbms`) honours it;
    /// true for an `rdbms` pool whose driver is unknown, which is an error of its own.
    pub fn honoured_by(&self, pool_type: PoolType, driver: Option<Driver>) -> bool {
        self.connectors.is_empty()
            || (pool_type == PoolType::Rdbms && driver.is_none())
            || self
                .connectors
                .contains(&ConnectorKind::of(pool_type, driver))
    }

    /// Whether it must be written for this driver.
    pub fn is_required(&self, driver: Option<Driver>) -> bool {
        match self.need {
            Need::Required => true,
            Need::RequiredFor(drivers) => driver.is_some_and(|d| drivers.contains(&d)),
            Need::Optional | Need::Paired => false,
        }
    }

    /// The default value for a pool of `pool_type` with `driver`, with or without TLS.
    pub fn default_for(
        &self,
        pool_type: PoolType,
        driver: Option<Driver>,
        tls: bool,
    ) -> Option<Value> {
        let value = match self.default {
            DefaultValue::Unset => return None,
            DefaultValue::Value(c) => c,
            DefaultValue::ByType(c, overrides) => overrides
                .iter()
                .find(|(t, _)| *t == pool_type)
                .map_or(c, |(_, c)| *c),
            DefaultValue::ByDriver(by) => by.iter().find(|(d, _)| Some(*d) == driver)?.1,
            DefaultValue::ByTls { plain, tls: with } => {
                if tls {
                    with
                } else {
                    plain
                }
            }
        };
        Some(value.to_value())
    }

    /// Parses the text form (see [`Kind::parse_text`]) and checks it as a declaration's
    /// value is checked ([`OptionDesc::value_problem`]); the runtime uses this for every value
    /// read at start.
    pub fn parse_text(&self, text: &str) -> Result<Value, String> {
        let value = self.kind.parse_text(text)?;
        match self.value_problem(&value) {
            Some(problem) => Err(problem),
            None => Ok(value),
        }
    }

    /// What is wrong with a value of the right kind: out of its range, an empty string or
    /// list where the option needs one, an item listed twice. `None`: nothing.
    pub fn value_problem(&self, value: &Value) -> Option<String> {
        match value {
            Value::Int(i) => self
                .range
                .filter(|r| !r.contains(i128::from(*i)))
                .map(|r| format!("must be {}, got {i}", r.describe())),
            Value::Str(s) if self.non_empty && s.is_empty() => Some("must not be empty".to_owned()),
            Value::List(items) if self.non_empty => {
                list_problem(items.iter().map(|i| format!("`{i}`")))
            }
            Value::Servers(servers) if self.non_empty => {
                list_problem(servers.iter().map(|s| format!("`{}:{}`", s.host, s.port)))
            }
            _ => None,
        }
    }
}

use Level::{Connection as C, Pool as P, Tls as T};
use PoolType::{Cassandra, Elastic, Http, Ldap, Rabbit, Rdbms, Redis, Riak};

const TLS_TYPES: &[PoolType] = &[Cassandra, Riak, Redis, Http, Rdbms, Rabbit, Ldap];
const SQL: &[Driver] = &[Driver::Pgsql, Driver::Mysql, Driver::Cockroachdb];
const ODBC: &[Driver] = &[Driver::Odbc];
use ConnectorKind as K;
/// The rdbms connectors that take a host and a login.
const SQL_CLIENTS: &[ConnectorKind] = &[K::Pgsql, K::Mysql];
const ODBC_CLIENT: &[ConnectorKind] = &[K::Odbc];
/// Every connector that speaks TLS itself: all but ODBC, whose SSL options are the data
/// source's.
const TLS_CLIENTS: &[ConnectorKind] = &[
    K::Pgsql,
    K::Mysql,
    K::Redis,
    K::Http,
    K::Elastic,
    K::Rabbit,
    K::Ldap,
    K::Cassandra,
    K::Riak,
];
/// The TLS connectors whose client takes a cipher list, a version list and revocation lists:
/// all but MySQL's (mysql_async).
const FULL_TLS_CLIENTS: &[ConnectorKind] = &[
    K::Pgsql,
    K::Redis,
    K::Http,
    K::Elastic,
    K::Rabbit,
    K::Ldap,
    K::Cassandra,
    K::Riak,
];
const VERIFY_MODES: &[&str] = &["peer", "selfsigned_peer", names::NONE];
/// The `tls` keys a Redis Cluster pool (`cluster = true`) honours: its client makes its own TLS
/// connections from a CA file, a client certificate and key, and a verification switch, so the
/// other keys are refused where they are written.
pub const REDIS_CLUSTER_TLS: &[&str] = &[
    "cacertfile",
    "certfile",
    "keyfile",
    "password",
    names::VERIFY_MODE,
];
/// The `tls.verify_mode` values a Redis Cluster pool honours: its switch is on or off.
pub const REDIS_CLUSTER_VERIFY_MODES: &[&str] = &["peer", names::NONE];
const SNI_PROTOCOLS: &[&str] = &["default", "https"];
const ENCRYPT_MODES: &[&str] = &[names::TLS, names::NONE];
const NAMES_THE_POOL: &str = "it is part of the pool's name and accessor";

/// Every option of every pool type.
pub static OPTIONS: &[OptionDesc] = &[
    // ---- pool keys, every type
    OptionDesc::new(P, names::SCOPE, Kind::Scope, PoolType::ALL)
        .default(Const::Ident(names::GLOBAL))
        .fixed(NAMES_THE_POOL)
        .doc("`global`, `host` (one pool per declared host without its own entry) or a declared host"),
    OptionDesc::new(P, names::TAG, Kind::Tag, PoolType::ALL)
        .default(Const::Str(names::DEFAULT_TAG))
        .fixed(NAMES_THE_POOL)
        .doc("distinguishes pools of one type; `default` drops the accessor suffix"),
    OptionDesc::new(P, names::WORKERS, Kind::Int, PoolType::ALL)
        .default_by(DefaultValue::ByType(Const::Int(10), &[(Cassandra, Const::Int(20))]))
        .range(POSITIVE)
        .doc("number of workers, each holding one connection"),
    OptionDesc::new(P, names::STRATEGY, Kind::Enum(Strategy::NAMES), PoolType::ALL)
        .default(Const::Ident(Strategy::BestWorker.name()))
        .fixed("it is the pool's type parameter, chosen at compile time")
        .doc("worker selection strategy"),
    OptionDesc::new(P, names::CALL_TIMEOUT, Kind::Int, PoolType::ALL)
        .default_by(DefaultValue::ByType(Const::Int(5000), &[(Rdbms, Const::Int(60000))]))
        .range(POSITIVE)
        .ms()
        .doc("bound on waiting for a worker plus running the call"),
    OptionDesc::new(P, names::MAX_WORKER_QUEUE_LEN, Kind::Int, PoolType::ALL)
        .range(NON_NEGATIVE)
        .doc("fail fast when the chosen worker has this many calls queued; `best_worker` only"),
    OptionDesc::new(P, names::OVERRUN_WARNING, Kind::IntOrInfinity, PoolType::ALL)
        .default(Const::Infinity)
        .range(POSITIVE)
        .ms()
        .doc("warn when a call or checkout runs longer than this"),
    OptionDesc::new(P, names::MAX_OVERRUN_WARNINGS, Kind::IntOrInfinity, PoolType::ALL)
        .default(Const::Infinity)
        .range(POSITIVE)
        .doc("replace the worker after this many warnings for one call"),
    OptionDesc::new(P, names::QUEUE_TYPE, Kind::Enum(QueueType::NAMES), PoolType::ALL)
        .default(Const::Ident(QueueType::Fifo.name()))
        .doc("order in which `available_worker` waiters are served"),
    OptionDesc::new(P, names::CONNECT_TIMEOUT, Kind::Int, PoolType::ALL)
        .default(Const::Int(5000))
        .range(POSITIVE)
        .ms()
        .doc("bound on one connection attempt or check of an idle connection"),
    OptionDesc::new(P, names::SHARED_DEPTH, Kind::Int, PoolType::ALL)
        .default(Const::Int(16))
        .range(POSITIVE)
        .doc("callers `available_worker` puts on one connection in shared use before the next"),
    // ---- rdbms
    OptionDesc::new(C, names::DRIVER, Kind::Enum(Driver::NAMES), &[Rdbms])
        .need(Need::Required)
        .no_env()
        .fixed("it selects the connector type at compile time")
        .doc("SQL driver; selects the connector at compile time"),
    OptionDesc::new(C, names::HOST_KEY, Kind::Str, &[Rdbms])
        .non_empty()
        .connectors(SQL_CLIENTS)
        .need(Need::RequiredFor(SQL))
        .doc("database server"),
    OptionDesc::new(C, names::PORT, Kind::Int, &[Rdbms])
        .connectors(SQL_CLIENTS)
        .default_by(DefaultValue::ByDriver(&[
            (Driver::Pgsql, Const::Int(5432)),
            (Driver::Cockroachdb, Const::Int(26257)),
            (Driver::Mysql, Const::Int(3306)),
        ]))
        .range(PORT)
        .doc("database port"),
    OptionDesc::new(C, names::DATABASE, Kind::Str, &[Rdbms])
        .non_empty()
        .connectors(SQL_CLIENTS)
        .need(Need::RequiredFor(SQL))
        .doc("database name"),
    OptionDesc::new(C, "username", Kind::Str, &[Rdbms])
        .non_empty()
        .connectors(SQL_CLIENTS)
        .need(Need::RequiredFor(SQL))
        .doc("database user"),
    OptionDesc::new(C, "password", Kind::Str, &[Rdbms])
        .non_empty()
        .connectors(SQL_CLIENTS)
        .need(Need::RequiredFor(SQL))
        .secret()
        .doc("database password"),
    OptionDesc::new(C, "settings", Kind::Str, &[Rdbms])
        .connectors(ODBC_CLIENT)
        .need(Need::RequiredFor(ODBC))
        .secret()
        .doc("ODBC connection string, e.g. `DSN=mydb` (SSL options belong in the DSN)"),
    // 0 is MongooseIM's `SET statement_timeout=0`: no limit.
    OptionDesc::new(C, "query_timeout", Kind::Int, &[Rdbms])
        .default(Const::Int(5000))
        .range(NON_NEGATIVE)
        .ms()
        .doc("timeout passed to the driver for each query; 0: none"),
    OptionDesc::new(C, "keepalive_interval", Kind::Int, &[Rdbms])
        .range(POSITIVE)
        .secs()
        .doc("run `SELECT 1` on idle connections this often"),
    OptionDesc::new(C, "max_start_interval", Kind::Int, &[Rdbms])
        .default(Const::Int(30))
        .range(POSITIVE)
        .secs()
        .doc("cap of the reconnection backoff"),
    // Beyond MongooseIM: what sqlx does by default and deadpool-postgres' `prepare_cached`.
    OptionDesc::new(C, "statement_cache", Kind::Int, &[Rdbms])
        .connectors(&[K::Pgsql])
        .default(Const::Int(100))
        .range(NON_NEGATIVE)
        .doc("prepared statements kept per connection, least recently used evicted first; 0: none"),
    // ---- redis
    OptionDesc::new(C, names::HOST_KEY, Kind::Str, &[Redis])
        .non_empty()
        .default(Const::Str("127.0.0.1"))
        .doc("Redis server"),
    OptionDesc::new(C, names::PORT, Kind::Int, &[Redis])
        .default(Const::Int(REDIS_PORT as i64))
        .range(PORT)
        .doc("Redis port"),
    OptionDesc::new(C, names::DATABASE, Kind::Int, &[Redis])
        .default(Const::Int(0))
        .range(NON_NEGATIVE)
        .doc("database number"),
    OptionDesc::new(C, "username", Kind::Str, &[Redis]).doc("ACL user"),
    OptionDesc::new(C, "password", Kind::Str, &[Redis])
        .secret()
        .doc("password"),
    // A Redis Cluster or Sentinels: which keys may go together is `combinations`' (the runtime
    // applies the same rules to values read at start).
    OptionDesc::new(C, names::SERVERS, Kind::Servers(REDIS_PORT), &[Redis])
        .non_empty()
        .doc("seed nodes of a Redis Cluster (with `cluster = true`)"),
    OptionDesc::new(C, names::CLUSTER, Kind::Bool, &[Redis])
        .default(Const::Bool(false))
        .doc("`true`: the pool serves a Redis Cluster (slot routing, `MOVED`/`ASK` redirections), seeded by `servers` or by `host` and `port`"),
    OptionDesc::new(C, names::SENTINELS, Kind::Servers(SENTINEL_PORT), &[Redis])
        .non_empty()
        .need(Need::Paired)
        .doc("Sentinels asked for the master's address (with `master_name`)"),
    OptionDesc::new(C, names::MASTER_NAME, Kind::Str, &[Redis])
        .non_empty()
        .need(Need::Paired)
        .doc("name of the master the Sentinels monitor (with `sentinels`)"),
    // ---- http
    OptionDesc::new(C, names::HOST_KEY, Kind::Url, &[Http])
        .need(Need::Required)
        .doc("`http[s]://host[:port]` of the server"),
    OptionDesc::new(C, "path_prefix", Kind::Str, &[Http])
        .non_empty()
        .default(Const::Str("/"))
        .doc("prepended to every request path"),
    OptionDesc::new(C, names::REQUEST_TIMEOUT, Kind::Int, &[Http])
        .default(Const::Int(2000))
        .range(NON_NEGATIVE)
        .ms()
        .doc("wait at most this long for a response; keep it below `call_timeout`; 0: no limit but `call_timeout`"),
    // ---- elastic
    OptionDesc::new(C, names::HOST_KEY, Kind::Str, &[Elastic])
        .non_empty()
        .default(Const::Str("localhost"))
        .doc("Elasticsearch node"),
    OptionDesc::new(C, names::PORT, Kind::Int, &[Elastic])
        .default(Const::Int(9200))
        .range(PORT)
        .doc("HTTP API port"),
    // ---- rabbit
    OptionDesc::new(C, names::HOST_KEY, Kind::Str, &[Rabbit])
        .non_empty()
        .default(Const::Str("localhost"))
        .aliases(&["amqp_host"])
        .doc("RabbitMQ server"),
    OptionDesc::new(C, names::PORT, Kind::Int, &[Rabbit])
        .default(Const::Int(5672))
        .range(PORT)
        .aliases(&["amqp_port"])
        .doc("AMQP port"),
    OptionDesc::new(C, "username", Kind::Str, &[Rabbit])
        .non_empty()
        .default(Const::Str("guest"))
        .aliases(&["amqp_username"])
        .doc("user"),
    OptionDesc::new(C, "password", Kind::Str, &[Rabbit])
        .non_empty()
        .default(Const::Str("guest"))
        .aliases(&["amqp_password"])
        .secret()
        .doc("password"),
    OptionDesc::new(C, "virtual_host", Kind::Str, &[Rabbit])
        .non_empty()
        .default(Const::Str("/"))
        .doc("virtual host"),
    // MongooseIM's rabbit worker drops an event once this many wait in its mailbox; its key
    // is `connection.max_worker_queue_len`, apart from the pool's own queue limit.
    OptionDesc::new(C, names::MAX_WORKER_QUEUE_LEN, Kind::IntOrInfinity, &[Rabbit])
        .default(Const::Int(1000))
        .range(NON_NEGATIVE)
        .doc("events one worker holds before new ones are dropped (MongooseIM's rabbit worker limit)"),
    OptionDesc::new(C, "confirms_enabled", Kind::Bool, &[Rabbit])
        .default(Const::Bool(false))
        .doc("publisher confirms"),
    OptionDesc::new(C, "reconnect.attempts", Kind::Int, &[Rabbit])
        .default(Const::Int(0))
        .range(NON_NEGATIVE)
        .doc("reconnection attempts before failing queued requests"),
    OptionDesc::new(C, "reconnect.delay", Kind::Int, &[Rabbit])
        .default(Const::Int(2000))
        .range(NON_NEGATIVE)
        .ms()
        .doc("delay between reconnection attempts"),
    // ---- ldap
    OptionDesc::new(C, names::SERVERS, Kind::StrList, &[Ldap])
        .non_empty()
        .default(Const::StrList(&["localhost"]))
        .doc("servers, tried in order"),
    OptionDesc::new(C, names::PORT, Kind::Int, &[Ldap])
        .default_by(DefaultValue::ByTls {
            plain: Const::Int(389),
            tls: Const::Int(636),
        })
        .range(PORT)
        .doc("port (636 with TLS)"),
    OptionDesc::new(C, "root_dn", Kind::Str, &[Ldap])
        .default(Const::Str(""))
        .aliases(&["rootdn"])
        .doc("bind DN; empty for an anonymous bind"),
    OptionDesc::new(C, "password", Kind::Str, &[Ldap])
        .default(Const::Str(""))
        .secret()
        .doc("bind password"),
    OptionDesc::new(C, "connect_interval", Kind::Int, &[Ldap])
        .default(Const::Int(10000))
        .range(POSITIVE)
        .ms()
        .doc("interval between connection attempts"),
    OptionDesc::new(C, names::ENCRYPT, Kind::Enum(ENCRYPT_MODES), &[Ldap])
        .no_env()
        .fixed("it is the 3.x spelling of a `tls` section; override `tls.*` keys instead")
        .doc("3.x form: `tls` is the same as an empty `tls(...)`, `none` as no `tls`"),
    // ---- cassandra
    OptionDesc::new(C, names::SERVERS, Kind::Servers(CASSANDRA_PORT), &[Cassandra])
        .non_empty()
        .default(Const::Servers(&[("localhost", CASSANDRA_PORT)]))
        .doc("cluster nodes"),
    OptionDesc::new(C, "keyspace", Kind::Str, &[Cassandra])
        .non_empty()
        .default(Const::Str("mongooseim"))
        .doc("keyspace of the queries"),
    OptionDesc::new(C, "auth.plain.username", Kind::Str, &[Cassandra])
        .need(Need::Paired)
        .doc("plain-auth user (with `auth.plain.password`)"),
    OptionDesc::new(C, "auth.plain.password", Kind::Str, &[Cassandra])
        .need(Need::Paired)
        .secret()
        .doc("plain-auth password (with `auth.plain.username`)"),
    // ---- riak
    OptionDesc::new(C, names::HOST_KEY, Kind::Str, &[Riak])
        .non_empty()
        .default(Const::Str("localhost"))
        .aliases(&["address"])
        .doc("Riak node"),
    OptionDesc::new(C, names::PORT, Kind::Int, &[Riak])
        .default(Const::Int(8087))
        .range(PORT)
        .doc("protocol-buffers port"),
    OptionDesc::new(C, "username", Kind::Str, &[Riak])
        .need(Need::Paired)
        .doc("credentials user (with `password`)"),
    OptionDesc::new(C, "password", Kind::Str, &[Riak])
        .need(Need::Paired)
        .secret()
        .doc("credentials password (with `username`)"),
    // ---- tls, every type with TLS (for `rdbms`, pgsql and mysql: ODBC's SSL options are the
    // data source's)
    OptionDesc::new(T, names::VERIFY_MODE, Kind::Enum(VERIFY_MODES), TLS_TYPES)
        .connectors(TLS_CLIENTS)
        .default(Const::Ident("peer"))
        .doc("certificate verification"),
    OptionDesc::new(T, "certfile", Kind::Str, TLS_TYPES)
        .non_empty()
        .connectors(TLS_CLIENTS)
        .need(Need::Paired)
        .doc("client certificate (PEM, with `keyfile`)"),
    OptionDesc::new(T, "cacertfile", Kind::Str, TLS_TYPES)
        .non_empty()
        .connectors(TLS_CLIENTS)
        .doc("CA certificates (PEM)"),
    OptionDesc::new(T, "keyfile", Kind::Str, TLS_TYPES)
        .non_empty()
        .connectors(TLS_CLIENTS)
        .need(Need::Paired)
        .doc("client key (PEM, with `certfile`)"),
    // MySQL's client (mysql_async) takes no cipher list and no version list: those are
    // refused here rather than at start. An encrypted key it gets opened, in memory.
    OptionDesc::new(T, "password", Kind::Str, TLS_TYPES)
        .connectors(TLS_CLIENTS)
        .secret()
        .doc("password of the client key"),
    OptionDesc::new(T, "ciphers", Kind::Str, TLS_TYPES)
        .connectors(FULL_TLS_CLIENTS)
        .doc("cipher suites, OpenSSL syntax"),
    OptionDesc::new(T, "versions", Kind::StrList, TLS_TYPES)
        .connectors(FULL_TLS_CLIENTS)
        .doc("TLS versions allowed"),
    // MySQL's client takes no revocation lists and no verifier of ours.
    OptionDesc::new(T, "crl_files", Kind::StrList, TLS_TYPES)
        .connectors(FULL_TLS_CLIENTS)
        .doc("revocation lists (PEM) the server's certificate chain is checked against"),
    OptionDesc::new(T, "disconnect_on_failure", Kind::Bool, TLS_TYPES)
        .connectors(TLS_CLIENTS)
        .default(Const::Bool(true))
        .doc("`false`: a certificate that fails verification is logged and accepted"),
    OptionDesc::new(T, "server_name_indication.enabled", Kind::Bool, TLS_TYPES)
        .connectors(TLS_CLIENTS)
        .default(Const::Bool(true))
        .doc("send SNI"),
    OptionDesc::new(T, "server_name_indication.host", Kind::Str, TLS_TYPES)
        .non_empty()
        .connectors(TLS_CLIENTS)
        .doc("SNI host, when not the connected host"),
    OptionDesc::new(T, "server_name_indication.protocol", Kind::Enum(SNI_PROTOCOLS), TLS_TYPES)
        .connectors(TLS_CLIENTS)
        .default(Const::Ident("default"))
        .doc("`https` accepts wildcard certificates"),
    OptionDesc::new(T, names::REQUIRED, Kind::Bool, &[Rdbms])
        .connectors(&[K::Pgsql])
        .default(Const::Bool(false))
        .doc("pgsql, cockroachdb: `false` tries TLS and falls back, `true` requires it"),
];

/// The key of option `name` at `level`, as [`OptionDesc::key`] spells it.
/// Keys are one namespace (overrides name them flat), so a connection key spelt like a pool
/// option (rabbit's `max_worker_queue_len`) is `connection.<name>`.
pub fn key_of(level: Level, name: &str) -> String {
    match level {
        Level::Tls => format!("{}.{name}", names::TLS),
        Level::Connection
            if OPTIONS
                .iter()
                .any(|d| d.level == Level::Pool && d.is_named(name)) =>
        {
            format!("{}.{name}", names::CONNECTION)
        }
        _ => name.to_owned(),
    }
}

/// The name inside the `tls` section of a key spelt `tls.<name>`, `None` for another key.
pub fn tls_key(key: &str) -> Option<&str> {
    key.strip_prefix(names::TLS)?.strip_prefix('.')
}

/// The options of `pool_type` written at `level`, in table order.
pub fn options_for(level: Level, pool_type: PoolType) -> impl Iterator<Item = &'static OptionDesc> {
    OPTIONS
        .iter()
        .filter(move |d| d.level == level && d.types.contains(&pool_type))
}

/// The option `name` (or an alias of it) of `pool_type` at `level`.
pub fn lookup(level: Level, pool_type: PoolType, name: &str) -> Option<&'static OptionDesc> {
    options_for(level, pool_type).find(|d| d.is_named(name))
}

/// Whether `prefix(...)` is a group of options (`reconnect`, `auth.plain`).
pub(crate) fn is_group(level: Level, pool_type: PoolType, prefix: &str) -> bool {
    options_for(level, pool_type).any(|d| {
        d.name
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// The names a user can write directly inside `prefix` (for suggestions): option names and group
/// names, without the prefix.
pub(crate) fn names_in(level: Level, pool_type: PoolType, prefix: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for desc in options_for(level, pool_type) {
        let Some(rest) = (if prefix.is_empty() {
            Some(desc.name)
        } else {
            desc.name
                .strip_prefix(prefix)
                .and_then(|r| r.strip_prefix('.'))
        }) else {
            continue;
        };
        let first = rest.split('.').next().unwrap_or(rest);
        if !out.contains(&first) {
            out.push(first);
        }
    }
    out
}

/// The option reference as a Markdown table, generated from [`OPTIONS`] so docs cannot drift.
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "| level | key | types | values | default | required | at start | notes |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for d in OPTIONS {
        let level = match d.level {
            Level::Pool => "pool",
            Level::Connection => names::CONNECTION,
            Level::Tls => names::TLS,
        };
        let types = if d.types == PoolType::ALL {
            "all".to_owned()
        } else {
            d.types
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut values = d.kind.expected();
        if let Some(range) = d.range {
            let _ = write!(values, ", {}", range.describe());
        }
        if !d.unit.is_empty() {
            let _ = write!(values, " ({})", d.unit);
        }
        let default = match d.default {
            DefaultValue::Unset => "unset".to_owned(),
            DefaultValue::Value(c) => format!("`{}`", c.to_value()),
            DefaultValue::ByType(c, overrides) => {
                let mut s = format!("`{}`", c.to_value());
                for (t, c) in overrides {
                    let _ = write!(s, "; {t}: `{}`", c.to_value());
                }
                s
            }
            DefaultValue::ByDriver(by) => by
                .iter()
                .map(|(d, c)| format!("{d}: `{}`", c.to_value()))
                .collect::<Vec<_>>()
                .join("; "),
            DefaultValue::ByTls { plain, tls } => {
                format!("`{}`; with TLS `{}`", plain.to_value(), tls.to_value())
            }
        };
        let required = match d.need {
            Need::Optional => "no".to_owned(),
            Need::Required => "yes".to_owned(),
            Need::RequiredFor(drivers) => format!(
                "for {}",
                drivers
                    .iter()
                    .map(|d| d.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Need::Paired => "with its pair".to_owned(),
        };
        let mut notes = d.doc.to_owned();
        let refused: Vec<_> = ConnectorKind::ALL
            .iter()
            .filter(|c| d.types.contains(&c.pool_type()) && !d.connectors.is_empty())
            .filter(|c| !d.connectors.contains(c))
            .map(|c| c.name())
            .collect();
        if !refused.is_empty() {
            let _ = write!(notes, "; not for {}", refused.join(", "));
        }
        if !d.aliases.is_empty() {
            let _ = write!(notes, "; also `{}`", d.aliases.join("`, `"));
        }
        if d.non_empty {
            notes.push_str(match d.kind {
                Kind::StrList | Kind::Servers(_) => "; not empty, no item twice",
                _ => "; not empty",
            });
        }
        if d.secret {
            notes.push_str("; secret");
        }
        let at_start = match d.fixed {
            None => "yes".to_owned(),
            Some(why) => format!("no: {why}"),
        };
        let _ = writeln!(
            out,
            "| {level} | `{}` | {types} | {} | {default} | {required} | {at_start} | {notes} |",
            d.name,
            values.replace('|', "\\|")
        );
    }
    out
}
