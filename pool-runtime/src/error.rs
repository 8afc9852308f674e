//! The errors of a pool: one enum, naming the pool and the cause.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The name of a pool, as it appears in errors, logs and metrics.
///
/// ```
/// let name = pool_runtime::PoolName::from("rdbms.global.default");
/// assert_eq!(name.to_string(), "rdbms.global.default");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PoolName(Arc<str>);

impl PoolName {
    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for PoolName {
    fn from(s: &str) -> Self {
        PoolName(s.into())
    }
}

impl From<String> for PoolName {
    fn from(s: String) -> Self {
        PoolName(s.into())
    }
}

impl fmt::Display for PoolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PoolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// A connector's error, shared by every caller it is reported to.
///
/// It is the connector's own error value (reach it with [`Cause::get`], or through the
/// [`source`](std::error::Error::source) chain of the pool's [`Error`]), behind an `Arc`
/// because one failed attempt is reported to every caller that waited for it.
pub struct Cause<E>(Arc<E>);

impl<E> Cause<E> {
    pub(crate) fn new(e: E) -> Self {
        Cause(Arc::new(e))
    }

    /// The connector's error.
    pub fn get(&self) -> &E {
        &self.0
    }

    /// Runs `f` on the error.
    pub fn inspect<R>(&self, f: impl FnOnce(&E) -> R) -> R {
        f(&self.0)
    }
}

impl<E> Clone for Cause<E> {
    fn clone(&self) -> Self {
        Cause(self.0.clone())
    }
}

impl<E: fmt::Debug> fmt::Debug for Cause<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// Why a connection could not be made: the connector's own error, or no answer in time.
///
/// As an error it is transparent: a `Failed` one displays as the connector's error and
/// continues with that error's own [`source`](std::error::Error::source).
pub enum ConnectError<E> {
    /// The connector failed with this error.
    Failed(Cause<E>),
    /// `connect()` did not finish within the connect timeout.
    TimedOut(Duration),
    /// No attempt has finished yet (the pool is still starting).
    Pending,
    /// The connection broke; no reconnect attempt has failed yet.
    Lost,
}

impl<E> ConnectError<E> {
    /// The connector's error, for a `Failed` attempt.
    pub fn connector_error(&self) -> Option<&E> {
        match self {
            ConnectError::Failed(c) => Some(c.get()),
            _ => None,
        }
    }

    /// What this adds to a message that already says a connection is missing: nothing for
    /// a connector error (it follows as the error's source), else its own words.
    fn write_suffix(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Failed(_) => Ok(()),
            other => write!(f, ": {}", Own(other)),
        }
    }
}

/// The text a [`ConnectError`] adds of its own (none for a connector error).
struct Own<'a, E>(&'a ConnectError<E>);

impl<E> fmt::Display for Own<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ConnectError::Failed(_) => Ok(()),
            ConnectError::TimedOut(d) => write!(f, "connect timed out after {d:?}"),
            ConnectError::Pending => f.write_str("no connection attempt has finished yet"),
            ConnectError::Lost => f.write_str("the connection broke; reconnecting"),
        }
    }
}

impl<E> Clone for ConnectError<E> {
    fn clone(&self) -> Self {
        match self {
            ConnectError::Failed(e) => ConnectError::Failed(e.clone()),
            ConnectError::TimedOut(d) => ConnectError::TimedOut(*d),
            ConnectError::Pending => ConnectError::Pending,
            ConnectError::Lost => ConnectError::Lost,
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for ConnectError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
            ConnectError::TimedOut(d) => f.debug_tuple("TimedOut").field(d).finish(),
            ConnectError::Pending => f.write_str("Pending"),
            ConnectError::Lost => f.write_str("Lost"),
        }
    }
}

impl<E: StdError> fmt::Display for ConnectError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Failed(e) => fmt::Display::fmt(e.get(), f),
            other => fmt::Display::fmt(&Own(other), f),
        }
    }
}

impl<E: StdError> StdError for ConnectError<E> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            ConnectError::Failed(e) => e.get().source(),
            _ => None,
        }
    }
}

/// What went wrong with a pool operation.
///
/// `E` is the connector's error type (`ManageConnection::Error`). `Display` says what this
/// layer knows (naming the pool); a connector's error that caused it is the
/// [`source`](std::error::Error::source), so it can be downcast to the client crate's own
/// type (`tokio_postgres::Error`, `mysql_async::Error`, …) and an error reporter prints each
/// part once. `Debug` prints the whole chain on one line, for `unwrap()` and `{:?}` logs.
///
/// ```
/// use pool_runtime::{AvailableWorker, Error, Pool};
/// # use pool_runtime::ManageConnection;
/// # #[derive(Debug)] struct Refused;
/// # impl std::fmt::Display for Refused {
/// #     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("refused") }
/// # }
/// # impl std::error::Error for Refused {}
/// # struct Down;
/// # impl ManageConnection for Down {
/// #     type Connection = ();
/// #     type Error = Refused;
/// #     async fn connect(&self) -> Result<(), Refused> { Err(Refused) }
/// #     async fn is_valid(&self, _: &mut ()) -> Result<(), Refused> { Ok(()) }
/// #     fn has_broken(&self, _: &mut ()) -> bool { false }
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let err = Pool::<Down, AvailableWorker>::builder(Down).name("db").build().await.unwrap_err();
/// assert_eq!(err.to_string(), "pool `db`: cannot connect");
/// let cause = std::error::Error::source(&err).unwrap();
/// assert!(cause.downcast_ref::<Refused>().is_some());
/// assert_eq!(format!("{err:?}"), "pool `db`: cannot connect: refused");
/// # }
/// ```
#[non_exhaustive]
pub enum Error<E> {
    /// No worker was obtained, or the call did not finish, within `call_timeout`.
    Timeout {
        /// The pool.
        pool: PoolName,
        /// The `call_timeout` that ran out.
        timeout: Duration,
    },
    /// The chosen worker's queue already holds `max_worker_queue_len` callers.
    QueueFull {
        /// The pool.
        pool: PoolName,
        /// The limit that was reached.
        limit: usize,
    },
    /// `next_available_worker` found every worker busy.
    NoAvailableWorkers {
        /// The pool.
        pool: PoolName,
    },
    /// The pool was shut down.
    Closed {
        /// The pool.
        pool: PoolName,
    },
    /// No worker (or, for a keyed call, not the key's worker) has a connection, and the
    /// latest attempt to make one failed: `cause` is that attempt's error. Workers keep
    /// reconnecting in the background.
    Unavailable {
        /// The pool.
        pool: PoolName,
        /// Why the latest connection attempt failed.
        cause: ConnectError<E>,
    },
    /// The call ran past `overrun_warning` `max_overrun_warnings` times and was abandoned;
    /// its connection is replaced.
    Overrun {
        /// The pool.
        pool: PoolName,
        /// How long it ran.
        ran: Duration,
    },
    /// The pool could not start: no worker could connect.
    Connect {
        /// The pool.
        pool: PoolName,
        /// Why.
        cause: ConnectError<E>,
    },
    /// The pool's settings are invalid.
    Config {
        /// The pool.
        pool: PoolName,
        /// What is wrong.
        message: String,
    },
}

impl<E> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Timeout { pool, timeout } => {
                write!(f, "pool `{pool}`: timed out after {timeout:?}")
            }
            Error::QueueFull { pool, limit } => {
                write!(f, "pool `{pool}`: the queue is full ({limit} waiting)")
            }
            Error::NoAvailableWorkers { pool } => write!(f, "pool `{pool}`: no available workers"),
            Error::Closed { pool } => write!(f, "pool `{pool}` is shut down"),
            Error::Unavailable { pool, cause } => {
                write!(f, "pool `{pool}`: no connection")?;
                cause.write_suffix(f)
            }
            Error::Overrun { pool, ran } => {
                write!(f, "pool `{pool}`: call abandoned after running {ran:?}")
            }
            Error::Connect { pool, cause } => {
                write!(f, "pool `{pool}`: cannot connect")?;
                cause.write_suffix(f)
            }
            Error::Config { pool, message } => write!(f, "pool `{pool}`: {message}"),
        }
    }
}

impl<E: StdError + 'static> StdError for Error<E> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Unavailable { cause, .. } | Error::Connect { cause, .. } => cause
                .connector_error()
                .map(|e| e as &(dyn StdError + 'static)),
            _ => None,
        }
    }
}

impl<E: StdError + 'static> fmt::Debug for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&Chain(self), f)
    }
}

/// An error and its whole [`source`](std::error::Error::source) chain on one line,
/// `: `-separated, each part once: a source whose text the previous part already contains
/// (client crates often repeat their cause in their own message) is not repeated.
///
/// ```
/// let io = std::io::Error::other("connection refused");
/// assert_eq!(pool_runtime::Chain(&io).to_string(), "connection refused");
/// ```
pub struct Chain<'a>(pub &'a (dyn StdError + 'a));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = self.0.to_string();
        f.write_str(&last)?;
        let mut next = self.0.source();
        while let Some(e) = next {
            let text = e.to_string();
            if !last.contains(&text) {
                write!(f, ": {text}")?;
            }
            last = text;
            next = e.source();
        }
        Ok(())
    }
}

impl<E> Error<E> {
    /// The pool the error comes from.
    pub fn pool(&self) -> &PoolName {
        match self {
            Error::Timeout { pool, .. }
            | Error::QueueFull { pool, .. }
            | Error::NoAvailableWorkers { pool }
            | Error::Closed { pool }
            | Error::Unavailable { pool, .. }
            | Error::Overrun { pool, .. }
            | Error::Connect { pool, .. }
            | Error::Config { pool, .. } => pool,
        }
    }
}
