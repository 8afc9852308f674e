//! [`PgsqlError`]: what this connector knows, with tokio-postgres's error as the source.

use std::fmt;
use std::io;
use std::time::Duration;

/// Why a connection could not be made or checked.
#[non_exhaustive]
pub enum PgsqlError {
    /// The server could not be reached.
    Connect {
        /// `host:port` or the socket path.
        host: String,
        /// Why.
        source: io::Error,
    },
    /// The server refused the connection (authentication, unknown database, TLS, …).
    Postgres {
        /// `host:port` or the socket path.
        host: String,
        /// tokio-postgres's error.
        source: tokio_postgres::Error,
    },
    /// The `SELECT 1` check failed.
    Query(tokio_postgres::Error),
    /// The `SELECT 1` check got no answer within `query_timeout`.
    Timeout(Duration),
    /// The connection stayed inside a transaction.
    InTransaction,
    /// The connector's configuration cannot work.
    Config(String),
}

impl PgsqlError {
    /// tokio-postgres's error, if this is one.
    pub fn as_postgres(&self) -> Option<&tokio_postgres::Error> {
        match self {
            PgsqlError::Postgres { source, .. } | PgsqlError::Query(source) => Some(source),
            _ => None,
        }
    }

    /// The server's SQLSTATE (`28P01` for a wrong password), if the server answered with one.
    pub fn code(&self) -> Option<&tokio_postgres::error::SqlState> {
        self.as_postgres().and_then(tokio_postgres::Error::code)
    }
}

/// Each variant says what this connector knows; tokio-postgres's (or the I/O) error that
/// caused it is the [`source`](std::error::Error::source), so an error reporter (or the
/// pool's `Debug`) prints the whole cause once and it can be downcast to
/// `tokio_postgres::Error`.
impl fmt::Display for PgsqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PgsqlError::Connect { host, .. } => write!(f, "cannot reach {host}"),
            PgsqlError::Postgres { host, .. } => write!(f, "{host}"),
            PgsqlError::Query(_) => write!(f, "`SELECT 1` failed"),
            PgsqlError::Timeout(t) => write!(f, "`SELECT 1` got no answer within {t:?}"),
            PgsqlError::InTransaction => f.write_str("the connection stayed inside a transaction"),
            PgsqlError::Config(m) => f.write_str(m),
        }
    }
}

impl fmt::Debug for PgsqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&crate::Chain(self), f)
    }
}

impl std::error::Error for PgsqlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PgsqlError::Connect { source, .. } => Some(source),
            PgsqlError::Postgres { source, .. } | PgsqlError::Query(source) => Some(source),
            _ => None,
        }
    }
}
