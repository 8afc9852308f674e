//! The closed sets of names (pool types, strategies, drivers, …) and the values options take:
//! what the option table is written in. No locations, no parsers, so the runtime reads it too.

use std::fmt;

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
        /// CockroachDB, through the PostgreSQL connector (MongooseIM 6.3+).
        Cockroachdb = "cockroachdb",
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
        /// `rdbms` with `driver = pgsql` or `cockroachdb`.
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

    /// The pool type the connector serves.
    pub fn pool_type(self) -> PoolType {
        match self {
            ConnectorKind::Pgsql | ConnectorKind::Mysql | ConnectorKind::Odbc => PoolType::Rdbms,
            ConnectorKind::Redis => PoolType::Redis,
            ConnectorKind::Http => PoolType::Http,
            ConnectorKind::Elastic => PoolType::Elastic,
            ConnectorKind::Rabbit => PoolType::Rabbit,
            ConnectorKind::Ldap => PoolType::Ldap,
            ConnectorKind::Cassandra => PoolType::Cassandra,
            ConnectorKind::Riak => PoolType::Riak,
            ConnectorKind::Generic => PoolType::Generic,
        }
    }

    /// How a diagnostic names it: ``driver `mysql` `` for an `rdbms` driver, else
    /// ``the `redis` connector``.
    pub fn described(self) -> String {
        match self.driver() {
            Some(driver) => format!("driver `{driver}`"),
            None => format!("the `{}` connector", self.name()),
        }
    }

    /// The `rdbms` driver of the connector, if it is one.
    pub fn driver(self) -> Option<Driver> {
        match self {
            ConnectorKind::Pgsql => Some(Driver::Pgsql),
            ConnectorKind::Mysql => Some(Driver::Mysql),
            ConnectorKind::Odbc => Some(Driver::Odbc),
            _ => None,
        }
    }

    /// The connector of a pool type; `rdbms` needs its driver (`None` only in an invalid
    /// declaration, where PostgreSQL stands in).
    pub fn of(pool_type: PoolType, driver: Option<Driver>) -> Self {
        match pool_type {
            PoolType::Rdbms => match driver {
                Some(Driver::Mysql) => ConnectorKind::Mysql,
                Some(Driver::Odbc) => ConnectorKind::Odbc,
                Some(Driver::Pgsql | Driver::Cockroachdb) | None => ConnectorKind::Pgsql,
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

/// One server of a server list (cassandra's nodes, a Redis Cluster's seeds, Sentinels).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Server {
    /// Host name or address.
    pub host: String,
    /// Port (the option's default port unless given).
    pub port: u16,
}

impl Server {
    /// Reads `host`, `host:port`, `[ipv6]` or `[ipv6]:port`, with `default_port` when none is
    /// given; `None` when the host is empty or the port is not one (1 to 65535).
    ///
    /// An address with several colons and no brackets is an IPv6 address without a port: read
    /// as `host:port` it would lose its last group.
    pub fn parse(text: &str, default_port: u16) -> Option<Server> {
        let text = text.trim();
        let (host, port) = match text.strip_prefix('[') {
            Some(rest) => {
                let (host, after) = rest.split_once(']')?;
                match after {
                    "" => (host, None),
                    _ => (host, Some(after.strip_prefix(':')?)),
                }
            }
            None => match text.split_once(':') {
                Some((host, port)) if !port.contains(':') => (host, Some(port)),
                _ => (text, None),
            },
        };
        let port = match port {
            None => default_port,
            Some(port) => port.parse::<u16>().ok().filter(|p| *p != 0)?,
        };
        (!host.is_empty()).then(|| Server {
            host: host.to_owned(),
            port,
        })
    }
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
    /// A server list.
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
