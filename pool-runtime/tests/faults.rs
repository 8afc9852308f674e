//! The runtime under faults, for every connector at once (the steerable connector stands in
//! for a backend that refuses, hangs, or drops connections): callers are never held past
//! `call_timeout`, never sent to a down worker while another is up, never starve the
//! runtime, and the pool is back as soon as the backend is.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use pool_runtime::{
    AvailableWorker, BestWorker, Error, Generic, Keyless, NextWorker, Pool, RandomWorker,
};
use support::{Steerable, eventually, hang, hang_checks, refuse};
use tokio::time::Instant;

/// The backend starts refusing and every worker of `pool` loses its connection.
async fn take_all_down<S: Keyless>(steer: &Steerable, pool: &Pool<Steerable, S>) {
    steer.set(refuse, true);
    for _ in 0..pool.status().workers {
        pool.get().await.unwrap().discard();
    }
}

/// How long a 10 ms timer in another task takes to fire while `spin` runs `step` in a loop
/// (at most `rounds` times, so a runtime that never yields still ends the test).
async fn timer_delay_beside<F>(
    rounds: usize,
    spinners: usize,
    step: impl Fn() -> F + Clone + Send + 'static,
) -> Duration
where
    F: std::future::Future<Output = ()> + Send,
{
    let fired = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let timer = {
        let fired = fired.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            fired.store(true, Ordering::SeqCst);
            started.elapsed()
        })
    };
    let loops: Vec<_> = (0..spinners)
        .map(|_| {
            let (fired, step) = (fired.clone(), step.clone());
            tokio::spawn(async move {
                for _ in 0..rounds {
                    if fired.load(Ordering::Relaxed) {
                        break;
                    }
                    step().await;
                }
            })
        })
        .collect();
    for l in loops {
        l.await.unwrap();
    }
    timer.await.unwrap()
}

/// A loop of `get()`s that each find an idle worker yields to the runtime (tokio's
/// cooperative budget), as deadpool's does: the timer fires within a few ms, not after the
/// loop.
#[tokio::test(flavor = "current_thread")]
async fn a_loop_over_idle_workers_lets_timers_fire() {
    let pool = Pool::<Generic, BestWorker>::builder(Generic)
        .workers(4)
        .build()
        .await
        .unwrap();
    let delay = timer_delay_beside(3_000_000, 1, move || {
        let pool = pool.clone();
        async move { drop(pool.get().await.unwrap()) }
    })
    .await;
    assert!(
        delay < Duration::from_millis(60),
        "the timer fired after {delay:?}"
    );
}

/// The same on a multi-thread runtime with every worker thread in such a loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loops_on_every_thread_let_timers_fire() {
    let pool = Pool::<Generic, AvailableWorker>::builder(Generic)
        .workers(4)
        .build()
        .await
        .unwrap();
    let delay = timer_delay_beside(3_000_000, 2, move || {
        let pool = pool.clone();
        async move {
            let _ = pool.call(async |_| ()).await;
        }
    })
    .await;
    assert!(
        delay < Duration::from_millis(60),
        "the timer fired after {delay:?}"
    );
}

/// During an outage, callers retrying on the immediate `Unavailable` error yield too.
#[tokio::test(flavor = "current_thread")]
async fn retrying_on_unavailable_lets_timers_fire() {
    let steer = Steerable::new();
    let pool = Pool::<Steerable, BestWorker>::builder(steer.clone())
        .workers(2)
        .build()
        .await
        .unwrap();
    take_all_down(&steer, &pool).await;
    eventually(5, "every worker down", || pool.status().down == 2).await;
    assert!(matches!(pool.get().await, Err(Error::Unavailable { .. })));
    let delay = timer_delay_beside(3_000_000, 1, move || {
        let pool = pool.clone();
        async move {
            let _ = pool.get().await;
        }
    })
    .await;
    assert!(
        delay < Duration::from_millis(60),
        "the timer fired after {delay:?}"
    );
}

/// 10× more callers than workers, 5% of connects failing and 3% of uses breaking their
/// connection: with workers always up, no keyless call may fail.
async fn soak<S: Keyless>() -> (usize, usize) {
    let steer = Steerable::new();
    steer.0.fail_every.store(20, Ordering::SeqCst);
    let pool = Pool::<Steerable, S>::builder(steer.clone())
        .name(S::NAME)
        .workers(8)
        .call_timeout(Duration::from_secs(2))
        .max_start_interval(Duration::from_millis(200))
        .build()
        .await
        .unwrap();
    let uses = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let until = Instant::now() + Duration::from_millis(1500);
    let tasks: Vec<_> = (0..80)
        .map(|t| {
            let (pool, uses, failures) = (pool.clone(), uses.clone(), failures.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    let n = uses.fetch_add(1, Ordering::Relaxed);
                    let result = if t % 2 == 0 {
                        pool.call(async |_| tokio::task::yield_now().await).await
                    } else {
                        pool.get().await.map(|conn| {
                            if n % 33 == 0 {
                                conn.discard();
                            }
                        })
                    };
                    if let Err(e) = result {
                        failures.lock().unwrap().push(format!("{e:?}"));
                    }
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert!(
        steer.connects() > 8 + 20,
        "connections were replaced, some failing"
    );
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{}: {} calls failed: {:?}",
        S::NAME,
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    (uses.load(Ordering::Relaxed), steer.connects())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_keyless_call_fails_on_a_down_worker_while_others_are_up() {
    let runs = [
        soak::<BestWorker>().await,
        soak::<NextWorker>().await,
        soak::<RandomWorker>().await,
        soak::<AvailableWorker>().await,
    ];
    println!("(calls, connects) per strategy: {runs:?}");
}

/// Every worker is down with its backoff grown to the cap (30 s), the backend refusing:
/// callers keep calling every 20 ms. However long the outage, the first call after the
/// backend answers again succeeds within the retry floor (250 ms), and every worker is back
/// soon after; meanwhile callers added at most one attempt per floor.
#[tokio::test(start_paused = true)]
async fn after_an_outage_of_any_length_the_first_call_succeeds_at_once() {
    for outage in [5, 10, 20, 120] {
        let steer = Steerable::new();
        let pool = Pool::<Steerable, BestWorker>::builder(steer.clone())
            .workers(4)
            .call_timeout(Duration::from_millis(300))
            .build()
            .await
            .unwrap();
        take_all_down(&steer, &pool).await;
        let connects_before = steer.connects();
        let stop = Arc::new(AtomicBool::new(false));
        let first_ok = Arc::new(std::sync::Mutex::new(None));
        let caller = {
            let (pool, stop, first_ok) = (pool.clone(), stop.clone(), first_ok.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    if pool.call(async |_| ()).await.is_ok() {
                        first_ok.lock().unwrap().get_or_insert(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        tokio::time::sleep(Duration::from_secs(outage)).await;
        assert!(
            first_ok.lock().unwrap().is_none(),
            "a call succeeded during the outage"
        );
        let attempts = steer.connects() - connects_before;
        // Callers: one per floor; the four reconnect tasks: their doubling backoff.
        let allowed = (outage as usize * 1000).div_ceil(250) + 4 * 12;
        assert!(
            attempts <= allowed,
            "{attempts} attempts in a {outage} s outage (allowed {allowed})"
        );
        steer.set(refuse, false);
        let back = Instant::now();
        eventually(5, "a call succeeds", || first_ok.lock().unwrap().is_some()).await;
        let first = first_ok.lock().unwrap().unwrap() - back;
        eventually(5, "every worker back", || pool.status().down == 0).await;
        let all = back.elapsed();
        stop.store(true, Ordering::SeqCst);
        caller.await.unwrap();
        println!(
            "{outage} s outage: {attempts} attempts; first success {first:?}, every worker {all:?} after the return"
        );
        assert!(
            first <= Duration::from_millis(300),
            "first success {first:?} after the return"
        );
        assert!(
            all <= Duration::from_secs(2),
            "every worker back {all:?} after the return"
        );
    }
}

/// A caller arriving after a long quiet outage does not wait out the backoff either. A
/// reconnect attempt may fail at the very instant of the return (the sleeping test and the
/// reconnect task wake on the same tick, in either order); its error is fresh, so callers get
/// it for at most the retry floor, after which one of them connects on demand.
#[tokio::test(start_paused = true)]
async fn the_first_caller_after_a_quiet_outage_does_not_wait_for_the_backoff() {
    let steer = Steerable::new();
    let pool = Pool::<Steerable, NextWorker>::builder(steer.clone())
        .workers(3)
        .build()
        .await
        .unwrap();
    take_all_down(&steer, &pool).await;
    tokio::time::sleep(Duration::from_secs(300)).await;
    steer.set(refuse, false);
    let asked = Instant::now();
    while let Err(e) = pool.call(async |_| ()).await {
        assert!(
            asked.elapsed() < Duration::from_millis(250),
            "still refused {:?} after the return: {e:?}",
            asked.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eventually(5, "every worker back", || pool.status().down == 0).await;
}

/// A keyed caller whose worker is down waits for its reconnection, within `call_timeout`,
/// and gets the error of an attempt made for it, never an old one.
#[tokio::test(start_paused = true)]
async fn a_keyed_caller_waits_for_its_worker_or_gets_a_fresh_error() {
    let steer = Steerable::new();
    let pool = Pool::<Steerable, pool_runtime::HashWorker>::builder(steer.clone())
        .workers(2)
        .call_timeout(Duration::from_millis(500))
        .build()
        .await
        .unwrap();
    steer.set(refuse, true);
    pool.get_by("k").await.unwrap().discard();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let connects = steer.connects();
    let err = pool.call_by("k", async |_| ()).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert_eq!(
        steer.connects(),
        connects + 1,
        "an attempt was made for this caller"
    );
    steer.set(refuse, false);
    tokio::time::sleep(Duration::from_millis(300)).await;
    pool.call_by("k", async |_| ()).await.unwrap();
}

/// A backend whose connects and checks both hang, while the idle connections are due for
/// their check: every caller is back within `call_timeout` (the checks and replacements go
/// on in the background for the workers), with a short and with the default connect timeout.
#[tokio::test(start_paused = true)]
async fn a_hanging_backend_never_holds_a_caller_past_call_timeout() {
    for (workers, connect_timeout, call_timeout) in [
        (4, Duration::from_millis(500), Duration::from_millis(200)),
        (
            10,
            pool_runtime::defaults::CONNECT_TIMEOUT,
            Duration::from_millis(300),
        ),
    ] {
        let steer = Steerable::new();
        let pool = Pool::<Steerable, BestWorker>::builder(steer.clone())
            .workers(workers)
            .connect_timeout(connect_timeout)
            .call_timeout(call_timeout)
            .build()
            .await
            .unwrap();
        // Idle for more than a maintenance tick: every connection is checked before use.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        steer.set(hang, true);
        steer.set(hang_checks, true);
        for round in 0..3 {
            let asked = Instant::now();
            let err = pool.call(async |_| ()).await.unwrap_err();
            bounded(&err, asked.elapsed(), call_timeout, "call()", round);
            let asked = Instant::now();
            let err = pool.get().await.unwrap_err();
            bounded(&err, asked.elapsed(), call_timeout, "get()", round);
            let asked = Instant::now();
            let err = pool.get_by(&round).await.unwrap_err();
            bounded(&err, asked.elapsed(), call_timeout, "get_by()", round);
        }
        // The backend answers again: the background checks finish, the pool serves.
        steer.set(hang_checks, false);
        steer.set(hang, false);
        eventually(15, "every worker idle again", || {
            pool.status().idle == workers
        })
        .await;
        pool.call(async |_| ()).await.unwrap();
    }
}

/// A caller of a hanging backend is back by its deadline: timed out, or told sooner that its
/// worker's attempt to reconnect just timed out (a keyed caller, or every worker down).
fn bounded<E: std::error::Error + 'static>(
    err: &Error<E>,
    took: Duration,
    call_timeout: Duration,
    what: &str,
    round: i32,
) {
    match err {
        Error::Timeout { .. } => assert_eq!(took, call_timeout, "{what}, round {round}"),
        Error::Unavailable {
            cause: pool_runtime::ConnectError::TimedOut(_),
            ..
        } => assert!(took < call_timeout, "{what}, round {round}: {took:?}"),
        other => panic!("{what}, round {round}: {other:?}"),
    }
}
