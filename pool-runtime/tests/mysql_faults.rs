//! The mysql connector under faults, on the throwaway MariaDB (3307), holding its exclusive
//! lock: the scenarios every connector passes (`test_support::faults`: every connection
//! killed, the server restarted or stopped for a while under load, a wrong password,
//! `call_timeout`, keepalive). The pool must recover by itself, no call may run past its
//! `call_timeout`, and once recovered every call succeeds. Prints the recovery times
//! (`cargo test … -- --nocapture`).

#![cfg(feature = "mysql")]

use std::future::Future;
use std::time::Duration;

use pool_runtime::connectors::mysql::Mysql;
use pool_runtime::connectors::mysql::mysql_async::{self, prelude::*};
use pool_runtime::declared::FromSettings;
use pool_runtime::settings::keys;
use pool_runtime::{BestWorker, Pool, PoolBuilder};
use test_support::faults::{self, Backend, CALL_TIMEOUT, Fault, Res, WORKERS};
use test_support::{MYSQL_TLS, Sql, kit, lock_exclusive, require};

type MyPool = Pool<Mysql, BestWorker>;

/// The throwaway MariaDB, over plain TCP.
#[derive(Clone)]
struct My(Sql);

fn my() -> My {
    My(require(MYSQL_TLS))
}

/// A connection of the test's own, to look at and act on the server.
async fn admin(my: &Sql) -> Option<mysql_async::Conn> {
    let url = format!("{}?prefer_socket=false", my.url());
    mysql_async::Conn::from_url(url).await.ok()
}

impl Backend for My {
    type Connector = Mysql;

    fn builder(&self, name: &str, password: &str) -> PoolBuilder<Mysql, BestWorker> {
        let settings = kit::sql_named(name, &self.0)
            .set(keys::PASSWORD, password)
            .set(keys::QUERY_TIMEOUT, 5000)
            .build()
            .unwrap();
        Pool::builder(Mysql::from_settings(&settings).unwrap())
            .name(name)
            .workers(WORKERS)
            .call_timeout(CALL_TIMEOUT)
    }

    fn password(&self) -> String {
        self.0.password.clone()
    }

    fn wrong_password_says(&self) -> &'static str {
        "Access denied for user 'pool'"
    }

    fn query(&self, pool: &MyPool) -> impl Future<Output = Res> + Send {
        self.run(pool, "SELECT 1".to_owned())
    }

    fn sleep(&self, pool: &MyPool, secs: u32) -> impl Future<Output = Res> + Send {
        self.run(pool, format!("SELECT SLEEP({secs})"))
    }

    /// Every session of user `pool` but the test's own: one pool at a time runs on this
    /// server (the exclusive lock), so they are that pool's.
    fn sessions(&self, _name: &str) -> impl Future<Output = Vec<u64>> + Send {
        let my = self.0.clone();
        async move {
            let Some(mut admin) = admin(&my).await else {
                return Vec::new();
            };
            let ids = admin
                .query(
                    "SELECT ID FROM information_schema.PROCESSLIST \
                     WHERE USER = 'pool' AND ID <> CONNECTION_ID()",
                )
                .await
                .unwrap_or_default();
            let _ = admin.disconnect().await;
            ids
        }
    }

    fn kill(&self, ids: &[u64]) -> impl Future<Output = ()> + Send {
        let (my, ids) = (self.0.clone(), ids.to_vec());
        async move {
            let mut admin = admin(&my).await.expect("admin connection");
            for id in ids {
                // One may be gone already.
                let _ = admin.query_drop(format!("KILL {id}")).await;
            }
            admin.disconnect().await.unwrap();
        }
    }

    fn ctl(&self, action: &str) {
        self.0.ctl(action);
    }
}

impl My {
    fn run(&self, pool: &MyPool, sql: String) -> impl Future<Output = Res> + Send {
        let pool = pool.clone();
        async move { faults::outcome(pool.call(async |c| c.query_drop(&sql).await).await) }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_when_every_connection_is_killed() {
    let _alone = lock_exclusive(MYSQL_TLS);
    faults::recovers(&my(), Fault::KillSessions, Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_when_the_server_restarts() {
    let _alone = lock_exclusive(MYSQL_TLS);
    faults::recovers(&my(), Fault::Restart, Duration::from_secs(1)).await;
}

/// With the backoff capped at 1 s and at the default 30 s: recovery follows the server, not
/// the backoff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_when_the_server_stops_for_a_while() {
    let _alone = lock_exclusive(MYSQL_TLS);
    for cap in [1, 30] {
        let stop = Fault::StopFor(Duration::from_secs(3));
        faults::recovers(&my(), stop, Duration::from_secs(cap)).await;
    }
}

/// The server closed the sockets, which the connector sees without a round trip, so none is
/// lent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_call_after_every_connection_is_killed_gets_a_dead_connection() {
    let _alone = lock_exclusive(MYSQL_TLS);
    faults::no_dead_connection_after_every_session_is_killed(&my()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_fails_start_at_once() {
    let _alone = lock_exclusive(MYSQL_TLS);
    faults::wrong_password_fails_start_fast(&my()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_timeout_replaces_the_connection() {
    let _alone = lock_exclusive(MYSQL_TLS);
    faults::call_timeout_replaces_the_connection(&my()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_notices_killed_connections() {
    let _alone = lock_exclusive(MYSQL_TLS);
    faults::keepalive_notices_killed_sessions(&my()).await;
}
