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
//! # Down workers
//!
//! A down worker is [`Life::Connecting`] (an attempt is in flight, or was just requested) or
//! [`Life::Failed`] (its latest attempt failed, at a time on the pool's clock). Keyless
//! callers never wait for a down worker while another is up: they are told to choose again
//! ([`Refusal::Reroute`]). When every worker is down they wait in the shared queue for the
//! outcome of an attempt in flight; if none is in flight and the latest failure is older than
//! [`RETRY_FLOOR_MS`], the core asks a worker to try again now (a *kick*: the reconnect task
//! waiting out its backoff is woken); if the latest failure is more recent, they are refused
//! with it at once. Keyed callers do the same for their own worker. An attempt that fails
//! refuses those who waited for it (the error is fresh); one that succeeds kicks every other
//! down worker, since the backend answers again.
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

pub(crate) mod slot;
mod sync;
mod waiters;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crossbeam_utils::CachePadded;

use self::sync::{AtomicU64, AtomicUsize, Mutex, Ordering, lock};
use self::waiters::{NIL, Outcome, Waiters};

const WORD_BITS: usize = 62;
const WAITERS: u64 = 1 << 62;
const CLOSED: u64 = 1 << 63;
const IDLE_MASK: u64 = WAITERS - 1;

/// How recent a failed attempt must be for a caller to be refused with its error instead of
/// starting another attempt (ms). It bounds what callers can add to the reconnect backoff:
/// at most one attempt per worker per this interval, and one in flight.
pub(crate) const RETRY_FLOOR_MS: u64 = 250;

/// Where a caller wants a worker from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The first idle worker, else wait in the shared queue (`available_worker`, and
    /// `best_worker` once no worker is idle).
    Any,
    /// That worker, else wait in its own queue (next and random workers); told to choose
    /// again if it is down while another is up.
    Worker(usize),
    /// That worker and no other (`hash_worker` and every keyed call): waits through its
    /// reconnection.
    Keyed(usize),
    /// That worker if it is idle, else as [`Target::Any`] (`best_worker`).
    Prefer(usize),
    /// The first idle worker, else fail at once (`next_available_worker`).
    IdleOnly,
}

/// Why an acquire gave up without a worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The pool is shut down.
    Closed,
    /// No connection for this caller, and the latest attempt, by this worker, failed.
    Unavailable(u32),
    /// The chosen worker is down while another is up: choose again.
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

/// A worker's connection state, kept under the waiter lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Life {
    /// Connected (idle, owned or assigned).
    Up,
    /// Down, with a connection attempt in flight or requested.
    Connecting,
    /// Down; its latest attempt failed at this time (ms on the pool's clock).
    Failed(u64),
    /// Shut down for good.
    Retired,
}

/// Wakers to wake once the lock is released: at most a few on the paths that matter, so
/// they live inline.
type WakeList = Vec<Waker>;

pub struct Core {
    words: Box<[CachePadded<AtomicU64>]>,
    workers: usize,
    lifo: bool,
    /// Waiters per worker queue; `u32::MAX` = unlimited.
    queue_limit: u32,
    waiters: Mutex<Waiters>,
    /// Down workers, one bit each, read without the lock by the strategies.
    down: Box<[AtomicU64]>,
    up_count: AtomicUsize,
}

fn split(i: usize) -> (usize, u64) {
    (i / WORD_BITS, 1u64 << (i % WORD_BITS))
}

impl Core {
    /// A core for `workers` workers, all down and connecting: each becomes usable with
    /// [`Core::mark_up`], or [`Core::attempt_failed`] says it could not connect.
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
            down,
            up_count: AtomicUsize::new(0),
        }
    }

    pub(crate) fn workers(&self) -> usize {
        self.workers
    }

    /// Takes the lowest idle worker, if any, without waiting (worker_pool's `take_smallest`).
    #[inline]
    pub(in crate::core) fn try_acquire_any(&self) -> Option<usize> {
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
    pub(in crate::core) fn try_acquire(&self, i: usize) -> bool {
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

    /// A future that resolves to a worker index for `target`; `now` is the pool's clock
    /// (ms), read by the caller because only the paths for down workers need it.
    pub(in crate::core) fn acquire(&self, target: Target, now: u64) -> Acquire<'_> {
        Acquire {
            core: self,
            target,
            now,
            node: NIL,
        }
    }

    /// Gives worker `i` back: to the head of its own queue, else of the shared queue, else idle.
    #[inline]
    pub(in crate::core) fn release(&self, i: usize) {
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
        self.sync_counts_locked(wl);
        waker
    }

    /// Clears `WAITERS` where no release needs the lock any more.
    fn sync_counts_locked(&self, wl: &Waiters) {
        if wl.shared_len() == 0 {
            for (w, word) in self.words.iter().enumerate() {
                if wl.word_waiters(w) == 0 && word.load(Ordering::Relaxed) & WAITERS != 0 {
                    word.fetch_and(!WAITERS, Ordering::Relaxed);
                }
            }
        }
    }

    /// Takes a worker under the lock, or links `waker` into the right queue. May ask a down
    /// worker to try connecting now: its reconnect task's waker is pushed to `wake`.
    fn enqueue_locked(
        &self,
        wl: &mut Waiters,
        target: Target,
        now: u64,
        waker: &Waker,
        wake: &mut WakeList,
    ) -> Result<Result<usize, u32>, Refusal> {
        if self.is_closed() {
            return Err(Refusal::Closed);
        }
        let none_up = self.up_count.load(Ordering::Relaxed) == 0;
        match target {
            Target::IdleOnly => match self.try_acquire_any() {
                Some(i) => Ok(Ok(i)),
                None if none_up => self.wait_for_any_attempt_locked(wl, now, waker, wake),
                None => Err(Refusal::NoIdle),
            },
            Target::Worker(_) | Target::Any | Target::Prefer(_) if none_up => {
                self.wait_for_any_attempt_locked(wl, now, waker, wake)
            }
            Target::Worker(i) if self.is_down(i) => Err(Refusal::Reroute),
            Target::Worker(i) => self.queue_on_locked(wl, i, false, waker),
            Target::Keyed(i) if self.is_down(i) => {
                match wl.life[i] {
                    Life::Connecting => {}
                    Life::Failed(at) if now < at + RETRY_FLOOR_MS => {
                        return Err(Refusal::Unavailable(i as u32));
                    }
                    Life::Failed(_) => wake.extend(wl.kick(i)),
                    Life::Retired => return Err(Refusal::Closed),
                    Life::Up => unreachable!("worker {i} is down but its life says up"),
                }
                self.queue_on_locked(wl, i, true, waker)
            }
            Target::Keyed(i) => self.queue_on_locked(wl, i, true, waker),
            Target::Any | Target::Prefer(_) => {
                // Every word must say WAITERS while the shared queue is non-empty.
                for w in 0..self.words.len() {
                    let taken = self.take_or_flag(w, IDLE_MASK);
                    if !matches!(taken, Ok(None)) {
                        // Words marked earlier in this loop may now say WAITERS with nobody
                        // waiting.
                        self.sync_counts_locked(wl);
                        return taken.map(|i| Ok(i.expect("matched above")));
                    }
                }
                self.queue_shared_locked(wl, waker)
            }
        }
    }

    /// Takes up worker `i` if idle, else queues on it (`keyed`: through its reconnection).
    fn queue_on_locked(
        &self,
        wl: &mut Waiters,
        i: usize,
        keyed: bool,
        waker: &Waker,
    ) -> Result<Result<usize, u32>, Refusal> {
        let (w, bit) = split(i);
        if let Some(i) = self.take_or_flag(w, bit)? {
            return Ok(Ok(i));
        }
        if wl.worker_len(i) >= self.queue_limit as usize {
            self.sync_counts_locked(wl);
            return Err(Refusal::QueueFull);
        }
        let node = wl.push_worker(i, waker.clone(), keyed);
        Ok(Err(node))
    }

    /// Queues in the shared queue. The caller has made sure every word says `WAITERS`
    /// (or that no worker is up, so none can be released before an attempt succeeds, which
    /// hands off under this lock).
    fn queue_shared_locked(
        &self,
        wl: &mut Waiters,
        waker: &Waker,
    ) -> Result<Result<usize, u32>, Refusal> {
        let limit = (self.queue_limit as usize).saturating_mul(self.workers);
        if wl.shared_len() >= limit {
            self.sync_counts_locked(wl);
            return Err(Refusal::QueueFull);
        }
        Ok(Err(wl.push_shared(waker.clone(), self.lifo)))
    }

    /// Every worker is down: wait for an attempt in flight, or start one, or — if the latest
    /// one failed just now — report that failure.
    fn wait_for_any_attempt_locked(
        &self,
        wl: &mut Waiters,
        now: u64,
        waker: &Waker,
        wake: &mut WakeList,
    ) -> Result<Result<usize, u32>, Refusal> {
        if !wl.any_connecting() {
            if let Some((worker, at)) = wl.last_failure
                && now < at + RETRY_FLOOR_MS
            {
                return Err(Refusal::Unavailable(worker));
            }
            match wl.oldest_failed() {
                Some(j) => wake.extend(wl.kick(j)),
                None => return Err(Refusal::Closed),
            }
        }
        for w in 0..self.words.len() {
            self.take_or_flag(w, 0)?;
        }
        self.queue_shared_locked(wl, waker)
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

    /// Sets worker `i`'s down bit and life, under the lock; false if it was down already.
    fn set_down_locked(&self, wl: &mut Waiters, i: usize, life: Life) -> bool {
        let (w, bit) = split(i);
        wl.life[i] = life;
        if self.down[w].fetch_or(bit, Ordering::Relaxed) & bit != 0 {
            return false;
        }
        self.up_count.fetch_sub(1, Ordering::Relaxed);
        true
    }

    /// Worker `i`, owned by the caller, lost its connection, and an attempt to reconnect it
    /// starts now. Keyless callers queued on it choose again; keyed ones wait for the attempt.
    pub(in crate::core) fn mark_down(&self, i: usize) {
        let mut wl = lock(&self.waiters);
        let mut wake = WakeList::new();
        if self.set_down_locked(&mut wl, i, Life::Connecting) {
            wl.refuse_worker(i, false, Refusal::Reroute, &mut wake);
        }
        self.finish_down_locked(wl, wake);
    }

    /// Worker `i`, owned by the caller, lost its connection and the attempt to replace it
    /// (made by the caller, at `now`) failed: as [`Core::mark_down`] followed by
    /// [`Core::attempt_failed`].
    pub(in crate::core) fn mark_down_failed(&self, i: usize, now: u64) {
        let mut wl = lock(&self.waiters);
        let mut wake = WakeList::new();
        if self.set_down_locked(&mut wl, i, Life::Failed(now)) {
            wl.refuse_worker(i, false, Refusal::Reroute, &mut wake);
        }
        self.failed_locked(&mut wl, i, now, &mut wake);
        self.finish_down_locked(wl, wake);
    }

    fn finish_down_locked(&self, mut wl: sync::MutexGuard<'_, Waiters>, mut wake: WakeList) {
        self.sync_counts_locked(&wl);
        wake.extend(wl.closing_waker.take());
        drop(wl);
        wake.into_iter().for_each(Waker::wake);
    }

    /// The reconnect task of down worker `i` starts an attempt (its backoff ran out).
    pub(in crate::core) fn begin_attempt(&self, i: usize) {
        let mut wl = lock(&self.waiters);
        if wl.life[i] != Life::Retired {
            wl.life[i] = Life::Connecting;
        }
        wl.kicked[i] = false;
    }

    /// The attempt of down worker `i` failed at `now` (the caller has stored its error):
    /// whoever waited for it is refused with that error.
    pub(in crate::core) fn attempt_failed(&self, i: usize, now: u64) {
        let mut wl = lock(&self.waiters);
        let mut wake = WakeList::new();
        if wl.life[i] != Life::Retired {
            wl.life[i] = Life::Failed(now);
        }
        self.failed_locked(&mut wl, i, now, &mut wake);
        self.sync_counts_locked(&wl);
        drop(wl);
        wake.into_iter().for_each(Waker::wake);
    }

    /// After worker `i`'s attempt failed: its keyed waiters are refused; with no worker up
    /// and no other attempt in flight, so is everyone else.
    fn failed_locked(&self, wl: &mut Waiters, i: usize, now: u64, wake: &mut WakeList) {
        wl.last_failure = Some((i as u32, now));
        let refusal = Refusal::Unavailable(i as u32);
        wl.refuse_worker(i, true, refusal, wake);
        if self.up_count.load(Ordering::Relaxed) == 0 && !wl.any_connecting() {
            for j in 0..self.workers {
                wl.refuse_worker(j, true, refusal, wake);
            }
            wl.refuse_shared(refusal, wake);
        }
    }

    /// Polled by the reconnect task of down worker `i` while it waits out its backoff:
    /// ready once a caller or another worker's success asks it to try now.
    pub(in crate::core) fn poll_kick(&self, i: usize, waker: &Waker) -> std::task::Poll<()> {
        let mut wl = lock(&self.waiters);
        if std::mem::take(&mut wl.kicked[i]) {
            return std::task::Poll::Ready(());
        }
        match &mut wl.kick_wakers[i] {
            Some(w) if w.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
        std::task::Poll::Pending
    }

    /// Marks worker `i`, owned by the caller, as connected again and releases it. The
    /// backend answers, so every other down worker whose attempt failed tries again now.
    pub(in crate::core) fn mark_up(&self, i: usize) {
        let (w, bit) = split(i);
        let mut wl = lock(&self.waiters);
        if self.down[w].fetch_and(!bit, Ordering::Relaxed) & bit != 0 {
            self.up_count.fetch_add(1, Ordering::Relaxed);
        }
        wl.life[i] = Life::Up;
        let mut wake = WakeList::new();
        for j in 0..self.workers {
            if matches!(wl.life[j], Life::Failed(_)) {
                wake.extend(wl.kick(j));
            }
        }
        wake.extend(self.hand_off_locked(&mut wl, i));
        wake.extend(wl.closing_waker.take());
        drop(wl);
        wake.into_iter().for_each(Waker::wake);
    }

    /// Takes worker `i`, owned by the caller, out of the pool for good (shutdown).
    pub(in crate::core) fn retire(&self, i: usize) {
        let mut wl = lock(&self.waiters);
        self.set_down_locked(&mut wl, i, Life::Retired);
        let closing = wl.closing_waker.take();
        drop(wl);
        closing.into_iter().for_each(Waker::wake);
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

    /// The `rank`-th worker that is up (0-based, in index order), if there are that many.
    pub(crate) fn nth_up(&self, mut rank: usize) -> Option<usize> {
        for (w, down) in self.down.iter().enumerate() {
            let in_word = (self.workers - w * WORD_BITS).min(WORD_BITS);
            let mut up = !down.load(Ordering::Relaxed) & ((1u64 << in_word) - 1);
            let count = up.count_ones() as usize;
            if rank >= count {
                rank -= count;
                continue;
            }
            for _ in 0..rank {
                up &= up - 1;
            }
            return Some(w * WORD_BITS + up.trailing_zeros() as usize);
        }
        None
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.words[0].load(Ordering::Relaxed) & CLOSED != 0
    }

    /// Refuses every waiter and every later acquire, and wakes the reconnect tasks so they
    /// stop. Workers already out come back with [`Core::release`] as usual, so shutdown can
    /// wait for them.
    pub(crate) fn close(&self) {
        let mut wl = lock(&self.waiters);
        for word in self.words.iter() {
            word.fetch_or(CLOSED, Ordering::AcqRel);
        }
        let mut wake = WakeList::new();
        for j in 0..self.workers {
            wl.refuse_worker(j, true, Refusal::Closed, &mut wake);
            if wl.life[j] != Life::Up {
                wake.extend(wl.kick(j));
            }
        }
        wl.refuse_shared(Refusal::Closed, &mut wake);
        drop(wl);
        wake.into_iter().for_each(Waker::wake);
    }

    /// Registers `waker` to be woken by the next release, reconnect or retirement, for
    /// shutdown's drain.
    pub(crate) fn wake_on_release(&self, waker: &Waker) {
        lock(&self.waiters).closing_waker = Some(waker.clone());
    }

    /// Takes every idle worker out, for shutdown: once closed, an idle worker is never
    /// taken again; the caller drops its connection and retires it.
    pub(in crate::core) fn take_idle(&self) -> Vec<usize> {
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

    /// Worker `i`'s connection state.
    #[cfg(all(test, not(pool_loom)))]
    pub(crate) fn life(&self, i: usize) -> Life {
        lock(&self.waiters).life[i]
    }
}

/// Resolves to a worker index; see [`Core::acquire`]. Dropping it at any point loses nothing.
pub(crate) struct Acquire<'a> {
    core: &'a Core,
    target: Target,
    now: u64,
    node: u32,
}

impl Future for Acquire<'_> {
    type Output = Result<usize, Refusal>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let core = self.core;
        if self.node == NIL {
            let fast = match self.target {
                Target::Any | Target::IdleOnly => core.try_acquire_any(),
                Target::Worker(i) | Target::Keyed(i) => core.try_acquire(i).then_some(i),
                Target::Prefer(i) => core
                    .try_acquire(i)
                    .then_some(i)
                    .or_else(|| core.try_acquire_any()),
            };
            if let Some(i) = fast {
                return Poll::Ready(Ok(i));
            }
            let mut wake = WakeList::new();
            let mut wl = lock(&core.waiters);
            let result = core.enqueue_locked(&mut wl, self.target, self.now, cx.waker(), &mut wake);
            drop(wl);
            wake.into_iter().for_each(Waker::wake);
            return match result {
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
                core.sync_counts_locked(&wl);
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
