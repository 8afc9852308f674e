//! Opening connections: one server (TCP, then TLS with this crate's rustls configuration),
//! the master a Sentinel names, or a cluster through redis-rs's cluster client.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Value};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::either::Either;

use super::connection::{RedisConnection, State};
use super::error::RedisConnectorError;
use super::sentinel::Epoch;
use super::{Redis, Target};
use crate::connectors::tls::Tls;

/// A connection's byte stream: plain TCP or TLS over it.
type Stream = Either<TcpStream, Box<tokio_rustls::client::TlsStream<TcpStream>>>;

/// A connection's stream that holds each write back by one scheduler pass while other
/// requests are in flight on the connection: a Nagle in user space, bounded by a pass of the
/// runtime rather than by a timer.
///
/// redis-rs's multiplexer writes whatever is queued each time its driver task runs, and tokio
/// runs a woken task right after the one that woke it: the driver ran after each caller and
/// wrote fewer than two requests per `writev`. Yielding once before the write lets the
/// callers that are runnable now queue theirs first; measured at 256 tasks on one server
/// (`cargo xtask bench redis`), about 8 requests per write instead of 1.7, and client plus
/// server CPU per request halved. A lone request (nothing else in flight) is written at once,
/// so a single caller's latency does not change.
struct Corked<S> {
    inner: S,
    /// This write has yielded once already.
    held: bool,
    /// Requests sent on the connection and not yet answered (see `RedisConnection`).
    in_flight: Arc<AtomicUsize>,
}

impl<S> Corked<S> {
    /// Whether to yield before writing: once per write, when another request is in flight.
    fn hold(&mut self, cx: &Context<'_>) -> bool {
        if self.held || self.in_flight.load(Ordering::Relaxed) < 2 {
            return false;
        }
        self.held = true;
        cx.waker().wake_by_ref();
        true
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Corked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Corked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.hold(cx) {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.hold(cx) {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let flushed = Pin::new(&mut self.inner).poll_flush(cx);
        if flushed.is_ready() {
            // The next batch may yield again.
            self.held = false;
        }
        flushed
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Opens TCP to `host:port`, then TLS when `tls` says so.
pub(super) async fn open(
    host: &str,
    port: u16,
    tls: Option<&Tls>,
) -> Result<Stream, RedisConnectorError> {
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
pub(super) fn config() -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_response_timeout(None)
        .set_connection_timeout(None)
}

impl Redis {
    pub(super) async fn connect_to(&self) -> Result<RedisConnection, RedisConnectorError> {
        match &self.target {
            Target::Node { host, port } => self.connect_node(host, *port, None).await,
            Target::Sentinel(sentinels) => {
                // Before asking: a switch while this connection is made leaves it stale.
                let epoch = sentinels.epoch(self.tls.as_ref());
                let (host, port) = self
                    .ask_sentinels(&sentinels.addrs, &sentinels.master)
                    .await?;
                self.connect_node(&host, port, Some(epoch)).await
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
                let state = Arc::new(State::new(0, None, rx, Arc::default()));
                Ok(RedisConnection::cluster(conn, state))
            }
        }
    }

    /// A multiplexed connection to `host:port`, logged in and on the declared database;
    /// `master`: a Sentinel named it in this epoch, and it must be a master.
    async fn connect_node(
        &self,
        host: &str,
        port: u16,
        master: Option<Epoch>,
    ) -> Result<RedisConnection, RedisConnectorError> {
        let addr = format!("{host}:{port}");
        let in_flight = Arc::new(AtomicUsize::new(0));
        let stream = Corked {
            inner: open(host, port, self.tls.as_ref()).await?,
            held: false,
            in_flight: in_flight.clone(),
        };
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
        let follows_master = master.is_some();
        let state = Arc::new(State::new(self.info.db(), master, rx, in_flight));
        let ended = state.clone();
        // The driver reads and writes the socket; it ends when the server closes the
        // connection or it breaks, and that is the connection's cheap `has_broken`.
        tokio::spawn(async move {
            driver.await;
            ended.closed.store(true, Ordering::Release);
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

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;

    /// A write waits one scheduler pass while another request is in flight, goes out at once
    /// when it is the only one, and each flush lets the next batch wait again.
    #[tokio::test]
    async fn a_write_waits_one_pass_only_while_another_request_is_in_flight() {
        let (client, _server) = tokio::io::duplex(1024);
        let in_flight = Arc::new(AtomicUsize::new(1));
        let mut stream = Corked {
            inner: client,
            held: false,
            in_flight: in_flight.clone(),
        };
        let mut cx = Context::from_waker(Waker::noop());
        let ping = b"*1\r\n$4\r\nPING\r\n";
        assert!(Pin::new(&mut stream).poll_write(&mut cx, ping).is_ready());
        in_flight.store(2, Ordering::Relaxed);
        assert!(Pin::new(&mut stream).poll_write(&mut cx, ping).is_pending());
        assert!(Pin::new(&mut stream).poll_write(&mut cx, ping).is_ready());
        assert!(Pin::new(&mut stream).poll_flush(&mut cx).is_ready());
        assert!(Pin::new(&mut stream).poll_write(&mut cx, ping).is_pending());
    }
}
