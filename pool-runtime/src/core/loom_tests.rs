//! Model checks of the hand-off with loom: every interleaving of a few threads.
//!
//! `RUSTFLAGS="--cfg pool_loom" cargo test -p pool-runtime --lib --release core::loom_tests`
//! (`cargo xtask test` runs them). A custom cfg name keeps tokio, which reacts to `loom`,
//! out of it.

use loom::future::block_on;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use super::*;

fn up(n: usize, lifo: bool) -> Arc<Core> {
    let core = Core::new(n, lifo, None);
    for i in 0..n {
        core.mark_up(i);
    }
    Arc::new(core)
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

/// Two callers on one worker: never both inside, and the worker ends idle.
#[test]
fn mutual_exclusion_and_no_lost_wakeup() {
    model(|| {
        let core = up(1, false);
        let inside = Arc::new(AtomicUsize::new(0));
        let ths: Vec<_> = (0..2)
            .map(|_| {
                let (core, inside) = (core.clone(), inside.clone());
                thread::spawn(move || {
                    let i = block_on(core.acquire(Target::Any, 0)).unwrap();
                    assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                    inside.fetch_sub(1, Ordering::SeqCst);
                    core.release(i);
                })
            })
            .collect();
        for t in ths {
            t.join().unwrap();
        }
        assert_eq!(
            core.counts(),
            Counts {
                idle: 1,
                up: 1,
                waiting: 0
            }
        );
    });
}

/// A fast-path release racing a slow-path enqueue (qp's lost wake-up window).
#[test]
fn release_racing_enqueue() {
    model(|| {
        let core = up(1, false);
        let i = core.try_acquire_any().unwrap();
        let c2 = core.clone();
        let waiter = thread::spawn(move || {
            let j = block_on(c2.acquire(Target::Any, 0)).unwrap();
            c2.release(j);
        });
        core.release(i);
        waiter.join().unwrap();
        assert_eq!(core.counts().idle, 1);
    });
}

/// A waiter that is dropped while a release hands it the worker: the worker is not lost.
#[test]
fn cancel_racing_release() {
    model(|| {
        let core = up(1, false);
        let i = core.try_acquire_any().unwrap();
        let c2 = core.clone();
        let waiter = thread::spawn(move || {
            let mut f = c2.acquire(Target::Any, 0);
            let waker = futures_noop_waker();
            let polled = Pin::new(&mut f).poll(&mut Context::from_waker(&waker));
            if let Poll::Ready(Ok(j)) = polled {
                drop(f);
                c2.release(j);
            } else {
                drop(f);
            }
        });
        core.release(i);
        waiter.join().unwrap();
        assert_eq!(
            core.counts(),
            Counts {
                idle: 1,
                up: 1,
                waiting: 0
            }
        );
    });
}

/// A pinned caller, an any-worker caller and a release of the pinned worker.
#[test]
fn pinned_and_shared_callers() {
    model(|| {
        let core = up(2, false);
        assert!(core.try_acquire(0));
        let c1 = core.clone();
        let pinned = thread::spawn(move || {
            let j = block_on(c1.acquire(Target::Worker(0), 0)).unwrap();
            assert_eq!(j, 0);
            c1.release(j);
        });
        let c2 = core.clone();
        let shared = thread::spawn(move || {
            let j = block_on(c2.acquire(Target::Any, 0)).unwrap();
            c2.release(j);
        });
        core.release(0);
        pinned.join().unwrap();
        shared.join().unwrap();
        assert_eq!(core.counts().idle, 2);
    });
}

/// Closing while a caller waits and the holder releases: the caller is refused or served,
/// never stuck, and the worker comes back.
#[test]
fn close_racing_acquire_and_release() {
    model(|| {
        let core = up(1, false);
        let i = core.try_acquire_any().unwrap();
        let c2 = core.clone();
        let waiter = thread::spawn(move || match block_on(c2.acquire(Target::Any, 0)) {
            Ok(j) => c2.release(j),
            Err(r) => assert_eq!(r, Refusal::Closed),
        });
        let c3 = core.clone();
        let closer = thread::spawn(move || c3.close());
        core.release(i);
        waiter.join().unwrap();
        closer.join().unwrap();
        assert_eq!(core.take_idle(), vec![0]);
    });
}

fn futures_noop_waker() -> Waker {
    Waker::noop().clone()
}

/// A caller waiting for a worker being replaced, while the reconnect fails: it is refused,
/// never left waiting.
#[test]
fn failing_reconnect_racing_a_waiter() {
    model(|| {
        let core = up(1, false);
        let i = core.try_acquire_any().unwrap();
        core.mark_down(i);
        let c2 = core.clone();
        let waiter = thread::spawn(move || {
            let r = block_on(c2.acquire(Target::Keyed(0), 0));
            assert_eq!(r, Err(Refusal::Unavailable(0)));
        });
        core.attempt_failed(0, 0);
        waiter.join().unwrap();
    });
}

/// Every worker down and failed long ago: a caller kicks a reconnect task that is about to
/// wait for a kick; the kick is never lost, and the caller gets the reconnected worker.
#[test]
fn kick_racing_the_reconnect_task() {
    model(|| {
        let core = Arc::new(Core::new(1, false, None));
        core.attempt_failed(0, 0);
        let c2 = core.clone();
        let reconnect = thread::spawn(move || {
            block_on(std::future::poll_fn(|cx| c2.poll_kick(0, cx.waker())));
            c2.mark_up(0);
        });
        let j = block_on(core.acquire(Target::Any, RETRY_FLOOR_MS)).unwrap();
        assert_eq!(j, 0);
        core.release(j);
        reconnect.join().unwrap();
        assert_eq!(core.counts().idle, 1);
    });
}
