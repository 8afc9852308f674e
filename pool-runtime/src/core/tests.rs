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
    let mut queued: Vec<_> = (0..8).map(|_| core.acquire(Target::Any)).collect();
    for f in &mut queued {
        assert!(poll(f, &w).is_pending());
    }
    let mut order = Vec::new();
    for (k, f) in queued.iter_mut().enumerate() {
        core.release(0);
        // A newcomer arriving right after the release must not get the worker.
        let mut newcomer = core.acquire(Target::Any);
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
    let mut a = core.acquire(Target::Any);
    let mut b = core.acquire(Target::Any);
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
    let mut a = core.acquire(Target::Any);
    let mut b = core.acquire(Target::Any);
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
    let mut a = core.acquire(Target::Any);
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
    let mut shared = core.acquire(Target::Any);
    let mut pinned = core.acquire(Target::Worker(1));
    assert!(poll(&mut shared, &w).is_pending());
    assert!(poll(&mut pinned, &w).is_pending());
    assert_eq!(core.queue_len(1), 1);
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
    let mut a = core.acquire(Target::Worker(0));
    assert!(poll(&mut a, &w).is_pending());
    let mut b = core.acquire(Target::Worker(0));
    assert_eq!(poll(&mut b, &w), Poll::Ready(Err(Refusal::QueueFull)));
}

#[test]
fn zero_queue_limit_fails_fast_on_a_busy_worker() {
    let core = Core::new(2, false, Some(0));
    core.mark_up(0);
    core.mark_up(1);
    let (_c, w) = waker();
    assert!(core.try_acquire(0));
    let mut a = core.acquire(Target::Worker(0));
    assert_eq!(poll(&mut a, &w), Poll::Ready(Err(Refusal::QueueFull)));
    let mut b = core.acquire(Target::Worker(1));
    assert_eq!(poll(&mut b, &w), Poll::Ready(Ok(1)));
}

#[test]
fn idle_only_fails_when_none_idle() {
    let core = up(1);
    let (_c, w) = waker();
    core.try_acquire_any().unwrap();
    let mut a = core.acquire(Target::IdleOnly);
    assert_eq!(poll(&mut a, &w), Poll::Ready(Err(Refusal::NoIdle)));
}

#[test]
fn last_worker_down_fails_waiters_at_once() {
    let core = up(1);
    let (count, w) = waker();
    core.try_acquire_any().unwrap();
    let mut a = core.acquire(Target::Any);
    assert!(poll(&mut a, &w).is_pending());
    core.mark_down(0);
    // Being replaced: the waiter waits for it...
    assert!(poll(&mut a, &w).is_pending());
    // ...until an attempt to reconnect fails.
    core.set_failing(true);
    assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(poll(&mut a, &w), Poll::Ready(Err(Refusal::Unavailable)));
    let mut b = core.acquire(Target::Any);
    assert_eq!(poll(&mut b, &w), Poll::Ready(Err(Refusal::Unavailable)));
    core.mark_up(0);
    assert_eq!(core.try_acquire_any(), Some(0));
}

#[test]
fn down_worker_reroutes_its_queue() {
    let core = up(2);
    let (_c, w) = waker();
    assert!(core.try_acquire(0));
    let mut a = core.acquire(Target::Worker(0));
    assert!(poll(&mut a, &w).is_pending());
    core.mark_down(0);
    assert!(poll(&mut a, &w).is_pending(), "waits for the replacement");
    core.set_failing(true);
    assert_eq!(poll(&mut a, &w), Poll::Ready(Err(Refusal::Reroute)));
}

#[test]
fn a_replaced_worker_goes_to_its_waiters_when_back() {
    let core = up(1);
    let (_c, w) = waker();
    core.try_acquire_any().unwrap();
    let mut shared = core.acquire(Target::Any);
    let mut pinned = core.acquire(Target::Worker(0));
    assert!(poll(&mut shared, &w).is_pending());
    assert!(poll(&mut pinned, &w).is_pending());
    core.mark_down(0);
    let mut late = core.acquire(Target::Worker(0));
    assert!(
        poll(&mut late, &w).is_pending(),
        "queues for a worker being replaced"
    );
    core.mark_up(0);
    assert_eq!(poll(&mut pinned, &w), Poll::Ready(Ok(0)));
    core.release(0);
    assert_eq!(poll(&mut late, &w), Poll::Ready(Ok(0)));
    core.release(0);
    assert_eq!(poll(&mut shared, &w), Poll::Ready(Ok(0)));
}

#[test]
fn close_refuses_waiters_and_newcomers() {
    let core = up(1);
    let (_c, w) = waker();
    core.try_acquire_any().unwrap();
    let mut a = core.acquire(Target::Any);
    assert!(poll(&mut a, &w).is_pending());
    core.close();
    assert_eq!(poll(&mut a, &w), Poll::Ready(Err(Refusal::Closed)));
    let mut b = core.acquire(Target::Any);
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
    let mut a = core.acquire(Target::Any);
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
