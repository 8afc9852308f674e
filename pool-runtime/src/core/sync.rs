//! The synchronisation primitives the core uses, switched to loom's models under `--cfg pool_loom`
//! so the hand-off can be model-checked (see `loom_tests.rs`).

#[cfg(pool_loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
#[cfg(pool_loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

#[cfg(not(pool_loom))]
pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
#[cfg(not(pool_loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning: the core never panics while holding the lock, and a panic
/// elsewhere must not wedge every later caller.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    #[cfg(pool_loom)]
    {
        m.lock().unwrap()
    }
    #[cfg(not(pool_loom))]
    {
        m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
