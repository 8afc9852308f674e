//! Fault scenarios the connector tests share, so every connector is held to the same rules.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pool_runtime::{BestWorker, Pool, PoolBuilder};

/// Makes `count` calls one after the other, starting one every `every`, and returns the
/// ones that failed as `(index, error)`. Used after a fault that the pool should have noticed
/// already (every session killed, and the server saying so): none may fail.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut n = 0;
/// let failed = test_support::faults::steady_calls(3, std::time::Duration::from_millis(1), async || {
///     n += 1;
///     if n == 2 { Err("boom".to_string()) } else { Ok(()) }
/// })
/// .await;
/// assert_eq!(failed, [(1, "boom".to_string())]);
/// # }
/// ```
pub async fn steady_calls<F>(count: usize, every: Duration, mut call: F) -> Vec<(usize, String)>
where
    F: AsyncFnMut() -> Result<(), String>,
{
    let mut ticks = tokio::time::interval(every);
    let mut failed = Vec::new();
    for i in 0..count {
        ticks.tick().await;
        if let Err(e) = call().await {
            failed.push((i, e));
        }
    }
    failed
}

/// A backend as the shared fault scenarios drive it: a connector on one of the throwaway
/// servers (which may be stopped and restarted), and what to ask its server. A connector's
/// fault tests implement it once and run every scenario below; the test holds the service's
/// exclusive lock ([`crate::lock_exclusive`]) around each.
pub trait Backend: Clone + Send + Sync + 'static {
    /// The connector under test.
    type Connector: pool_runtime::Connector;

    /// A pool of [`WORKERS`] workers on the server, named `name` (so its sessions can be told
    /// apart), logging in with `password`, `call_timeout` [`CALL_TIMEOUT`].
    fn builder(&self, name: &str, password: &str) -> PoolBuilder<Self::Connector, BestWorker>;

    /// The password that logs in.
    fn password(&self) -> String;

    /// What the server's refusal of a wrong password says (`password authentication failed`).
    fn wrong_password_says(&self) -> &'static str;

    /// One cheap statement through `pool` (`SELECT 1`), the error as text.
    fn query(&self, pool: &Pool<Self::Connector, BestWorker>) -> impl Future<Output = Res> + Send;

    /// A statement that runs for `secs` seconds on the server.
    fn sleep(
        &self,
        pool: &Pool<Self::Connector, BestWorker>,
        secs: u32,
    ) -> impl Future<Output = Res> + Send;

    /// The server's ids of the sessions of pool `name` (empty while the server is down).
    fn sessions(&self, name: &str) -> impl Future<Output = Vec<u64>> + Send;

    /// Ends the sessions `ids` from a connection of the test's own.
    fn kill(&self, ids: &[u64]) -> impl Future<Output = ()> + Send;

    /// `start`, `stop` or `restart` the server; returns once done (see [`crate::ctl`]). It
    /// blocks: the scenarios call it on a blocking thread.
    fn ctl(&self, action: &str);
}

/// Starts the server again if a scenario that stopped it fails before starting it.
struct StartOnDrop<B: Backend>(B);

impl<B: Backend> Drop for StartOnDrop<B> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.ctl("start");
        }
    }
}

/// [`Backend::ctl`] on a blocking thread, so the runtime goes on meanwhile.
async fn ctl<B: Backend>(b: &B, action: &'static str) {
    let b = b.clone();
    tokio::task::spawn_blocking(move || b.ctl(action))
        .await
        .expect("the server's control script ran");
}

/// A call's outcome, the error as text.
pub type Res = Result<(), String>;

/// A pool call's result as a [`Res`]: the pool's error (`pool: …`) or the statement's
/// (`query: …`).
pub fn outcome<Q: std::fmt::Display, P: std::fmt::Display>(
    result: Result<Result<(), Q>, P>,
) -> Res {
    match result {
        Ok(r) => r.map_err(|e| format!("query: {e}")),
        Err(e) => Err(format!("pool: {e}")),
    }
}

/// Workers of every scenario's pool.
pub const WORKERS: usize = 4;
/// Tasks calling in a loop during a recovery scenario.
pub const TASKS: usize = 8;
/// `call_timeout` of every scenario's pool.
pub const CALL_TIMEOUT: Duration = Duration::from_millis(1000);
/// Scheduling noise on a loaded 2-core machine on top of `call_timeout`; more is a hang.
pub const SLACK: Duration = Duration::from_millis(250);
/// Recovered: this long without a failed call or a down worker after the server is back.
pub const QUIET: Duration = Duration::from_secs(3);

/// Waits until pool `name` has [`WORKERS`] sessions, none of them in `old`; how long it took.
pub async fn sessions_renewed<B: Backend>(
    b: &B,
    name: &str,
    old: &[u64],
    within: Duration,
) -> Duration {
    let since = Instant::now();
    loop {
        let now = b.sessions(name).await;
        if now.len() == WORKERS && now.iter().all(|s| !old.contains(s)) {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < within,
            "pool `{name}` not back after {within:?}: sessions {now:?}, before {old:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A wrong password fails `start()` at once (long before `call_timeout`), with the server's
/// own words in the error.
pub async fn wrong_password_fails_start_fast<B: Backend>(b: &B) {
    let started = Instant::now();
    let result = b
        .builder("fault.badpw", "not-the-password")
        .call_timeout(Duration::from_secs(5))
        .build()
        .await;
    let took = started.elapsed();
    let Err(err) = result else {
        panic!("a wrong password started the pool")
    };
    let text = format!("{err:?}");
    println!("wrong password, after {took:?}: {text}");
    assert!(matches!(err, pool_runtime::Error::Connect { .. }), "{text}");
    assert!(text.contains(b.wrong_password_says()), "{text}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

/// A call still running at `call_timeout` fails with `Error::Timeout` on time, its connection
/// is replaced, and the next call succeeds at once.
pub async fn call_timeout_replaces_the_connection<B: Backend>(b: &B) {
    let name = "fault.calltimeout";
    let pool = b
        .builder(name, &b.password())
        .call_timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    let before = b.sessions(name).await;
    assert_eq!(before.len(), WORKERS, "{before:?}");
    let started = Instant::now();
    let result = b.sleep(&pool, 3).await;
    let took = started.elapsed();
    assert!(
        result.as_ref().is_err_and(|e| e.contains("timed out")),
        "{result:?}"
    );
    assert!(took < Duration::from_millis(600), "{took:?}");
    let started = Instant::now();
    b.query(&pool).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    // One session replaced; the abandoned one ends on the server.
    let since = Instant::now();
    loop {
        let now = b.sessions(name).await;
        let kept = now.iter().filter(|s| before.contains(s)).count();
        if now.len() == WORKERS && kept == WORKERS - 1 {
            break;
        }
        assert!(
            since.elapsed() < Duration::from_secs(5),
            "{before:?} -> {now:?}: one session should be replaced"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Keepalive notices sessions the server ended while the pool sat idle, and replaces them
/// with no caller.
pub async fn keepalive_notices_killed_sessions<B: Backend>(b: &B) {
    let name = "fault.keepalive";
    let pool = b
        .builder(name, &b.password())
        .keepalive_interval(Duration::from_secs(1))
        .validate_idle(false)
        .build()
        .await
        .unwrap();
    let before = b.sessions(name).await;
    assert_eq!(before.len(), WORKERS, "{before:?}");
    let killed = Instant::now();
    b.kill(&before).await;
    let back = sessions_renewed(b, name, &before, Duration::from_secs(10)).await;
    println!("keepalive: {WORKERS} sessions back {back:?} after the kill, no caller");
    assert_eq!(pool.status().down, 0);
    assert!(killed.elapsed() < Duration::from_secs(10));
}

/// Every session is ended while the pool sits idle (used just now, so no idle check runs):
/// the calls that follow, one every 20 ms, all succeed, since no connection the server closed
/// may be lent.
pub async fn no_dead_connection_after_every_session_is_killed<B: Backend>(b: &B) {
    let name = "fault.nodead";
    let pool = b
        .builder(name, &b.password())
        .validate_idle(false)
        .build()
        .await
        .unwrap();
    b.query(&pool).await.unwrap();
    let ours = b.sessions(name).await;
    assert_eq!(ours.len(), WORKERS, "{ours:?}");
    b.kill(&ours).await;
    // The server has ended them: from here on no call may fail.
    while b.sessions(name).await.iter().any(|s| ours.contains(s)) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let failed = steady_calls(50, Duration::from_millis(20), async || b.query(&pool).await).await;
    assert!(failed.is_empty(), "calls after the kill failed: {failed:?}");
}

/// A fault for [`recovers`].
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Every session of the pool is ended.
    KillSessions,
    /// The server restarts.
    Restart,
    /// The server stops for this long, then starts.
    StopFor(Duration),
}

#[derive(Clone, Debug)]
struct Call {
    start: Instant,
    end: Instant,
    error: Option<String>,
}

/// Under load ([`TASKS`] tasks calling in a loop), `fault` happens: no call runs past
/// `call_timeout` (plus [`SLACK`]), the pool is back with every worker, and every call after
/// its last failure succeeds. `max_start_interval` caps the reconnection backoff.
pub async fn recovers<B: Backend>(b: &B, fault: Fault, max_start_interval: Duration) {
    let name = "fault.recovers";
    let _started_again = StartOnDrop(b.clone());
    let pool = b
        .builder(name, &b.password())
        .keepalive_interval(Duration::from_secs(1))
        .max_start_interval(max_start_interval)
        .build()
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::<Call>::new()));
    let callers: Vec<_> = (0..TASKS)
        .map(|_| {
            let (b, pool, stop, log) = (b.clone(), pool.clone(), stop.clone(), log.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let start = Instant::now();
                    let error = b.query(&pool).await.err();
                    let failed = error.is_some();
                    log.lock().unwrap().push(Call {
                        start,
                        end: Instant::now(),
                        error,
                    });
                    tokio::time::sleep(Duration::from_millis(if failed { 10 } else { 2 })).await;
                }
            })
        })
        .collect();
    let drive = async {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        {
            let warm = log.lock().unwrap();
            assert!(
                warm.len() > 50 && warm.iter().all(|c| c.error.is_none()),
                "{fault:?}: the load fails before any fault"
            );
        }
        let old = b.sessions(name).await;
        let t0 = Instant::now();
        match fault {
            Fault::KillSessions => b.kill(&old).await,
            Fault::Restart => ctl(b, "restart").await,
            Fault::StopFor(pause) => {
                ctl(b, "stop").await;
                tokio::time::sleep(pause).await;
                ctl(b, "start").await;
            }
        }
        let answering = t0.elapsed();
        // A restarted server numbers its sessions afresh (MySQL's ids start again), so after
        // a restart every session counts as new.
        let old = match fault {
            Fault::KillSessions => old,
            Fault::Restart | Fault::StopFor(_) => Vec::new(),
        };
        let back = answering + sessions_renewed(b, name, &old, Duration::from_secs(40)).await;
        // Quiet: no failed call and no down worker for QUIET, at most 40 s after the fault.
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
                .filter(|c| c.error.is_some())
                .map(|c| c.end)
                .max();
            let quiet_since = [last_failure, last_down, Some(t0 + answering)]
                .into_iter()
                .flatten()
                .max()
                .unwrap();
            if quiet_since.elapsed() >= QUIET {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(40),
                "{fault:?}: not recovered 40 s after the fault: {:?}",
                pool.status()
            );
        }
        stop.store(true, Ordering::Relaxed);
        (t0, answering, back)
    };
    let (t0, answering, back) = drive.await;
    for caller in callers {
        caller.await.expect("a caller task ended cleanly");
    }

    let log = std::mem::take(&mut *log.lock().unwrap());
    let slowest = log.iter().max_by_key(|c| c.end - c.start).unwrap();
    let failures: Vec<&Call> = log.iter().filter(|c| c.error.is_some()).collect();
    let last_failure = failures.iter().map(|c| c.end).max();
    let first_ok = log
        .iter()
        .filter(|c| c.start >= t0 + answering && c.error.is_none())
        .map(|c| c.end - t0)
        .min();
    let ok_after = log
        .iter()
        .filter(|c| last_failure.is_none_or(|l| c.start > l))
        .count();
    let mut kinds: Vec<String> = failures
        .iter()
        .map(|c| {
            let e = c.error.as_deref().unwrap();
            e.split(": ").take(3).collect::<Vec<_>>().join(": ")
        })
        .collect();
    kinds.sort();
    kinds.dedup();
    println!(
        "{fault:?} (max_start_interval {max_start_interval:?}): server answering after \
         {answering:?}; first success {first_ok:?} and all {WORKERS} sessions new {back:?} \
         after the fault; {} of {} calls failed; slowest call {:?}",
        failures.len(),
        log.len(),
        slowest.end - slowest.start,
    );
    for k in kinds.iter().take(6) {
        println!("  error seen: {k}");
    }
    assert!(
        slowest.end - slowest.start <= CALL_TIMEOUT + SLACK,
        "{fault:?}: a call ran {:?} (call_timeout {CALL_TIMEOUT:?}), {:?} after the fault: {:?}",
        slowest.end - slowest.start,
        slowest.start.saturating_duration_since(t0),
        slowest.error
    );
    assert!(
        ok_after > 100,
        "{fault:?}: only {ok_after} calls after recovery"
    );
    let status = pool.status();
    assert_eq!(
        (status.down, status.workers),
        (0, WORKERS),
        "{fault:?}: {status:?}"
    );
}
