//! The `rdbms` connector for `driver = odbc`, on [`odbc_api`] over the system's driver
//! manager (unixODBC's `libodbc.so`).
//!
//! The declaration's `settings` is the ODBC connection string, MongooseIM's
//! `{server, "DSN=mydb"}`: a data source (`"DSN=mydb"`, with its options in `odbc.ini`,
//! including SSL as the seed's "ODBC SSL connection setup" shows) or a driver-level string
//! (`"Driver={PostgreSQL Unicode};Server=…;Database=…;Uid=…;Pwd=…"`).
//!
//! ODBC calls block their thread. So that a slow statement never stalls the async runtime,
//! each connection lives on a thread of its own, and the connection handed out,
//! [`OdbcConnection`], sends work to that thread and awaits the answer. All connections share
//! one process-wide [`odbc_api::Environment`] ([`odbc_api::environment`]).
//!
//! ```no_run
//! use pool_runtime::connectors::odbc::Odbc;
//! use pool_runtime::{BestWorker, Pool};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = Pool::<Odbc, BestWorker>::builder(Odbc::new("DSN=mydb")).workers(5).build().await?;
//! let rows = pool.call(async |c| c.query("SELECT 1 AS one").await).await??;
//! assert_eq!(rows.columns, ["one"]);
//! assert_eq!(rows.rows, [[Some("1".to_string())]]);
//! # Ok(())
//! # }
//! ```
//!
//! # Declared settings
//!
//! | key | meaning |
//! | --- | --- |
//! | `settings` | the ODBC connection string (a secret: never printed) |
//! | `query_timeout` (ms, default 5000; 0: none) | a statement run by [`OdbcConnection::execute`] or [`OdbcConnection::query`], and the connection check (`SELECT 1`), is abandoned after it; the driver is also asked to cancel it (`SQL_ATTR_QUERY_TIMEOUT`, in whole seconds, rounded up) |
//! | `keepalive_interval`, `max_start_interval` | pool behaviours (see [`crate::declared::prepare`]) |
//!
//! # A call abandoned half-way
//!
//! A statement cannot be taken back from its thread. When a call is abandoned while its work
//! runs there (a `query_timeout`, the pool's `call_timeout`, a dropped future), the
//! connection reports itself broken ([`has_broken`](bb8::ManageConnection::has_broken)) and
//! the pool replaces it: the next caller gets a new connection on a new thread and never
//! waits behind the abandoned work; the old thread finishes that work, closes its connection
//! and exits. Until then, further calls on the abandoned [`OdbcConnection`] fail at once with
//! [`OdbcError::Broken`] rather than queue behind it.

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::declared::{FromSettings, StartError};
use crate::settings::{OdbcSettings, Settings, keys};

/// The client crate, re-exported so that closures given to [`OdbcConnection::with`] name the
/// same version.
pub use odbc_api;

/// The default `query_timeout`, as MongooseIM's.
pub const DEFAULT_QUERY_TIMEOUT: Duration = crate::settings::defaults::QUERY_TIMEOUT;

/// How long the driver may take to log in, by default (the pool's connect timeout is 5 s too).
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What an ODBC connection's operations fail with.
#[non_exhaustive]
pub enum OdbcError {
    /// The driver manager or the driver reported an error.
    Odbc(odbc_api::Error),
    /// No answer within `query_timeout`; the connection is replaced when it goes back to the
    /// pool.
    Timeout(Duration),
    /// The connection is still running work that was abandoned, or its thread is gone; give
    /// it back to the pool, which replaces it.
    Broken,
    /// No thread could be started for a new connection.
    Thread(std::io::Error),
}

impl fmt::Display for OdbcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OdbcError::Odbc(e) => write!(f, "{e}"),
            OdbcError::Timeout(d) => write!(f, "no answer within query_timeout ({d:?})"),
            OdbcError::Broken => {
                f.write_str("the connection is still running abandoned work, or its thread is gone")
            }
            OdbcError::Thread(e) => write!(f, "cannot start a connection thread: {e}"),
        }
    }
}

impl fmt::Debug for OdbcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Show the driver's diagnostic text, not the structure around it.
        fmt::Display::fmt(self, f)
    }
}

/// The wrapped error's text is already in this one's, so the chain continues with that
/// error's own source: an error reporter says each part once.
impl std::error::Error for OdbcError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OdbcError::Odbc(e) => e.source(),
            OdbcError::Thread(e) => e.source(),
            _ => None,
        }
    }
}

impl From<odbc_api::Error> for OdbcError {
    fn from(e: odbc_api::Error) -> Self {
        OdbcError::Odbc(e)
    }
}

/// The result of [`OdbcConnection::query`]: column names, and every row with each value as
/// text (`None` for SQL `NULL`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rows {
    /// The column names.
    pub columns: Vec<String>,
    /// The rows, in order.
    pub rows: Vec<Vec<Option<String>>>,
}

type Job = Box<dyn FnOnce(&mut odbc_api::Connection<'static>) + Send>;

/// Shared between an [`OdbcConnection`] and its thread.
#[derive(Debug, Default)]
struct State {
    /// Work was sent and has not finished.
    busy: AtomicBool,
    /// The driver says the connection is lost (`SQL_ATTR_CONNECTION_DEAD`, read after each
    /// piece of work), or the thread is gone.
    dead: AtomicBool,
}

/// The connector for `driver = odbc`.
///
/// ```
/// use std::time::Duration;
/// use pool_runtime::connectors::odbc::Odbc;
///
/// let connector = Odbc::new("Driver={PostgreSQL Unicode};Server=db;Database=mydb;Uid=mim;Pwd=secret")
///     .query_timeout(Some(Duration::from_secs(2)));
/// // The password never shows.
/// assert!(!format!("{connector:?}").contains("secret"));
/// ```
pub struct Odbc {
    connection_string: Arc<str>,
    query_timeout: Option<Duration>,
    login_timeout: Duration,
    threads: AtomicUsize,
}

impl fmt::Debug for Odbc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Odbc")
            .field("connection_string", &redacted(&self.connection_string))
            .field("query_timeout", &self.query_timeout)
            .field("login_timeout", &self.login_timeout)
            .finish()
    }
}

/// The connection string with the values of password-like attributes replaced by `***`.
fn redacted(s: &str) -> String {
    s.split(';')
        .map(|part| match part.split_once('=') {
            Some((k, _)) if is_secret_key(k) => format!("{k}=***"),
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn is_secret_key(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase();
    k.contains("pwd") || k.contains("pass") || k.contains("secret")
}

impl Odbc {
    /// A connector for an ODBC connection string, with the default `query_timeout` (5 s).
    pub fn new(connection_string: impl Into<String>) -> Self {
        Odbc {
            connection_string: connection_string.into().into(),
            query_timeout: Some(DEFAULT_QUERY_TIMEOUT),
            login_timeout: DEFAULT_LOGIN_TIMEOUT,
            threads: AtomicUsize::new(0),
        }
    }

    /// Sets `query_timeout` (see the module docs); `None` for no limit.
    pub fn query_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.query_timeout = timeout.filter(|t| !t.is_zero());
        self
    }

    /// Sets how long the driver may take to log in (`SQL_ATTR_LOGIN_TIMEOUT`, whole seconds).
    pub fn login_timeout(mut self, timeout: Duration) -> Self {
        self.login_timeout = timeout;
        self
    }

    /// The `query_timeout`.
    pub fn get_query_timeout(&self) -> Option<Duration> {
        self.query_timeout
    }
}

/// Whole seconds, rounded up, at least one: ODBC's timeouts count seconds.
fn ceil_secs(d: Duration) -> usize {
    (d.as_millis().div_ceil(1000)).max(1) as usize
}

impl bb8::ManageConnection for Odbc {
    type Connection = OdbcConnection;
    type Error = OdbcError;

    /// Starts the connection's thread, which connects; gives up (and the thread closes the
    /// connection it may still make) if this future is dropped.
    async fn connect(&self) -> Result<OdbcConnection, OdbcError> {
        let n = self.threads.fetch_add(1, Ordering::Relaxed);
        let (ready_tx, ready_rx) = oneshot::channel();
        let (jobs, jobs_rx) = mpsc::channel::<Job>();
        let state = Arc::new(State::default());
        let connection_string = self.connection_string.clone();
        let options = odbc_api::ConnectionOptions {
            login_timeout_sec: Some(ceil_secs(self.login_timeout) as u32),
            packet_size: None,
        };
        std::thread::Builder::new()
            .name(format!("odbc-{n}"))
            .spawn(move || serve(&connection_string, options, ready_tx, jobs_rx))
            .map_err(OdbcError::Thread)?;
        match ready_rx.await {
            Ok(Ok(())) => Ok(OdbcConnection {
                jobs,
                state,
                query_timeout: self.query_timeout,
            }),
            Ok(Err(e)) => Err(OdbcError::Odbc(e)),
            Err(_) => Err(OdbcError::Broken),
        }
    }

    /// `SELECT 1` within `query_timeout`.
    async fn is_valid(&self, conn: &mut OdbcConnection) -> Result<(), OdbcError> {
        conn.execute("SELECT 1").await.map(drop)
    }

    /// Broken when abandoned work still runs on its thread, when the thread is gone, or when
    /// the driver said the connection is lost.
    fn has_broken(&self, conn: &mut OdbcConnection) -> bool {
        conn.is_broken()
    }
}

/// A connection's thread: connects, then runs the work sent to it until the
/// [`OdbcConnection`] is dropped, and disconnects.
fn serve(
    connection_string: &str,
    options: odbc_api::ConnectionOptions,
    ready: oneshot::Sender<Result<(), odbc_api::Error>>,
    jobs: mpsc::Receiver<Job>,
) {
    let connected = odbc_api::environment()
        .and_then(|env| env.connect_with_connection_string(connection_string, options));
    let mut conn = match connected {
        Ok(conn) => conn,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    if ready.send(Ok(())).is_err() {
        // `connect()` was given up: nobody will use this connection.
        return;
    }
    while let Ok(job) = jobs.recv() {
        job(&mut conn);
    }
    // The `OdbcConnection` is gone: `conn` disconnects here, on its own thread.
}

/// An ODBC connection living on a thread of its own (see the module docs), as handed out by
/// an [`Odbc`] pool. Its methods send work to that thread and await it, so they never block
/// the async runtime; `&mut self` keeps them one at a time.
///
/// ```no_run
/// # use pool_runtime::connectors::odbc::{Odbc, OdbcError};
/// # use pool_runtime::{BestWorker, Pool};
/// # async fn f(pool: Pool<Odbc, BestWorker>) -> Result<(), Box<dyn std::error::Error>> {
/// let mut conn = pool.get().await?;
/// conn.execute("CREATE TEMPORARY TABLE t (id INT, name TEXT)").await?;
/// // Parameters, prepared statements, transactions: odbc-api itself, on the thread.
/// let inserted = conn
///     .with(|c| -> Result<_, odbc_api::Error> {
///         use pool_runtime::connectors::odbc::odbc_api::IntoParameter;
///         c.set_autocommit(false)?;
///         let mut insert = c.prepare("INSERT INTO t VALUES (?, ?)")?;
///         for (id, name) in [(1, "alice"), (2, "bob")] {
///             insert.execute((&id, &name.into_parameter()))?;
///         }
///         c.commit()?;
///         c.set_autocommit(true)?;
///         Ok(2)
///     })
///     .await??;
/// let rows = conn.query("SELECT name FROM t ORDER BY id").await?;
/// assert_eq!(rows.rows.len(), inserted);
/// # Ok(())
/// # }
/// ```
pub struct OdbcConnection {
    jobs: mpsc::Sender<Job>,
    state: Arc<State>,
    query_timeout: Option<Duration>,
}

impl fmt::Debug for OdbcConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OdbcConnection")
            .field("busy", &self.state.busy.load(Ordering::Relaxed))
            .field("dead", &self.state.dead.load(Ordering::Relaxed))
            .field("query_timeout", &self.query_timeout)
            .finish()
    }
}

impl OdbcConnection {
    /// Runs `f` on the connection's thread and returns its result. Not bounded by
    /// `query_timeout` (`f` may run many statements); the pool's `call_timeout` bounds it in
    /// [`Pool::call`](crate::Pool::call). A panic in `f` is resumed here, and the connection
    /// is then replaced.
    pub async fn with<F, T>(&mut self, f: F) -> Result<T, OdbcError>
    where
        F: FnOnce(&mut odbc_api::Connection<'static>) -> T + Send + 'static,
        T: Send + 'static,
    {
        match self.run(f, None).await? {
            Ok(v) => Ok(v),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Runs one SQL statement, discarding any rows it returns; returns the number of rows it
    /// changed (`INSERT`, `UPDATE`, `DELETE`), if the driver says. Bounded by `query_timeout`.
    pub async fn execute(&mut self, sql: impl Into<String>) -> Result<Option<usize>, OdbcError> {
        let sql = sql.into();
        let secs = self.query_timeout.map(ceil_secs);
        let f = move |c: &mut odbc_api::Connection<'static>| -> Result<_, odbc_api::Error> {
            let mut statement = c.preallocate()?;
            if let Some(secs) = secs {
                statement.set_query_timeout_sec(secs)?;
            }
            let has_rows = statement.execute(&sql, ())?.is_some();
            // Closing the cursor (dropped above) discards its rows; a statement that made
            // one changed none.
            if has_rows {
                Ok(None)
            } else {
                statement.row_count()
            }
        };
        self.bounded(f).await
    }

    /// Runs one SQL query and returns its rows as text. Bounded by `query_timeout`.
    pub async fn query(&mut self, sql: impl Into<String>) -> Result<Rows, OdbcError> {
        let sql = sql.into();
        let secs = self.query_timeout.map(ceil_secs);
        let f = move |c: &mut odbc_api::Connection<'static>| -> Result<Rows, odbc_api::Error> {
            use odbc_api::{Cursor, ResultSetMetadata};
            let mut statement = c.preallocate()?;
            if let Some(secs) = secs {
                statement.set_query_timeout_sec(secs)?;
            }
            let Some(mut cursor) = statement.execute(&sql, ())? else {
                return Ok(Rows::default());
            };
            let columns = cursor.column_names()?.collect::<Result<Vec<_>, _>>()?;
            let mut rows = Vec::new();
            let mut buf = Vec::new();
            while let Some(mut row) = cursor.next_row()? {
                let mut values = Vec::with_capacity(columns.len());
                for col in 1..=columns.len() as u16 {
                    let present = row.get_text(col, &mut buf)?;
                    values.push(present.then(|| String::from_utf8_lossy(&buf).into_owned()));
                }
                rows.push(values);
            }
            Ok(Rows { columns, rows })
        };
        self.bounded(f).await
    }

    /// Whether the pool should replace this connection (see [`Odbc`]'s `has_broken`).
    pub fn is_broken(&self) -> bool {
        self.state.busy.load(Ordering::Acquire) || self.state.dead.load(Ordering::Acquire)
    }

    /// Runs a statement closure under `query_timeout`.
    async fn bounded<F, T>(&mut self, f: F) -> Result<T, OdbcError>
    where
        F: FnOnce(&mut odbc_api::Connection<'static>) -> Result<T, odbc_api::Error>
            + Send
            + 'static,
        T: Send + 'static,
    {
        match self.run(f, self.query_timeout).await? {
            Ok(result) => Ok(result?),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Sends `f` to the thread and awaits its result (or its panic), at most `limit`.
    async fn run<F, T>(
        &mut self,
        f: F,
        limit: Option<Duration>,
    ) -> Result<std::thread::Result<T>, OdbcError>
    where
        F: FnOnce(&mut odbc_api::Connection<'static>) -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.is_broken() {
            return Err(OdbcError::Broken);
        }
        let (tx, rx) = oneshot::channel();
        let state = self.state.clone();
        let job: Job = Box::new(move |c| {
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| f(c)));
            // A cheap local check (psqlODBC reads its socket state): a connection the
            // server dropped is replaced rather than lent again.
            if c.is_dead().unwrap_or(false) {
                state.dead.store(true, Ordering::Release);
            }
            // Done before the answer goes out, so the caller's next call finds it idle.
            state.busy.store(false, Ordering::Release);
            let _ = tx.send(result);
        });
        // Set before sending and cleared on the thread once the work is done: if this future
        // is dropped or times out in between, the connection reports itself broken.
        self.state.busy.store(true, Ordering::Release);
        if self.jobs.send(job).is_err() {
            self.state.dead.store(true, Ordering::Release);
            return Err(OdbcError::Broken);
        }
        let answer = match limit {
            Some(limit) => match tokio::time::timeout(limit, rx).await {
                Ok(answer) => answer,
                Err(_) => return Err(OdbcError::Timeout(limit)),
            },
            None => rx.await,
        };
        match answer {
            Ok(Ok(v)) => Ok(Ok(v)),
            Ok(Err(panic)) => {
                // Whatever `f` left half-done, nobody else gets this connection.
                self.state.dead.store(true, Ordering::Release);
                Ok(Err(panic))
            }
            Err(_) => {
                self.state.dead.store(true, Ordering::Release);
                Err(OdbcError::Broken)
            }
        }
    }
}

impl FromSettings for Odbc {
    fn from_settings(s: &Settings) -> Result<Self, StartError> {
        let settings = OdbcSettings::from_settings(s)?;
        let connection_string = settings.settings.expose();
        if connection_string.trim().is_empty() {
            return Err(s.error(format!(
                "`{}` is empty; expected an ODBC connection string such as \"DSN=mydb\"",
                keys::SETTINGS
            )));
        }
        Ok(Odbc::new(connection_string).query_timeout(Some(settings.query_timeout)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Driver, PoolType};

    #[test]
    fn settings_are_read_and_the_string_stays_secret() {
        let odbc = |text: &str| {
            Settings::builder("p", PoolType::Rdbms, Some(Driver::Odbc))
                .set(keys::SETTINGS, text)
                .set(keys::QUERY_TIMEOUT, 1500)
                .build()
                .and_then(|s| Odbc::from_settings(&s))
        };
        let o = odbc("DSN=mydb;UID=mim;PWD=s3cret").unwrap();
        assert_eq!(o.get_query_timeout(), Some(Duration::from_millis(1500)));
        let debug = format!("{o:?}");
        assert!(debug.contains("DSN=mydb;UID=mim;PWD=***"), "{debug}");
        assert!(!debug.contains("s3cret"), "{debug}");
        let err = Settings::builder("p", PoolType::Rdbms, Some(Driver::Odbc))
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "pool `p`: `settings` is required and has no value"
        );
        let err = odbc(" ").unwrap_err();
        assert!(err.to_string().contains("is empty"), "{err}");
    }

    #[test]
    fn timeouts_round_up_to_seconds() {
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1000)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1001)), 2);
        assert_eq!(ceil_secs(Duration::ZERO), 1);
    }
}
