//! The workers' connections, and the only code that reaches them: every `unsafe` for a
//! worker's connection is in this module, and so is every call of the core that hands a
//! worker to an owner or takes it back (those are visible to `core` and this module only).
//!
//! # The contract
//!
//! Each worker's connection lives in an `UnsafeCell` of its [`Slot`]. Two kinds of party
//! reach it, and this module makes the only proofs of either:
//!
//! - **The worker's owner.** At any time a worker has at most one owner. The core hands an
//!   idle worker to exactly one caller (its `try_acquire`, `try_acquire_any`, `acquire` and
//!   `take_idle`, with Acquire ordering against the Release of the hand-back), and a new
//!   pool's workers start down, owned by whoever connects them. A [`Claim`] is that ownership
//!   as a value: made only here, from what the core just returned, neither `Clone` nor
//!   `Copy`, and given up only by handing the worker on ([`Slots::release`],
//!   [`Slots::retire`]), which consumes it. A claim is only ever used with the [`Slots`] that
//!   made it (checked).
//! - **Shared users** (multiplexed pools only). They count in the slot's `users` while its
//!   `EXCLUSIVE` bit is clear; a [`SharedUse`] is one such count as a guard and reads the
//!   connection through `&` (so the connection must be `Sync`).
//!
//! An owner reaches the connection only as an [`Owned`]: a claim on a worker with no shared
//! user left (`EXCLUSIVE` set and the count drained, [`Slots::try_exclusive`]). `EXCLUSIVE`
//! is set from a worker's start and while it is owned, and cleared only when an owner gives
//! an up worker back in a multiplexed pool. So an owner's `&mut` never aliases a shared
//! user's `&`, and the `&mut` borrows the `Owned`, so there is one at a time.

use std::cell::UnsafeCell;
use std::future::Future;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

use super::{Core, Refusal, Target};

/// In a slot's `users`: the worker is owned (or down); shared users keep off.
const EXCLUSIVE: u32 = 1 << 31;

/// One worker: its connection and what the maintenance task tracks about it.
pub(crate) struct Slot<T> {
    conn: UnsafeCell<Option<T>>,
    /// Returned since the last maintenance tick.
    pub(crate) used: AtomicBool,
    /// Idle for a whole tick: validate before handing out.
    pub(crate) stale: AtomicBool,
    /// Coarse time (ms since the pool's epoch, plus one) a watched guard was taken; 0 = none.
    pub(crate) since: AtomicU64,
    pub(crate) warnings: AtomicU64,
    /// Reached `max_overrun_warnings`: replace the connection when it comes back.
    pub(crate) poisoned: AtomicBool,
    /// Shared users, plus `EXCLUSIVE` while the worker is owned or down.
    users: AtomicU32,
    /// Woken when the last shared user leaves while an owner waits.
    drained: tokio::sync::Notify,
}

// SAFETY: see the module's contract: `&mut` to the connection only through the one `Owned`
// of the worker (so `T: Send` is what moving it between owners' threads needs), `&` shared
// only through `SharedUse`, which requires `T: Sync`.
unsafe impl<T: Send> Sync for Slot<T> {}

impl<T> Slot<T> {
    fn new() -> Self {
        Slot {
            conn: UnsafeCell::new(None),
            used: AtomicBool::new(false),
            stale: AtomicBool::new(false),
            since: AtomicU64::new(0),
            warnings: AtomicU64::new(0),
            poisoned: AtomicBool::new(false),
            users: AtomicU32::new(EXCLUSIVE),
            drained: tokio::sync::Notify::new(),
        }
    }

    /// Shared users on it now (0 while it is owned and drained).
    pub(crate) fn shared_users(&self) -> u32 {
        self.users.load(Ordering::Relaxed) & !EXCLUSIVE
    }

    /// Its load for shared use: callers in flight, `None` while it is owned or down.
    #[inline]
    pub(crate) fn shared_load(&self) -> Option<u32> {
        let users = self.users.load(Ordering::Relaxed);
        (users & EXCLUSIVE == 0).then_some(users)
    }

    fn leave(&self) {
        if self.users.fetch_sub(1, Ordering::Release) == EXCLUSIVE | 1 {
            self.drained.notify_waiters();
        }
    }
}

/// Ownership of one worker, as the core handed it out (see the module's contract).
#[must_use = "a claim dropped without handing the worker on loses the worker"]
pub(crate) struct Claim {
    idx: usize,
    table: usize,
}

/// A [`Claim`] on a worker no shared user is on: its owner may reach the connection.
#[must_use = "an owned worker dropped without handing it on loses the worker"]
pub(crate) struct Owned(Claim);

impl Owned {
    /// The worker's index.
    #[inline]
    pub(crate) fn worker(&self) -> usize {
        self.0.idx
    }
}

impl From<Owned> for Claim {
    fn from(owned: Owned) -> Claim {
        owned.0
    }
}

/// One shared user's count on a worker: reads its connection until dropped.
pub(crate) struct SharedUse<'a, T> {
    slot: &'a Slot<T>,
    idx: usize,
}

impl<T> SharedUse<'_, T> {
    /// The worker's index.
    pub(crate) fn worker(&self) -> usize {
        self.idx
    }

    /// The connection (`None` only for a worker that went down, never for one open to
    /// shared use).
    #[inline]
    pub(crate) fn conn(&self) -> Option<&T> {
        // SAFETY: this guard counts as a shared user while `EXCLUSIVE` was clear, so no owner
        // reaches the connection until it leaves; `Slots::join` requires `T: Sync`.
        unsafe { (*self.slot.conn.get()).as_ref() }
    }
}

impl<T> Drop for SharedUse<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.slot.leave();
    }
}

/// Every worker's slot, and the hand-outs and hand-overs of their ownership.
pub(crate) struct Slots<T> {
    slots: Box<[CachePadded<Slot<T>>]>,
    multiplexed: bool,
}

impl<T> Deref for Slots<T> {
    type Target = [CachePadded<Slot<T>>];

    fn deref(&self) -> &Self::Target {
        &self.slots
    }
}

impl<T> Slots<T> {
    /// `workers` slots without a connection, and their owners: whoever connects them.
    pub(crate) fn new(workers: usize, multiplexed: bool) -> (Self, Vec<Owned>) {
        let slots = Slots {
            slots: (0..workers)
                .map(|_| CachePadded::new(Slot::new()))
                .collect(),
            multiplexed,
        };
        let table = slots.table();
        let owners = (0..workers)
            .map(|idx| Owned(Claim { idx, table }))
            .collect();
        (slots, owners)
    }

    fn table(&self) -> usize {
        self.slots.as_ptr() as usize
    }

    #[inline]
    fn claim(&self, idx: usize) -> Claim {
        Claim {
            idx,
            table: self.table(),
        }
    }

    #[inline]
    fn slot_of(&self, claim: &Claim) -> &Slot<T> {
        assert_eq!(claim.table, self.table(), "a claim of another pool");
        &self.slots[claim.idx]
    }

    /// Worker `i`, if it is idle.
    #[inline]
    pub(crate) fn try_acquire(&self, core: &Core, i: usize) -> Option<Claim> {
        core.try_acquire(i).then(|| self.claim(i))
    }

    /// The lowest idle worker, if any.
    #[inline]
    pub(crate) fn try_acquire_any(&self, core: &Core) -> Option<Claim> {
        core.try_acquire_any().map(|i| self.claim(i))
    }

    /// Waits in the core's queues for a worker for `target`.
    pub(crate) fn acquire<'a>(
        &'a self,
        core: &'a Core,
        target: Target,
        now: u64,
    ) -> impl Future<Output = Result<Claim, Refusal>> + 'a {
        let acquire = core.acquire(target, now);
        async move { acquire.await.map(|i| self.claim(i)) }
    }

    /// Every idle worker, taken for good (the pool is closed).
    pub(crate) fn take_idle(&self, core: &Core) -> Vec<Claim> {
        core.take_idle()
            .into_iter()
            .map(|i| self.claim(i))
            .collect()
    }

    /// Keeps new shared users off the claimed worker; `Ok` once none is left in flight.
    #[inline]
    pub(crate) fn try_exclusive(&self, claim: Claim) -> Result<Owned, Claim> {
        if !self.multiplexed {
            return Ok(Owned(claim));
        }
        let slot = self.slot_of(&claim);
        if slot.users.fetch_or(EXCLUSIVE, Ordering::Acquire) & !EXCLUSIVE == 0 {
            Ok(Owned(claim))
        } else {
            Err(claim)
        }
    }

    /// Makes the owner of the claimed worker its only user: keeps shared users off and waits
    /// for those in flight to leave. Cancel-safe: dropping the future keeps the claim where
    /// it was, with the caller.
    pub(crate) async fn exclusive(&self, mut claim: Claim) -> Owned {
        loop {
            claim = match self.try_exclusive(claim) {
                Ok(owned) => return owned,
                Err(claim) => claim,
            };
            self.drained(&claim).await;
        }
    }

    /// [`Slots::exclusive`] without giving the claim to the future, so a caller whose
    /// deadline passes still holds it: resolves once no shared user is in flight.
    pub(crate) async fn drained(&self, claim: &Claim) {
        let slot = self.slot_of(claim);
        slot.users.fetch_or(EXCLUSIVE, Ordering::Acquire);
        loop {
            let drained = slot.drained.notified();
            if slot.users.load(Ordering::Acquire) & !EXCLUSIVE == 0 {
                return;
            }
            drained.await;
        }
    }

    /// The owned worker's connection.
    #[inline]
    pub(crate) fn conn<'a>(&'a self, owned: &'a Owned) -> &'a Option<T> {
        let slot = self.slot_of(&owned.0);
        // SAFETY: `owned` is the worker's one owner and no shared user is on it, so nothing
        // mutates the connection while the `&Owned` borrow lives.
        unsafe { &*slot.conn.get() }
    }

    /// The owned worker's connection, mutably: to use, install, replace or drop it.
    #[inline]
    pub(crate) fn conn_mut<'a>(&'a self, owned: &'a mut Owned) -> &'a mut Option<T> {
        let slot = self.slot_of(&owned.0);
        // SAFETY: as in `conn`; the `&mut Owned` borrow makes this the only reference.
        unsafe { &mut *slot.conn.get() }
    }

    /// Gives the claimed worker back to the pool: to the next waiter, else idle; shared users
    /// are admitted again.
    #[inline]
    pub(crate) fn release(&self, core: &Core, claim: impl Into<Claim>) {
        let claim = claim.into();
        if self.multiplexed {
            self.slot_of(&claim)
                .users
                .fetch_and(!EXCLUSIVE, Ordering::Release);
        }
        core.release(claim.idx);
    }

    /// Installs a fresh connection in the owned worker, marks it up and gives it to the pool.
    pub(crate) fn mark_up(&self, core: &Core, mut owned: Owned, conn: T) {
        *self.conn_mut(&mut owned) = Some(conn);
        let slot = self.slot_of(&owned.0);
        slot.stale.store(false, Ordering::Relaxed);
        slot.used.store(true, Ordering::Relaxed);
        if self.multiplexed {
            slot.users.fetch_and(!EXCLUSIVE, Ordering::Release);
        }
        core.mark_up(owned.worker());
    }

    /// The owned worker lost its connection, and an attempt to reconnect it starts now.
    pub(crate) fn mark_down(&self, core: &Core, owned: &mut Owned) {
        drop(self.conn_mut(owned).take());
        core.mark_down(owned.worker());
    }

    /// The owned worker lost its connection and the attempt to replace it, made at `now`,
    /// failed.
    pub(crate) fn mark_down_failed(&self, core: &Core, owned: &mut Owned, now: u64) {
        drop(self.conn_mut(owned).take());
        core.mark_down_failed(owned.worker(), now);
    }

    /// The owned, down worker starts a connection attempt.
    pub(crate) fn begin_attempt(&self, core: &Core, owned: &Owned) {
        core.begin_attempt(owned.worker());
    }

    /// The owned, down worker's attempt failed at `now`.
    pub(crate) fn attempt_failed(&self, core: &Core, owned: &Owned, now: u64) {
        core.attempt_failed(owned.worker(), now);
    }

    /// Ready once the owned, down worker is asked to try connecting now.
    pub(crate) fn poll_kick(
        &self,
        core: &Core,
        owned: &Owned,
        waker: &std::task::Waker,
    ) -> std::task::Poll<()> {
        core.poll_kick(owned.worker(), waker)
    }

    /// Ends the claimed worker for good (the pool is shut down).
    pub(crate) fn retire(&self, core: &Core, claim: impl Into<Claim>) {
        core.retire(claim.into().idx);
    }
}

impl<T: Sync> Slots<T> {
    /// Joins worker `i` as a shared user, unless someone owns it (or it is down).
    #[inline]
    pub(crate) fn join(&self, i: usize) -> Option<SharedUse<'_, T>> {
        let slot = &self.slots[i];
        if slot.users.fetch_add(1, Ordering::Acquire) & EXCLUSIVE == 0 {
            Some(SharedUse { slot, idx: i })
        } else {
            slot.leave();
            None
        }
    }
}

#[cfg(all(test, not(pool_loom)))]
mod tests {
    use super::*;

    /// One multiplexed worker, up and idle.
    fn one_up() -> (Core, Slots<String>) {
        let core = Core::new(1, false, None);
        let (slots, mut owners) = Slots::new(1, true);
        slots.mark_up(&core, owners.pop().unwrap(), "conn".to_owned());
        (core, slots)
    }

    #[test]
    fn owners_and_shared_users_exclude_each_other() {
        let (core, slots) = one_up();
        let shared = slots.join(0).expect("an idle worker is open to shared use");
        assert_eq!(shared.conn().map(String::as_str), Some("conn"));
        let claim = slots.try_acquire(&core, 0).expect("idle in the core");
        // A shared user is still on it: no owner access yet, and no new shared user.
        let claim = slots
            .try_exclusive(claim)
            .err()
            .expect("a shared user is in");
        assert!(slots.join(0).is_none());
        drop(shared);
        let mut owned = slots.try_exclusive(claim).ok().expect("drained");
        slots.conn_mut(&mut owned).as_mut().unwrap().push('!');
        assert!(slots.join(0).is_none(), "owned: shared users keep off");
        slots.release(&core, owned);
        assert_eq!(
            slots.join(0).unwrap().conn().map(String::as_str),
            Some("conn!")
        );
    }

    #[test]
    fn a_worker_starts_owned_and_closed_to_shared_use() {
        let core = Core::new(1, false, None);
        let (slots, owners) = Slots::<String>::new(1, true);
        assert!(slots.join(0).is_none());
        assert!(slots.try_acquire(&core, 0).is_none());
        slots.mark_up(&core, owners.into_iter().next().unwrap(), "c".into());
        assert!(slots.join(0).is_some());
    }

    #[test]
    #[should_panic(expected = "a claim of another pool")]
    fn a_claim_works_only_with_its_own_slots() {
        let (core, slots) = one_up();
        let (_other_core, other) = one_up();
        let mut owned = slots
            .try_exclusive(slots.try_acquire(&core, 0).unwrap())
            .ok()
            .unwrap();
        let _ = other.conn_mut(&mut owned);
    }
}
