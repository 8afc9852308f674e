//! The `rdbms` connector for `driver = pgsql`, on tokio-postgres: [`Pgsql`].
//!
//! A worker holds one [`tokio_postgres::Client`] and hands it out as is, so callers keep the
//! API they know. Its connection task runs on tokio.
//!
//! # Declared settings
//!
//! | key | meaning |
//! | --- | --- |
//! | `host`, `port` (5432) | the server; a `host` starting with `/` is a Unix-socket folder |
//! | `database`, `username`, `password` | the login |
//! | `query_timeout` (ms, 5000) | the server's `statement_timeout` for every statement of the connection (set in the startup packet, so it costs no round trip), and the bound of the `SELECT 1` check |
//! | `keepalive_interval` (s) | `SELECT 1` on every idle connection this often; a failed check replaces it (run by the pool) |
//! | `max_start_interval` (s, 30) | the cap of the reconnect backoff (run by the pool) |
//! | `tls(...)` | TLS, read by [`Tls::from_settings`]: no `tls(...)` = no TLS; `tls(...)` = try TLS and fall back to plain text only if the server does not offer it (libpq's `prefer`); `tls(required = true)` = TLS or fail (`require`). Verification is on (`verify_mode = peer`) unless the declaration turns it off, in both modes: a server offering a certificate that does not verify is an error, not a downgrade. `server_name_indication.host` names the host to send and verify |
//!
//! The connection's `application_name` is the pool's name, so `pg_stat_activity` shows which
//! pool a backend serves.
//!
//! # Cancellation: nobody is stuck behind an abandoned query
//!
//! tokio-postgres never leaves half-read protocol state: when a caller drops a row stream
//! early, the connection task keeps reading the rest of the result and throws it away. But
//! the next caller's query then waits behind the whole rest of the result (bb8#246). So the
//! connector watches the protocol on the connection's stream (message headers only: which
//! requests carry a statement, and the `ReadyForQuery` that ends each) and, when a worker is
//! handed back ([`ManageConnection::has_broken`]):
//!
//! - with a statement still running or streaming, the connection is replaced, and the server
//!   is asked to cancel that statement (its backend is going away anyway, so the cancel can
//!   only hit the abandoned work);
//! - inside a transaction (a raw `BEGIN` never committed, or a dropped
//!   [`Transaction`](tokio_postgres::Transaction) whose `ROLLBACK` is still on its way), a
//!   `ROLLBACK` is queued before anyone else can use it.
//!
//! The pool itself replaces the connection of a [`Pool::call`](crate::Pool::call) that times
//! out or is dropped mid-flight; it still asks the connector, so that call's statement is
//! cancelled on the server as above rather than left running. A caller sharing a connection
//! ([`Pool::get_shared`]) that drops a stream early cannot be cut off without breaking the
//! others' requests: its statement runs to the end or to `query_timeout`.
//!
//! [`Pool::get_shared`]: crate::Pool::get_shared
//!
//! # Shared use
//!
//! A `Client` pipelines: many tasks may send queries on one connection at once, each waiting
//! only for its own answer. [`Pgsql`] implements [`Multiplexed`](crate::Multiplexed), so a pool
//! built [`multiplexed`](crate::PoolBuilder::multiplexed) serves
//! [`Pool::get_shared`](crate::Pool::get_shared) and
//! [`Pool::call_shared`](crate::Pool::call_shared) without waiting for a worker. Transactions
//! take `&mut Client`, so they need exclusive use ([`Pool::get`](crate::Pool::get)); a raw
//! `BEGIN` sent on a shared connection would hold every other user of it inside that
//! transaction, so do not.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use bb8::ManageConnection;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres::{CancelToken, Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::connectors::tls::Tls;
use crate::declared::{FromSettings, StartError};
use crate::settings::{PgsqlSettings, Settings};

/// The tokio-postgres this connector is built on, so users name its types (`Client`, `Row`,
/// `Error`) at the very version the pool hands out, without a dependency of their own.
pub use tokio_postgres;

/// How long cancelling an abandoned statement may take before we give up on it.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(5);

/// The `rdbms` `pgsql` connector: makes and checks [`tokio_postgres::Client`]s.
///
/// Built from a declaration ([`FromSettings`]) or by hand from a [`tokio_postgres::Config`]:
///
/// ```no_run
/// use std::time::Duration;
/// use pool_runtime::connectors::Pgsql;
/// use pool_runtime::connectors::pgsql::tokio_postgres;
/// use pool_runtime::{BestWorker, Pool};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config: tokio_postgres::Config =
///     "host=127.0.0.1 user=pool password=pool dbname=pool".parse()?;
/// let pgsql = Pgsql::new(config).query_timeout(Duration::from_secs(2));
/// let pool = Pool::<Pgsql, BestWorker>::builder(pgsql)
///     .workers(4)
///     .keepalive_interval(Duration::from_secs(30))
///     .multiplexed()
///     .build()
///     .await?;
///
/// // Exclusive: the worker's `Client` alone, e.g. for a transaction.
/// let mut conn = pool.get().await?;
/// let tx = conn.transaction().await?;
/// tx.execute("CREATE TEMP TABLE t (n int)", &[]).await?;
/// tx.commit().await?;
/// drop(conn);
///
/// // Shared: pipelined with other callers on one connection, no waiting for a worker.
/// let one: i32 = pool.call_shared(async |c| c.query_one("SELECT 1", &[]).await?.try_get(0)).await??;
/// assert_eq!(one, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Pgsql {
    config: Config,
    /// The user's own startup `options`, before `statement_timeout` is added to them.
    base_options: Option<String>,
    tls: Option<Tls>,
    rustls: Option<MakeRustlsConnect>,
    query_timeout: Option<Duration>,
    registry: Arc<Registry>,
}

impl fmt::Debug for Pgsql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not `Config`'s own Debug: it is long, and the password stays out of logs anyway.
        f.debug_struct("Pgsql")
            .field("hosts", &self.config.get_hosts())
            .field("ports", &self.config.get_ports())
            .field("dbname", &self.config.get_dbname())
            .field("user", &self.config.get_user())
            .field("ssl_mode", &self.config.get_ssl_mode())
            .field("tls", &self.tls)
            .field("query_timeout", &self.query_timeout)
            .finish_non_exhaustive()
    }
}

impl Pgsql {
    /// A connector for `config`: host (several are tried in order; a path is a Unix-socket
    /// folder), hostaddr, port, dbname, user, password, options, application_name,
    /// connect_timeout (per host), channel_binding, ssl_mode. The connector opens the socket
    /// itself (to watch the protocol on it), so `keepalives*`, `tcp_user_timeout`,
    /// `target_session_attrs` and `load_balance_hosts` are not applied: the pool's
    /// `keepalive_interval` checks idle connections instead.
    ///
    /// TLS follows `config`'s `ssl_mode`: `disable` = none; `prefer` (tokio-postgres's default)
    /// = none unless [`Pgsql::with_tls`] gives a configuration, as tokio-postgres does with
    /// `NoTls`; `require` = TLS, verified against the system's roots unless
    /// [`Pgsql::with_tls`] says otherwise. No `query_timeout` unless
    /// [`Pgsql::query_timeout`] sets one.
    pub fn new(config: Config) -> Self {
        let base_options = config.get_options().map(String::from);
        let mut pgsql = Pgsql {
            config,
            base_options,
            tls: None,
            rustls: None,
            query_timeout: None,
            registry: Arc::default(),
        };
        if pgsql.config.get_ssl_mode() == SslMode::Require {
            // Verification on, with the system's roots: what `verify_mode = peer` means.
            pgsql = pgsql.with_tls(Tls::system());
        }
        pgsql
    }

    /// Uses `tls` (see [`Tls::from_settings`]) when the server is asked for TLS: with
    /// `ssl_mode` `prefer` or `require`. Builds no TLS connection with `ssl_mode = disable`.
    pub fn with_tls(mut self, tls: Tls) -> Self {
        self.rustls = Some(MakeRustlsConnect::new((*tls.config).clone()));
        self.tls = Some(tls);
        self
    }

    /// Every statement of the connection is cancelled by the server after `timeout`
    /// (`statement_timeout`, rounded up to a millisecond), and the `SELECT 1` check gives up
    /// after it.
    pub fn query_timeout(mut self, timeout: Duration) -> Self {
        let ms = timeout.as_nanos().div_ceil(1_000_000).max(1);
        let extra = format!("-c statement_timeout={ms}");
        let options = match &self.base_options {
            Some(o) if !o.trim().is_empty() => format!("{o} {extra}"),
            _ => extra,
        };
        self.config.options(options);
        self.query_timeout = Some(timeout);
        self
    }

    /// The connection settings (with `statement_timeout` in `options`).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The TLS configuration used when the server is asked for TLS.
    pub fn tls(&self) -> Option<&Tls> {
        self.tls.as_ref()
    }

    /// The `SslMode` connections use: `prefer` without a TLS configuration is `disable`.
    fn ssl_mode(&self) -> SslMode {
        match (self.config.get_ssl_mode(), &self.rustls) {
            (SslMode::Disable, _) | (SslMode::Prefer, None) => SslMode::Disable,
            (mode, _) => mode,
        }
    }

    async fn connect_any(&self) -> Result<Client, PgsqlError> {
        let hosts = self.config.get_hosts();
        if hosts.is_empty() {
            return Err(PgsqlError::Config("no host to connect to".into()));
        }
        let ports = self.config.get_ports();
        let mut last = None;
        for (i, host) in hosts.iter().enumerate() {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            let addr = self.config.get_hostaddrs().get(i).copied();
            match self.connect_one(host, addr, port).await {
                Ok(client) => return Ok(client),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one host was tried"))
    }

    async fn connect_one(
        &self,
        host: &Host,
        addr: Option<IpAddr>,
        port: u16,
    ) -> Result<Client, PgsqlError> {
        let (name, target) = match host {
            Host::Tcp(name) => (
                name.clone(),
                match addr {
                    Some(ip) => Target::Addr(SocketAddr::new(ip, port)),
                    None => Target::Name(name.clone(), port),
                },
            ),
            #[cfg(unix)]
            Host::Unix(dir) => (
                dir.display().to_string(),
                Target::Unix(dir.join(format!(".s.PGSQL.{port}"))),
            ),
        };
        let opened = target.open();
        let socket = match self.config.get_connect_timeout() {
            Some(t) => tokio::time::timeout(*t, opened).await.unwrap_or_else(|_| {
                Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))
            }),
            None => opened.await,
        }
        .map_err(|source| PgsqlError::Connect {
            host: target.to_string(),
            source,
        })?;
        let peer = socket.peer(&target);
        let tls_name = self
            .tls
            .as_ref()
            .map_or(name.as_str(), |t| t.name_for(&name))
            .to_string();
        let probe = Arc::new(Probe::new(peer, tls_name.clone()));
        let stream = Tracked::new(socket, probe.clone());
        let failed = |source| PgsqlError::Postgres {
            host: target.to_string(),
            source,
        };
        // TLS over a Unix socket is pointless, and libpq does not do it either.
        let mode = if matches!(target, Target::Unix(_)) {
            SslMode::Disable
        } else {
            self.ssl_mode()
        };
        let client = match (&self.rustls, mode) {
            (Some(rustls), SslMode::Prefer | SslMode::Require) => {
                let mut config = self.config.clone();
                config.ssl_mode(mode);
                let tls = TrackedTls(Some(rustls_for(rustls, &tls_name)));
                let (client, connection) = config.connect_raw(stream, tls).await.map_err(failed)?;
                self.launch(client, connection, probe)
            }
            _ => {
                let mut config = self.config.clone();
                config.ssl_mode(SslMode::Disable);
                let (client, connection) =
                    config.connect_raw(stream, NoTls).await.map_err(failed)?;
                self.launch(client, connection, probe)
            }
        };
        Ok(client)
    }

    /// Registers the new connection's probe, starts watching its protocol and spawns its
    /// connection task.
    fn launch<F>(&self, client: Client, connection: F, probe: Arc<Probe>) -> Client
    where
        F: Future<Output = Result<(), tokio_postgres::Error>> + Send + 'static,
    {
        // The startup exchange is over (it ended with ReadyForQuery): from here on every
        // byte is a typed protocol message.
        probe.active.store(true, Ordering::Release);
        let key = backend_key(&client);
        if key.is_none() {
            tracing::warn!(
                "pgsql: cannot identify the new connection; abandoned statements and open \
                 transactions will not be caught when it is handed back"
            );
        }
        if let Some(key) = key {
            self.registry
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key, probe);
        }
        let unregister = Unregister(Arc::downgrade(&self.registry), key);
        tokio::spawn(async move {
            let _unregister = unregister;
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "pgsql connection ended");
            }
        });
        client
    }

    /// Runs `f` on the probe of `client`'s connection, if it is one of ours.
    fn with_probe<R>(&self, client: &Client, f: impl FnOnce(&Arc<Probe>) -> R) -> Option<R> {
        let key = backend_key(client)?;
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        registry.get(&key).map(f)
    }

    /// Asks the server to cancel what `client`'s backend runs, in the background.
    fn cancel(&self, token: CancelToken, probe: &Probe) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let target = probe.peer.clone();
        let rustls = self.rustls.clone();
        let name = probe.tls_name.clone();
        runtime.spawn(async move {
            let cancel = async {
                let socket = target.open().await.map_err(|e| e.to_string())?;
                match rustls {
                    Some(rustls) => {
                        token
                            .cancel_query_raw(socket, rustls_for(&rustls, &name))
                            .await
                    }
                    None => token.cancel_query_raw(socket, NoTls).await,
                }
                .map_err(|e| e.to_string())
            };
            match tokio::time::timeout(CANCEL_TIMEOUT, cancel).await {
                Ok(Ok(())) => tracing::debug!("cancelled an abandoned statement"),
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "cancelling an abandoned statement failed")
                }
                Err(_) => tracing::debug!("cancelling an abandoned statement timed out"),
            }
        });
    }
}

impl ManageConnection for Pgsql {
    type Connection = Client;
    type Error = PgsqlError;

    async fn connect(&self) -> Result<Client, PgsqlError> {
        self.connect_any().await
    }

    /// A real round trip (`SELECT 1`, within `query_timeout`), and the connection must be
    /// outside any transaction afterwards.
    async fn is_valid(&self, client: &mut Client) -> Result<(), PgsqlError> {
        let check = client.batch_execute("SELECT 1");
        match self.query_timeout {
            Some(t) => tokio::time::timeout(t, check)
                .await
                .map_err(|_| PgsqlError::Timeout(t))?,
            None => check.await,
        }
        .map_err(PgsqlError::Query)?;
        let status = self.with_probe(client, |p| p.status.load(Ordering::Acquire));
        match status {
            Some(b'T' | b'E') => Err(PgsqlError::InTransaction),
            _ => Ok(()),
        }
    }

    /// Closed, or handed back with a statement still running or streaming (see the module
    /// docs); a connection handed back inside a transaction gets a `ROLLBACK` queued.
    fn has_broken(&self, client: &mut Client) -> bool {
        if client.is_closed() {
            return true;
        }
        let seen = self.with_probe(client, |p| {
            (
                p.live.load(Ordering::Acquire),
                p.status.load(Ordering::Acquire),
                p.clone(),
            )
        });
        let Some((live, status, probe)) = seen else {
            return false;
        };
        if live > 0 {
            self.cancel(client.cancel_token(), &probe);
            return true;
        }
        if matches!(status, b'T' | b'E') {
            // Queued behind whatever is already on its way (a dropped `Transaction` sends its
            // own ROLLBACK, and a second one is a harmless warning), ahead of the next caller.
            send_only(client.batch_execute("ROLLBACK"));
        }
        false
    }
}

/// Shared use: a `Client` pipelines concurrent requests through `&self`.
impl crate::Multiplexed for Pgsql {
    /// The connection task has ended (the server closed the connection, or it broke).
    fn is_closed(&self, client: &Client) -> bool {
        client.is_closed()
    }
}

impl FromSettings for Pgsql {
    fn from_settings(s: &Settings) -> Result<Self, StartError> {
        let settings = PgsqlSettings::from_settings(s)?;
        let tls = match &settings.tls {
            Some(options) => Some(Tls::from_options(options, s)?),
            None => None,
        };
        let required = settings
            .tls
            .as_ref()
            .and_then(|t| t.required)
            .unwrap_or(false);
        let mode = match (&tls, required) {
            (None, _) => SslMode::Disable,
            (Some(_), false) => SslMode::Prefer,
            (Some(_), true) => SslMode::Require,
        };
        let mut config = Config::new();
        config
            .host(&settings.host)
            .port(settings.port)
            .dbname(&settings.database)
            .user(&settings.username)
            .password(settings.password.expose())
            .application_name(s.pool().as_str())
            .ssl_mode(mode);
        let mut pgsql = Pgsql::new(config);
        if let Some(tls) = tls {
            pgsql = pgsql.with_tls(tls);
        }
        Ok(pgsql.query_timeout(settings.query_timeout))
    }

    /// Declared pgsql pools are shared-capable: `call_shared`/`get_shared` pipeline on a
    /// worker's `Client`, while `get()` still takes a worker alone (transactions).
    fn tune<S: crate::Strategy>(
        builder: crate::PoolBuilder<Self, S>,
    ) -> crate::PoolBuilder<Self, S> {
        builder.multiplexed()
    }
}

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

// ---- the protocol probe -------------------------------------------------------------------

/// Connections by backend (process id and secret key, which tokio-postgres keeps for cancel
/// requests): `has_broken` only gets a `&Client`, and this is what identifies it.
type Registry = Mutex<HashMap<u64, Arc<Probe>>>;

/// Removes a connection's probe when its connection task ends.
struct Unregister(Weak<Registry>, Option<u64>);

impl Drop for Unregister {
    fn drop(&mut self) {
        if let (Some(registry), Some(key)) = (self.0.upgrade(), self.1) {
            registry
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&key);
        }
    }
}

/// What the connection's stream saw, for `has_broken` and `is_valid` (written only by the
/// connection task).
struct Probe {
    /// Requests carrying a statement (Execute, or a simple Query other than `ROLLBACK…`)
    /// whose result has not ended (by `ReadyForQuery` or an error).
    live: AtomicU32,
    /// The transaction status of the last `ReadyForQuery`: `I`, `T` or `E`.
    status: AtomicU8,
    /// Set once the startup exchange is over.
    active: AtomicBool,
    /// Where to send a cancel request.
    peer: Target,
    tls_name: String,
}

impl Probe {
    fn new(peer: Target, tls_name: String) -> Self {
        Probe {
            live: AtomicU32::new(0),
            status: AtomicU8::new(b'I'),
            active: AtomicBool::new(false),
            peer,
            tls_name,
        }
    }
}

/// One request on the wire: the messages up to a Sync, or one simple Query.
#[derive(Clone, Copy)]
struct Request {
    statement: bool,
    /// Its Sync (or Query) was written.
    closed: bool,
    /// Its result ended with an error; only its ReadyForQuery is still to come. (The server
    /// flushes an error at once and the ReadyForQuery after, so a caller may see the error
    /// before the ReadyForQuery arrives.)
    failed: bool,
}

/// Splits a byte stream into PostgreSQL messages (type byte, length, body), keeping the first
/// bytes of each body. Only the headers are read; bodies are skipped.
#[derive(Default)]
struct Framer {
    head: [u8; 5],
    head_len: u8,
    body_left: usize,
    prefix: [u8; 8],
    prefix_len: u8,
}

impl Framer {
    fn feed(&mut self, mut data: &[u8], mut message: impl FnMut(u8, &[u8])) {
        while !data.is_empty() {
            if self.head_len < 5 {
                let take = (5 - self.head_len as usize).min(data.len());
                self.head[self.head_len as usize..][..take].copy_from_slice(&data[..take]);
                self.head_len += take as u8;
                data = &data[take..];
                if self.head_len == 5 {
                    let len = u32::from_be_bytes([
                        self.head[1],
                        self.head[2],
                        self.head[3],
                        self.head[4],
                    ]);
                    self.body_left = (len as usize).saturating_sub(4);
                    self.prefix_len = 0;
                    if self.body_left == 0 {
                        message(self.head[0], &[]);
                        self.head_len = 0;
                    }
                }
                continue;
            }
            let take = self.body_left.min(data.len());
            let keep = (self.prefix.len() - self.prefix_len as usize).min(take);
            self.prefix[self.prefix_len as usize..][..keep].copy_from_slice(&data[..keep]);
            self.prefix_len += keep as u8;
            self.body_left -= take;
            data = &data[take..];
            if self.body_left == 0 {
                message(self.head[0], &self.prefix[..self.prefix_len as usize]);
                self.head_len = 0;
            }
        }
    }
}

/// The connection's stream, watched: tracks requests written and results read (see
/// [`Probe`]). Lives inside the connection task, which alone reads and writes it.
struct Tracked<S> {
    io: S,
    probe: Arc<Probe>,
    on: bool,
    reads: Framer,
    writes: Framer,
    requests: VecDeque<Request>,
    live: u32,
}

impl<S> Tracked<S> {
    fn new(io: S, probe: Arc<Probe>) -> Self {
        Tracked {
            io,
            probe,
            on: false,
            reads: Framer::default(),
            writes: Framer::default(),
            requests: VecDeque::new(),
            live: 0,
        }
    }

    fn active(&mut self) -> bool {
        if !self.on {
            self.on = self.probe.active.load(Ordering::Acquire);
        }
        self.on
    }

    fn wrote(&mut self, data: &[u8]) {
        let (requests, live) = (&mut self.requests, &mut self.live);
        let before = *live;
        self.writes.feed(data, |kind, body| {
            let open = |requests: &mut VecDeque<Request>| {
                if requests.back().is_none_or(|r| r.closed) {
                    requests.push_back(Request {
                        statement: false,
                        closed: false,
                        failed: false,
                    });
                }
            };
            match kind {
                b'Q' => {
                    // tokio-postgres's own fire-and-forget rollback (a dropped Transaction)
                    // is quick and harmless: do not count it as work to abandon.
                    let statement = !body.starts_with(b"ROLLBACK");
                    *live += u32::from(statement);
                    requests.push_back(Request {
                        statement,
                        closed: true,
                        failed: false,
                    });
                }
                b'S' => match requests.back_mut() {
                    Some(r) if !r.closed => r.closed = true,
                    _ => requests.push_back(Request {
                        statement: false,
                        closed: true,
                        failed: false,
                    }),
                },
                b'X' => {}
                b'E' => {
                    open(requests);
                    let r = requests.back_mut().expect("just opened");
                    if !r.statement {
                        r.statement = true;
                        *live += 1;
                    }
                }
                _ => open(requests),
            }
        });
        if *live != before {
            self.probe.live.store(*live, Ordering::Release);
        }
    }

    fn read(&mut self, data: &[u8]) {
        let (requests, live, probe) = (&mut self.requests, &mut self.live, &self.probe);
        let before = *live;
        self.reads.feed(data, |kind, body| match kind {
            b'E' => {
                if let Some(r) = requests.front_mut()
                    && !r.failed
                {
                    r.failed = true;
                    *live -= u32::from(r.statement);
                }
            }
            b'Z' => {
                if let Some(r) = requests.pop_front()
                    && !r.failed
                {
                    *live -= u32::from(r.statement);
                }
                if let Some(&status) = body.first() {
                    probe.status.store(status, Ordering::Release);
                }
            }
            _ => {}
        });
        if *live != before {
            self.probe.live.store(*live, Ordering::Release);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
        if this.active() {
            this.read(&buf.filled()[before..]);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.io).poll_write(cx, data))?;
        if this.active() {
            this.wrote(&data[..n]);
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

impl<S: TlsStream + Unpin> TlsStream for Tracked<S> {
    fn channel_binding(&self) -> ChannelBinding {
        self.io.channel_binding()
    }
}

type RustlsConnect = <MakeRustlsConnect as MakeTlsConnect<Socket>>::TlsConnect;
type RustlsStream = <RustlsConnect as TlsConnect<Socket>>::Stream;

/// rustls for a connection to `name` (sent as SNI and verified).
fn rustls_for(make: &MakeRustlsConnect, name: &str) -> RustlsConnect {
    match <MakeRustlsConnect as MakeTlsConnect<Socket>>::make_tls_connect(&mut make.clone(), name) {
        Ok(tls) => tls,
        Err(never) => match never {},
    }
}

/// rustls under the probe: the handshake runs on the raw socket, and the probe watches the
/// plain text above it.
struct TrackedTls(Option<RustlsConnect>);

impl TlsConnect<Tracked<Socket>> for TrackedTls {
    type Stream = Tracked<RustlsStream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Tracked<RustlsStream>>> + Send>>;

    fn connect(mut self, stream: Tracked<Socket>) -> Self::Future {
        let rustls = self.0.take().expect("a TLS connector connects once");
        Box::pin(async move {
            let tls = rustls.connect(stream.io).await?;
            Ok(Tracked::new(tls, stream.probe))
        })
    }
}

// ---- sockets ------------------------------------------------------------------------------

/// Where a connection goes (and its cancel requests).
#[derive(Clone, Debug)]
enum Target {
    /// A host name, resolved at connect.
    Name(String, u16),
    /// An address.
    Addr(SocketAddr),
    /// A Unix socket.
    #[cfg_attr(not(unix), allow(dead_code))]
    Unix(PathBuf),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Name(host, port) => write!(f, "{host}:{port}"),
            Target::Addr(addr) => write!(f, "{addr}"),
            Target::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

impl Target {
    async fn open(&self) -> io::Result<Socket> {
        let tcp = match self {
            Target::Name(host, port) => TcpStream::connect((host.as_str(), *port)).await?,
            Target::Addr(addr) => TcpStream::connect(addr).await?,
            #[cfg(unix)]
            Target::Unix(path) => {
                return Ok(Socket::Unix(tokio::net::UnixStream::connect(path).await?));
            }
            #[cfg(not(unix))]
            Target::Unix(_) => {
                return Err(io::Error::new(io::ErrorKind::Unsupported, "Unix sockets"));
            }
        };
        // Requests are small and latency-bound; Nagle would hold pipelined ones back.
        tcp.set_nodelay(true)?;
        Ok(Socket::Tcp(tcp))
    }
}

enum Socket {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

impl Socket {
    /// The exact address connected to, so a cancel request reaches the same server even when
    /// the name resolves to several.
    fn peer(&self, target: &Target) -> Target {
        match self {
            Socket::Tcp(s) => s.peer_addr().map_or_else(|_| target.clone(), Target::Addr),
            #[cfg(unix)]
            Socket::Unix(_) => target.clone(),
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_write(cx, data),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_write(cx, data),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

// ---- identifying a Client -----------------------------------------------------------------

/// The backend's process id and secret key, read from `client` without I/O: tokio-postgres
/// exposes them only by writing a cancel request, so one is written into memory.
fn backend_key(client: &Client) -> Option<u64> {
    let token = client.cancel_token();
    let mut sink = KeySink::default();
    let written = {
        let mut cancel = pin!(token.cancel_query_raw(&mut sink, Plain));
        cancel
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
    };
    match written {
        Poll::Ready(Ok(())) => sink.key(),
        _ => None,
    }
}

/// Takes what a cancel request writes (an SSLRequest first, for TLS modes) and answers the
/// SSLRequest with "yes".
#[derive(Default)]
struct KeySink {
    last: [u8; 16],
    len: usize,
}

impl KeySink {
    /// CancelRequest: length 16, code 80877102, process id, secret key.
    fn key(&self) -> Option<u64> {
        (self.len >= 16 && self.last[..8] == [0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e])
            .then(|| u64::from_be_bytes(self.last[8..16].try_into().expect("8 bytes")))
    }
}

impl AsyncRead for KeySink {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        buf.put_slice(b"S");
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for KeySink {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        for &b in data {
            this.last.copy_within(1.., 0);
            this.last[15] = b;
        }
        this.len += data.len();
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A "TLS" that is not: lets [`backend_key`] through the TLS step of a cancel request.
struct Plain;

struct PlainStream<S>(S);

impl<S: AsyncRead + AsyncWrite + Unpin> TlsConnect<S> for Plain {
    type Stream = PlainStream<S>;
    type Error = io::Error;
    type Future = std::future::Ready<io::Result<PlainStream<S>>>;

    fn connect(self, stream: S) -> Self::Future {
        std::future::ready(Ok(PlainStream(stream)))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for PlainStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for PlainStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for PlainStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

/// Sends a request and forgets its answer: polls the future once, which queues the request
/// on the connection (tokio-postgres sends on the first poll), then drops it.
fn send_only<F: Future>(request: F) {
    let mut request = pin!(request);
    let _ = request
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    fn tracked() -> Tracked<()> {
        let probe = Arc::new(Probe::new(Target::Name("h".into(), 1), "h".into()));
        probe.active.store(true, Ordering::Relaxed);
        Tracked::new((), probe)
    }

    #[test]
    fn framer_splits_messages_across_chunks() {
        let mut bytes = msg(b'D', &[7; 300]);
        bytes.extend(msg(b'Z', b"I"));
        bytes.extend(msg(b'C', b"SELECT 1\0"));
        for chunk in [1, 2, 3, 5, 7, 64, 1000] {
            let mut f = Framer::default();
            let mut seen = Vec::new();
            for part in bytes.chunks(chunk) {
                f.feed(part, |k, p| seen.push((k, p.to_vec())));
            }
            assert_eq!(
                seen,
                vec![
                    (b'D', vec![7; 8]),
                    (b'Z', b"I".to_vec()),
                    (b'C', b"SELECT 1".to_vec())
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn a_statement_is_live_until_its_ready_for_query() {
        let mut t = tracked();
        // prepare: Parse, Describe, Sync — no statement runs.
        let mut prepare = msg(b'P', b"s0\0SELECT 1\0\0\0");
        prepare.extend(msg(b'D', b"Ss0\0"));
        prepare.extend(msg(b'S', b""));
        t.wrote(&prepare);
        assert_eq!(t.probe.live.load(Ordering::Relaxed), 0);
        // query: Bind, Execute, Sync.
        let mut query = msg(b'B', b"\0s0\0\0\0\0\0\0\0");
        query.extend(msg(b'E', b"\0\0\0\0\0"));
        query.extend(msg(b'S', b""));
        t.wrote(&query);
        assert_eq!(t.probe.live.load(Ordering::Relaxed), 1);
        t.read(&msg(b'1', b""));
        t.read(&msg(b'Z', b"I")); // prepare's
        assert_eq!(t.probe.live.load(Ordering::Relaxed), 1);
        t.read(&msg(b'D', b"\0\x01\0\0\0\x011"));
        t.read(&msg(b'C', b"SELECT 1\0"));
        assert_eq!(t.probe.live.load(Ordering::Relaxed), 1);
        t.read(&msg(b'Z', b"T"));
        assert_eq!(t.probe.live.load(Ordering::Relaxed), 0);
        assert_eq!(t.probe.status.load(Ordering::Relaxed), b'T');
    }

    #[test]
    fn errors_end_a_statement_and_rollbacks_are_not_statements() {
        let mut t = tracked();
        t.wrote(&msg(b'Q', b"SELECT x\0"));
        t.wrote(&msg(b'Q', b"ROLLBACK\0"));
        assert_eq!(t.probe.live.load(Ordering::Relaxed), 1);
        t.read(&msg(b'E', b"SERROR\0"));
        assert_eq!(t.probe.live.load(Ordering::Relaxed), 0);
        t.read(&msg(b'Z', b"E"));
        t.read(&msg(b'Z', b"I"));
        assert_eq!(t.probe.live.load(Ordering::Relaxed), 0);
        assert_eq!(t.probe.status.load(Ordering::Relaxed), b'I');
        assert!(t.requests.is_empty());
    }

    #[test]
    fn nothing_is_tracked_before_startup_ends() {
        let probe = Arc::new(Probe::new(Target::Name("h".into(), 1), "h".into()));
        let mut t = Tracked::new((), probe);
        assert!(!t.active());
    }
}
