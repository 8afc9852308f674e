//! A worker's life besides lending its connection: connecting, reconnecting with backoff,
//! keepalive, idle validation and overrun warnings. One maintenance task per pool does the
//! periodic work; a reconnect task exists only while a worker is down.
//!
//! # Reconnection
//!
//! A worker that loses its connection tries again at once, then backs off (50 ms doubling,
//! jittered, capped at `max_start_interval`). Callers do not wait out that backoff: a caller
//! that finds its worker (or every worker) down, with the latest attempt older than
//! [`RETRY_FLOOR_MS`](crate::core::RETRY_FLOOR_MS), has the core *kick* a worker's reconnect
//! task into an attempt now, and waits for its outcome (see `core`). The first success kicks
//! every other down worker too. So after an outage the first call succeeds as soon as the
//! backend answers (plus at most the floor), while a backend that keeps refusing sees at most
//! one attempt per worker per floor from callers, and the backoff when nobody calls.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::Duration;

use tracing::Instrument;

use crate::Connector;
use crate::core::slot::{Claim, Owned};
use crate::error::{Cause, Chain, ConnectError, PoolName};
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
    /// `"call"` for [`crate::Pool::call`], `"guard"` for a [`Conn`](crate::Conn) held too long.
    pub held_by: &'static str,
}

pub(crate) fn report_overrun<C: Connector>(
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
pub(crate) async fn connect_once<C: Connector>(
    inner: &Inner<C>,
) -> Result<C::Connection, ConnectError<C::Error>> {
    let limit = inner.config.connect_timeout;
    match tokio::time::timeout(limit, inner.manager.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(ConnectError::Failed(Cause::new(e))),
        Err(_) => Err(ConnectError::TimedOut(limit)),
    }
}

/// Installs a fresh connection in the owned worker and gives it to the pool.
pub(crate) fn install<C: Connector>(inner: &Inner<C>, owned: Owned, conn: C::Connection) {
    inner.slots.mark_up(&inner.core, owned, conn);
    inner.metrics.workers_up.set(inner.core.up_count() as f64);
}

/// Gives a worker, owned by the caller with a good connection, back to the pool.
#[inline]
pub(crate) fn give_back<C: Connector>(inner: &Inner<C>, claim: impl Into<Claim>) {
    inner.slots.release(&inner.core, claim);
}

/// The owned worker lost its connection: drop it and reconnect in the background, starting
/// now.
pub(crate) fn down<C: Connector>(inner: &Arc<Inner<C>>, mut owned: Owned) {
    drop(inner.slots.conn_mut(&mut owned).take());
    let Some(mut owned) = retire_if_closed(inner, owned) else {
        return;
    };
    inner.slots.mark_down(&inner.core, &mut owned);
    inner.metrics.workers_up.set(inner.core.up_count() as f64);
    tracing::warn!(pool = %inner.name, worker = owned.worker(), "connection lost; reconnecting");
    spawn_reconnect(inner, owned, 0);
}

/// The owned worker has no connection and the caller's attempt to make one failed with `e`
/// just now: report it to whoever waits, then reconnect after a backoff.
fn down_failed<C: Connector>(inner: &Arc<Inner<C>>, owned: Owned, e: ConnectError<C::Error>) {
    let i = owned.worker();
    inner.metrics.connect_errors.increment(1);
    tracing::warn!(pool = %inner.name, worker = i, error = %Chain(&e), "reconnect failed");
    *inner.errors[i]
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = e;
    let Some(mut owned) = retire_if_closed(inner, owned) else {
        return;
    };
    inner
        .slots
        .mark_down_failed(&inner.core, &mut owned, inner.now_ms());
    inner.metrics.workers_up.set(inner.core.up_count() as f64);
    spawn_reconnect(inner, owned, 1);
}

/// Once the pool is shut down, a worker that gives up its connection is done for good
/// (`None`); else the caller keeps it.
fn retire_if_closed<C: Connector>(inner: &Inner<C>, owned: Owned) -> Option<Owned> {
    if !inner.core.is_closed() {
        return Some(owned);
    }
    inner.slots.retire(&inner.core, owned);
    inner.metrics.workers_up.set(inner.core.up_count() as f64);
    None
}

pub(crate) fn spawn_reconnect<C: Connector>(inner: &Arc<Inner<C>>, owned: Owned, first: u32) {
    let span = tracing::info_span!("outgoing_pools.reconnect", pool = %inner.name, worker = owned.worker());
    inner
        .runtime
        .spawn(reconnect(Arc::downgrade(inner), owned, first).instrument(span));
}

/// Reconnects worker `i` until it succeeds, the pool closes, or the pool is dropped: a pool
/// never gives up on a worker. Attempt `first` and later ones wait out a backoff first,
/// unless the core kicks them (a caller is waiting, or another worker just connected).
pub(crate) async fn reconnect<C: Connector>(weak: Weak<Inner<C>>, mut owned: Owned, first: u32) {
    let i = owned.worker();
    let mut attempt = first;
    loop {
        if attempt > 0 {
            let Some(cap) = weak.upgrade().map(|p| p.config.max_start_interval) else {
                return;
            };
            let mut pause = std::pin::pin!(tokio::time::sleep(backoff(attempt, cap)));
            // The pool is only reached through `weak` meanwhile, so dropping it ends this.
            let go_on = std::future::poll_fn(|cx| {
                let Some(inner) = weak.upgrade() else {
                    return Poll::Ready(false);
                };
                if inner
                    .slots
                    .poll_kick(&inner.core, &owned, cx.waker())
                    .is_ready()
                {
                    return Poll::Ready(true);
                }
                pause.as_mut().poll(cx).map(|()| true)
            })
            .await;
            if !go_on {
                return;
            }
        }
        let Some(inner) = weak.upgrade() else { return };
        owned = match retire_if_closed(&inner, owned) {
            Some(owned) => owned,
            None => return,
        };
        inner.slots.begin_attempt(&inner.core, &owned);
        match connect_once(&inner).await {
            Ok(conn) if !inner.core.is_closed() => {
                install(&inner, owned, conn);
                inner.metrics.reconnects.increment(1);
                tracing::info!(pool = %inner.name, worker = i, attempt, "reconnected");
                return;
            }
            // Closed while connecting: the worker is retired.
            Ok(_) => {
                let _ = retire_if_closed(&inner, owned);
                return;
            }
            Err(e) => {
                tracing::warn!(pool = %inner.name, worker = i, attempt, error = %Chain(&e), "reconnect failed");
                inner.attempt_failed(&owned, e);
            }
        }
        attempt += 1;
    }
}

/// The check of a connection that sat idle (and its replacement if the check fails), as a
/// future that owns its worker and can outlive whoever awaits it: dropped before it finishes
/// (its caller's deadline passed, or the caller went away), it finishes on its own in the
/// background and gives the worker back. So a caller is never held up past its deadline by
/// a slow check or connect, and the worker never waits for a caller that left.
pub(crate) struct Refresh<C: Connector, F: Future<Output = Option<Owned>> + Send + 'static> {
    inner: Arc<Inner<C>>,
    fut: Option<Pin<Box<F>>>,
}

/// A refresh of the owned worker, which the caller hands over.
pub(crate) fn start_refresh<C: Connector>(
    inner: Arc<Inner<C>>,
    owned: Owned,
) -> Refresh<C, impl Future<Output = Option<Owned>> + Send + use<C>> {
    Refresh {
        fut: Some(Box::pin(refresh(inner.clone(), owned))),
        inner,
    }
}

impl<C: Connector, F: Future<Output = Option<Owned>> + Send + 'static> Refresh<C, F> {
    /// Drives the refresh; once it is done, the worker belongs to the caller again (`Some`:
    /// its connection can be lent), or it is down and reconnecting (`None`).
    pub(crate) async fn run(&mut self) -> Option<Owned> {
        let fut = self.fut.as_mut().expect("a refresh runs to its end once");
        let done = fut.await;
        self.fut = None;
        done
    }
}

impl<C: Connector, F: Future<Output = Option<Owned>> + Send + 'static> Drop for Refresh<C, F> {
    fn drop(&mut self) {
        let Some(fut) = self.fut.take() else { return };
        let inner = self.inner.clone();
        self.inner.runtime.spawn(async move {
            if let Some(owned) = fut.await {
                give_back(&inner, owned);
            }
        });
    }
}

/// Checks the owned worker's connection (within the connect timeout) and, if the check
/// fails, replaces it. Gives the worker back to the caller if its connection can be lent,
/// else it is down and reconnecting.
async fn refresh<C: Connector>(inner: Arc<Inner<C>>, mut owned: Owned) -> Option<Owned> {
    let i = owned.worker();
    let slot = &inner.slots[i];
    let conn = inner
        .slots
        .conn_mut(&mut owned)
        .as_mut()
        .expect("a worker that is up holds a connection");
    let limit = inner.config.connect_timeout;
    match tokio::time::timeout(limit, inner.manager.is_valid(conn)).await {
        Ok(Ok(())) => {
            slot.stale.store(false, Ordering::Relaxed);
            return Some(owned);
        }
        Ok(Err(e)) => {
            tracing::warn!(pool = %inner.name, worker = i, error = ?e, "connection check failed");
        }
        Err(_) => {
            tracing::warn!(pool = %inner.name, worker = i, ?limit, "connection check timed out");
        }
    }
    drop(inner.slots.conn_mut(&mut owned).take());
    match connect_once(&inner).await {
        Ok(conn) => {
            *inner.slots.conn_mut(&mut owned) = Some(conn);
            slot.stale.store(false, Ordering::Relaxed);
            inner.metrics.reconnects.increment(1);
            Some(owned)
        }
        Err(e) => {
            down_failed(&inner, owned, e);
            None
        }
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
pub(crate) async fn maintain<C: Connector>(weak: Weak<Inner<C>>, tick: Duration) {
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
            keepalive(&inner);
        }
    }
}

/// Warns about guards held past `overrun` (at every multiple of it), and marks a guard that
/// reached `max_overrun_warnings` so its connection is replaced when it comes back.
fn check_held_guards<C: Connector>(inner: &Inner<C>, now: u64, overrun: Duration) {
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
/// `keepalive_interval`), each in a task of its own so a hanging backend holds up neither the
/// maintenance nor the other checks; busy workers (and those shared users are on) are
/// evidently alive.
fn keepalive<C: Connector>(inner: &Arc<Inner<C>>) {
    for i in 0..inner.core.workers() {
        let Some(claim) = inner.slots.try_acquire(&inner.core, i) else {
            continue;
        };
        let owned = match inner.slots.try_exclusive(claim) {
            Ok(owned) => owned,
            Err(claim) => {
                give_back(inner, claim);
                continue;
            }
        };
        let inner = inner.clone();
        let check = async move {
            if let Some(owned) = refresh(inner.clone(), owned).await {
                give_back(&inner, owned);
            }
        };
        tokio::spawn(check);
    }
}
