//! Opening a connection: the socket, TLS, the startup exchange, and the task that runs it;
//! cancelling an abandoned statement.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{CancelToken, Client, NoTls};

use super::probe::*;
use super::socket::Target;
use super::*;

/// How long cancelling an abandoned statement may take before we give up on it.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(5);

impl Pgsql {
    /// The `SslMode` connections use: `prefer` without a TLS configuration is `disable`.
    pub(super) fn ssl_mode(&self) -> SslMode {
        match (self.config.get_ssl_mode(), &self.rustls) {
            (SslMode::Disable, _) | (SslMode::Prefer, None) => SslMode::Disable,
            (mode, _) => mode,
        }
    }

    pub(super) async fn connect_any(&self) -> Result<PgClient, PgsqlError> {
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

    pub(super) async fn connect_one(
        &self,
        host: &Host,
        addr: Option<IpAddr>,
        port: u16,
    ) -> Result<PgClient, PgsqlError> {
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

    /// Starts watching the new connection's protocol, spawns its connection task, and wraps
    /// its client with the probe and a fresh statement cache.
    pub(super) fn launch<F>(&self, client: Client, connection: F, probe: Arc<Probe>) -> PgClient
    where
        F: Future<Output = Result<(), tokio_postgres::Error>> + Send + 'static,
    {
        // The startup exchange is over (it ended with ReadyForQuery): from here on every
        // byte is a typed protocol message.
        probe.active.store(true, Ordering::Release);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "pgsql connection ended");
            }
        });
        PgClient::new(client, probe, self.statement_cache)
    }

    /// Asks the server to cancel what `client`'s backend runs, in the background.
    pub(super) fn cancel(&self, token: CancelToken, probe: &Probe) {
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
