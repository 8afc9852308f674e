//! The pgsql connector under faults, on the throwaway TLS server (5433): the scenarios every
//! connector passes (`test_support::faults`: every backend terminated, the server restarted or
//! stopped for a while under load, a wrong password, `call_timeout`, keepalive), then what is
//! PostgreSQL's own (logins refused for a while). The pool must recover by itself, no call may
//! hang past its `call_timeout`, and every call after recovery must succeed. Run with
//! `--nocapture` to see the recovery times.
#![cfg(feature = "pgsql")]

use std::future::Future;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pool_runtime::connectors::Pgsql;
use pool_runtime::declared::FromSettings;
use pool_runtime::settings::keys;
use pool_runtime::{BestWorker, Pool, PoolBuilder};
use test_support::faults::{self, Backend, CALL_TIMEOUT, Fault, Res, SLACK, WORKERS};
use test_support::{PG_TLS, Sql, TLS, kit, lock_exclusive, lock_shared, require};

type PgPool = Pool<Pgsql, BestWorker>;

/// The throwaway TLS server, TLS required; every other call is shared (pipelined).
#[derive(Clone)]
struct Pg {
    pg: Sql,
    calls: Arc<AtomicUsize>,
}

fn pg() -> Pg {
    Pg {
        pg: require(PG_TLS),
        calls: Arc::default(),
    }
}

impl Backend for Pg {
    type Connector = Pgsql;

    fn builder(&self, name: &str, password: &str) -> PoolBuilder<Pgsql, BestWorker> {
        builder(name, &self.pg, password)
    }

    fn password(&self) -> String {
        self.pg.password.clone()
    }

    fn wrong_password_says(&self) -> &'static str {
        "password authentication failed for user"
    }

    fn query(&self, pool: &PgPool) -> impl Future<Output = Res> + Send {
        let shared = self
            .calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            % 2
            == 1;
        let query =
            async |c: &tokio_postgres::Client| c.query_one("SELECT 1::int", &[]).await.map(|_| ());
        async move {
            let result = if shared {
                pool.call_shared(async |c| query(c).await).await
            } else {
                pool.call(async |c| query(c).await).await
            };
            faults::outcome(result)
        }
    }

    async fn sleep(&self, pool: &PgPool, secs: u32) -> Res {
        let sql = format!("SELECT pg_sleep({secs})");
        faults::outcome(pool.call(async |c| c.batch_execute(&sql).await).await)
    }

    fn sessions(&self, name: &str) -> impl Future<Output = Vec<u64>> + Send {
        let (pg, name) = (self.pg.clone(), name.to_owned());
        async move {
            backends(&pg, &name)
                .await
                .into_iter()
                .map(|p| p as u64)
                .collect()
        }
    }

    fn kill(&self, ids: &[u64]) -> impl Future<Output = ()> + Send {
        let (pg, ids) = (self.pg.clone(), ids.to_vec());
        async move {
            let admin = admin(&pg).await.expect("admin connection");
            for pid in ids {
                admin
                    .execute("SELECT pg_terminate_backend($1)", &[&(pid as i32)])
                    .await
                    .unwrap();
            }
        }
    }

    fn ctl(&self, action: &str) {
        self.pg.ctl(action);
    }
}

/// A multiplexed pool of `WORKERS` on the TLS server, TLS required, logging in as `pg.user`.
fn builder(name: &str, pg: &Sql, password: &str) -> PoolBuilder<Pgsql, BestWorker> {
    let certs = require(TLS);
    let settings = kit::sql_named(name, pg)
        .set(keys::PASSWORD, password)
        .set(keys::QUERY_TIMEOUT, 2000)
        .set(keys::TLS_REQUIRED, true)
        .set(keys::TLS_CACERTFILE, certs.ca.display())
        .build()
        .unwrap();
    Pool::builder(Pgsql::from_settings(&settings).unwrap())
        .name(name)
        .workers(WORKERS)
        .call_timeout(CALL_TIMEOUT)
        .multiplexed()
}

async fn admin(pg: &Sql) -> Option<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .ok()?;
    tokio::spawn(conn);
    Some(client)
}

/// The backends serving pool `name`, as the server sees them (empty while it is down).
async fn backends(pg: &Sql, name: &str) -> Vec<i32> {
    let Some(admin) = admin(pg).await else {
        return Vec::new();
    };
    admin
        .query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
            &[&name],
        )
        .await
        .map(|rows| rows.iter().map(|r| r.get(0)).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_when_every_backend_is_terminated() {
    let _alone = lock_exclusive(PG_TLS);
    faults::recovers(&pg(), Fault::KillSessions, Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_when_the_server_restarts() {
    let _alone = lock_exclusive(PG_TLS);
    faults::recovers(&pg(), Fault::Restart, Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_when_the_server_stops_for_a_while() {
    let _alone = lock_exclusive(PG_TLS);
    let stop = Fault::StopFor(Duration::from_secs(3));
    faults::recovers(&pg(), stop, Duration::from_secs(1)).await;
}

/// tokio-postgres knows a terminated backend's connection is closed (`is_closed`), so none
/// is lent, exclusive or shared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_call_after_every_backend_is_terminated_gets_a_dead_connection() {
    let _alone = lock_exclusive(PG_TLS);
    faults::no_dead_connection_after_every_session_is_killed(&pg()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_fails_start_at_once() {
    let _shared = lock_shared(PG_TLS);
    faults::wrong_password_fails_start_fast(&pg()).await;
}

/// The abandoned statement is cancelled on the server, so its backend ends too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_timeout_replaces_the_connection() {
    let _alone = lock_exclusive(PG_TLS);
    faults::call_timeout_replaces_the_connection(&pg()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_notices_terminated_backends() {
    let _alone = lock_exclusive(PG_TLS);
    faults::keepalive_notices_killed_sessions(&pg()).await;
}

struct Call {
    start: Instant,
    took: Duration,
    error: Option<String>,
}

/// Logins refused for 5, 10 and 20 s (every backend ended at the start, so every worker is
/// down and its backoff grows toward the default 30 s cap), one call every 20 ms: the first
/// call succeeds within 1 s of logins being allowed again, and every worker is back within
/// 2 s. Each outage has a role of its own, so they run at once and nothing else is touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_outage_the_first_call_succeeds_within_a_second_of_the_return() {
    let pg = require(PG_TLS);
    let _shared = lock_shared(PG_TLS);
    let (a, b, c) = tokio::join!(outage(&pg, 5), outage(&pg, 10), outage(&pg, 20));
    for (secs, first, all, failed) in [a, b, c] {
        println!(
            "logins refused for {secs} s: first success {first:?}, every worker {all:?} after \
             they were allowed again; {failed} calls failed meanwhile"
        );
        assert!(
            first < Duration::from_secs(1),
            "{secs} s outage: first success {first:?}"
        );
        assert!(
            all < Duration::from_secs(2),
            "{secs} s outage: every worker {all:?}"
        );
    }
}

/// One outage of `secs` for a role of its own: (secs, first success, every worker back,
/// calls that failed during the outage), the times counted from the return.
async fn outage(pg: &Sql, secs: u64) -> (u64, Duration, Duration, usize) {
    let role = format!("pool_outage_{secs}");
    let name = format!("pg.outage.{secs}");
    let admin = admin(pg).await.expect("admin connection");
    let end_sessions =
        format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'");
    admin.batch_execute(&end_sessions).await.unwrap();
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD 'outage'"
        ))
        .await
        .unwrap();
    let mut login = pg.clone();
    login.user = role.clone();
    login.password = "outage".into();
    let pool = builder(&name, &login, &login.password)
        .build()
        .await
        .unwrap();
    let calls = Arc::new(Mutex::new(Vec::<Call>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let caller = {
        let (pool, calls, stop) = (pool.clone(), calls.clone(), stop.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_millis(20));
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                ticks.tick().await;
                let start = Instant::now();
                let result = pool
                    .call(async |c| c.query_one("SELECT 1::int", &[]).await.map(|_| ()))
                    .await;
                let error = match result {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(format!("query: {e}")),
                    Err(e) => Some(format!("pool: {e:?}")),
                };
                let took = start.elapsed();
                calls.lock().unwrap().push(Call { start, took, error });
            }
        })
    };
    admin
        .batch_execute(&format!("ALTER ROLE {role} NOLOGIN; {end_sessions}"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    admin
        .batch_execute(&format!("ALTER ROLE {role} LOGIN"))
        .await
        .unwrap();
    let back = Instant::now();
    let first = loop {
        let first = calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.error.is_none() && c.start + c.took > back)
            .map(|c| c.start + c.took - back)
            .min();
        if let Some(first) = first {
            break first;
        }
        assert!(
            back.elapsed() < Duration::from_secs(40),
            "no call succeeded after the return"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    while backends(pg, &name).await.len() < WORKERS {
        assert!(back.elapsed() < Duration::from_secs(40), "workers not back");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let all = back.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    caller.await.unwrap();
    let calls = std::mem::take(&mut *calls.lock().unwrap());
    let failed: Vec<&Call> = calls.iter().filter(|c| c.error.is_some()).collect();
    let slowest = calls.iter().max_by_key(|c| c.took).unwrap();
    assert!(
        slowest.took <= CALL_TIMEOUT + SLACK,
        "{secs} s outage: a call took {:?}, starting {:?} {} the return: {:?}",
        slowest.took,
        slowest.start.max(back) - slowest.start.min(back),
        if slowest.start < back {
            "before"
        } else {
            "after"
        },
        slowest.error
    );
    let refused = failed
        .iter()
        .filter(|c| {
            c.error
                .as_deref()
                .unwrap()
                .contains("not permitted to log in")
        })
        .count();
    assert!(
        refused > 0,
        "the outage refused calls with the server's reason"
    );
    let failed = failed.len();
    drop(pool);
    admin.batch_execute(&end_sessions).await.unwrap();
    admin
        .batch_execute(&format!("DROP ROLE IF EXISTS {role}"))
        .await
        .unwrap();
    (secs, first, all, failed)
}
