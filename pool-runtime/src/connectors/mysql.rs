//! The `rdbms` connector for `driver = mysql` (MySQL and MariaDB), on [`mysql_async`].
//!
//! Each worker holds one native [`mysql_async::Conn`], used by one caller at a time (a MySQL
//! connection runs one command at a time). mysql_async's own `Pool` is not used: the workers
//! are the pool.
//!
//! ```no_run
//! use pool_runtime::connectors::mysql::{Mysql, mysql_async::prelude::*};
//! use pool_runtime::{BestWorker, Pool};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let connector = Mysql::from_url("mysql://user:passwd@localhost:3306/mydb")?;
//! let pool = Pool::<Mysql, BestWorker>::builder(connector).workers(5).build().await?;
//! let n: Option<i64> = pool.call(async |c| c.query_first("SELECT 1 + 1").await).await??;
//! assert_eq!(n, Some(2));
//! # Ok(())
//! # }
//! ```
//!
//! # Declared settings
//!
//! | key | meaning |
//! | --- | --- |
//! | `host`, `port` (3306), `database`, `username`, `password` | the server and the login; always over TCP (never switched to the server's unix socket) |
//! | `query_timeout` (ms, default 5000; 0: none) | the server aborts any statement running longer (MariaDB `max_statement_time`, MySQL `max_execution_time`, which covers `SELECT` only), and the connection stays usable; [`Mysql::is_valid`](bb8::ManageConnection::is_valid) must answer within it |
//! | `keepalive_interval`, `max_start_interval` | pool behaviours (see [`crate::declared::prepare`]) |
//! | `tls(...)` | TLS, always required when declared (there is no `required` key for mysql) |
//!
//! # TLS
//!
//! mysql_async builds its own rustls configuration and takes no `rustls::ClientConfig`, so
//! the `tls.*` keys are mapped onto [`mysql_async::SslOpts`] rather than through
//! [`Tls`](crate::connectors::tls::Tls):
//!
//! | key | mysql |
//! | --- | --- |
//! | `verify_mode = peer` (default) | the chain must lead to `cacertfile` (only those CAs), or without it to the system's roots; the certificate must name `host` (or `server_name_indication.host`) |
//! | `verify_mode = none` | nothing is verified (testing only) |
//! | `verify_mode = selfsigned_peer` | refused at start: mysql_async cannot pin a certificate |
//! | `cacertfile`, `certfile` + `keyfile` | trusted CAs; a client certificate and its unencrypted key |
//! | `server_name_indication.enabled = false` | no SNI is sent: the TLS name becomes the IP address connected to, and the certificate must name that address |
//! | `server_name_indication.host` | the name sent and verified instead of `host` |
//! | `versions`, `ciphers`, `password` | refused at start: mysql_async offers rustls's defaults (TLS 1.2 and 1.3) and reads unencrypted keys only |
//!
//! MongooseIM's `{server_name_indication, disable}` also skips the name check. mysql_async's
//! `with_danger_skip_domain_validation` would do that, but in 0.37.1 it has no effect with
//! rustls 0.23 (blackbeam/mysql_async#404), so a disabled SNI checks the certificate against
//! the IP address instead: a certificate for `localhost` must also name `127.0.0.1`.
//!
//! # A call abandoned half-way
//!
//! A `call()` dropped while its statement runs, or timed out, has its connection replaced by
//! the runtime. A [`Conn`](crate::Conn) guard given back with an operation half-done is
//! replaced too ([`has_broken`](bb8::ManageConnection::has_broken)): a command cancelled
//! while it ran (mysql_async marks the connection disconnected until a command completes),
//! or a result set not read to its end (a dropped stream). Draining those rows instead would
//! cost the next caller their time, and hand them the earlier statement's error if the server
//! aborted it meanwhile (mysql_async still reads the rest of a replaced connection's result in
//! a background task before closing it; `query_timeout` bounds that on the server). A [`Transaction`](mysql_async::Transaction) dropped without commit is
//! rolled back by mysql_async before the next command on the connection. A transaction opened
//! in SQL (`START TRANSACTION`) is the caller's to end.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{ClientIdentity, Conn, Opts, OptsBuilder, SslOpts};

use crate::declared::{FromSettings, StartError};
use crate::settings::{MysqlSettings, Settings, TlsOptions, VerifyMode, keys};

/// The client crate, re-exported so that its types (`prelude::Queryable`, `Row`, `params!`, …)
/// match the version the connector uses.
pub use mysql_async;

/// The default `query_timeout`, as MongooseIM's.
pub const DEFAULT_QUERY_TIMEOUT: Duration = crate::settings::defaults::QUERY_TIMEOUT;

/// MySQL's `ER_UNKNOWN_SYSTEM_VARIABLE`: the server is not MariaDB.
const ER_UNKNOWN_SYSTEM_VARIABLE: u16 = 1193;

/// The connector for `driver = mysql`: makes native [`mysql_async::Conn`] connections.
///
/// Built from a declaration ([`FromSettings`]) or by hand with [`Mysql::new`] /
/// [`Mysql::from_url`]:
///
/// ```
/// use std::time::Duration;
/// use pool_runtime::connectors::mysql::{Mysql, mysql_async::OptsBuilder};
///
/// let opts = OptsBuilder::default()
///     .ip_or_hostname("db.internal")
///     .user(Some("mim"))
///     .pass(Some("secret"))
///     .db_name(Some("mydb"));
/// let connector = Mysql::new(opts).query_timeout(Some(Duration::from_secs(2)));
/// assert_eq!(connector.opts().ip_or_hostname(), "db.internal");
/// ```
#[derive(Clone)]
pub struct Mysql {
    opts: Opts,
    query_timeout: Option<Duration>,
    /// `server_name_indication.enabled = false`: connect by IP address so that no SNI is sent.
    no_sni: bool,
}

impl fmt::Debug for Mysql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // By hand: `Opts`'s Debug prints the password.
        f.debug_struct("Mysql")
            .field("host", &self.opts.ip_or_hostname())
            .field("port", &self.opts.tcp_port())
            .field("database", &self.opts.db_name())
            .field("username", &self.opts.user())
            .field("tls", &self.opts.ssl_opts().is_some())
            .field("sni", &!self.no_sni)
            .field("query_timeout", &self.query_timeout)
            .finish()
    }
}

impl Mysql {
    /// A connector making connections with `opts`, with the default `query_timeout` (5 s).
    ///
    /// The options are used as given (mysql_async's defaults include switching a loopback
    /// connection to the server's unix socket, `prefer_socket`; declared pools turn it off).
    pub fn new(opts: impl Into<Opts>) -> Self {
        Mysql {
            opts: opts.into(),
            query_timeout: Some(DEFAULT_QUERY_TIMEOUT),
            no_sni: false,
        }
    }

    /// A connector for a `mysql://user:password@host:port/database?…` URL (mysql_async's URL
    /// parameters apply).
    pub fn from_url(url: &str) -> Result<Self, mysql_async::UrlError> {
        Ok(Mysql::new(Opts::from_url(url)?))
    }

    /// Sets `query_timeout`: statements running longer are aborted by the server, and
    /// the connection check must answer within it. `None` sets no statement limit (checks are
    /// then bounded by the pool's connect timeout only).
    pub fn query_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.query_timeout = timeout.filter(|t| !t.is_zero());
        self
    }

    /// The connection options.
    pub fn opts(&self) -> &Opts {
        &self.opts
    }

    /// The `query_timeout`.
    pub fn get_query_timeout(&self) -> Option<Duration> {
        self.query_timeout
    }

    async fn open(&self) -> Result<Conn, mysql_async::Error> {
        if !self.no_sni {
            return Conn::new(self.opts.clone()).await;
        }
        // rustls sends no SNI when the name it verifies is an IP address: connect to each
        // address of the host in turn, under that address.
        let host = self.opts.ip_or_hostname();
        let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => tokio::net::lookup_host((host, self.opts.tcp_port()))
                .await
                .map_err(|e| mysql_async::Error::Io(e.into()))?
                .map(|a| a.ip())
                .collect(),
        };
        let mut last = None;
        for ip in addrs {
            let opts = OptsBuilder::from_opts(self.opts.clone()).ip_or_hostname(ip.to_string());
            match Conn::new(opts).await {
                Ok(conn) => return Ok(conn),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            mysql_async::Error::Io(
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{host}: no address found"),
                )
                .into(),
            )
        }))
    }
}

/// Sets the server's statement time limit for this session: MariaDB's `max_statement_time`
/// (seconds), else MySQL's `max_execution_time` (milliseconds, `SELECT` only).
async fn limit_statements(conn: &mut Conn, limit: Duration) -> Result<(), mysql_async::Error> {
    let mariadb = format!(
        "SET SESSION max_statement_time = {:.6}",
        limit.as_secs_f64()
    );
    match conn.query_drop(mariadb).await {
        Err(mysql_async::Error::Server(e)) if e.code == ER_UNKNOWN_SYSTEM_VARIABLE => {
            let ms = limit.as_millis().clamp(1, u128::from(u32::MAX));
            conn.query_drop(format!("SET SESSION max_execution_time = {ms}"))
                .await
        }
        other => other,
    }
}

fn timed_out(what: &str, limit: Duration) -> mysql_async::Error {
    mysql_async::Error::Io(
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("{what} got no answer within query_timeout ({limit:?})"),
        )
        .into(),
    )
}

impl bb8::ManageConnection for Mysql {
    type Connection = Conn;
    type Error = mysql_async::Error;

    /// Connects (TLS as configured) and sets the session's statement time limit.
    async fn connect(&self) -> Result<Conn, mysql_async::Error> {
        let mut conn = self.open().await?;
        if let Some(limit) = self.query_timeout {
            limit_statements(&mut conn, limit).await?;
        }
        Ok(conn)
    }

    /// A round trip (`COM_PING`) within `query_timeout`. mysql_async first finishes whatever
    /// an earlier caller left (unread rows, a dropped transaction), so this also proves the
    /// connection is ready for the next command.
    async fn is_valid(&self, conn: &mut Conn) -> Result<(), mysql_async::Error> {
        match self.query_timeout {
            Some(limit) => tokio::time::timeout(limit, conn.ping())
                .await
                .unwrap_or_else(|_| Err(timed_out("the connection check (COM_PING)", limit))),
            None => conn.ping().await,
        }
    }

    /// Broken: disconnected (mysql_async marks a connection so when an I/O or protocol error
    /// broke it, and while a command is in progress, so a command abandoned half-way is
    /// marked too), holding a result set that was not read to its end, or closed by the
    /// server while idle (a `KILL`, a restart, `wait_timeout`).
    ///
    /// mysql_async would read and discard such rows before the next command, in the next
    /// caller's time, and if the server aborted that statement meanwhile (`query_timeout`)
    /// the next caller would get its error instead of its own result. Replacing the
    /// connection keeps both from the next caller. An idle connection the server closed is
    /// noticed only by its next command in mysql_async; the pool asks here before it lends a
    /// connection, so that command is never a caller's.
    fn has_broken(&self, conn: &mut Conn) -> bool {
        if conn.is_disconnected() {
            return true;
        }
        let seen = inspect(conn);
        seen.pending_result == Some(true) || seen.socket.is_some_and(socket_is_done)
    }
}

/// What [`inspect`] read of a connection's private state.
#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    /// A result set not read to its end; `None` if that cannot be told.
    pending_result: Option<bool>,
    /// The TCP socket under the connection (TLS or not); `None` for a unix socket or if it
    /// cannot be told.
    socket: Option<std::os::fd::RawFd>,
}

/// Reads two things mysql_async 0.37 keeps in crate-private fields with no accessor, from
/// its `Debug` output, which shows both early on (`Conn { inner: Conn { connection id: 7,
/// server version: (…), pool: None, pending_result: Ok(None), tx_status: None, stream:
/// Some(Stream (endpoint=Plain(Some(PollEvented { io: Some(TcpStream { addr: …, peer: …,
/// fd: 12 }) })))), options: …`): it reads that far and stops, without allocating. If a later
/// version prints them differently, the answers are `None` and mysql_async's own clean-up
/// before the next command applies (the connector's tests check both on a real server).
fn inspect(conn: &Conn) -> Seen {
    const PENDING: &[u8] = b"pending_result: ";
    const NONE: &[u8] = b"Ok(None)";
    const FD: &[u8] = b"fd: ";
    /// Where the connection's own fields end: no socket after this.
    const END: &[u8] = b"options: ";
    struct Scan {
        seen: Seen,
        /// Bytes of `PENDING`, `FD` and `END` matched so far.
        at: [usize; 3],
        value: [u8; 8],
        got: usize,
        in_fd: bool,
        fd: i64,
    }
    impl Scan {
        /// Feeds `b` to the matcher of `key`; true once `key` is complete.
        fn step(at: &mut usize, key: &[u8], b: u8) -> bool {
            *at = if b == key[*at] {
                *at + 1
            } else {
                usize::from(b == key[0])
            };
            if *at == key.len() {
                *at = 0;
                return true;
            }
            false
        }
    }
    impl fmt::Write for Scan {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for &b in s.as_bytes() {
                if self.in_fd {
                    if b.is_ascii_digit() {
                        self.fd = self.fd * 10 + i64::from(b - b'0');
                        continue;
                    }
                    self.seen.socket = std::os::fd::RawFd::try_from(self.fd).ok();
                    // Enough: stop formatting the rest (options, certificates, …).
                    return Err(fmt::Error);
                }
                if self.seen.pending_result.is_none() {
                    if self.got > 0 || Scan::step(&mut self.at[0], PENDING, b) {
                        if self.got > 0 {
                            self.value[self.got - 1] = b;
                        }
                        self.got += 1;
                        if self.got == NONE.len() + 1 {
                            self.seen.pending_result = Some(self.value != NONE);
                        }
                    }
                    continue;
                }
                if Scan::step(&mut self.at[1], FD, b) {
                    self.in_fd = true;
                } else if Scan::step(&mut self.at[2], END, b) {
                    return Err(fmt::Error);
                }
            }
            Ok(())
        }
    }
    let mut scan = Scan {
        seen: Seen::default(),
        at: [0; 3],
        value: [0; 8],
        got: 0,
        in_fd: false,
        fd: 0,
    };
    let _ = fmt::write(&mut scan, format_args!("{conn:?}"));
    scan.seen
}

/// Whether the socket of an idle connection is finished: the server closed it (end of
/// stream, a reset), or sent something nobody asked for (an error before closing). The
/// socket is non-blocking (tokio's), so this returns at once; it only peeks, so nothing is
/// taken from the connection. mysql_async's own pool runs the same check on checkout.
fn socket_is_done(fd: std::os::fd::RawFd) -> bool {
    use std::os::fd::FromRawFd;
    // SAFETY: `fd` is the open socket of a connection the caller holds (`&mut Conn`, not
    // disconnected), so it stays open meanwhile; `ManuallyDrop` leaves it to its owner.
    let socket = std::mem::ManuallyDrop::new(unsafe { std::net::TcpStream::from_raw_fd(fd) });
    match socket.peek(&mut [0u8; 1]) {
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
        Ok(_) => true,
    }
}

impl FromSettings for Mysql {
    fn from_settings(s: &Settings) -> Result<Self, StartError> {
        let settings = MysqlSettings::from_settings(s)?;
        let mut opts = OptsBuilder::default()
            .ip_or_hostname(&settings.host)
            .tcp_port(settings.port)
            .db_name(Some(&settings.database))
            .user(Some(&settings.username))
            .pass(Some(settings.password.expose()))
            // The declared host and port, with the declared TLS: never a unix socket instead.
            .prefer_socket(false);
        let mut no_sni = false;
        if let Some(tls) = &settings.tls {
            opts = opts.ssl_opts(ssl_opts(tls, s)?);
            no_sni = !tls.server_name_indication_enabled;
        }
        Ok(Mysql {
            opts: opts.into(),
            // 0: no limit (MongooseIM passes it on as is).
            query_timeout: Some(settings.query_timeout).filter(|t| !t.is_zero()),
            no_sni,
        })
    }
}

/// The `tls` section as mysql_async options. The keys mysql_async cannot honour (`versions`,
/// `ciphers`, `password`) are refused by the table for this driver, where they are written.
fn ssl_opts(tls: &TlsOptions, settings: &Settings) -> Result<SslOpts, StartError> {
    let mut ssl = SslOpts::default();
    match &tls.cacertfile {
        Some(path) => {
            check_pem(settings, keys::TLS_CACERTFILE, path, "CERTIFICATE")?;
            ssl = ssl
                .with_root_certs(vec![PathBuf::from(path).into()])
                .with_disable_built_in_roots(true);
        }
        None => {
            // Like every other connector: the system's roots (mysql_async would otherwise use
            // the Mozilla roots compiled into it).
            let roots = system_roots();
            if !roots.is_empty() {
                ssl = ssl
                    .with_root_certs(roots.iter().map(|c| c.to_vec().into()).collect())
                    .with_disable_built_in_roots(true);
            }
        }
    }
    if !tls.disconnect_on_failure && tls.verify_mode != VerifyMode::None {
        // mysql_async takes no verifier of ours, so a failure cannot be logged as it goes.
        tracing::warn!(
            pool = %settings.pool(),
            "tls.disconnect_on_failure = false: mysql accepts a certificate that fails \
             verification without saying so"
        );
        ssl = ssl.with_danger_accept_invalid_certs(true);
    }
    match tls.verify_mode {
        VerifyMode::Peer => {}
        VerifyMode::None => ssl = ssl.with_danger_accept_invalid_certs(true),
        VerifyMode::SelfsignedPeer => {
            return Err(settings.error(format!(
                "`{} = {}` is not supported by driver `mysql`: mysql_async cannot pin a \
                 certificate; put its CA in `{}` and use `{}`",
                keys::TLS_VERIFY_MODE,
                VerifyMode::SelfsignedPeer.name(),
                keys::TLS_CACERTFILE,
                VerifyMode::Peer.name()
            )));
        }
    }
    // The table pairs `certfile` with `keyfile`.
    if let (Some(cert), Some(key)) = (&tls.certfile, &tls.keyfile) {
        check_pem(settings, keys::TLS_CERTFILE, cert, "CERTIFICATE")?;
        // mysql_async cannot open an encrypted key: it gets the opened one, in memory.
        let key = match &tls.password {
            Some(_) => crate::connectors::tls::opened_key_pem(tls, settings, key)?.into(),
            None => {
                check_pem(settings, keys::TLS_KEYFILE, key, "PRIVATE KEY")?;
                PathBuf::from(key).into()
            }
        };
        ssl = ssl.with_client_identity(Some(ClientIdentity::new(PathBuf::from(cert).into(), key)));
    }
    if let Some(name) = &tls.server_name_indication_host {
        if !tls.server_name_indication_enabled {
            return Err(settings.error(format!(
                "`{}` names the SNI to send, but `{}` is false",
                keys::TLS_SERVER_NAME_INDICATION_HOST,
                keys::TLS_SERVER_NAME_INDICATION_ENABLED
            )));
        }
        ssl = ssl.with_danger_tls_hostname_override(Some(name.clone()));
    }
    install_crypto_provider();
    Ok(ssl)
}

/// Checks at start that a PEM file is there and holds what it should, so that a wrong path is
/// a start error naming the key rather than a failure of every connection attempt.
fn check_pem(settings: &Settings, key: &str, path: &str, label: &str) -> Result<(), StartError> {
    let text = std::fs::read(path).map_err(|e| settings.error(format!("`{key}` {path:?}: {e}")))?;
    let text = String::from_utf8_lossy(&text);
    if !text.contains("-----BEGIN") || !text.contains(label) {
        return Err(settings.error(format!("`{key}` {path:?}: no PEM {label} in it")));
    }
    Ok(())
}

fn system_roots() -> Arc<Vec<rustls::pki_types::CertificateDer<'static>>> {
    static ROOTS: std::sync::OnceLock<Arc<Vec<rustls::pki_types::CertificateDer<'static>>>> =
        std::sync::OnceLock::new();
    ROOTS
        .get_or_init(|| Arc::new(rustls_native_certs::load_native_certs().certs))
        .clone()
}

/// mysql_async builds its rustls configuration with the process-wide default crypto provider;
/// installing ring's (the one this crate is built with) keeps that from failing when another
/// dependency also enables aws-lc-rs. If the application installed one already, it stays.
fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Driver, PoolType, SettingsBuilder};

    fn try_settings(extra: Vec<(&str, &str)>) -> Result<Settings, StartError> {
        SettingsBuilder::sql_for_tests("rdbms.global.default", Driver::Mysql)
            .set(keys::PORT, 3307)
            .set_all(extra)
            .build()
    }

    fn settings(extra: Vec<(&str, &str)>) -> Settings {
        try_settings(extra).unwrap()
    }

    #[test]
    fn settings_are_read() {
        let m = Mysql::from_settings(&settings(vec![(keys::QUERY_TIMEOUT, "250")])).unwrap();
        assert_eq!(m.opts().ip_or_hostname(), "db.example");
        assert_eq!(m.opts().tcp_port(), 3307);
        assert_eq!(m.opts().db_name(), Some("mydb"));
        assert_eq!(m.opts().user(), Some("mim"));
        assert_eq!(m.opts().pass(), Some("s3cret"));
        assert!(!m.opts().prefer_socket());
        assert!(m.opts().ssl_opts().is_none());
        assert_eq!(m.get_query_timeout(), Some(Duration::from_millis(250)));
        let debug = format!("{m:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
    }

    #[test]
    fn defaults() {
        let s = SettingsBuilder::sql_for_tests("p", Driver::Mysql)
            .build()
            .unwrap();
        let m = Mysql::from_settings(&s).unwrap();
        assert_eq!(m.opts().tcp_port(), 3306);
        assert_eq!(m.get_query_timeout(), Some(DEFAULT_QUERY_TIMEOUT));
    }

    #[test]
    fn tls_keys_map_onto_ssl_opts() {
        let m = Mysql::from_settings(&settings(vec![
            (keys::TLS_VERIFY_MODE, "none"),
            (keys::TLS_SERVER_NAME_INDICATION_ENABLED, "false"),
        ]))
        .unwrap();
        let ssl = m.opts().ssl_opts().unwrap();
        assert!(ssl.accept_invalid_certs());
        assert!(m.no_sni);
        let m = Mysql::from_settings(&settings(vec![
            (keys::TLS_VERIFY_MODE, "peer"),
            (keys::TLS_SERVER_NAME_INDICATION_HOST, "db.internal"),
        ]))
        .unwrap();
        let ssl = m.opts().ssl_opts().unwrap();
        assert!(!ssl.accept_invalid_certs());
        assert_eq!(ssl.tls_hostname_override(), Some("db.internal"));
        assert!(!m.no_sni);
        // Without `cacertfile`: the system's roots when it has any, else mysql_async's.
        assert_eq!(ssl.disable_built_in_roots(), !ssl.root_certs().is_empty());
    }

    #[test]
    fn bad_settings_are_start_errors() {
        let err = |extra| match try_settings(extra) {
            Ok(s) => Mysql::from_settings(&s).unwrap_err().to_string(),
            Err(e) => e.to_string(),
        };
        assert!(
            err(vec![(keys::TLS_VERIFY_MODE, "selfsigned_peer")])
                .contains("not supported by driver `mysql`")
        );
        assert!(err(vec![(keys::TLS_VERIFY_MODE, "nope")]).contains("expected one of"));
        assert!(
            err(vec![(keys::TLS_CACERTFILE, "/nonexistent/ca.pem")])
                .contains("`tls.cacertfile` \"/nonexistent/ca.pem\"")
        );
        assert!(
            err(vec![(keys::TLS_VERSIONS, "tlsv1.3")])
                .contains("`tls.versions` is not supported by driver `mysql`")
        );
        assert!(err(vec![(keys::TLS_CERTFILE, "c.pem")]).contains("needs `tls.keyfile`"));
        assert!(
            err(vec![(keys::PORT, "70000")]).contains("must be between 1 and 65535, got 70000")
        );
        assert!(err(vec![(keys::QUERY_TIMEOUT, "-1")]).contains("must be at least 0"));
        assert!(err(vec![(keys::HOST, "")]).contains("`host` from the builder: must not be empty"));
        let missing = Settings::builder("p", PoolType::Rdbms, Some(Driver::Mysql))
            .build()
            .unwrap_err();
        assert_eq!(
            missing.to_string(),
            "pool `p`: `host` is required and has no value"
        );
    }
}
