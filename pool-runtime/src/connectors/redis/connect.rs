//! Opening connections: one server (TCP, then TLS with this crate's rustls configuration),
//! the master a Sentinel names, or a cluster through redis-rs's cluster client.

use std::io;
use std::sync::Arc;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisConnectionInfo, Value};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::either::Either;

use super::connection::{RedisConnection, State};
use super::error::RedisConnectorError;
use super::{Redis, Target};
use crate::connectors::tls::Tls;

/// A connection's byte stream: plain TCP or TLS over it.
type Stream = Either<TcpStream, Box<tokio_rustls::client::TlsStream<TcpStream>>>;

/// Opens TCP to `host:port`, then TLS when `tls` says so.
async fn open(host: &str, port: u16, tls: Option<&Tls>) -> Result<Stream, RedisConnectorError> {
    let addr = || format!("{host}:{port}");
    let failed = |source| RedisConnectorError::Connect {
        addr: addr(),
        source,
    };
    let tcp = TcpStream::connect((host, port)).await.map_err(failed)?;
    // Requests are small and latency-bound; Nagle would hold pipelined ones back.
    tcp.set_nodelay(true).map_err(failed)?;
    let Some(tls) = tls else {
        return Ok(Either::Left(tcp));
    };
    let name = ServerName::try_from(tls.name_for(host).to_owned()).map_err(|e| {
        failed(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "`{}` is not a valid TLS server name: {e}",
                tls.name_for(host)
            ),
        ))
    })?;
    let stream = tokio_rustls::TlsConnector::from(tls.config.clone())
        .connect(name, tcp)
        .await
        .map_err(failed)?;
    Ok(Either::Right(Box::new(stream)))
}

/// No response timeout: the pool's `call_timeout` bounds a call, and redis-rs's 500 ms
/// default would fail a `BLPOP` that is allowed to wait longer (redis-rs#1924).
fn config() -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_response_timeout(None)
        .set_connection_timeout(None)
}

impl Redis {
    pub(super) async fn connect_to(&self) -> Result<RedisConnection, RedisConnectorError> {
        match &self.target {
            Target::Node { host, port } => self.connect_node(host, *port, false).await,
            Target::Sentinel { sentinels, master } => {
                let (host, port) = self.ask_sentinels(sentinels, master).await?;
                self.connect_node(&host, port, true).await
            }
            Target::Cluster(client) => {
                let (tx, rx) = mpsc::unbounded_channel();
                let config = redis::cluster::ClusterConfig::new().set_push_sender(tx);
                let conn = client
                    .get_async_connection_with_config(config)
                    .await
                    .map_err(|source| RedisConnectorError::Redis {
                        addr: "cluster".into(),
                        source,
                    })?;
                let state = Arc::new(State::new(0, false, rx));
                Ok(RedisConnection::cluster(conn, state))
            }
        }
    }

    /// A multiplexed connection to `host:port`, logged in and on the declared database;
    /// `follows_master`: a Sentinel named it, and it must still be a master.
    async fn connect_node(
        &self,
        host: &str,
        port: u16,
        follows_master: bool,
    ) -> Result<RedisConnection, RedisConnectorError> {
        let addr = format!("{host}:{port}");
        let stream = open(host, port, self.tls.as_ref()).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (conn, driver) = MultiplexedConnection::new_with_config(
            &self.info,
            stream,
            config().set_push_sender(tx),
        )
        .await
        .map_err(|source| RedisConnectorError::Redis {
            addr: addr.clone(),
            source,
        })?;
        let state = Arc::new(State::new(self.info.db(), follows_master, rx));
        let ended = state.clone();
        // The driver reads and writes the socket; it ends when the server closes the
        // connection or it breaks, and that is the connection's cheap `has_broken`.
        tokio::spawn(async move {
            driver.await;
            ended
                .closed
                .store(true, std::sync::atomic::Ordering::Release);
        });
        let mut conn = RedisConnection::node(conn, state);
        self.name_client(&mut conn, &addr).await?;
        if follows_master {
            let role = role(&mut conn)
                .await
                .map_err(|source| RedisConnectorError::Redis {
                    addr: addr.clone(),
                    source,
                })?;
            if role != "master" {
                return Err(RedisConnectorError::NotMaster { addr, role });
            }
        }
        Ok(conn)
    }

    /// `CLIENT SETNAME`: the server's `CLIENT LIST` then shows which pool a connection serves
    /// (one server's connections; a cluster's are redis-rs's own).
    async fn name_client(
        &self,
        conn: &mut RedisConnection,
        addr: &str,
    ) -> Result<(), RedisConnectorError> {
        let (Some(name), Some(c)) = (&self.client_name, conn.multiplexed()) else {
            return Ok(());
        };
        // Sent on the inner connection: it is the set-up, not a caller changing the session.
        redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(name)
            .query_async::<()>(&mut c.clone())
            .await
            .map_err(|source| RedisConnectorError::Redis {
                addr: addr.to_owned(),
                source,
            })
    }

    /// The master's address from the first Sentinel that knows it, trying them in order.
    async fn ask_sentinels(
        &self,
        sentinels: &[(String, u16)],
        master: &str,
    ) -> Result<(String, u16), RedisConnectorError> {
        let mut last = None;
        for (host, port) in sentinels {
            match self.ask_sentinel(host, *port, master).await {
                Ok(addr) => return Ok(addr),
                Err(e) => {
                    tracing::debug!(sentinel = %format!("{host}:{port}"), error = %crate::Chain(&e), "sentinel did not name a master");
                    last = Some(e);
                }
            }
        }
        Err(RedisConnectorError::NoMaster {
            name: master.to_owned(),
            last: Box::new(last.expect("a Sentinel pool has at least one Sentinel")),
        })
    }

    async fn ask_sentinel(
        &self,
        host: &str,
        port: u16,
        master: &str,
    ) -> Result<(String, u16), RedisConnectorError> {
        let sentinel = format!("{host}:{port}");
        let failed = |source| RedisConnectorError::Redis {
            addr: sentinel.clone(),
            source,
        };
        let stream = open(host, port, self.tls.as_ref()).await?;
        let (mut conn, driver) = MultiplexedConnection::new_with_config(
            &RedisConnectionInfo::default(),
            stream,
            config(),
        )
        .await
        .map_err(failed)?;
        let mut cmd = redis::cmd("SENTINEL");
        cmd.arg("GET-MASTER-ADDR-BY-NAME").arg(master);
        let ask = cmd.query_async::<Option<(String, u16)>>(&mut conn);
        // One question: the driver runs beside it and both end here.
        let answer = tokio::select! {
            answer = ask => answer.map_err(failed)?,
            () = driver => return Err(failed(redis::RedisError::from(io::Error::from(io::ErrorKind::ConnectionReset)))),
        };
        answer.ok_or_else(|| RedisConnectorError::UnknownMaster {
            sentinel: sentinel.clone(),
            name: master.to_owned(),
        })
    }
}

/// The first field of `ROLE`: `master`, `slave` or `sentinel`.
pub(super) async fn role(conn: &mut RedisConnection) -> redis::RedisResult<String> {
    let Some(c) = conn.multiplexed() else {
        return Ok("master".into());
    };
    let reply: Vec<Value> = redis::cmd("ROLE").query_async(&mut c.clone()).await?;
    match reply.first() {
        Some(v) => Ok(redis::from_redis_value_ref(v)?),
        None => Ok(String::new()),
    }
}
