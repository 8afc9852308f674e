//! worker_pool's worker-selection strategies, as zero-sized types.
//!
//! Each strategy turns "a caller wants a worker" into a [`Target`]: any idle worker (with a
//! shared wait queue), or one chosen worker (with that worker's own queue). The choice is
//! monomorphised into [`crate::Pool::get`]: no dynamic dispatch.
//!
//! Keyless strategies choose among the workers that are up: a call is never sent to a worker
//! that is reconnecting while another has a connection. Only when every worker is down does a
//! caller wait for a reconnection (within `call_timeout`), or get the error of the attempt
//! that just failed.

use std::cell::Cell;

use crate::core::{Core, Target};

pub(crate) mod sealed {
    use crate::core::{Core, Target};

    /// The choice rule, kept out of the public API.
    pub trait Sealed {
        /// How shared use picks a worker (see `shared.rs`).
        const SHARED_PICK: crate::strategy::SharedPick = crate::strategy::SharedPick::Least;
        /// Whether `queue_type` orders this strategy's shared wait queue (worker_pool applies
        /// it to `available_worker` only; every other wait is FIFO).
        const USES_QUEUE_TYPE: bool = false;
        fn target(core: &Core, next: &std::sync::atomic::AtomicUsize) -> Target;
    }
}

/// A worker-selection strategy (`strategy = …` in a declaration).
pub trait Strategy: sealed::Sealed + Send + Sync + Copy + Default + 'static {
    /// The declaration name, e.g. `"best_worker"`.
    const NAME: &'static str;
}

/// A strategy that needs no key: [`crate::Pool::get`] and [`crate::Pool::call`] exist only
/// for these. [`HashWorker`] pools take keyed calls only.
#[diagnostic::on_unimplemented(
    message = "a `{Self}` pool takes keyed calls only: use `get_by(&key)`, `call_by(&key, …)` or `cast_by(&key, …)`",
    label = "needs a key: `{Self}` sends the same key to the same worker",
    note = "declare another `strategy` (e.g. `best_worker`) for calls without a key"
)]
pub trait Keyless: Strategy {}

/// An idle worker if there is one (chosen at random among them, so every connection stays
/// in use); otherwise the caller waits in one FIFO queue served by whichever worker frees up
/// first. worker_pool's and MongooseIM's default.
///
/// worker_pool sends the call to the worker with the shortest queue and it waits there; when
/// every caller waits, one shared queue is what "shortest queue" approximates, without its
/// failure mode: a caller stuck behind one slow call while other workers are free. So waits
/// stay in arrival order, and `max_worker_queue_len = L` refuses a caller once `L × workers`
/// wait (when every worker's queue would hold `L`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BestWorker;

/// A random worker among those that are up; callers queue on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RandomWorker;

/// Round robin; callers queue on the worker whose turn it is. A down worker's turn passes
/// to the next worker in the rotation (the counter moves on, so the workers that are up
/// share the calls evenly).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NextWorker;

/// The first idle worker; otherwise callers wait in one shared queue (FIFO or LIFO, see
/// `queue_type`) and each released worker goes to the head of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AvailableWorker;

/// The first idle worker, or [`crate::Error::NoAvailableWorkers`] at once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NextAvailableWorker;

/// Same key, same worker (worker_pool's `{hash_worker, Key}`): keyed calls only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashWorker;

impl Keyless for BestWorker {}
impl Keyless for RandomWorker {}
impl Keyless for NextWorker {}
impl Keyless for AvailableWorker {}
impl Keyless for NextAvailableWorker {}

impl Strategy for BestWorker {
    const NAME: &'static str = "best_worker";
}

impl sealed::Sealed for BestWorker {
    #[inline]
    fn target(core: &Core, _: &std::sync::atomic::AtomicUsize) -> Target {
        // A random start spreads the idle picks, as worker_pool's tie-break does.
        match core.idle_from(random_below(core.workers())) {
            Some(i) => Target::Prefer(i),
            None => Target::Any,
        }
    }
}

impl Strategy for RandomWorker {
    const NAME: &'static str = "random_worker";
}

impl sealed::Sealed for RandomWorker {
    const SHARED_PICK: crate::strategy::SharedPick = crate::strategy::SharedPick::Random;
    fn target(core: &Core, _: &std::sync::atomic::AtomicUsize) -> Target {
        let i = random_below(core.workers());
        if !core.is_down(i) {
            return Target::Worker(i);
        }
        let up = core.up_count();
        Target::Worker(core.nth_up(random_below(up.max(1))).unwrap_or(i))
    }
}

impl Strategy for NextWorker {
    const NAME: &'static str = "next_worker";
}

impl sealed::Sealed for NextWorker {
    const SHARED_PICK: crate::strategy::SharedPick = crate::strategy::SharedPick::Next;
    fn target(core: &Core, next: &std::sync::atomic::AtomicUsize) -> Target {
        let n = core.workers();
        let mut i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % n;
        for _ in 1..n {
            if !core.is_down(i) {
                break;
            }
            i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % n;
        }
        Target::Worker(i)
    }
}

impl Strategy for AvailableWorker {
    const NAME: &'static str = "available_worker";
}

impl sealed::Sealed for AvailableWorker {
    const SHARED_PICK: crate::strategy::SharedPick = crate::strategy::SharedPick::Fill;
    const USES_QUEUE_TYPE: bool = true;
    #[inline]
    fn target(_: &Core, _: &std::sync::atomic::AtomicUsize) -> Target {
        Target::Any
    }
}

impl Strategy for NextAvailableWorker {
    const NAME: &'static str = "next_available_worker";
}

impl sealed::Sealed for NextAvailableWorker {
    #[inline]
    fn target(_: &Core, _: &std::sync::atomic::AtomicUsize) -> Target {
        Target::IdleOnly
    }
}

impl Strategy for HashWorker {
    const NAME: &'static str = "hash_worker";
}

impl sealed::Sealed for HashWorker {
    fn target(core: &Core, _: &std::sync::atomic::AtomicUsize) -> Target {
        // Never reached: HashWorker is not `Keyless`, so only keyed calls exist.
        Target::Keyed(random_below(core.workers()))
    }
}

/// How a strategy picks a worker for shared use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(hidden)]
pub enum SharedPick {
    /// The worker with the fewest callers in flight (`best_worker`).
    Least,
    /// The first worker with fewer than `shared_depth` callers in flight, else the least
    /// loaded (`available_worker`: "available" means healthy and below an in-flight limit).
    /// Filling a few connections deeply batches more requests per round trip, and keeps
    /// fewer server backends busy, than spreading them.
    Fill,
    /// Round robin (`next_worker`).
    Next,
    /// At random (`random_worker`).
    Random,
}

/// The worker a shared caller joins under `rule`, among `n` workers: `load(i)` is worker
/// `i`'s callers in flight (`None` while it is owned or down), and `join(i)` tries to join it
/// (`None` if it was taken meanwhile or its connection is closed). `depth` is `shared_depth`.
/// `None`: every worker is owned or down, so the caller waits for one exclusively.
#[inline]
pub(crate) fn pick_shared<J>(
    rule: SharedPick,
    n: usize,
    next: &std::sync::atomic::AtomicUsize,
    depth: u32,
    load: impl Fn(usize) -> Option<u32>,
    mut join: impl FnMut(usize) -> Option<J>,
) -> Option<J> {
    let start = match rule {
        SharedPick::Next => next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % n,
        SharedPick::Random | SharedPick::Least | SharedPick::Fill => random_below(n),
    };
    if rule == SharedPick::Fill {
        for i in 0..n {
            if load(i).is_some_and(|users| users < depth)
                && let Some(joined) = join(i)
            {
                return Some(joined);
            }
        }
    }
    if matches!(rule, SharedPick::Least | SharedPick::Fill) {
        let mut least: Option<(u32, usize)> = None;
        for k in 0..n {
            let i = (start + k) % n;
            let Some(users) = load(i) else { continue };
            if users == 0
                && let Some(joined) = join(i)
            {
                return Some(joined);
            }
            if least.is_none_or(|(l, _)| users < l) {
                least = Some((users, i));
            }
        }
        if let Some((_, i)) = least
            && let Some(joined) = join(i)
        {
            return Some(joined);
        }
    }
    (0..n).map(|k| (start + k) % n).find_map(join)
}

/// The worker for a key: the same key always maps to the same worker of a pool this size.
pub(crate) fn worker_for_key<K: std::hash::Hash + ?Sized>(key: &K, workers: usize) -> usize {
    use std::hash::{BuildHasher, BuildHasherDefault};
    // A fixed-key SipHash: stable across runs, unlike `RandomState`.
    let h =
        BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(key);
    ((u128::from(h) * workers as u128) >> 64) as usize
}

/// A fast thread-local xorshift: random_worker needs spread, not cryptography.
pub(crate) fn random_below(n: usize) -> usize {
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let seed = &STATE as *const _ as u64 ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            seed | 1
        });
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        ((u128::from(x) * n as u128) >> 64) as usize
    })
}
