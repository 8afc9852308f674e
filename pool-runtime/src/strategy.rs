//! worker_pool's worker-selection strategies, as zero-sized types.
//!
//! Each strategy turns "a caller wants a worker" into a [`Target`]: any idle worker (with a
//! shared wait queue), or one chosen worker (with that worker's own queue). The choice is
//! monomorphised into [`crate::Pool::get`]: no dynamic dispatch.

use std::cell::Cell;

use crate::core::{Core, Target};

pub(crate) mod sealed {
    use crate::core::{Core, Target};

    /// The choice rule, kept out of the public API.
    pub trait Sealed {
        /// How shared use picks a worker (see `shared.rs`).
        const SHARED_PICK: crate::shared::SharedPick = crate::shared::SharedPick::Least;
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
pub trait Keyless: Strategy {}

/// The worker with the shortest queue (an idle one if any); callers queue on that worker.
/// worker_pool's and MongooseIM's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BestWorker;

/// A random worker; callers queue on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RandomWorker;

/// Round robin; callers queue on the worker whose turn it is.
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
    fn target(core: &Core, _: &std::sync::atomic::AtomicUsize) -> Target {
        let n = core.workers();
        // A random start spreads ties, as worker_pool does.
        let start = random_below(n);
        if let Some(i) = core.idle_from(start) {
            return Target::Worker(i);
        }
        let mut best = None;
        for k in 0..n {
            let i = (start + k) % n;
            if core.is_down(i) {
                continue;
            }
            let len = core.queue_len(i);
            if best.is_none_or(|(_, l)| len < l) {
                best = Some((i, len));
            }
        }
        Target::Worker(best.map_or(start, |(i, _)| i))
    }
}

impl Strategy for RandomWorker {
    const NAME: &'static str = "random_worker";
}

impl sealed::Sealed for RandomWorker {
    const SHARED_PICK: crate::shared::SharedPick = crate::shared::SharedPick::Random;
    fn target(core: &Core, _: &std::sync::atomic::AtomicUsize) -> Target {
        Target::Worker(first_up(core, random_below(core.workers())))
    }
}

impl Strategy for NextWorker {
    const NAME: &'static str = "next_worker";
}

impl sealed::Sealed for NextWorker {
    const SHARED_PICK: crate::shared::SharedPick = crate::shared::SharedPick::Next;
    fn target(core: &Core, next: &std::sync::atomic::AtomicUsize) -> Target {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % core.workers();
        Target::Worker(first_up(core, i))
    }
}

impl Strategy for AvailableWorker {
    const NAME: &'static str = "available_worker";
}

impl sealed::Sealed for AvailableWorker {
    const SHARED_PICK: crate::shared::SharedPick = crate::shared::SharedPick::Fill;
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
        Target::Worker(random_below(core.workers()))
    }
}

/// The worker for a key: the same key always maps to the same worker of a pool this size.
pub(crate) fn worker_for_key<K: std::hash::Hash + ?Sized>(key: &K, workers: usize) -> usize {
    use std::hash::{BuildHasher, BuildHasherDefault};
    // A fixed-key SipHash: stable across runs, unlike `RandomState`.
    let h =
        BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(key);
    ((u128::from(h) * workers as u128) >> 64) as usize
}

/// `i` if it is connected, else the next connected worker after it (or `i` if none is).
fn first_up(core: &Core, i: usize) -> usize {
    let n = core.workers();
    (0..n)
        .map(|k| (i + k) % n)
        .find(|&j| !core.is_down(j))
        .unwrap_or(i)
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
