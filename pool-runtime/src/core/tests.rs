use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::{Context, Poll, Wake, Waker};

use super::*;

struct CountWaker(AtomicUsize);
impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn waker() -> (Arc<CountWaker>, Waker) {
    let w = Arc::new(CountWaker(AtomicUsize::new(0)));
    (w.clone(), Waker::from(w))
}

fn up(n: usize) -> Core {
    let core = Core::new(n, false, None);
    for i in 0..n {
        core.mark_up(i);
    }
    core
}

fn poll(f: &mut Acquire<'_>, w: &Waker) -> Poll<Result<usize, Refusal>> {
    Pin::new(f).poll(&mut Context::from_waker(w))
}

#[test]
fn takes_lowest_idle_and_releases() {
    let core = up(4);
    assert_eq!(core.try_acquire_any(), Some(0));
    assert_eq!(core.try_acquire_any(), Some(1));
    core.release(0);
    assert_eq!(core.try_acquire_any(), Some(0));
    assert_eq!(core.counts().idle, 2);
}

#[test]
fn fifo_hand_off_without_barging() {
    let core = up(1);
    let (_c, w) = waker();
    assert_eq!(core.try_acquire_any(), Some(0));
    let mut queued: Vec<_> = (0..8).map(|_| core.acquire(Target::Any, 0)).collect();
    for f in &mut queued {
        assert!(poll(f, &w).is_pending());
    }
    let mut order = Vec::new();
    for (k, f) in queued.iter_mut().enumerate() {
        core.release(0);
        // A newcomer arriving right after the release must not get the worker.
        let mut newcomer = core.acquire(Target::Any, 0);
        if k == 0 {
            assert!(poll(&mut newcomer, &w).is_pending());
        }
        drop(newcomer);
        assert_eq!(poll(f, &w), Poll::Ready(Ok(0)));
        order.push(k);
    }
    assert_eq!(order, (0..8).collect::<Vec<_>>());
    core.release(0);
    assert_eq!(core.counts().idle, 1);
    assert_eq!(core.counts().waiting, 0);
}

#[test]
fn lifo_serves_newest_first() {
    let core = Core::new(1, true, None);
    core.mark_up(0);
    let (_c, w) = waker();
    core.try_acquire_any().unwrap();
    let mut a = core.acquire(Target::Any, 0);
    let mut b = core.acquire(Target::Any, 0);
    assert!(poll(&mut a, &w).is_pending());
    assert!(poll(&mut b, &w).is_pending());
    core.release(0);
    assert_eq!(poll(&mut b, &w), Poll::Ready(Ok(0)));
    assert!(poll(&mut a, &w).is_pending());
}

#[test]
fn cancelled_assigned_waiter_hands_on() {
    let core = up(1);
    let (_c, w) = waker();
    core.try_acquire_any().unwrap();
    let mut a = core.acquire(Target::Any, 0);
    let mut b = core.acquire(Target::Any, 0);
    assert!(poll(&mut a, &w).is_pending());
    assert!(poll(&mut b, &w).is_pending());
    core.release(0); // assigned to `a`, not yet collected
    drop(a);
    assert_eq!(poll(&mut b, &w), Poll::Ready(Ok(0)));
    core.release(0);
    assert_eq!(
        core.counts(),
        Counts {
            idle: 1,
            up: 1,
            waiting: 0
        }
    );
}

#[test]
fn cancelled_queued_waiter_unlinks_and_clears_waiters_bit() {
    let core = up(1);
    let (_c, w) = waker();
    core.try_acquire_any().unwrap();
    let mut a = core.acquire(Target::Any, 0);
    assert!(poll(&mut a, &w).is_pending());
    drop(a);
    assert_eq!(core.words[0].load(Ordering::Relaxed) & WAITERS, 0);
    core.release(0);
    assert_eq!(core.try_acquire_any(), Some(0));
}

#[test]
fn pinned_waiters_are_served_before_shared_ones() {
    let core = up(2);
    let (_c, w) = waker();
    assert!(core.try_acquire(0) && core.try_acquire(1));
    let mut shared = core.acquire(Target::Any, 0);
    let mut pinned = core.acquire(Target::Worker(1), 0);
    assert!(poll(&mut shared, &w).is_pending());
    assert!(poll(&mut pinned, &w).is_pending());
    core.release(1);
    assert_eq!(poll(&mut pinned, &w), Poll::Ready(Ok(1)));
    core.release(0);
    assert_eq!(poll(&mut shared, &w), Poll::Ready(Ok(0)));
}

#[test]
fn queue_limit_refuses() {
    let core = Core::new(1, false, Some(1));
    core.mark_up(0);
    let (_c, w) = waker();
    core.try_acquire_any().unwrap();
    let mut a = core.acquire(Target::Worker(0), 0);
    assert!(poll(&mut a, &w).is_pending());
    let mut b = core.acquire(Target::Worker(0), 0);
    assert_eq!(poll(&mut b, &w), Poll::Ready(Err(Refusal::QueueFull)));
}

#[test]
fn zero_queue_limit_fails_fast_on_a_busy_worker() {
    let core = Core::new(2, false, Some(0));
    core.mark_up(0);
    core.mark_up(1);
    let (_c, w) = waker();
    assert!(core.try_acquire(0));
    let mut a = core.acquire(Target::Worker(0), 0);
    assert_eq!(poll(&mut a, &w), Poll::Ready(Err(Refusal::QueueFull)));
    let mut b = core.acquire(Target::Worker(1), 0);
    assert_eq!(poll(&mut b, &w), Poll::Ready(Ok(1)));
}

#[test]
fn idle_only_fails_when_none_idle() {
    let core = up(1);
    let (_c, w) = waker();
    core.try_acquire_any().unwrap();
    let mut a = core.acquire(Target::IdleOnly, 0);
    assert_eq!(poll(&mut a, &w), Poll::Ready(Err(Refusal::NoIdle)));
}

#[test]
fn with_every_worker_down_callers_wait_for_the_attempt_in_flight_then_get_its_failure() {
    let core = up(1);
    let (count, w) = waker();
    core.try_acquire_any().unwrap();
    let mut a = core.acquire(Target::Any, 0);
    assert!(poll(&mut a, &w).is_pending());
    core.mark_down(0);
    // The reconnect attempt is in flight: the waiter waits for it...
    assert!(poll(&mut a, &w).is_pending());
    assert_eq!(core.life(0), Life::Connecting);
    // ...and is told when it fails, with that attempt's worker.
    core.attempt_failed(0, 1000);
    assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(poll(&mut a, &w), Poll::Ready(Err(Refusal::Unavailable(0))));
    // Right after a failure, callers get it at once: no attempt per caller.
    let mut b = core.acquire(Target::Worker(0), 1000 + RETRY_FLOOR_MS - 1);
    assert_eq!(poll(&mut b, &w), Poll::Ready(Err(Refusal::Unavailable(0))));
    assert_eq!(core.poll_kick(0, &w), Poll::Pending);
    // Later, a caller starts an attempt instead of waiting out the backoff, and waits for it.
    let mut c = core.acquire(Target::Any, 1000 + RETRY_FLOOR_MS);
    assert!(poll(&mut c, &w).is_pending());
    assert_eq!(core.life(0), Life::Connecting);
    assert_eq!(core.poll_kick(0, &w), Poll::Ready(()));
    // Another caller meanwhile waits for the same attempt rather than kicking again.
    let mut d = core.acquire(Target::IdleOnly, 1000 + RETRY_FLOOR_MS);
    assert!(poll(&mut d, &w).is_pending());
    core.mark_up(0);
    assert_eq!(poll(&mut c, &w), Poll::Ready(Ok(0)));
    core.release(0);
    assert_eq!(poll(&mut d, &w), Poll::Ready(Ok(0)));
}

#[test]
fn a_keyless_caller_is_sent_elsewhere_when_its_worker_goes_down() {
    let core = up(2);
    let (_c, w) = waker();
    assert!(core.try_acquire(0));
    let mut queued = core.acquire(Target::Worker(0), 0);
    assert!(poll(&mut queued, &w).is_pending());
    core.mark_down(0);
    assert_eq!(poll(&mut queued, &w), Poll::Ready(Err(Refusal::Reroute)));
    let mut late = core.acquire(Target::Worker(0), 0);
    assert_eq!(poll(&mut late, &w), Poll::Ready(Err(Refusal::Reroute)));
}

#[test]
fn a_keyed_caller_waits_through_its_workers_reconnection() {
    let core = up(2);
    let (_c, w) = waker();
    assert!(core.try_acquire(0));
    let mut keyed = core.acquire(Target::Keyed(0), 0);
    assert!(poll(&mut keyed, &w).is_pending());
    core.mark_down(0);
    assert!(
        poll(&mut keyed, &w).is_pending(),
        "waits for the attempt in flight"
    );
    let mut late = core.acquire(Target::Keyed(0), 0);
    assert!(poll(&mut late, &w).is_pending());
    core.mark_up(0);
    assert_eq!(poll(&mut keyed, &w), Poll::Ready(Ok(0)));
    core.release(0);
    assert_eq!(poll(&mut late, &w), Poll::Ready(Ok(0)));
}

#[test]
fn a_keyed_caller_gets_its_workers_failure_while_others_serve() {
    let core = up(2);
    let (_c, w) = waker();
    assert!(core.try_acquire(0));
    let mut keyed = core.acquire(Target::Keyed(0), 0);
    assert!(poll(&mut keyed, &w).is_pending());
    core.mark_down_failed(0, 500);
    assert_eq!(
        poll(&mut keyed, &w),
        Poll::Ready(Err(Refusal::Unavailable(0)))
    );
    let mut other = core.acquire(Target::Keyed(1), 500);
    assert_eq!(poll(&mut other, &w), Poll::Ready(Ok(1)));
    // Past the floor, the keyed caller kicks its worker and waits.
    let mut again = core.acquire(Target::Keyed(0), 500 + RETRY_FLOOR_MS);
    assert!(poll(&mut again, &w).is_pending());
    assert_eq!(core.poll_kick(0, &w), Poll::Ready(()));
}

#[test]
fn a_worker_back_up_kicks_the_others_that_failed() {
    let core = Core::new(3, false, None);
    let (count, w) = waker();
    core.attempt_failed(1, 10);
    core.attempt_failed(2, 10);
    assert_eq!(core.poll_kick(1, &w), Poll::Pending);
    assert_eq!(core.poll_kick(2, &w), Poll::Pending);
    core.mark_up(0);
    assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(
        (core.life(1), core.life(2)),
        (Life::Connecting, Life::Connecting)
    );
    assert_eq!(core.poll_kick(1, &w), Poll::Ready(()));
    assert_eq!(core.poll_kick(1, &w), Poll::Pending, "a kick is taken once");
}

#[test]
fn nth_up_skips_down_workers() {
    let core = Core::new(130, false, None);
    for i in [3, 64, 129] {
        core.mark_up(i);
    }
    let ups: Vec<_> = (0..4).map(|r| core.nth_up(r)).collect();
    assert_eq!(ups, [Some(3), Some(64), Some(129), None]);
}

#[test]
fn retired_workers_count_as_down() {
    let core = up(2);
    core.close();
    let taken = core.take_idle();
    assert_eq!(taken, vec![0, 1]);
    for i in taken {
        core.retire(i);
    }
    assert_eq!(
        core.counts(),
        Counts {
            idle: 0,
            up: 0,
            waiting: 0
        }
    );
}

#[test]
fn close_refuses_waiters_and_newcomers() {
    let core = up(1);
    let (_c, w) = waker();
    core.try_acquire_any().unwrap();
    let mut a = core.acquire(Target::Any, 0);
    assert!(poll(&mut a, &w).is_pending());
    core.close();
    assert_eq!(poll(&mut a, &w), Poll::Ready(Err(Refusal::Closed)));
    let mut b = core.acquire(Target::Any, 0);
    assert_eq!(poll(&mut b, &w), Poll::Ready(Err(Refusal::Closed)));
    core.release(0);
    assert_eq!(core.take_idle(), vec![0]);
}

#[test]
fn many_words() {
    let n = 200;
    let core = up(n);
    let taken: Vec<_> = (0..n).map(|_| core.try_acquire_any().unwrap()).collect();
    assert_eq!(taken, (0..n).collect::<Vec<_>>());
    assert_eq!(core.try_acquire_any(), None);
    let (_c, w) = waker();
    let mut a = core.acquire(Target::Any, 0);
    assert!(poll(&mut a, &w).is_pending());
    core.release(150);
    assert_eq!(poll(&mut a, &w), Poll::Ready(Ok(150)));
    for i in 0..n {
        core.release(i);
    }
    assert_eq!(core.counts().idle, n);
    assert_eq!(core.idle_from(190), Some(190));
    for word in core.words.iter() {
        assert_eq!(word.load(Ordering::Relaxed) & WAITERS, 0);
    }
}
