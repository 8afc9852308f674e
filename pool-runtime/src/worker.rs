//! A worker's life besides lending its connection: connecting, reconnecting with backoff,
//! keepalive, idle validation and overrun warnings. One maintenance task per pool does the
//! periodic work; a reconnect task exists only while a worker is down.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bb8::ManageConnection;
use tracing::Instrument;

use crate::Conn;
use crate::error::{Cause, ConnectError, PoolName};
use crate::pool::Inner;

/// Which overrun alert a report is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverrunAlert {
    /// The work ran past another `overrun_warning` interval.
    Overrun,
    /// The last allowed warning: a call is abandoned, a held guard's connection is replaced
    /// when it comes back.
    MaxOverrunLimit,
}

/// What an overrun handler is told (worker_pool's `{alert, …}` proplist).
#[derive(Clone, Debug)]
pub struct OverrunReport {
    /// The pool.
    pub pool: PoolName,
    /// The worker.
    pub worker: usize,
    /// Which alert.
    pub alert: OverrunAlert,
    /// How long the work has run so far.
    pub runtime: Duration,
    /// `"call"` for [`crate::Pool::call`], `"guard"` for a [`Conn`] held too long.
    pub held_by: &'static str,
}

pub(crate) fn report_overrun<C: ManageConnection>(
    inner: &Inner<C>,
    worker: usize,
    runtime: Duration,
    last: bool,
    held_by: &'static str,
) {
    inner.metrics.overruns.increment(1);
    let alert = if last {
        OverrunAlert::MaxOverrunLimit
    } else {
        OverrunAlert::Overrun
    };
    tracing::warn!(pool = %inner.name, worker, ?runtime, ?alert, held_by, "overrun");
    if let Some(handler) = &inner.config.overrun_handler {
        let report = OverrunReport {
            pool: inner.name.clone(),
            worker,
            alert,
            runtime,
            held_by,
        };
        // A failing handler must not take the pool down with it (worker_pool catches too).
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(&report)));
    }
}

/// One connection attempt, bounded by the connect timeout.
pub(crate) async fn connect_once<C: ManageConnection>(
    inner: &Inner<C>,
) -> Result<C::Connection, ConnectError<C::Error>> {
    let limit = inner.config.connect_timeout;
    match tokio::time::timeout(limit, inner.manager.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(ConnectError::Failed(Cause::new(e))),
        Err(_) => Err(ConnectError::TimedOut(limit)),
    }
}

/// Installs a fresh connection in worker `i`, which the caller owns, and lends it out.
pub(crate) fn install<C: ManageConnection>(inner: &Inner<C>, i: usize, conn: C::Connection) {
    let slot = &inner.slots[i];
    // SAFETY: the caller owns worker `i` (it is down, or being started).
    *unsafe { slot.conn_mut() } = Some(conn);
    slot.stale.store(false, Ordering::Relaxed);
    slot.used.store(true, Ordering::Relaxed);
    if inner.config.multiplexed {
        slot.admit();
    }
    inner.core.mark_up(i);
    inner.metrics.workers_up.set(inner.core.up_count() as f64);
}

/// Worker `i`, owned by the caller, lost its connection: drop it and reconnect in the
/// background.
pub(crate) fn down<C: ManageConnection>(inner: &Arc<Inner<C>>, i: usize) {
    // SAFETY: the caller owns worker `i`.
    drop(unsafe { inner.slots[i].conn_mut() }.take());
    if matches!(inner.last_error(), ConnectError::Pending) {
        inner.set_last_error(ConnectError::Lost);
    }
    inner.core.mark_down(i);
    inner.metrics.workers_up.set(inner.core.up_count() as f64);
    if inner.core.is_closed() {
        return;
    }
    tracing::warn!(pool = %inner.name, worker = i, "connection lost; reconnecting");
    let span = tracing::info_span!("outgoing_pools.reconnect", pool = %inner.name, worker = i);
    inner
        .runtime
        .spawn(reconnect(Arc::downgrade(inner), i, 0).instrument(span));
}

/// Reconnects worker `i` with capped, jittered exponential backoff until it succeeds, the
/// pool closes, or the pool is dropped. A pool never gives up on a worker.
pub(crate) async fn reconnect<C: ManageConnection>(weak: Weak<Inner<C>>, i: usize, first: u32) {
    let mut attempt = first;
    loop {
        if attempt > 0 {
            let Some(cap) = weak.upgrade().map(|p| p.config.max_start_interval) else {
                return;
            };
            tokio::time::sleep(backoff(attempt, cap)).await;
        }
        let Some(inner) = weak.upgrade() else { return };
        if inner.core.is_closed() {
            return;
        }
        match connect_once(&inner).await {
            Ok(conn) if !inner.core.is_closed() => {
                // Later failures should not be blamed on this error any more.
                inner.set_last_error(ConnectError::Pending);
                install(&inner, i, conn);
                inner.metrics.reconnects.increment(1);
                tracing::info!(pool = %inner.name, worker = i, attempt, "reconnected");
                return;
            }
            Ok(_) => return,
            Err(e) => {
                inner.metrics.connect_errors.increment(1);
                tracing::warn!(pool = %inner.name, worker = i, attempt, error = %e, "reconnect failed");
                inner.set_last_error(e);
            }
        }
        attempt += 1;
    }
}

/// The delay before attempt `attempt` (1-based): 50 ms doubling up to `cap`, drawn uniformly
/// from its upper half so that workers which failed together do not retry together.
fn backoff(attempt: u32, cap: Duration) -> Duration {
    let exp = Duration::from_millis(50).saturating_mul(1 << attempt.min(20));
    let d = exp.min(cap);
    let half = d / 2;
    let jitter = crate::strategy::random_below(1 << 16) as u32;
    half + half.mul_f64(f64::from(jitter) / f64::from(1u32 << 16))
}

/// The per-pool periodic work: the coarse clock, idle validation marks, overrun warnings of
/// held guards, and keepalive checks.
pub(crate) async fn maintain<C: ManageConnection>(weak: Weak<Inner<C>>, tick: Duration) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_keepalive = tokio::time::Instant::now();
    loop {
        interval.tick().await;
        let Some(inner) = weak.upgrade() else { return };
        if inner.core.is_closed() {
            return;
        }
        let now = inner.epoch.elapsed().as_millis() as u64;
        inner.coarse_ms.store(now, Ordering::Relaxed);
        if inner.config.validate_idle {
            for (i, slot) in inner.slots.iter().enumerate() {
                if !slot.used.swap(false, Ordering::Relaxed) && inner.core.is_idle(i) {
                    slot.stale.store(true, Ordering::Relaxed);
                }
            }
        }
        if let Some(overrun) = inner.config.overrun_warning {
            check_held_guards(&inner, now, overrun);
        }
        if let Some(every) = inner.config.keepalive_interval
            && last_keepalive.elapsed() >= every
        {
            last_keepalive = tokio::time::Instant::now();
            keepalive(&inner).await;
        }
    }
}

/// Warns about guards held past `overrun` (at every multiple of it), and marks a guard that
/// reached `max_overrun_warnings` so its connection is replaced when it comes back.
fn check_held_guards<C: ManageConnection>(inner: &Inner<C>, now: u64, overrun: Duration) {
    let every = overrun.as_millis().max(1) as u64;
    for (i, slot) in inner.slots.iter().enumerate() {
        let since = slot.since.load(Ordering::Relaxed);
        if since == 0 {
            continue;
        }
        let ran = now.saturating_sub(since - 1);
        let warned = slot.warnings.load(Ordering::Relaxed);
        if ran >= every * (warned + 1) {
            slot.warnings.store(warned + 1, Ordering::Relaxed);
            let last = inner
                .config
                .max_overrun_warnings
                .is_some_and(|m| warned + 1 >= m);
            report_overrun(inner, i, Duration::from_millis(ran), last, "guard");
            if last {
                slot.poisoned.store(true, Ordering::Relaxed);
            }
        }
    }
}

/// Checks every idle worker's connection (MongooseIM's `SELECT 1` every
/// `keepalive_interval`); busy workers are evidently alive.
async fn keepalive<C: ManageConnection>(inner: &Arc<Inner<C>>) {
    for i in 0..inner.core.workers() {
        if inner.core.try_acquire(i) {
            let mut conn = Conn::new(inner, i, false);
            if inner.config.multiplexed {
                inner.slots[i].exclude().await;
            }
            conn.validate().await;
        }
    }
}
