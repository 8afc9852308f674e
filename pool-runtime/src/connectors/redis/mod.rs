//! The `redis` connector, on redis-rs: [`Redis`].
//!
//! A worker holds one multiplexed connection and lends it as a [`RedisConnection`], which
//! every redis-rs command, pipeline and [`AsyncCommands`](redis::AsyncCommands) method takes.
//! Declared redis pools serve both uses:
//!
//! - **shared** ([`Pool::get_shared`](crate::Pool::get_shared),
//!   [`Pool::call_shared`](crate::Pool::call_shared)): many callers pipeline on one worker's
//!   connection without waiting for each other; `best_worker` picks the connection with the
//!   fewest calls in flight. For plain commands (`GET`, `SET`, `INCR`, pipelines, `MULTI`/`EXEC`
//!   sent as one atomic pipeline).
//! - **exclusive** ([`Pool::get`](crate::Pool::get), [`Pool::call`](crate::Pool::call)): the
//!   worker's connection alone, for what holds the connection: `MULTI`/`EXEC` sent command by
//!   command, `WATCH`, blocking commands (`BLPOP`, `XREAD … BLOCK`), `SUBSCRIBE`. A blocking
//!   command on a shared connection would hold up every other caller on it (redis-rs#1236).
//!
//! # Declared settings
//!
//! | key | meaning |
//! | --- | --- |
//! | `host`, `port` (`127.0.0.1`, 6379) | the server |
//! | `database` (0) | the database every connection selects |
//! | `username`, `password` | the login (`HELLO 3 AUTH`); `username` is an ACL user, `default` without it |
//! | `tls(...)` | TLS with rustls (ring), read by [`Tls::from_settings`]: CA, verification (on unless `verify_mode = none`), SNI, client certificate |
//!
//! Every connection speaks RESP3 (pub/sub on an exclusive connection needs it), has no
//! response timeout of its own (the pool's `call_timeout` bounds each call, so a `BLPOP`
//! may wait as long as the call may), and names itself after the pool (`CLIENT SETNAME`), so
//! `CLIENT LIST` shows which pool a connection serves.
//!
//! # Broken connections
//!
//! A multiplexed connection never reconnects by itself: once the server restarts or kills it,
//! every clone fails (redis-rs#1190). The connection's I/O task ending is the connector's
//! cheap [`has_broken`](ManageConnection::has_broken), so a dead connection is never lent:
//! its worker reconnects with the pool's backoff. A connection left in a transaction, a
//! subscription or another database, or with a blocking command abandoned mid-flight, is
//! replaced before anyone else gets it (see [`RedisConnection`]).
//!
//! # TLS and the crypto provider
//!
//! The connector makes its TLS connections itself, from the `tls(...)` section, with ring.
//! redis-rs's cluster client makes its own and asks rustls for the process's default
//! provider: building a connector installs ring as that default if none is installed yet
//! ([`install_ring_default`](crate::connectors::tls::install_ring_default)), so no client
//! crate's `ClientConfig::builder()` can panic for lack of one.

use std::fmt;
use std::sync::Arc;

use bb8::ManageConnection;
use redis::RedisConnectionInfo;

use crate::connectors::tls::Tls;
use sentinel::Sentinels;

mod connect;
mod connection;
mod error;
mod sentinel;
mod settings;

pub use connection::RedisConnection;
pub use error::RedisConnectorError;

/// The redis-rs this connector is built on, so users name its types (`cmd`, `pipe`,
/// `AsyncCommands`, `Value`) at the very version the pool hands out, without a dependency of
/// their own.
pub use redis;

/// The `redis` connector: makes and checks [`RedisConnection`]s.
///
/// Built from a declaration ([`FromSettings`](crate::declared::FromSettings)) or by hand:
///
/// ```no_run
/// use pool_runtime::connectors::Redis;
/// use pool_runtime::connectors::redis::redis;
/// use pool_runtime::{AvailableWorker, Pool};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let redis = Redis::new("127.0.0.1", 6379).database(2).password("secret");
/// let pool = Pool::<Redis, AvailableWorker>::builder(redis)
///     .workers(4)
///     .multiplexed()
///     .build()
///     .await?;
/// let n: i64 = pool
///     .call_shared(async |c| redis::cmd("INCR").arg("n").query_async(&mut c.clone()).await)
///     .await??;
/// # let _ = n;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Redis {
    target: Target,
    info: RedisConnectionInfo,
    tls: Option<Tls>,
    client_name: Option<String>,
}

/// Where connections go.
#[derive(Clone)]
enum Target {
    /// One server.
    Node { host: String, port: u16 },
    /// The master the Sentinels name, asked anew for every connection.
    Sentinel(Arc<Sentinels>),
    /// A Redis Cluster, through redis-rs's cluster client.
    Cluster(Box<redis::cluster::ClusterClient>),
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Redis");
        match &self.target {
            Target::Node { host, port } => d.field("server", &format_args!("{host}:{port}")),
            Target::Sentinel(s) => d
                .field("sentinels", &s.addrs)
                .field("master_name", &s.master),
            Target::Cluster(_) => d.field("cluster", &true),
        };
        // Not `RedisConnectionInfo`'s Debug: the password stays out of logs.
        d.field("database", &self.info.db())
            .field("username", &self.info.username())
            .field("tls", &self.tls)
            .field("client_name", &self.client_name)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// A connector for the server at `host:port`, database 0, no login, no TLS.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Redis::to(Target::Node {
            host: host.into(),
            port,
        })
    }

    /// A connector for the master that `sentinels` (tried in order) name `master_name`. Every
    /// connection asks them anew, so a worker that reconnects after a failover reaches the
    /// new master; the connector follows `+switch-master` on a Sentinel, and a connection
    /// made before a switch, or whose master was demoted (`READONLY`, or `ROLE` at the idle
    /// check), is replaced before it is lent again. The TLS configuration, if any, is used
    /// for the Sentinels too.
    pub fn sentinel(
        sentinels: impl IntoIterator<Item = (String, u16)>,
        master_name: impl Into<String>,
    ) -> Self {
        Redis::to(Target::Sentinel(Arc::new(Sentinels::new(
            sentinels.into_iter().collect(),
            master_name.into(),
        ))))
    }

    /// A connector for a Redis Cluster through redis-rs's cluster client, configured by the
    /// caller (seed nodes, login, TLS): each worker holds one cluster connection, which
    /// routes each command to its slot's node and follows `MOVED`/`ASK` and failovers.
    /// [`Redis::database`], [`Redis::username`], [`Redis::password`] and [`Redis::with_tls`]
    /// do not apply: the client carries its own.
    pub fn cluster(client: redis::cluster::ClusterClient) -> Self {
        Redis::to(Target::Cluster(Box::new(client)))
    }

    fn to(target: Target) -> Self {
        // redis-rs's cluster client builds its rustls configurations with the process's
        // default provider.
        crate::connectors::tls::install_ring_default();
        Redis {
            target,
            info: RedisConnectionInfo::default().set_protocol(redis::ProtocolVersion::RESP3),
            tls: None,
            client_name: None,
        }
    }

    /// The database every connection selects.
    pub fn database(mut self, db: u32) -> Self {
        self.info = self.info.set_db(i64::from(db));
        self
    }

    /// The ACL user to log in as (with [`Redis::password`]); `default` without it.
    pub fn username(mut self, username: impl AsRef<str>) -> Self {
        self.info = self.info.set_username(username);
        self
    }

    /// The password to log in with.
    pub fn password(mut self, password: impl AsRef<str>) -> Self {
        self.info = self.info.set_password(password);
        self
    }

    /// Connects with TLS (see [`Tls::from_settings`]), verifying the server as `tls` says.
    pub fn with_tls(mut self, tls: Tls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The name each connection gives itself (`CLIENT SETNAME`); a declared pool's is its
    /// own name. Not sent to a cluster.
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = Some(name.into());
        self
    }
}

impl ManageConnection for Redis {
    type Connection = RedisConnection;
    type Error = RedisConnectorError;

    async fn connect(&self) -> Result<RedisConnection, RedisConnectorError> {
        self.connect_to().await
    }

    /// `PING`; a connection to a Sentinel-named master asks `ROLE` instead, and fails once
    /// the master has been demoted.
    async fn is_valid(&self, conn: &mut RedisConnection) -> Result<(), RedisConnectorError> {
        let failed = |source| RedisConnectorError::Redis {
            addr: "the check".into(),
            source,
        };
        if let Target::Sentinel(_) = self.target {
            let role = connect::role(conn).await.map_err(failed)?;
            return match role.as_str() {
                "master" => Ok(()),
                _ => Err(RedisConnectorError::Demoted),
            };
        }
        let pong: redis::RedisResult<String> = match (conn.multiplexed(), conn.cluster_connection())
        {
            (Some(c), _) => redis::cmd("PING").query_async(&mut c.clone()).await,
            (_, Some(c)) => redis::cmd("PING").query_async(&mut c.clone()).await,
            (None, None) => unreachable!("a connection is a node's or a cluster's"),
        };
        pong.map(drop).map_err(failed)
    }

    /// Closed, or carrying a caller's session state (see [`RedisConnection`]).
    fn has_broken(&self, conn: &mut RedisConnection) -> bool {
        conn.state.needs_replacing()
    }
}

/// Shared use: a multiplexed connection pipelines concurrent requests through clones.
impl crate::Multiplexed for Redis {
    fn is_closed(&self, conn: &RedisConnection) -> bool {
        conn.state.needs_replacing()
    }
}
