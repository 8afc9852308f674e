//! [`RedisConnectorError`]: what this connector knows, with redis-rs's (or the socket's)
//! error as the source.

use std::fmt;
use std::io;

/// Why a Redis connection could not be made or checked.
#[non_exhaustive]
pub enum RedisConnectorError {
    /// The server could not be reached, or the TLS handshake failed.
    Connect {
        /// `host:port`.
        addr: String,
        /// Why.
        source: io::Error,
    },
    /// The server refused the connection or a command of its set-up (`HELLO`/`AUTH`,
    /// `SELECT`), or the check failed.
    Redis {
        /// `host:port`, or `cluster` for a cluster's connection.
        addr: String,
        /// redis-rs's error (`WRONGPASS …`, `NOAUTH …`, a dropped connection).
        source: redis::RedisError,
    },
    /// No Sentinel named a master (each one's failure is logged).
    NoMaster {
        /// The `master_name` asked for.
        name: String,
        /// The last Sentinel's answer or error.
        last: Box<RedisConnectorError>,
    },
    /// A Sentinel does not monitor `master_name`.
    UnknownMaster {
        /// The Sentinel, `host:port`.
        sentinel: String,
        /// The `master_name` asked for.
        name: String,
    },
    /// The server a Sentinel named is not a master (a failover is under way).
    NotMaster {
        /// `host:port`.
        addr: String,
        /// What `ROLE` said it is.
        role: String,
    },
    /// A master's connection answered `ROLE` with something else than a master's role.
    Demoted,
}

impl RedisConnectorError {
    /// redis-rs's error, if this is one.
    pub fn as_redis(&self) -> Option<&redis::RedisError> {
        match self {
            RedisConnectorError::Redis { source, .. } => Some(source),
            RedisConnectorError::NoMaster { last, .. } => last.as_redis(),
            _ => None,
        }
    }
}

/// Each variant says what this connector knows; the client's (or the socket's) error is the
/// [`source`](std::error::Error::source), so an error reporter (or the pool's `Debug`) prints
/// the whole cause once, and it downcasts to `redis::RedisError` or `io::Error`.
impl fmt::Display for RedisConnectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisConnectorError::Connect { addr, .. } => write!(f, "cannot reach {addr}"),
            RedisConnectorError::Redis { addr, .. } => f.write_str(addr),
            RedisConnectorError::NoMaster { name, .. } => {
                write!(f, "no sentinel named a master for `{name}`")
            }
            RedisConnectorError::UnknownMaster { sentinel, name } => {
                write!(
                    f,
                    "sentinel {sentinel} does not monitor a master named `{name}`"
                )
            }
            RedisConnectorError::NotMaster { addr, role } => {
                write!(
                    f,
                    "{addr} is a {role}, not a master (a failover is under way?)"
                )
            }
            RedisConnectorError::Demoted => {
                f.write_str("the master this connection reached is no longer a master")
            }
        }
    }
}

impl fmt::Debug for RedisConnectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&crate::Chain(self), f)
    }
}

impl std::error::Error for RedisConnectorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RedisConnectorError::Connect { source, .. } => Some(source),
            RedisConnectorError::Redis { source, .. } => Some(source),
            RedisConnectorError::NoMaster { last, .. } => Some(&**last),
            _ => None,
        }
    }
}
