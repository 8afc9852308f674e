//! The errors of a pool: one enum, naming the pool and the cause.

use std::fmt;
use std::sync::{Arc, Mutex};
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
/// Connector errors need only be `Send` (bb8's bound), so the shared copy sits behind a
/// mutex; [`Cause::inspect`] reads it.
pub struct Cause<E>(Arc<Mutex<E>>);

impl<E> Cause<E> {
    pub(crate) fn new(e: E) -> Self {
        Cause(Arc::new(Mutex::new(e)))
    }

    /// Runs `f` on the error.
    pub fn inspect<R>(&self, f: impl FnOnce(&E) -> R) -> R {
        f(&self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

impl<E> Clone for Cause<E> {
    fn clone(&self) -> Self {
        Cause(self.0.clone())
    }
}

impl<E: fmt::Debug> fmt::Debug for Cause<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inspect(|e| fmt::Debug::fmt(e, f))
    }
}

/// Why a connection could not be made: the connector's own error, or no answer in time.
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

impl<E: fmt::Debug> fmt::Display for ConnectError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Failed(e) => write!(f, "{e:?}"),
            ConnectError::TimedOut(d) => write!(f, "connect timed out after {d:?}"),
            ConnectError::Pending => f.write_str("no connection attempt has finished yet"),
            ConnectError::Lost => f.write_str("the connection broke; reconnecting"),
        }
    }
}

/// What went wrong with a pool operation.
///
/// `E` is the connector's error type (`ManageConnection::Error`).
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error<E: fmt::Debug> {
    /// No worker was obtained, or the call did not finish, within `call_timeout`.
    #[error("pool `{pool}`: timed out after {timeout:?}")]
    Timeout {
        /// The pool.
        pool: PoolName,
        /// The `call_timeout` that ran out.
        timeout: Duration,
    },
    /// The chosen worker's queue already holds `max_worker_queue_len` callers.
    #[error("pool `{pool}`: the queue is full ({limit} waiting)")]
    QueueFull {
        /// The pool.
        pool: PoolName,
        /// The limit that was reached.
        limit: usize,
    },
    /// `next_available_worker` found every worker busy.
    #[error("pool `{pool}`: no available workers")]
    NoAvailableWorkers {
        /// The pool.
        pool: PoolName,
    },
    /// The pool was shut down.
    #[error("pool `{pool}` is shut down")]
    Closed {
        /// The pool.
        pool: PoolName,
    },
    /// No worker (or, for a keyed call, not the key's worker) has a connection right now;
    /// it is being re-established in the background.
    #[error("pool `{pool}`: no connection: {cause}")]
    Unavailable {
        /// The pool.
        pool: PoolName,
        /// The latest connect failure.
        cause: ConnectError<E>,
    },
    /// The call ran past `overrun_warning` `max_overrun_warnings` times and was abandoned;
    /// its connection is replaced.
    #[error("pool `{pool}`: call abandoned after running {ran:?}")]
    Overrun {
        /// The pool.
        pool: PoolName,
        /// How long it ran.
        ran: Duration,
    },
    /// The pool could not start: no worker could connect.
    #[error("pool `{pool}`: cannot connect: {cause}")]
    Connect {
        /// The pool.
        pool: PoolName,
        /// Why.
        cause: ConnectError<E>,
    },
    /// The pool's settings are invalid.
    #[error("pool `{pool}`: {message}")]
    Config {
        /// The pool.
        pool: PoolName,
        /// What is wrong.
        message: String,
    },
}

impl<E: fmt::Debug> fmt::Debug for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The Display form already names the pool and the cause; repeating the structure
        // only makes `unwrap()` output harder to read.
        fmt::Display::fmt(self, f)
    }
}

impl<E: fmt::Debug> Error<E> {
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
