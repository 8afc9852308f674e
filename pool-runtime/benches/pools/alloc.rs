//! A counting global allocator: the system allocator plus two counters.
//!
//! Counting is off unless a measurement turned it on, so the latency and throughput
//! benchmarks pay one relaxed load of a read-only flag per allocation, not a contended
//! read-modify-write on a shared cache line.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

#[inline]
fn count(size: usize) {
    if ON.load(Ordering::Relaxed) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(size as u64, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to `System`; counting touches only atomics and
// never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A grown buffer is an allocation as far as a hot path is concerned.
        count(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations (and bytes requested) during a measurement, all threads together.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Count {
    pub allocs: u64,
    pub bytes: u64,
    pub ops: u64,
}

impl Count {
    pub fn per_op(&self) -> f64 {
        self.allocs as f64 / self.ops.max(1) as f64
    }

    pub fn bytes_per_op(&self) -> f64 {
        self.bytes as f64 / self.ops.max(1) as f64
    }
}

/// Counts the allocations made (by any thread) from `start()` until [`Meter::stop`].
/// Measurements must not overlap.
pub fn start() -> Meter {
    let meter = Meter {
        allocs: ALLOCS.load(Ordering::SeqCst),
        bytes: BYTES.load(Ordering::SeqCst),
    };
    ON.store(true, Ordering::SeqCst);
    meter
}

pub struct Meter {
    allocs: u64,
    bytes: u64,
}

impl Meter {
    /// Stops counting; `ops` is how many operations ran meanwhile.
    pub fn stop(self, ops: usize) -> Count {
        ON.store(false, Ordering::SeqCst);
        Count {
            allocs: ALLOCS.load(Ordering::SeqCst) - self.allocs,
            bytes: BYTES.load(Ordering::SeqCst) - self.bytes,
            ops: ops as u64,
        }
    }
}
