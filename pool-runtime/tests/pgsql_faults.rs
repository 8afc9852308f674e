//! The pgsql connector under faults, on the throwaway TLS server (5433), holding its lock
//! alone: under a steady load, every backend is terminated; the server restarts; the server
//! stops for a few seconds and starts again. The pool must recover by itself, no call may
//! hang past its `call_timeout`, and every call after recovery must succeed. Run with
//! `--nocapture` to see the recovery times.
#![cfg(feature = "pgsql")]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pool_runtime::connectors::Pgsql;
use pool_runtime::declared::FromSettings;
use pool_runtime::settings::keys;
use pool_runtime::{BestWorker, Pool};
use test_support::{PG_TLS, Sql, TLS, kit, lock_exclusive, lock_shared, require};

type PgPool = Pool<Pgsql, BestWorker>;

const WORKERS: usize = 4;
const TASKS: usize = 8;
const CALL_TIMEOUT: Duration = Duration::from_millis(1000);
/// Scheduling noise on a loaded 2-core machine, on top of `call_timeout`.
const SLACK: Duration = Duration::from_millis(250);

struct Call {
    start: Instant,
    took: Duration,
    error: Option<String>,
}

/// The pool under test: TLS required, keepalive every second, reconnect backoff capped at 1 s.
async fn pool(name: &'static str, pg: &Sql) -> PgPool {
    builder(name, pg)
        .keepalive_interval(Duration::from_secs(1))
        .max_start_interval(Duration::from_secs(1))
        .build()
        .await
        .unwrap()
}

/// A multiplexed pool of `WORKERS` on the TLS server, TLS required, logging in as `pg.user`.
fn builder(name: &str, pg: &Sql) -> pool_runtime::PoolBuilder<Pgsql, BestWorker> {
    let certs = require(TLS);
    let settings = kit::sql_named(name, pg)
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

/// `TASKS` tasks calling in a loop (half exclusive, half shared) until `stop`.
fn load(
    pool: &PgPool,
    stop: &Arc<std::sync::atomic::AtomicBool>,
) -> (Arc<Mutex<Vec<Call>>>, Vec<tokio::task::JoinHandle<()>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let tasks = (0..TASKS)
        .map(|t| {
            let (pool, stop, calls) = (pool.clone(), stop.clone(), calls.clone());
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let start = Instant::now();
                    let query = "SELECT 1::int";
                    let result = if t % 2 == 0 {
                        pool.call(async |c| c.query_one(query, &[]).await.map(|_| ()))
                            .await
                    } else {
                        pool.call_shared(async |c| c.query_one(query, &[]).await.map(|_| ()))
                            .await
                    };
                    let error = match result {
                        Ok(Ok(())) => None,
                        Ok(Err(e)) => Some(format!("query: {e}")),
                        Err(e) => Some(format!("pool: {e}")),
                    };
                    calls.lock().unwrap().push(Call {
                        start,
                        took: start.elapsed(),
                        error,
                    });
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        })
        .collect();
    (calls, tasks)
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

/// Waits until every worker of `name` has a backend that is not one of `old`.
async fn all_back(pg: &Sql, name: &str, old: &[i32], since: Instant) -> Duration {
    loop {
        let now = backends(pg, name).await;
        if now.len() == WORKERS && now.iter().all(|p| !old.contains(p)) {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(20),
            "pool not back after 20 s: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Restarts the server if a test stopped it and then failed.
struct Restart(Sql);

impl Drop for Restart {
    fn drop(&mut self) {
        self.0.ctl("start");
    }
}

/// Runs `fault` under load and checks and reports the recovery. `fault` returns when the
/// server answers again (for a restart), and the recovery is measured from the fault's start
/// and from that moment.
async fn recovers(name: &'static str, what: &str, fault: impl AsyncFnOnce(&Sql)) {
    let pg = require(PG_TLS);
    let _alone = lock_exclusive(PG_TLS);
    let _restart = Restart(pg.clone());
    let pool = pool(name, &pg).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (calls, tasks) = load(&pool, &stop);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let old = backends(&pg, name).await;
    assert_eq!(old.len(), WORKERS);

    let t0 = Instant::now();
    fault(&pg).await;
    let answering = t0.elapsed();
    let back = all_back(&pg, name, &old, t0).await;
    let recovered = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }

    let calls = calls.lock().unwrap();
    let slowest = calls.iter().map(|c| c.took).max().unwrap();
    let first_ok = calls
        .iter()
        .filter(|c| c.start >= t0 + answering && c.error.is_none())
        .map(|c| c.start + c.took - t0)
        .min()
        .expect("a call succeeded after the fault");
    let failed: Vec<&Call> = calls.iter().filter(|c| c.error.is_some()).collect();
    let after: Vec<&Call> = calls.iter().filter(|c| c.start >= recovered).collect();
    let mut kinds: Vec<String> = failed
        .iter()
        .map(|c| {
            let e = c.error.as_deref().unwrap();
            e.split(": ").take(3).collect::<Vec<_>>().join(": ")
        })
        .collect();
    kinds.sort();
    kinds.dedup();
    println!(
        "{what}: server answering after {answering:?}; first successful call {first_ok:?} after \
         the fault ({:?} after the server answered); all {WORKERS} workers back {back:?} after \
         the fault ({:?} after the server answered); {} calls, {} failed during the fault, \
         slowest call {slowest:?}, {} calls after recovery all succeeded",
        first_ok.saturating_sub(answering),
        back.saturating_sub(answering),
        calls.len(),
        failed.len(),
        after.len(),
    );
    for k in kinds.iter().take(6) {
        println!("  error seen: {k}");
    }
    assert!(
        slowest <= CALL_TIMEOUT + SLACK,
        "a call hung for {slowest:?} (call_timeout {CALL_TIMEOUT:?})"
    );
    assert!(
        after.len() > 100,
        "too few calls after recovery: {}",
        after.len()
    );
    if let Some(bad) = after.iter().find(|c| c.error.is_some()) {
        panic!(
            "a call after recovery failed: {}",
            bad.error.as_deref().unwrap()
        );
    }
    assert_eq!(pool.status().down, 0);
}

/// Ends every backend of user `pool` but the admin's own.
async fn terminate_all(pg: &Sql) {
    let admin = admin(pg).await.expect("admin connection");
    let killed: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE usename = 'pool' AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(killed >= WORKERS as i64, "terminated {killed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_when_every_backend_is_terminated() {
    recovers(
        "pg.fault.terminate",
        "pg_terminate_backend of every backend",
        terminate_all,
    )
    .await;
}

/// Every backend is terminated while the pool sits idle (and was used just now, so no idle
/// check runs): the calls that follow, exclusive and shared, one every 20 ms, must all
/// succeed. tokio-postgres knows each connection is closed (`is_closed`), so none may be lent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_call_after_every_backend_is_terminated_gets_a_dead_connection() {
    let pg = require(PG_TLS);
    let _alone = lock_exclusive(PG_TLS);
    let name = "pg.fault.dead";
    let pool = builder(name, &pg)
        .validate_idle(false)
        .build()
        .await
        .unwrap();
    let query =
        async |c: &tokio_postgres::Client| c.query_one("SELECT 1::int", &[]).await.map(|_| ());
    let ours = backends(&pg, name).await;
    assert_eq!(ours.len(), WORKERS);
    terminate_all(&pg).await;
    // The server has ended them: from here on no call may fail.
    while backends(&pg, name).await.iter().any(|p| ours.contains(p)) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut n = 0;
    let failed = test_support::faults::steady_calls(50, Duration::from_millis(20), async || {
        n += 1;
        let result = if n % 2 == 0 {
            pool.call(async |c| query(c).await).await
        } else {
            pool.call_shared(async |c| query(c).await).await
        };
        match result {
            Ok(r) => r.map_err(|e| format!("query: {e}")),
            Err(e) => Err(format!("pool: {e:?}")),
        }
    })
    .await;
    assert!(failed.is_empty(), "calls after the kill failed: {failed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_when_the_server_restarts() {
    recovers("pg.fault.restart", "server restart", async |pg| {
        let pg = pg.clone();
        tokio::task::spawn_blocking(move || pg.ctl("restart"))
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_when_the_server_stops_for_a_while() {
    recovers("pg.fault.stop", "server stopped for 3 s", async |pg| {
        let pg = pg.clone();
        tokio::task::spawn_blocking(move || {
            pg.ctl("stop");
            std::thread::sleep(Duration::from_secs(3));
            pg.ctl("start");
        })
        .await
        .unwrap();
    })
    .await;
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
    let pool = builder(&name, &login).build().await.unwrap();
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
