//! A connector the runtime tests can steer: it fails, recovers, breaks and hangs on demand.
//! (The runtime is the unit under test here; connectors to real servers are tested against
//! real servers in their own suites.)

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use pool_runtime::ManageConnection;

#[derive(Debug, Default)]
pub struct Switches {
    /// connect() fails while set.
    pub refuse: AtomicBool,
    /// connect() never finishes while set.
    pub hang: AtomicBool,
    /// is_valid() fails while set.
    pub invalid: AtomicBool,
    /// is_valid() never finishes while set.
    pub hang_checks: AtomicBool,
    /// Every this many-th connect fails (0: none).
    pub fail_every: AtomicUsize,
    /// has_broken() reports true while set.
    pub broken: AtomicBool,
    /// The next this many connects fail.
    pub fail_next: AtomicUsize,
    pub connects: AtomicUsize,
    pub checks: AtomicUsize,
    next_id: AtomicU64,
}

/// Switch selectors for [`Steerable::set`].
pub fn refuse(s: &Switches) -> &AtomicBool {
    &s.refuse
}
pub fn broken(s: &Switches) -> &AtomicBool {
    &s.broken
}
pub fn invalid(s: &Switches) -> &AtomicBool {
    &s.invalid
}
pub fn hang(s: &Switches) -> &AtomicBool {
    &s.hang
}
pub fn hang_checks(s: &Switches) -> &AtomicBool {
    &s.hang_checks
}

/// Each connection is a fresh id, so a test can tell a replaced connection from the old one.
#[derive(Clone, Debug, Default)]
pub struct Steerable(pub Arc<Switches>);

#[derive(Debug, PartialEq, Eq)]
pub struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Refused")
    }
}

impl std::error::Error for Refused {}

impl Steerable {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn set(&self, flag: fn(&Switches) -> &AtomicBool, on: bool) {
        flag(&self.0).store(on, Ordering::SeqCst);
    }
    pub fn connects(&self) -> usize {
        self.0.connects.load(Ordering::SeqCst)
    }
    pub fn checks(&self) -> usize {
        self.0.checks.load(Ordering::SeqCst)
    }
}

impl ManageConnection for Steerable {
    type Connection = u64;
    type Error = Refused;

    async fn connect(&self) -> Result<u64, Refused> {
        let n = self.0.connects.fetch_add(1, Ordering::SeqCst) + 1;
        let every = self.0.fail_every.load(Ordering::SeqCst);
        if every > 0 && n.is_multiple_of(every) {
            return Err(Refused);
        }
        while self.0.hang.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let failing_next = self
            .0
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing_next || self.0.refuse.load(Ordering::SeqCst) {
            return Err(Refused);
        }
        Ok(self.0.next_id.fetch_add(1, Ordering::SeqCst))
    }

    async fn is_valid(&self, _: &mut u64) -> Result<(), Refused> {
        self.0.checks.fetch_add(1, Ordering::SeqCst);
        while self.0.hang_checks.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if self.0.invalid.load(Ordering::SeqCst) {
            Err(Refused)
        } else {
            Ok(())
        }
    }

    fn has_broken(&self, _: &mut u64) -> bool {
        self.0.broken.load(Ordering::SeqCst)
    }
}

pub use test_support::eventually;
