//! Sentinel: asking for the master's address, and following its changes.
//!
//! Every connection asks the Sentinels anew, so a worker that reconnects reaches the master
//! they name now. That alone would leave workers on the old master after a forced failover
//! (`SENTINEL FAILOVER`): the old master goes on accepting writes until the Sentinel turns it
//! into a replica, up to its next 10 s check, and writes in between are lost. So, as
//! Sentinel's client guidelines ask, the connector also subscribes to `+switch-master` on a
//! Sentinel: each switch of its master starts a new epoch, and a connection made in an
//! earlier epoch is never lent again.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{Msg, RedisConnectionInfo, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Redis;
use super::connect::{config, open};
use super::error::RedisConnectorError;
use crate::connectors::tls::Tls;

/// The Sentinels of a pool and what they said last, shared by the connector's clones.
pub(super) struct Sentinels {
    pub(super) addrs: Vec<(String, u16)>,
    pub(super) master: String,
    /// Bumped at every switch of the master.
    epoch: Arc<AtomicU64>,
    /// The task following `+switch-master`, started with the first connection (which runs
    /// on the runtime) and stopped with the last clone of the connector.
    follower: OnceLock<AbortOnDrop>,
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The epoch a connection was made in; it is stale once the master has switched since.
pub(super) struct Epoch {
    current: Arc<AtomicU64>,
    made: u64,
}

impl Epoch {
    pub(super) fn is_stale(&self) -> bool {
        self.current.load(Ordering::Acquire) != self.made
    }
}

impl Sentinels {
    pub(super) fn new(addrs: Vec<(String, u16)>, master: String) -> Self {
        Sentinels {
            addrs,
            master,
            epoch: Arc::default(),
            follower: OnceLock::new(),
        }
    }

    /// The current epoch, after making sure a task follows the master's switches.
    pub(super) fn epoch(&self, tls: Option<&Tls>) -> Epoch {
        self.follower.get_or_init(|| {
            AbortOnDrop(tokio::spawn(follow(
                self.addrs.clone(),
                self.master.clone(),
                tls.cloned(),
                self.epoch.clone(),
            )))
        });
        Epoch {
            current: self.epoch.clone(),
            made: self.epoch.load(Ordering::Acquire),
        }
    }
}

/// Follows `+switch-master` on the Sentinels, one at a time, for as long as the connector
/// lives; a Sentinel that goes away is replaced by the next one after a second.
async fn follow(
    addrs: Vec<(String, u16)>,
    master: String,
    tls: Option<Tls>,
    epoch: Arc<AtomicU64>,
) {
    let mut last = None;
    loop {
        for (host, port) in &addrs {
            if let Err(e) = listen(host, *port, &master, tls.as_ref(), &epoch, &mut last).await {
                tracing::debug!(sentinel = %format!("{host}:{port}"), error = %crate::Chain(&e), "not following the Sentinel");
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// How long a Sentinel may take to answer the follower (setting up, or a `PING`), and how
/// often it is pinged: a Sentinel that stops answering without closing its connection (a
/// partition, a paused host) is left for the next one.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);
const PING_EVERY: Duration = Duration::from_secs(5);

/// Listens to one Sentinel until it goes away or stops answering. `last`: the master's
/// address as last heard.
async fn listen(
    host: &str,
    port: u16,
    master: &str,
    tls: Option<&Tls>,
    epoch: &AtomicU64,
    last: &mut Option<(String, u16)>,
) -> Result<(), RedisConnectorError> {
    let sentinel = format!("{host}:{port}");
    let failed = |source| RedisConnectorError::Redis {
        addr: sentinel.clone(),
        source,
    };
    let silent = || failed(io::Error::from(io::ErrorKind::TimedOut).into());
    let (mut conn, mut pushes) = tokio::time::timeout(ANSWER_WITHIN, async {
        let stream = open(host, port, tls).await?;
        let (tx, pushes) = mpsc::unbounded_channel();
        let info = RedisConnectionInfo::default().set_protocol(redis::ProtocolVersion::RESP3);
        let (mut conn, driver) =
            MultiplexedConnection::new_with_config(&info, stream, config().set_push_sender(tx))
                .await
                .map_err(failed)?;
        // Ends with the connection; the pushes channel closes then too.
        tokio::spawn(driver);
        conn.subscribe("+switch-master").await.map_err(failed)?;
        // A switch while no Sentinel was followed: its address tells, once subscribed.
        let now: Option<(String, u16)> = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(master)
            .query_async(&mut conn)
            .await
            .map_err(failed)?;
        if last.is_some() && now.is_some() && *last != now {
            epoch.fetch_add(1, Ordering::AcqRel);
        }
        if now.is_some() {
            *last = now;
        }
        Ok((conn, pushes))
    })
    .await
    .map_err(|_| silent())??;
    let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        let push = tokio::select! {
            push = pushes.recv() => push,
            _ = pings.tick() => {
                let ping = redis::cmd("PING");
                tokio::time::timeout(ANSWER_WITHIN, ping.query_async::<Value>(&mut conn))
                    .await
                    .map_err(|_| silent())?
                    .map_err(failed)?;
                continue;
            }
        };
        let Some(push) = push else {
            return Ok(());
        };
        let Some(msg) = Msg::from_push_info(push) else {
            continue;
        };
        // `<name> <old ip> <old port> <new ip> <new port>`
        let Ok(text) = msg.get_payload::<String>() else {
            continue;
        };
        let fields: Vec<&str> = text.split(' ').collect();
        if let [name, _, _, ip, port] = fields[..]
            && name == master
        {
            tracing::info!(master = name, new = %format!("{ip}:{port}"), "Sentinel switched the master");
            *last = port.parse().ok().map(|p| (ip.to_owned(), p));
            epoch.fetch_add(1, Ordering::AcqRel);
        }
    }
}

impl Redis {
    /// The master's address from the first Sentinel that knows it, trying them in order.
    pub(super) async fn ask_sentinels(
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

    /// One Sentinel's answer, within [`ANSWER_WITHIN`]: one that hangs leaves the rest of
    /// the pool's `connect_timeout` to the next.
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
        let ask = async {
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
            tokio::select! {
                answer = ask => answer.map_err(failed),
                () = driver => Err(failed(io::Error::from(io::ErrorKind::ConnectionReset).into())),
            }
        };
        let answer = tokio::time::timeout(ANSWER_WITHIN, ask)
            .await
            .map_err(|_| failed(io::Error::from(io::ErrorKind::TimedOut).into()))??;
        answer.ok_or_else(|| RedisConnectorError::UnknownMaster {
            sentinel: sentinel.clone(),
            name: master.to_owned(),
        })
    }
}
