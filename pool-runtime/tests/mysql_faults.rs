//! Faults under load, on the throwaway MariaDB (3307), holding its exclusive lock: every
//! connection killed, the server restarted, the server stopped for a few seconds. The pool
//! must recover by itself, no call may run past its `call_timeout`, and once recovered every
//! call succeeds. Prints the recovery times (`cargo test … -- --nocapture`).

#![cfg(feature = "mysql")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pool_runtime::connectors::mysql::Mysql;
use pool_runtime::connectors::mysql::mysql_async::{self, prelude::*};
use pool_runtime::declared::FromSettings;
use pool_runtime::settings::keys;
use pool_runtime::{BestWorker, Pool};
use test_support::{MYSQL_TLS, Sql, kit, lock_exclusive, require};

const WORKERS: usize = 4;
const TASKS: usize = 8;
const CALL_TIMEOUT: Duration = Duration::from_millis(1000);
/// Calls may end a little after their deadline (scheduling); more would be a hang.
const SLACK: Duration = Duration::from_millis(250);
/// Recovered: this long without a failure after the server is back.
const QUIET: Duration = Duration::from_secs(3);

type MyPool = Pool<Mysql, BestWorker>;

#[derive(Clone, Copy, Debug)]
struct Call {
    start: Instant,
    end: Instant,
    ok: bool,
    /// (server start time, connection id): which connection answered.
    conn: Option<(u64, u64)>,
}

async fn pool(my: &Sql, max_start_interval: Duration) -> MyPool {
    builder(my)
        .keepalive_interval(Duration::from_secs(1))
        .max_start_interval(max_start_interval)
        .build()
        .await
        .unwrap()
}

/// `WORKERS` workers on the throwaway server.
fn builder(my: &Sql) -> pool_runtime::PoolBuilder<Mysql, BestWorker> {
    let settings = kit::sql(my).set(keys::QUERY_TIMEOUT, 5000).build().unwrap();
    Pool::builder(Mysql::from_settings(&settings).unwrap())
        .name("rdbms.global.default")
        .workers(WORKERS)
        .call_timeout(CALL_TIMEOUT)
}

/// `TASKS` tasks calling the pool in a loop until `stop`, each call logged.
fn load(
    pool: &MyPool,
    stop: &Arc<AtomicBool>,
    log: &Arc<Mutex<Vec<Call>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..TASKS)
        .map(|_| {
            let (pool, stop, log) = (pool.clone(), stop.clone(), log.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let start = Instant::now();
                    // UUID_SHORT() carries the server's start time from bit 24 up: connection
                    // ids start again after a restart, this tells the servers apart.
                    let r = pool
                        .call(async |c| {
                            c.query_first::<(u64, u64), _>(
                                "SELECT UUID_SHORT() >> 24, CONNECTION_ID()",
                            )
                            .await
                        })
                        .await;
                    let end = Instant::now();
                    let conn = match r {
                        Ok(Ok(Some(c))) => Some(c),
                        _ => None,
                    };
                    let ok = conn.is_some();
                    log.lock().unwrap().push(Call {
                        start,
                        end,
                        ok,
                        conn,
                    });
                    tokio::time::sleep(Duration::from_millis(if ok { 2 } else { 10 })).await;
                }
            })
        })
        .collect()
}

/// Runs the load, injects `fault` (which returns when the server answers again), waits for
/// `QUIET` without failures, checks and prints.
async fn scenario<F>(name: &str, pool: MyPool, fault: F)
where
    F: FnOnce() + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::new()));
    let tasks = load(&pool, &stop, &log);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    {
        let warm = log.lock().unwrap();
        assert!(
            warm.len() > 50 && warm.iter().all(|c| c.ok),
            "{name}: the load fails before any fault"
        );
    }
    let t0 = Instant::now();
    tokio::task::spawn_blocking(fault).await.unwrap();
    let back = t0.elapsed();

    // Wait until no call has failed and no worker was down for QUIET, at most 40 s.
    let deadline = t0 + Duration::from_secs(40);
    let mut last_down = None;
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if pool.status().down > 0 {
            last_down = Some(Instant::now());
        }
        let last_failure = log
            .lock()
            .unwrap()
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.end)
            .max();
        let quiet_since = [last_failure, last_down, Some(t0 + back)]
            .into_iter()
            .flatten()
            .max()
            .unwrap();
        if quiet_since.elapsed() >= QUIET {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: not recovered 40 s after the fault: {:?}",
            pool.status()
        );
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }

    let log = log.lock().unwrap();
    let after: Vec<Call> = log.iter().copied().filter(|c| c.end >= t0).collect();
    let failures: Vec<&Call> = after.iter().filter(|c| !c.ok).collect();
    let longest = log.iter().map(|c| c.end - c.start).max().unwrap();
    assert!(
        longest <= CALL_TIMEOUT + SLACK,
        "{name}: a call ran {longest:?}, past call_timeout {CALL_TIMEOUT:?}"
    );
    let first_failure = failures.iter().map(|c| c.end).min();
    let last_failure = failures.iter().map(|c| c.end).max();
    // Connections made after the fault, in the order they first answered.
    let before: std::collections::HashSet<(u64, u64)> = log
        .iter()
        .filter(|c| c.end < t0)
        .filter_map(|c| c.conn)
        .collect();
    let mut fresh: Vec<((u64, u64), Instant)> = Vec::new();
    for c in &after {
        if let Some(id) = c.conn.filter(|id| !before.contains(id)) {
            match fresh.iter_mut().find(|(f, _)| *f == id) {
                Some((_, t)) => *t = (*t).min(c.end),
                None => fresh.push((id, c.end)),
            }
        }
    }
    fresh.sort_by_key(|(_, t)| *t);
    let nth_new = |n: usize| fresh.get(n - 1).map(|(_, t)| *t);
    let ms = |t: Option<Instant>| match t {
        Some(t) => format!("{:>5} ms", (t - t0).as_millis()),
        None => "    -   ".into(),
    };
    let status = pool.status();
    println!(
        "{name:<34} | server back {:>5} ms | first failure {} | first success on a new connection {} | {WORKERS}th new connection {} | last failure {} | a worker last seen down {} | {:>4} of {:>5} calls failed | longest call {:>3} ms",
        back.as_millis(),
        ms(first_failure),
        ms(nth_new(1)),
        ms(nth_new(WORKERS)),
        ms(last_failure),
        ms(last_down),
        failures.len(),
        after.len(),
        longest.as_millis(),
    );
    // Every call after the last failure succeeded (by construction of the wait), and there
    // were plenty of them: the pool is back with all its workers.
    let ok_after = after
        .iter()
        .filter(|c| last_failure.is_none_or(|l| c.start > l))
        .count();
    assert!(
        ok_after > 100,
        "{name}: only {ok_after} calls after recovery"
    );
    assert_eq!(status.down, 0, "{name}: {status:?}");
    assert_eq!(status.workers, WORKERS);
}

/// The ids of the connections of user `pool` but the caller's own.
async fn sessions(admin: &mut mysql_async::Conn) -> Vec<u64> {
    admin
        .query(
            "SELECT ID FROM information_schema.PROCESSLIST \
             WHERE USER = 'pool' AND ID <> CONNECTION_ID()",
        )
        .await
        .unwrap()
}

/// Every connection is killed while the pool sits idle (used just now, so no idle check
/// runs): the calls that follow, one every 20 ms, must all succeed. The server closed the
/// sockets, which the connector sees without a round trip, so none may be lent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_call_after_every_connection_is_killed_gets_a_dead_connection() {
    let my = require(MYSQL_TLS);
    let _exclusive = lock_exclusive(MYSQL_TLS);
    let pool = builder(&my).validate_idle(false).build().await.unwrap();
    let url = format!("{}?prefer_socket=false", my.url());
    let mut admin = mysql_async::Conn::from_url(url).await.unwrap();
    let ours = sessions(&mut admin).await;
    assert_eq!(ours.len(), WORKERS);
    for id in &ours {
        admin.query_drop(format!("KILL {id}")).await.unwrap();
    }
    // The server has ended them: from here on no call may fail.
    while sessions(&mut admin)
        .await
        .iter()
        .any(|id| ours.contains(id))
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let failed = test_support::faults::steady_calls(50, Duration::from_millis(20), async || {
        match pool.call(async |c| c.query_drop("SELECT 1").await).await {
            Ok(r) => r.map_err(|e| format!("query: {e}")),
            Err(e) => Err(format!("pool: {e:?}")),
        }
    })
    .await;
    assert!(failed.is_empty(), "calls after the kill failed: {failed:?}");
    admin.disconnect().await.unwrap();
}

/// `KILL`s every connection of user `pool` but its own.
fn kill_all(my: &Sql) {
    let url = format!("{}?prefer_socket=false", my.url());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut admin = mysql_async::Conn::from_url(url).await.unwrap();
        let ids = sessions(&mut admin).await;
        assert!(ids.len() >= WORKERS, "{ids:?}");
        for id in ids {
            // One may be gone already.
            let _ = admin.query_drop(format!("KILL {id}")).await;
        }
        admin.disconnect().await.unwrap();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_recovers_from_killed_connections_and_restarts() {
    let my = require(MYSQL_TLS);
    let _exclusive = lock_exclusive(MYSQL_TLS);
    println!(
        "{WORKERS} workers, {TASKS} tasks calling in a loop, call_timeout {CALL_TIMEOUT:?}, \
         keepalive 1 s; times from the fault"
    );

    let m = my.clone();
    scenario(
        "KILL every connection",
        pool(&my, Duration::from_secs(1)).await,
        move || kill_all(&m),
    )
    .await;

    let m = my.clone();
    scenario(
        "restart",
        pool(&my, Duration::from_secs(1)).await,
        move || m.ctl("restart"),
    )
    .await;

    for cap in [1, 30] {
        let m = my.clone();
        scenario(
            &format!("stop, 3 s, start (max_start {cap} s)"),
            pool(&my, Duration::from_secs(cap)).await,
            move || {
                m.ctl("stop");
                std::thread::sleep(Duration::from_secs(3));
                m.ctl("start");
            },
        )
        .await;
    }
}
