//! The `rdbms` connector for `driver = pgsql`, on tokio-postgres: [`Pgsql`].
//!
//! `driver = cockroachdb` (MongooseIM 6.3+) is this connector too: CockroachDB speaks the
//! PostgreSQL protocol and takes the same keys, with its own default port (26257). Its
//! `statement_timeout` is set the same way, in the startup packet's `options` (session
//! variables in the connection settings, as CockroachDB's docs recommend), not by a `SET`
//! after connecting. No CockroachDB server can be installed here: the tests run a
//! `cockroachdb` pool against the PostgreSQL test server.
//!
//! A worker holds one [`tokio_postgres::Client`] and lends it as a [`PgClient`], which derefs
//! to it (callers keep the API they know) and adds a statement cache: query text runs as a
//! prepared statement, parsed once per connection. Its connection task runs on tokio.
//!
//! # Declared settings
//!
//! | key | meaning |
//! | --- | --- |
//! | `host`, `port` (5432) | the server; a `host` starting with `/` is a Unix-socket folder |
//! | `database`, `username`, `password` | the login |
//! | `statement_cache` (100; 0: none) | prepared statements each connection keeps, least recently used evicted first (see [`PgClient`]) |
//! | `query_timeout` (ms, 5000; 0: none) | the server's `statement_timeout` for every statement of the connection (set in the startup packet, so it costs no round trip), and the bound of the `SELECT 1` check |
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
//! take `&mut PgClient`, so they need exclusive use ([`Pool::get`](crate::Pool::get)); a raw
//! `BEGIN` sent on a shared connection would hold every other user of it inside that
//! transaction, so do not.

use std::fmt;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bb8::ManageConnection;

use tokio_postgres::Config;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::connectors::tls::Tls;

mod client;
mod connect;
mod error;
mod probe;
mod settings;
mod socket;

pub use client::{PgClient, PgTransaction, Query, QueryRef};
pub use error::PgsqlError;
use probe::send_only;

/// The tokio-postgres this connector is built on, so users name its types (`Client`, `Row`,
/// `Error`) at the very version the pool hands out, without a dependency of their own.
pub use tokio_postgres;

/// The `rdbms` `pgsql` connector: makes and checks [`tokio_postgres::Client`]s, lent as
/// [`PgClient`]s.
///
/// Built from a declaration ([`FromSettings`](crate::declared::FromSettings)) or by hand from a [`tokio_postgres::Config`]:
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
    /// How many prepared statements each connection keeps.
    statement_cache: usize,
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
            .field("statement_cache", &self.statement_cache)
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
            statement_cache: crate::settings::defaults::STATEMENT_CACHE as usize,
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
    /// after it. `Duration::ZERO` sets no limit (PostgreSQL's `statement_timeout = 0`, as
    /// MongooseIM's `query_timeout = 0`).
    pub fn query_timeout(mut self, timeout: Duration) -> Self {
        if timeout.is_zero() {
            match &self.base_options {
                Some(o) => self.config.options(o),
                None => self.config.options(""),
            };
            self.query_timeout = None;
            return self;
        }
        let ms = timeout.as_nanos().div_ceil(1_000_000);
        let extra = format!("-c statement_timeout={ms}");
        let options = match &self.base_options {
            Some(o) if !o.trim().is_empty() => format!("{o} {extra}"),
            _ => extra,
        };
        self.config.options(options);
        self.query_timeout = Some(timeout);
        self
    }

    /// Each connection keeps up to `capacity` prepared statements (see [`PgClient`]); 0
    /// keeps none. Default 100, as the declaration's `statement_cache`.
    pub fn statement_cache(mut self, capacity: usize) -> Self {
        self.statement_cache = capacity;
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
}

impl ManageConnection for Pgsql {
    type Connection = PgClient;
    type Error = PgsqlError;

    async fn connect(&self) -> Result<PgClient, PgsqlError> {
        self.connect_any().await
    }

    /// A real round trip (`SELECT 1`, within `query_timeout`), and the connection must be
    /// outside any transaction afterwards.
    async fn is_valid(&self, client: &mut PgClient) -> Result<(), PgsqlError> {
        let check = client.batch_execute("SELECT 1");
        match self.query_timeout {
            Some(t) => tokio::time::timeout(t, check)
                .await
                .map_err(|_| PgsqlError::Timeout(t))?,
            None => check.await,
        }
        .map_err(PgsqlError::Query)?;
        match client.probe.status.load(Ordering::Acquire) {
            b'T' | b'E' => Err(PgsqlError::InTransaction),
            _ => Ok(()),
        }
    }

    /// Closed, or handed back with a statement still running or streaming (see the module
    /// docs); a connection handed back inside a transaction gets a `ROLLBACK` queued.
    fn has_broken(&self, client: &mut PgClient) -> bool {
        if client.is_closed() {
            return true;
        }
        if client.probe.live.load(Ordering::Acquire) > 0 {
            self.cancel(client.cancel_token(), &client.probe);
            return true;
        }
        if matches!(client.probe.status.load(Ordering::Acquire), b'T' | b'E') {
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
    fn is_closed(&self, client: &PgClient) -> bool {
        client.is_closed()
    }
}
