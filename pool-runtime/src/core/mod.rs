//! The hand-off at the heart of every pool: which worker is free, who waits for which worker,
//! and who gets a worker when it comes back.
//!
//! The core knows nothing of connections: it hands out worker *indices*. Owning index `i`
//! (between an acquire and the matching [`Core::release`]) is what gives exclusive access to
//! worker `i`'s slot in the pool above.
//!
//! # State
//!
//! One `AtomicU64` per 62 workers (a *word*): bits `0..62` say which workers are idle, bit 62
//! (`WAITERS`) says that a release in this word must look at the waiter lists, bit 63
//! (`CLOSED`) that the pool is shut down. Waiters live in a slab behind a mutex that only the
//! slow paths take.
//!
//! Invariants, changed only under the waiter lock:
//!
//! - a worker's idle bit is set ⇒ nobody waits for that worker, and nobody waits in the shared
//!   queue;
//! - someone waits for worker `i` (or in the shared queue) ⇒ `WAITERS` is set in `i`'s word
//!   (in every word), so the release of `i` takes the lock and hands `i` over directly;
//! - every worker is exactly one of: idle, owned by a caller, assigned to a queued waiter, or
//!   down (owned by whoever reconnects it).
//!
//! So the uncontended acquire is one CAS, the uncontended release is one CAS, nothing is
//! allocated once the slab has grown to the largest queue seen, and a newcomer can never take a
//! worker ahead of a waiter (no barging): a release while anyone waits goes straight to the
//! oldest waiter (or the newest, with a LIFO queue).
//!
//! # Cancellation
//!
//! [`Acquire`] holds only a slab index. Dropping it unlinks the node; if a worker had already
//! been assigned to it but not yet collected, the worker is handed on to the next waiter. The
//! hazard every hand-off design shares remains: a future that is neither polled nor dropped
//! keeps the worker assigned to it.

mod sync;
mod waiters;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crossbeam_utils::CachePadded;

use self::sync::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Mutex, Ordering, lock};
use self::waiters::{NIL, Outcome, Waiters};

const WORD_BITS: usize = 62;
const WAITERS: u64 = 1 << 62;
const CLOSED: u64 = 1 << 63;
const IDLE_MASK: u64 = WAITERS - 1;

/// Where a caller wants a worker from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The first idle worker, else wait in the shared queue (`available_worker`).
    Any,
    /// That worker, else wait in its own queue (best, next, random and hash workers).
    Worker(usize),
    /// The first idle worker, else fail at once (`next_available_worker`).
    IdleOnly,
}

/// Why an acquire gave up without a worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The pool is shut down.
    Closed,
    /// No worker has a connection.
    Unavailable,
    /// The chosen worker lost its connection: choose again (or fail, for a keyed call).
    Reroute,
    /// The chosen queue holds `max_worker_queue_len` waiters already.
    QueueFull,
    /// `next_available_worker` found no idle worker.
    NoIdle,
}

/// Counts for [`crate::PoolStatus`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub idle: usize,
    pub up: usize,
    pub waiting: usize,
}

pub struct Core {
    words: Box<[CachePadded<AtomicU64>]>,
    workers: usize,
    lifo: bool,
    /// Waiters per worker queue; `u32::MAX` = unlimited.
    queue_limit: u32,
    waiters: Mutex<Waiters>,
    /// Length of each worker's queue, read without the lock by `best_worker`.
    queue_len: Box<[AtomicU32]>,
    /// Down workers, one bit each, read without the lock by the strategies.
    down: Box<[AtomicU64]>,
    up_count: AtomicUsize,
    /// The latest connection attempt failed: callers that would wait for a down worker are
    /// refused at once instead. While a worker is merely being replaced (no attempt has
    /// failed), they wait for it within their timeout.
    failing: AtomicBool,
}

fn split(i: usize) -> (usize, u64) {
    (i / WORD_BITS, 1u64 << (i % WORD_BITS))
}

impl Core {
    /// A core for `workers` workers, all down: each becomes usable with [`Core::mark_up`].
    pub(crate) fn new(workers: usize, lifo: bool, queue_limit: Option<usize>) -> Self {
        assert!(workers > 0, "a pool needs at least one worker");
        let nwords = workers.div_ceil(WORD_BITS);
        let down = (0..nwords)
            .map(|w| {
                let in_word = (workers - w * WORD_BITS).min(WORD_BITS);
                AtomicU64::new(if in_word == 64 {
                    u64::MAX
                } else {
                    (1u64 << in_word) - 1
                })
            })
            .collect();
        Core {
            words: (0..nwords)
                .map(|_| CachePadded::new(AtomicU64::new(0)))
                .collect(),
            workers,
            lifo,
            queue_limit: queue_limit.map_or(u32::MAX, |l| l.min(u32::MAX as usize - 1) as u32),
            waiters: Mutex::new(Waiters::new(workers, nwords)),
            queue_len: (0..workers).map(|_| AtomicU32::new(0)).collect(),
            down,
            up_count: AtomicUsize::new(0),
            failing: AtomicBool::new(false),
        }
    }

    pub(crate) fn workers(&self) -> usize {
        self.workers
    }

    /// Takes the lowest idle worker, if any, without waiting (worker_pool's `take_smallest`).
    #[inline]
    pub(crate) fn try_acquire_any(&self) -> Option<usize> {
        for (w, word) in self.words.iter().enumerate() {
            let mut s = word.load(Ordering::Relaxed);
            loop {
                let idle = s & IDLE_MASK;
                if idle == 0 || s & CLOSED != 0 {
                    break;
                }
                let b = idle.trailing_zeros();
                match word.compare_exchange_weak(
                    s,
                    s & !(1 << b),
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Some(w * WORD_BITS + b as usize),
                    Err(actual) => s = actual,
                }
            }
        }
        None
    }

    /// Takes worker `i` if it is idle. An idle worker has no queue, so this never barges.
    #[inline]
    pub(crate) fn try_acquire(&self, i: usize) -> bool {
        let (w, bit) = split(i);
        let word = &self.words[w];
        let mut s = word.load(Ordering::Relaxed);
        loop {
            if s & bit == 0 || s & CLOSED != 0 {
                return false;
            }
            match word.compare_exchange_weak(s, s & !bit, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
    }

    /// A future that resolves to a worker index for `target`.
    pub(crate) fn acquire(&self, target: Target) -> Acquire<'_> {
        Acquire {
            core: self,
            target,
            node: NIL,
        }
    }

    /// Gives worker `i` back: to the head of its own queue, else of the shared queue, else idle.
    #[inline]
    pub(crate) fn release(&self, i: usize) {
        let (w, bit) = split(i);
        let word = &self.words[w];
        let mut s = word.load(Ordering::Relaxed);
        while s & (WAITERS | CLOSED) == 0 {
            match word.compare_exchange_weak(s, s | bit, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(actual) => s = actual,
            }
        }
        self.release_slow(i);
    }

    #[cold]
    fn release_slow(&self, i: usize) {
        let mut wl = lock(&self.waiters);
        let waker = self.hand_off_locked(&mut wl, i);
        let closing = wl.closing_waker.take();
        drop(wl);
        waker.into_iter().chain(closing).for_each(Waker::wake);
    }

    /// Hands worker `i` to the next waiter that can take it, or marks it idle.
    fn hand_off_locked(&self, wl: &mut Waiters, i: usize) -> Option<Waker> {
        let (w, bit) = split(i);
        let node = wl.pop_worker(i).or_else(|| wl.pop_shared());
        let waker = match node {
            Some(node) => Some(wl.finish(node, Outcome::Assigned(i as u32))),
            None => {
                self.words[w].fetch_or(bit, Ordering::Release);
                None
            }
        };
        self.sync_counts_locked(wl, i);
        waker
    }

    /// Publishes queue lengths and clears `WAITERS` where no release needs the lock any more.
    fn sync_counts_locked(&self, wl: &Waiters, i: usize) {
        self.queue_len[i].store(wl.worker_len(i) as u32, Ordering::Relaxed);
        if wl.shared_len() == 0 {
            for (w, word) in self.words.iter().enumerate() {
                if wl.word_waiters(w) == 0 && word.load(Ordering::Relaxed) & WAITERS != 0 {
                    word.fetch_and(!WAITERS, Ordering::Relaxed);
                }
            }
        }
    }

    /// Takes a worker under the lock, or links `waker` into the right queue.
    fn enqueue_locked(
        &self,
        wl: &mut Waiters,
        target: Target,
        waker: &Waker,
    ) -> Result<Result<usize, u32>, Refusal> {
        let failing = self.failing.load(Ordering::Relaxed);
        if self.up_count.load(Ordering::Relaxed) == 0 {
            if self.is_closed() {
                return Err(Refusal::Closed);
            }
            if failing {
                return Err(Refusal::Unavailable);
            }
        }
        match target {
            Target::IdleOnly => match self.try_acquire_any() {
                Some(i) => Ok(Ok(i)),
                None if self.is_closed() => Err(Refusal::Closed),
                None => Err(Refusal::NoIdle),
            },
            Target::Worker(i) => {
                // A worker being replaced is waited for; one failing to reconnect is not.
                if failing && self.is_down(i) {
                    return Err(Refusal::Reroute);
                }
                let (w, bit) = split(i);
                if let Some(i) = self.take_or_flag(w, bit)? {
                    return Ok(Ok(i));
                }
                if wl.worker_len(i) >= self.queue_limit as usize {
                    self.sync_counts_locked(wl, i);
                    return Err(Refusal::QueueFull);
                }
                let node = wl.push_worker(i, waker.clone());
                self.queue_len[i].store(wl.worker_len(i) as u32, Ordering::Relaxed);
                Ok(Err(node))
            }
            Target::Any => {
                // Every word must say WAITERS while the shared queue is non-empty.
                for w in 0..self.words.len() {
                    let taken = self.take_or_flag(w, IDLE_MASK);
                    if !matches!(taken, Ok(None)) {
                        // Words marked earlier in this loop may now say WAITERS with nobody
                        // waiting.
                        self.sync_counts_locked(wl, 0);
                        return taken.map(|i| Ok(i.expect("matched above")));
                    }
                }
                let limit = (self.queue_limit as usize).saturating_mul(self.workers);
                if wl.shared_len() >= limit {
                    self.sync_counts_locked(wl, 0);
                    return Err(Refusal::QueueFull);
                }
                Ok(Err(wl.push_shared(waker.clone(), self.lifo)))
            }
        }
    }

    /// Under the lock: takes the lowest worker of word `w` among `eligible` if one is idle, or
    /// else makes sure the word says `WAITERS` — which it may only start saying from a state
    /// where none of `eligible` is idle, so no release can slip between the check and the
    /// flag.
    fn take_or_flag(&self, w: usize, eligible: u64) -> Result<Option<usize>, Refusal> {
        let word = &self.words[w];
        let mut s = word.load(Ordering::Relaxed);
        loop {
            if s & CLOSED != 0 {
                return Err(Refusal::Closed);
            }
            let idle = s & eligible;
            let (next, order) = if idle != 0 {
                (s & !(1 << idle.trailing_zeros()), Ordering::Acquire)
            } else if s & WAITERS == 0 {
                (s | WAITERS, Ordering::Relaxed)
            } else {
                return Ok(None);
            };
            match word.compare_exchange(s, next, order, Ordering::Relaxed) {
                Ok(_) if idle != 0 => {
                    return Ok(Some(w * WORD_BITS + idle.trailing_zeros() as usize));
                }
                Ok(_) => return Ok(None),
                Err(actual) => s = actual,
            }
        }
    }

    /// Marks worker `i`, owned by the caller, as having no connection. Its waiters keep
    /// waiting for the replacement, unless connection attempts are failing: then they are
    /// told to choose again, and if no worker is left every waiter is told so at once rather
    /// than left to time out.
    pub(crate) fn mark_down(&self, i: usize) {
        let (w, bit) = split(i);
        let mut wl = lock(&self.waiters);
        if self.down[w].fetch_or(bit, Ordering::Relaxed) & bit != 0 {
            return;
        }
        self.up_count.fetch_sub(1, Ordering::Relaxed);
        let wake = if self.failing.load(Ordering::Relaxed) {
            self.refuse_stranded_locked(&mut wl)
        } else {
            Vec::new()
        };
        self.sync_counts_locked(&wl, i);
        drop(wl);
        wake.into_iter().for_each(Waker::wake);
    }

    /// Records whether the latest connection attempt failed. When it did, callers waiting for
    /// a down worker (or for any worker, with none up) are refused at once.
    pub(crate) fn set_failing(&self, failing: bool) {
        let mut wl = lock(&self.waiters);
        if self.failing.swap(failing, Ordering::Relaxed) == failing || !failing {
            return;
        }
        let wake = self.refuse_stranded_locked(&mut wl);
        self.sync_counts_locked(&wl, 0);
        drop(wl);
        wake.into_iter().for_each(Waker::wake);
    }

    /// Refuses the waiters of down workers (to choose again) and, with no worker up, every
    /// waiter. Returns the wakers to wake after unlocking.
    fn refuse_stranded_locked(&self, wl: &mut Waiters) -> Vec<Waker> {
        let none_up = self.up_count.load(Ordering::Relaxed) == 0;
        let mut wake = Vec::new();
        for j in 0..self.workers {
            let refusal = if none_up {
                Refusal::Unavailable
            } else if self.is_down(j) {
                Refusal::Reroute
            } else {
                continue;
            };
            while let Some(node) = wl.pop_worker(j) {
                wake.push(wl.finish(node, Outcome::Refused(refusal)));
            }
            self.queue_len[j].store(0, Ordering::Relaxed);
        }
        if none_up {
            while let Some(node) = wl.pop_shared() {
                wake.push(wl.finish(node, Outcome::Refused(Refusal::Unavailable)));
            }
        }
        wake
    }

    /// Marks worker `i`, owned by the caller, as connected again and releases it.
    pub(crate) fn mark_up(&self, i: usize) {
        let (w, bit) = split(i);
        let mut wl = lock(&self.waiters);
        if self.down[w].fetch_and(!bit, Ordering::Relaxed) & bit != 0 {
            self.up_count.fetch_add(1, Ordering::Relaxed);
        }
        self.failing.store(false, Ordering::Relaxed);
        let waker = self.hand_off_locked(&mut wl, i);
        let closing = wl.closing_waker.take();
        drop(wl);
        waker.into_iter().chain(closing).for_each(Waker::wake);
    }

    pub(crate) fn is_down(&self, i: usize) -> bool {
        let (w, bit) = split(i);
        self.down[w].load(Ordering::Relaxed) & bit != 0
    }

    pub(crate) fn is_idle(&self, i: usize) -> bool {
        let (w, bit) = split(i);
        self.words[w].load(Ordering::Relaxed) & bit != 0
    }

    pub(crate) fn up_count(&self) -> usize {
        self.up_count.load(Ordering::Relaxed)
    }

    /// The number of waiters queued for worker `i` (racy, as worker_pool's `message_queue_len`).
    pub(crate) fn queue_len(&self, i: usize) -> usize {
        self.queue_len[i].load(Ordering::Relaxed) as usize
    }

    /// The lowest idle worker at or after `start` (wrapping), without taking it.
    pub(crate) fn idle_from(&self, start: usize) -> Option<usize> {
        let n = self.words.len();
        let (w0, _) = split(start);
        for k in 0..=n {
            let w = (w0 + k) % n;
            let mut idle = self.words[w].load(Ordering::Relaxed) & IDLE_MASK;
            if k == 0 {
                idle &= !((1u64 << (start % WORD_BITS)) - 1);
            }
            if idle != 0 {
                return Some(w * WORD_BITS + idle.trailing_zeros() as usize);
            }
        }
        None
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.words[0].load(Ordering::Relaxed) & CLOSED != 0
    }

    /// Refuses every waiter and every later acquire. Workers already out come back with
    /// [`Core::release`] as usual, so shutdown can wait for them.
    pub(crate) fn close(&self) {
        let mut wl = lock(&self.waiters);
        for word in self.words.iter() {
            word.fetch_or(CLOSED, Ordering::AcqRel);
        }
        let mut wake = Vec::new();
        for j in 0..self.workers {
            while let Some(node) = wl.pop_worker(j) {
                wake.push(wl.finish(node, Outcome::Refused(Refusal::Closed)));
            }
            self.queue_len[j].store(0, Ordering::Relaxed);
        }
        while let Some(node) = wl.pop_shared() {
            wake.push(wl.finish(node, Outcome::Refused(Refusal::Closed)));
        }
        drop(wl);
        wake.into_iter().for_each(Waker::wake);
    }

    /// Registers `waker` to be woken by the next release or reconnect, for shutdown's drain.
    pub(crate) fn wake_on_release(&self, waker: &Waker) {
        lock(&self.waiters).closing_waker = Some(waker.clone());
    }

    /// Takes every idle worker out, for shutdown: once closed, an idle worker is never
    /// taken again, and the caller drops its connection.
    pub(crate) fn take_idle(&self) -> Vec<usize> {
        let mut taken = Vec::new();
        for (w, word) in self.words.iter().enumerate() {
            let old = word.fetch_and(!IDLE_MASK, Ordering::Acquire);
            let mut idle = old & IDLE_MASK;
            while idle != 0 {
                let b = idle.trailing_zeros() as usize;
                idle &= idle - 1;
                taken.push(w * WORD_BITS + b);
            }
        }
        taken
    }

    pub(crate) fn counts(&self) -> Counts {
        let idle = self
            .words
            .iter()
            .map(|w| (w.load(Ordering::Relaxed) & IDLE_MASK).count_ones() as usize)
            .sum();
        let wl = lock(&self.waiters);
        Counts {
            idle,
            up: self.up_count(),
            waiting: wl.len(),
        }
    }
}

/// Resolves to a worker index; see [`Core::acquire`]. Dropping it at any point loses nothing.
pub(crate) struct Acquire<'a> {
    core: &'a Core,
    target: Target,
    node: u32,
}

impl Future for Acquire<'_> {
    type Output = Result<usize, Refusal>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let core = self.core;
        if self.node == NIL {
            let fast = match self.target {
                Target::Any | Target::IdleOnly => core.try_acquire_any(),
                Target::Worker(i) => core.try_acquire(i).then_some(i),
            };
            if let Some(i) = fast {
                return Poll::Ready(Ok(i));
            }
            let mut wl = lock(&core.waiters);
            return match core.enqueue_locked(&mut wl, self.target, cx.waker()) {
                Ok(Ok(i)) => Poll::Ready(Ok(i)),
                Ok(Err(node)) => {
                    self.node = node;
                    Poll::Pending
                }
                Err(refusal) => Poll::Ready(Err(refusal)),
            };
        }
        let mut wl = lock(&core.waiters);
        match wl.poll_node(self.node, cx.waker()) {
            None => Poll::Pending,
            Some(outcome) => {
                self.node = NIL;
                Poll::Ready(match outcome {
                    Outcome::Assigned(i) => Ok(i as usize),
                    Outcome::Refused(r) => Err(r),
                })
            }
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if self.node == NIL {
            return;
        }
        let core = self.core;
        let mut wl = lock(&core.waiters);
        let waker = match wl.cancel(self.node) {
            Some(Outcome::Assigned(i)) => core.hand_off_locked(&mut wl, i as usize),
            Some(Outcome::Refused(_)) => None,
            None => {
                if let Target::Worker(i) = self.target {
                    core.sync_counts_locked(&wl, i);
                } else {
                    core.sync_counts_locked(&wl, 0);
                }
                None
            }
        };
        drop(wl);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

#[cfg(all(test, not(pool_loom)))]
mod tests;

#[cfg(all(test, pool_loom))]
mod loom_tests;
