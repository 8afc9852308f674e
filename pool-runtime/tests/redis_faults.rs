//! The redis connector under faults, on the throwaway TLS server (6380, password): the
//! scenarios every connector passes (`test_support::faults`: every client killed with
//! `CLIENT KILL TYPE normal`, the server restarted or stopped for a while under load, a wrong password,
//! `call_timeout`, keepalive). A multiplexed connection never reconnects by itself
//! (redis-rs#1190): the pool must notice and replace it, with no call hanging past its
//! `call_timeout` and every call after recovery succeeding. Run with `--nocapture` to see the
//! recovery times.
#![cfg(feature = "redis")]

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pool_runtime::connectors::Redis;
use pool_runtime::connectors::redis::{RedisConnection, redis};
use pool_runtime::declared::FromSettings;
use pool_runtime::settings::keys;
use pool_runtime::{BestWorker, ManageConnection, Pool, PoolBuilder};
use test_support::faults::{self, Backend, CALL_TIMEOUT, Fault, Res, WORKERS};
use test_support::{REDIS_TLS, kit, lock_exclusive, require};

type RedisPool = Pool<Redis, BestWorker>;

/// The throwaway TLS server; every other call is shared (pipelined).
#[derive(Clone)]
struct Server {
    redis: test_support::Redis,
    calls: Arc<AtomicUsize>,
}

fn server() -> Server {
    Server {
        redis: require(REDIS_TLS),
        calls: Arc::default(),
    }
}

fn connector(name: &str, redis: &test_support::Redis, password: &str) -> Redis {
    let settings = kit::redis(name, redis)
        .set(keys::PASSWORD, password)
        .build()
        .unwrap();
    Redis::from_settings(&settings).unwrap()
}

/// A connection of the test's own, to ask the server about the pool's clients.
async fn admin(redis: &test_support::Redis) -> Option<RedisConnection> {
    let password = redis.password.clone().unwrap_or_default();
    connector("fault.admin", redis, &password)
        .connect()
        .await
        .ok()
}

impl Backend for Server {
    type Connector = Redis;

    fn builder(&self, name: &str, password: &str) -> PoolBuilder<Redis, BestWorker> {
        Pool::builder(connector(name, &self.redis, password))
            .name(name)
            .workers(WORKERS)
            .call_timeout(CALL_TIMEOUT)
            .multiplexed()
    }

    fn password(&self) -> String {
        self.redis
            .password
            .clone()
            .expect("the TLS server has a password")
    }

    fn wrong_password_says(&self) -> &'static str {
        "WRONGPASS"
    }

    fn query(&self, pool: &RedisPool) -> impl Future<Output = Res> + Send {
        let shared = self.calls.fetch_add(1, Ordering::Relaxed) % 2 == 1;
        async move {
            let ping = async |c: &RedisConnection| {
                redis::cmd("PING")
                    .query_async::<String>(&mut c.clone())
                    .await
                    .map(drop)
            };
            let result = if shared {
                pool.call_shared(async |c| ping(c).await).await
            } else {
                pool.call(async |c| ping(c).await).await
            };
            faults::outcome(result)
        }
    }

    /// `BLPOP` on a key nobody pushes to: the server holds the call for `secs`.
    async fn sleep(&self, pool: &RedisPool, secs: u32) -> Res {
        let result = pool
            .call(async |c| {
                redis::cmd("BLPOP")
                    .arg("fault:never-pushed")
                    .arg(secs)
                    .query_async::<Option<(String, String)>>(c)
                    .await
                    .map(drop)
            })
            .await;
        faults::outcome(result)
    }

    fn sessions(&self, name: &str) -> impl Future<Output = Vec<u64>> + Send {
        let (redis, name) = (self.redis.clone(), name.to_owned());
        async move { clients(&redis, &name).await }
    }

    /// `CLIENT KILL TYPE normal`: every client but the asking one, the pool's `ids` among
    /// them (each scenario holds the server alone).
    fn kill(&self, ids: &[u64]) -> impl Future<Output = ()> + Send {
        let (redis, ids) = (self.redis.clone(), ids.to_vec());
        async move {
            let mut admin = admin(&redis).await.expect("admin connection");
            let killed: u64 = redis::cmd("CLIENT")
                .arg("KILL")
                .arg("TYPE")
                .arg("normal")
                .query_async(&mut admin)
                .await
                .unwrap();
            assert!(killed >= ids.len() as u64, "killed {killed} of {ids:?}");
        }
    }

    fn ctl(&self, action: &str) {
        self.redis.ctl(action);
    }
}

/// The ids of the clients named `name` (`CLIENT SETNAME` is the pool's name), empty while the
/// server is down.
async fn clients(redis: &test_support::Redis, name: &str) -> Vec<u64> {
    let Some(mut admin) = admin(redis).await else {
        return Vec::new();
    };
    let Ok(list) = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async::<String>(&mut admin)
        .await
    else {
        return Vec::new();
    };
    list.lines()
        .filter(|line| line.split(' ').any(|f| f == format!("name={name}")))
        .filter_map(|line| {
            line.split(' ')
                .find_map(|f| f.strip_prefix("id="))
                .and_then(|id| id.parse().ok())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_when_every_client_is_killed() {
    let _alone = lock_exclusive(REDIS_TLS);
    faults::recovers(&server(), Fault::KillSessions, Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_from_a_restart_under_load() {
    let _alone = lock_exclusive(REDIS_TLS);
    faults::recovers(&server(), Fault::Restart, Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_from_a_3_s_outage_under_load() {
    let _alone = lock_exclusive(REDIS_TLS);
    faults::recovers(
        &server(),
        Fault::StopFor(Duration::from_secs(3)),
        Duration::from_secs(30),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_dead_connection_is_lent_after_every_client_is_killed() {
    let _alone = lock_exclusive(REDIS_TLS);
    faults::no_dead_connection_after_every_session_is_killed(&server()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_fails_start_fast() {
    let _alone = lock_exclusive(REDIS_TLS);
    faults::wrong_password_fails_start_fast(&server()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_timeout_replaces_the_connection_of_a_blocked_call() {
    let _alone = lock_exclusive(REDIS_TLS);
    faults::call_timeout_replaces_the_connection(&server()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_notices_killed_clients() {
    let _alone = lock_exclusive(REDIS_TLS);
    faults::keepalive_notices_killed_sessions(&server()).await;
}
