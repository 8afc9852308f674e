//! The declaration model: what the user wrote, with locations, after per-value checks.

use std::fmt;

use crate::error::{Loc, Spanned};
use crate::options::{Level, OptionDesc};

/// Declares a closed set of lowercase names with their enum, `name()`, `from_name()` and `ALL`, so
/// each spelling exists exactly once.
macro_rules! named_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        $vis enum $name { $($(#[$vmeta])* $variant,)* }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            /// Every name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text,)*];

            /// The name as written in a declaration.
            pub const fn name(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            /// The value written as `name`.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named_enum! {
    /// A pool type: the `TYPE` of `TYPE(...)` or of `[outgoing_pools.TYPE.TAG]`.
    pub enum PoolType {
        /// Cassandra cluster.
        Cassandra = "cassandra",
        /// Riak cluster.
        Riak = "riak",
        /// Redis server.
        Redis = "redis",
        /// HTTP(S) server.
        Http = "http",
        /// Elasticsearch node.
        Elastic = "elastic",
        /// SQL database (PostgreSQL, MySQL, ODBC).
        Rdbms = "rdbms",
        /// RabbitMQ server.
        Rabbit = "rabbit",
        /// LDAP server.
        Ldap = "ldap",
        /// Workers with no connection.
        Generic = "generic",
    }
}

impl PoolType {
    /// Whether the type's connections can use TLS (`tls(...)`).
    pub fn has_tls(self) -> bool {
        !matches!(self, PoolType::Elastic | PoolType::Generic)
    }
}

named_enum! {
    /// A worker-selection strategy (worker_pool's, plus `hash_worker`).
    pub enum Strategy {
        /// The worker with the shortest queue.
        BestWorker = "best_worker",
        /// A random worker.
        RandomWorker = "random_worker",
        /// Round robin.
        NextWorker = "next_worker",
        /// The first idle worker; callers queue (FIFO or LIFO) when none is idle.
        AvailableWorker = "available_worker",
        /// An idle worker or an immediate error.
        NextAvailableWorker = "next_available_worker",
        /// Same key, same worker; keyed calls only.
        HashWorker = "hash_worker",
    }
}

impl Strategy {
    /// The runtime's type name for the strategy (`BestWorker`, ...).
    pub fn type_name(self) -> &'static str {
        match self {
            Strategy::BestWorker => "BestWorker",
            Strategy::RandomWorker => "RandomWorker",
            Strategy::NextWorker => "NextWorker",
            Strategy::AvailableWorker => "AvailableWorker",
            Strategy::NextAvailableWorker => "NextAvailableWorker",
            Strategy::HashWorker => "HashWorker",
        }
    }
}

named_enum! {
    /// The SQL driver of an `rdbms` pool.
    pub enum Driver {
        /// PostgreSQL.
        Pgsql = "pgsql",
        /// MySQL / MariaDB.
        Mysql = "mysql",
        /// ODBC through a connection string.
        Odbc = "odbc",
    }
}

named_enum! {
    /// Order in which waiting `available_worker` callers are served.
    pub enum QueueType {
        /// First come, first served.
        Fifo = "fifo",
        /// Last come, first served.
        Lifo = "lifo",
    }
}

named_enum! {
    /// The runtime connector a planned pool uses.
    pub enum ConnectorKind {
        /// `rdbms` with `driver = pgsql`.
        Pgsql = "pgsql",
        /// `rdbms` with `driver = mysql`.
        Mysql = "mysql",
        /// `rdbms` with `driver = odbc`.
        Odbc = "odbc",
        /// `redis`.
        Redis = "redis",
        /// `http`.
        Http = "http",
        /// `elastic`.
        Elastic = "elastic",
        /// `rabbit`.
        Rabbit = "rabbit",
        /// `ldap`.
        Ldap = "ldap",
        /// `cassandra`.
        Cassandra = "cassandra",
        /// `riak`.
        Riak = "riak",
        /// `generic`.
        Generic = "generic",
    }
}

impl ConnectorKind {
    /// The runtime's type name for the connector (`Pgsql`, `Redis`, ...).
    pub fn type_name(self) -> &'static str {
        match self {
            ConnectorKind::Pgsql => "Pgsql",
            ConnectorKind::Mysql => "Mysql",
            ConnectorKind::Odbc => "Odbc",
            ConnectorKind::Redis => "Redis",
            ConnectorKind::Http => "Http",
            ConnectorKind::Elastic => "Elastic",
            ConnectorKind::Rabbit => "Rabbit",
            ConnectorKind::Ldap => "Ldap",
            ConnectorKind::Cassandra => "Cassandra",
            ConnectorKind::Riak => "Riak",
            ConnectorKind::Generic => "Generic",
        }
    }

    /// The connector of a pool type; `rdbms` needs its driver (`None` only in an invalid
    /// declaration, where PostgreSQL stands in).
    pub fn of(pool_type: PoolType, driver: Option<Driver>) -> Self {
        match pool_type {
            PoolType::Rdbms => match driver {
                Some(Driver::Mysql) => ConnectorKind::Mysql,
                Some(Driver::Odbc) => ConnectorKind::Odbc,
                Some(Driver::Pgsql) | None => ConnectorKind::Pgsql,
            },
            PoolType::Redis => ConnectorKind::Redis,
            PoolType::Http => ConnectorKind::Http,
            PoolType::Elastic => ConnectorKind::Elastic,
            PoolType::Rabbit => ConnectorKind::Rabbit,
            PoolType::Ldap => ConnectorKind::Ldap,
            PoolType::Cassandra => ConnectorKind::Cassandra,
            PoolType::Riak => ConnectorKind::Riak,
            PoolType::Generic => ConnectorKind::Generic,
        }
    }
}

/// Which hosts a pool entry serves.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Scope {
    /// One pool, whatever the hosts (`scope = global`, the default).
    Global,
    /// One pool per declared host that has no entry of its own (`scope = host`).
    Host,
    /// A pool for one declared host (`scope = "a.com"`, TOML `single_host` or `[[host_config]]`).
    Literal(String),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Global => f.write_str(crate::names::GLOBAL),
            Scope::Host => f.write_str(crate::names::HOST),
            Scope::Literal(host) => f.write_str(host),
        }
    }
}

/// A Cassandra server.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Server {
    /// Host name or address.
    pub host: String,
    /// Port (9042 unless given).
    pub port: u16,
}

/// A checked option value.
///
/// `Env` is never resolved here: the runtime reads the variable when the pools start, and
/// parses its text (or `default`) with [`Kind::parse_text`](crate::Kind::parse_text).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// One of a closed set of names (`best_worker`, `pgsql`, `peer`, ...).
    Ident(String),
    /// `infinity`, where the option allows it.
    Infinity,
    /// A list of strings.
    List(Vec<String>),
    /// Cassandra servers.
    Servers(Vec<Server>),
    /// `env("NAME")` / `env("NAME", default = "...")`: read at start by the runtime.
    Env {
        /// The environment variable.
        name: String,
        /// The text used when the variable is unset.
        default: Option<String>,
    },
}

impl Value {
    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The string or name, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Ident(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Whether this is read from the environment at start.
    pub fn is_env(&self) -> bool {
        matches!(self, Value::Env { .. })
    }

    /// Formats the value with secrets hidden: `"***"`, keeping an env variable's name.
    pub(crate) fn fmt_redacted(&self, secret: bool, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (secret, self) {
            (false, _) => fmt::Display::fmt(self, f),
            (true, Value::Env { name, default }) => {
                write!(f, "env({name:?}")?;
                if default.is_some() {
                    f.write_str(", default = \"***\"")?;
                }
                f.write_str(")")
            }
            (true, _) => f.write_str("\"***\""),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Ident(s) => f.write_str(s),
            Value::Infinity => f.write_str(crate::names::INFINITY),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item:?}")?;
                }
                f.write_str("]")
            }
            Value::Servers(servers) => {
                f.write_str("[")?;
                for (i, s) in servers.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{{ host = {:?}, port = {} }}", s.host, s.port)?;
                }
                f.write_str("]")
            }
            Value::Env { name, default } => {
                write!(f, "env({name:?}")?;
                if let Some(default) = default {
                    write!(f, ", default = {default:?}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One `key = value` of a declaration, checked against its descriptor.
#[derive(Clone)]
pub struct Setting {
    /// The option's descriptor (name, kind, default, secrecy, ...).
    pub desc: &'static OptionDesc,
    /// Where the key was written (possibly under an alias).
    pub key_loc: Loc,
    /// The value and where it was written.
    pub value: Spanned<Value>,
}

impl Setting {
    /// The canonical key name (dotted inside groups: `reconnect.attempts`).
    pub fn name(&self) -> &'static str {
        self.desc.name
    }

    /// Whether the value must never be printed.
    pub fn is_secret(&self) -> bool {
        self.desc.secret
    }
}

impl fmt::Debug for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = ", self.desc.name)?;
        self.value.value.fmt_redacted(self.desc.secret, f)
    }
}

/// The `tls(...)` section of a connection.
#[derive(Clone, Debug)]
pub struct TlsDecl {
    /// The `tls` key.
    pub loc: Loc,
    /// Its keys.
    pub settings: Vec<Setting>,
}

/// Which input form a pool came from, so messages name it the way the user wrote it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Origin {
    /// An entry of `#[outgoing_pools(...)]`.
    Attr,
    /// A TOML section, e.g. `outgoing_pools.redis.default`.
    Toml {
        /// The dotted section path without brackets.
        section: String,
    },
}

/// One pool entry: `TYPE(...)` or `[outgoing_pools.TYPE.TAG]`.
#[derive(Clone)]
pub struct PoolDecl {
    /// The pool type.
    pub pool_type: PoolType,
    /// The type name (attribute) or the section header (TOML).
    pub loc: Loc,
    /// Which hosts it serves.
    pub scope: Spanned<Scope>,
    /// The tag (`default` unless given).
    pub tag: Spanned<String>,
    /// Pool keys other than `scope` and `tag`.
    pub options: Vec<Setting>,
    /// The `connection` key, if written.
    pub connection_loc: Option<Loc>,
    /// Connection keys, dotted inside groups (`reconnect.delay`, `auth.plain.username`).
    pub connection: Vec<Setting>,
    /// The `tls(...)` section, if written.
    pub tls: Option<TlsDecl>,
    /// Which form it came from.
    pub origin: Origin,
    /// Keys whose value was already reported as invalid, so they do not also count as missing.
    pub(crate) poisoned: Vec<(Level, &'static str)>,
}

impl PoolDecl {
    /// The setting for `name` at `level`, if written.
    pub fn get(&self, level: Level, name: &str) -> Option<&Setting> {
        let list = match level {
            Level::Pool => &self.options,
            Level::Connection => &self.connection,
            Level::Tls => match &self.tls {
                Some(tls) => &tls.settings,
                None => return None,
            },
        };
        list.iter().find(|s| s.desc.name == name)
    }

    pub(crate) fn is_poisoned(&self, level: Level, name: &str) -> bool {
        self.poisoned.iter().any(|(l, n)| *l == level && *n == name)
    }

    /// The `rdbms` driver, when written as a plain value.
    pub fn driver(&self) -> Option<Driver> {
        if self.pool_type != PoolType::Rdbms {
            return None;
        }
        let setting = self.get(Level::Connection, crate::names::DRIVER)?;
        Driver::from_name(setting.value.as_str()?)
    }

    /// Where the `driver` value was written, for an `rdbms` entry that has one.
    pub fn driver_loc(&self) -> Option<&Loc> {
        if self.pool_type != PoolType::Rdbms {
            return None;
        }
        Some(&self.get(Level::Connection, crate::names::DRIVER)?.value.loc)
    }

    /// The strategy, `best_worker` unless given.
    pub fn strategy(&self) -> Strategy {
        self.get(Level::Pool, crate::names::STRATEGY)
            .and_then(|s| s.value.as_str())
            .and_then(Strategy::from_name)
            .unwrap_or(Strategy::BestWorker)
    }

    /// Whether connections use TLS: a `tls(...)` section, or ldap's `encrypt = tls`.
    pub fn tls_enabled(&self) -> bool {
        if self.tls.is_some() {
            return true;
        }
        self.get(Level::Connection, crate::names::ENCRYPT)
            .and_then(|s| s.value.as_str())
            == Some(crate::names::TLS)
    }

    /// How messages name a section of this pool: `` `redis` pool `` or
    /// `` `[outgoing_pools.redis.default.connection]` ``.
    pub fn label(&self, level: Level) -> String {
        section_label(&self.origin, self.pool_type, level)
    }
}

pub(crate) fn section_label(origin: &Origin, pool_type: PoolType, level: Level) -> String {
    match origin {
        Origin::Attr => match level {
            Level::Pool => format!("`{pool_type}` pool"),
            Level::Connection => format!("`{pool_type}` connection"),
            Level::Tls => format!("`{pool_type}` tls"),
        },
        Origin::Toml { section } => match level {
            Level::Pool => format!("`[{section}]`"),
            Level::Connection => format!("`[{section}.{}]`", crate::names::CONNECTION),
            Level::Tls => format!(
                "`[{section}.{}.{}]`",
                crate::names::CONNECTION,
                crate::names::TLS
            ),
        },
    }
}

impl fmt::Debug for PoolDecl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolDecl")
            .field("pool_type", &self.pool_type)
            .field("scope", &self.scope.value)
            .field("tag", &self.tag.value)
            .field("options", &self.options)
            .field("connection", &self.connection)
            .field("tls", &self.tls.as_ref().map(|t| &t.settings))
            .finish()
    }
}

/// A whole declaration: the inside of `#[outgoing_pools(...)]` or a TOML file.
#[derive(Clone, Default)]
pub struct Declaration {
    /// The declared hosts, in order.
    pub hosts: Vec<Spanned<String>>,
    /// The `hosts` key, if written.
    pub hosts_loc: Option<Loc>,
    /// `crate = path`: where generated code finds the runtime.
    pub krate: Option<syn::Path>,
    /// `file = "pools.toml"`: the declaration lives in that file (relative to
    /// `CARGO_MANIFEST_DIR`); the macro reads it and calls [`parse_toml`](crate::parse_toml).
    pub file: Option<Spanned<String>>,
    /// The pool entries, in source order.
    pub pools: Vec<PoolDecl>,
}

impl fmt::Debug for Declaration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Declaration")
            .field("hosts", &self.hosts)
            .field(
                "krate",
                &self
                    .krate
                    .as_ref()
                    .map(|p| quote::ToTokens::to_token_stream(p).to_string()),
            )
            .field("file", &self.file)
            .field("pools", &self.pools)
            .finish()
    }
}

/// The method name generated for a (type, tag): `redis`, `http_http_auth`, `generic_push`.
pub fn accessor_name(pool_type: PoolType, tag: &str) -> String {
    if tag == crate::names::DEFAULT_TAG {
        pool_type.name().to_owned()
    } else {
        format!("{}_{tag}", pool_type.name())
    }
}

/// The `Host` enum variant for a host: `"a.com"` → `ACom`, `"c.eu"` → `CEu`.
///
/// Every run of ASCII letters and digits becomes a word with its first letter upper-cased; a
/// leading digit gets an `H` prefix. `None` when the host has no ASCII letter or digit. Distinct
/// hosts can map to the same name (`a.com`, `a-com`): validation rejects that.
pub fn host_variant(host: &str) -> Option<String> {
    let mut out = String::new();
    for word in host
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.push_str(chars.as_str());
        }
    }
    if out.is_empty() {
        return None;
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'H');
    }
    if out == "Self" {
        // `Self` is the one keyword an upper-camel-case word can spell.
        out.push_str("Host");
    }
    Some(out)
}
