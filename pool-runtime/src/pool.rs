//! [`Pool`]: workers, each holding one connection, chosen by a [`Strategy`].

use std::cell::UnsafeCell;
use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bb8::ManageConnection;
use crossbeam_utils::CachePadded;
use tokio::time::Instant;
use tracing::Instrument;

use crate::config::Config;
use crate::core::{Core, Refusal, Target};
use crate::error::{ConnectError, Error, PoolName};
use crate::metrics::PoolMetrics;
use crate::strategy::{Keyless, Strategy, worker_for_key};
use crate::{Conn, PoolBuilder};

/// A pool of `workers` workers, each holding one connection made by the connector `C`,
/// handed to callers by the strategy `S`.
///
/// Cloning a `Pool` is cheap and gives another handle to the same pool.
///
/// ```
/// use pool_runtime::{AvailableWorker, Generic, Pool};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = Pool::<Generic, AvailableWorker>::builder(Generic)
///     .name("jobs")
///     .workers(4)
///     .build()
///     .await?;
/// let conn = pool.get().await?; // exclusive use of one worker until dropped
/// drop(conn);
/// let n = pool.call(async |_conn| 40 + 2).await?; // under `call_timeout`
/// assert_eq!(n, 42);
/// assert_eq!(pool.status().idle, 4);
/// # Ok(())
/// # }
/// ```
pub struct Pool<C: ManageConnection, S: Strategy> {
    pub(crate) inner: Arc<Inner<C>>,
    _strategy: PhantomData<S>,
}

impl<C: ManageConnection, S: Strategy> Clone for Pool<C, S> {
    fn clone(&self) -> Self {
        Pool {
            inner: self.inner.clone(),
            _strategy: PhantomData,
        }
    }
}

impl<C: ManageConnection, S: Strategy> fmt::Debug for Pool<C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("name", &self.inner.name)
            .field("strategy", &S::NAME)
            .field("status", &self.status())
            .finish()
    }
}

/// What [`Pool::status`] reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Workers in the pool.
    pub workers: usize,
    /// Workers with a connection, waiting for a caller.
    pub idle: usize,
    /// Workers with a connection, in use by a caller.
    pub busy: usize,
    /// Workers without a connection, reconnecting.
    pub down: usize,
    /// Callers waiting for a worker.
    pub waiting: usize,
    /// Callers using a connection together with others ([`Pool::get_shared`]).
    pub shared: usize,
}

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
    /// Shared use (multiplexed pools only): callers using the connection through `&`, plus
    /// `EXCLUSIVE` while someone owns the worker (which then waits for the count to drain).
    pub(crate) users: AtomicU32,
    /// Woken when the last shared user leaves while an owner waits.
    pub(crate) drained: tokio::sync::Notify,
}

/// In [`Slot::users`]: the worker is owned exclusively (or down); shared users keep off.
pub(crate) const EXCLUSIVE: u32 = 1 << 31;

// SAFETY: the connection is only reached through the worker index that the core hands to
// exactly one owner at a time (see `core`), with Acquire/Release on the hand-off.
unsafe impl<T: Send> Sync for Slot<T> {}

impl<T> Slot<T> {
    pub(crate) fn new() -> Self {
        Slot {
            conn: UnsafeCell::new(None),
            used: AtomicBool::new(false),
            stale: AtomicBool::new(false),
            since: AtomicU64::new(0),
            warnings: AtomicU64::new(0),
            poisoned: AtomicBool::new(false),
            // Workers start down, owned by whoever connects them.
            users: AtomicU32::new(EXCLUSIVE),
            drained: tokio::sync::Notify::new(),
        }
    }

    /// The connection, for a shared user.
    ///
    /// # Safety
    /// The caller counts in `users` while `EXCLUSIVE` is clear, or owns the worker.
    pub(crate) unsafe fn conn_ref(&self) -> &Option<T> {
        // SAFETY: guaranteed by the caller: nobody mutates while shared users count.
        unsafe { &*self.conn.get() }
    }

    /// Makes the owner of this worker its only user: keeps new shared users off, then waits
    /// for those in flight to finish. Cancel-safe: the owner's guard clears the flag.
    pub(crate) async fn exclude(&self) {
        if self.users.fetch_or(EXCLUSIVE, Ordering::Acquire) & !EXCLUSIVE == 0 {
            return;
        }
        loop {
            let drained = self.drained.notified();
            if self.users.load(Ordering::Acquire) & !EXCLUSIVE == 0 {
                return;
            }
            drained.await;
        }
    }

    /// Lets shared users back in; the owner is about to give the worker up.
    pub(crate) fn admit(&self) {
        self.users.fetch_and(!EXCLUSIVE, Ordering::Release);
    }

    /// A shared user leaves.
    pub(crate) fn leave(&self) {
        if self.users.fetch_sub(1, Ordering::Release) == EXCLUSIVE | 1 {
            self.drained.notify_waiters();
        }
    }

    /// # Safety
    /// The caller owns this worker's index.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn conn_mut(&self) -> &mut Option<T> {
        // SAFETY: guaranteed by the caller.
        unsafe { &mut *self.conn.get() }
    }
}

pub(crate) struct Inner<C: ManageConnection> {
    pub(crate) name: PoolName,
    pub(crate) manager: C,
    pub(crate) core: Core,
    pub(crate) slots: Box<[CachePadded<Slot<C::Connection>>]>,
    pub(crate) config: Config,
    pub(crate) next: CachePadded<AtomicUsize>,
    pub(crate) last_error: Mutex<ConnectError<C::Error>>,
    pub(crate) metrics: PoolMetrics,
    pub(crate) epoch: std::time::Instant,
    pub(crate) coarse_ms: AtomicU64,
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) casts: AtomicUsize,
}

impl<C: ManageConnection> Inner<C> {
    pub(crate) fn last_error(&self) -> ConnectError<C::Error> {
        self.last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_last_error(&self, e: ConnectError<C::Error>) {
        if matches!(e, ConnectError::Failed(_) | ConnectError::TimedOut(_)) {
            self.core.set_failing(true);
        }
        *self
            .last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = e;
    }

    /// Turns a refusal from the core into the error callers see.
    pub(crate) fn refusal(&self, r: Refusal) -> Error<C::Error> {
        let pool = self.name.clone();
        match r {
            Refusal::Closed => Error::Closed { pool },
            Refusal::Unavailable | Refusal::Reroute => Error::Unavailable {
                pool,
                cause: self.last_error(),
            },
            Refusal::QueueFull => {
                self.metrics.queue_full.increment(1);
                Error::QueueFull {
                    pool,
                    limit: self.config.max_worker_queue_len.unwrap_or(usize::MAX),
                }
            }
            Refusal::NoIdle => {
                self.metrics.queue_full.increment(1);
                Error::NoAvailableWorkers { pool }
            }
        }
    }

    pub(crate) fn timeout(&self, timeout: Duration) -> Error<C::Error> {
        self.metrics.timeouts.increment(1);
        Error::Timeout {
            pool: self.name.clone(),
            timeout,
        }
    }

    pub(crate) fn coarse_now(&self) -> u64 {
        self.coarse_ms.load(Ordering::Relaxed)
    }
}

impl<C: ManageConnection, S: Strategy> Pool<C, S> {
    /// A builder with MongooseIM's defaults: 10 workers, `call_timeout` 5 s, FIFO queue.
    pub fn builder(manager: C) -> PoolBuilder<C, S> {
        PoolBuilder::new(manager)
    }

    pub(crate) fn from_inner(inner: Arc<Inner<C>>) -> Self {
        Pool {
            inner,
            _strategy: PhantomData,
        }
    }

    /// The pool's name.
    pub fn name(&self) -> &PoolName {
        &self.inner.name
    }

    /// The connector.
    pub fn connector(&self) -> &C {
        &self.inner.manager
    }

    /// How many workers, idle, busy and down, and how many callers wait.
    pub fn status(&self) -> PoolStatus {
        let c = self.inner.core.counts();
        PoolStatus {
            workers: self.inner.core.workers(),
            idle: c.idle,
            busy: c.up.saturating_sub(c.idle),
            down: self.inner.core.workers() - c.up,
            waiting: c.waiting,
            shared: self
                .inner
                .slots
                .iter()
                .map(|s| (s.users.load(Ordering::Relaxed) & !EXCLUSIVE) as usize)
                .sum(),
        }
    }

    /// Takes a worker for exclusive use until the guard is dropped. Waits (in the strategy's
    /// queue) at most `call_timeout`.
    ///
    /// With an idle worker at hand this is one compare-and-swap: no lock, no allocation, no
    /// clock read.
    pub async fn get(&self) -> Result<Conn<'_, C>, Error<C::Error>>
    where
        S: Keyless,
    {
        self.checkout(None, None, true).await
    }

    /// The worker `key` maps to for [`Pool::get_by`], [`Pool::call_by`] and `cast_by`.
    pub fn worker_for<K: Hash + ?Sized>(&self, key: &K) -> usize {
        worker_for_key(key, self.inner.core.workers())
    }

    /// Like [`Pool::get`], on the worker `key` maps to: the same key always gets the same
    /// worker (worker_pool's `hash_worker`), whatever the pool's strategy.
    ///
    /// ```
    /// use pool_runtime::{Generic, HashWorker, Pool};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::<Generic, HashWorker>::builder(Generic).workers(8).build().await?;
    /// let a = pool.get_by("alice@a.com").await?.worker();
    /// assert_eq!(pool.get_by("alice@a.com").await?.worker(), a);
    /// assert_eq!(pool.worker_for("alice@a.com"), a);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get_by<K: Hash + ?Sized>(&self, key: &K) -> Result<Conn<'_, C>, Error<C::Error>> {
        let i = worker_for_key(key, self.inner.core.workers());
        self.checkout(Some(i), None, true).await
    }

    /// Runs `f` on a worker's connection; waiting and running together take at most
    /// `call_timeout`. A call that times out, overruns `max_overrun_warnings` times, or is
    /// dropped while `f` runs leaves its connection replaced, never handed to the next caller
    /// in an unknown state.
    pub async fn call<F, T>(&self, f: F) -> Result<T, Error<C::Error>>
    where
        S: Keyless,
        F: AsyncFnOnce(&mut C::Connection) -> T,
    {
        self.run(None, f).await
    }

    /// [`Pool::call`] on the worker `key` maps to (MongooseIM's five-argument `call`).
    pub async fn call_by<K, F, T>(&self, key: &K, f: F) -> Result<T, Error<C::Error>>
    where
        K: Hash + ?Sized,
        F: AsyncFnOnce(&mut C::Connection) -> T,
    {
        let i = worker_for_key(key, self.inner.core.workers());
        self.run(Some(i), f).await
    }

    async fn run<F, T>(&self, pinned: Option<usize>, f: F) -> Result<T, Error<C::Error>>
    where
        F: AsyncFnOnce(&mut C::Connection) -> T,
    {
        let inner = &*self.inner;
        let started = Instant::now();
        let deadline = inner.config.call_timeout.map(|t| started + t);
        let span = tracing::debug_span!("outgoing_pools.call", pool = %inner.name);
        let result = async {
            let mut conn = self.checkout(pinned, deadline, false).await?;
            conn.run_watched(f, started, deadline).await
        }
        .instrument(span)
        .await;
        inner.metrics.call.record(started.elapsed());
        result
    }

    /// Acquires a worker and validates its connection if it sat idle for a while.
    pub(crate) async fn checkout(
        &self,
        pinned: Option<usize>,
        deadline: Option<Instant>,
        watch: bool,
    ) -> Result<Conn<'_, C>, Error<C::Error>> {
        loop {
            let i = self.acquire(pinned, deadline).await?;
            let mut conn = Conn::new(&self.inner, i, watch);
            if self.inner.config.multiplexed {
                self.inner.slots[i].exclude().await;
            }
            if !self.inner.slots[i].stale.load(Ordering::Relaxed)
                || conn.validate().await
                || conn.replace(deadline).await
            {
                return Ok(conn);
            }
            // No new connection either: the worker goes down and reconnects in the
            // background; try another worker (or report the connect error).
        }
    }

    async fn acquire(
        &self,
        pinned: Option<usize>,
        deadline: Option<Instant>,
    ) -> Result<usize, Error<C::Error>> {
        let inner = &*self.inner;
        let mut reroutes = 0;
        loop {
            let target = match pinned {
                Some(i) => Target::Worker(i),
                None => S::target(&inner.core, &inner.next),
            };
            let fast = match target {
                Target::Any | Target::IdleOnly => inner.core.try_acquire_any(),
                Target::Worker(i) => inner.core.try_acquire(i).then_some(i),
            };
            if let Some(i) = fast {
                return Ok(i);
            }
            match self.wait(target, deadline).await? {
                Ok(i) => return Ok(i),
                Err(Refusal::Reroute) if pinned.is_none() && reroutes < inner.core.workers() => {
                    reroutes += 1;
                }
                Err(r) => return Err(inner.refusal(r)),
            }
        }
    }

    #[cold]
    async fn wait(
        &self,
        target: Target,
        deadline: Option<Instant>,
    ) -> Result<Result<usize, Refusal>, Error<C::Error>> {
        let inner = &*self.inner;
        let started = Instant::now();
        let deadline = deadline.or_else(|| inner.config.call_timeout.map(|t| started + t));
        let acquire = inner.core.acquire(target);
        inner.metrics.waiting.increment(1.0);
        let result = match deadline {
            Some(d) => tokio::time::timeout_at(d, acquire).await,
            None => Ok(acquire.await),
        };
        inner.metrics.waiting.decrement(1.0);
        inner.metrics.wait.record(started.elapsed());
        result.map_err(|_| inner.timeout(inner.config.call_timeout.unwrap_or_default()))
    }

    /// Stops the pool: callers waiting and arriving get [`Error::Closed`], calls in flight
    /// may finish until `grace` runs out, then every connection is closed. Returns how many
    /// workers were still busy when `grace` ran out (their connections close when they come
    /// back).
    ///
    /// ```
    /// use std::time::Duration;
    /// use pool_runtime::{AvailableWorker, Error, Generic, Pool};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::<Generic, AvailableWorker>::builder(Generic).build().await?;
    /// assert_eq!(pool.shutdown(Duration::from_secs(1)).await, 0);
    /// assert!(matches!(pool.get().await, Err(Error::Closed { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn shutdown(&self, grace: Duration) -> usize {
        let inner = &*self.inner;
        inner.core.close();
        let deadline = Instant::now() + grace;
        let mut taken = 0;
        loop {
            for i in inner.core.take_idle() {
                let slot = &inner.slots[i];
                let readers = slot.users.fetch_or(EXCLUSIVE, Ordering::Acquire) & !EXCLUSIVE;
                if readers == 0 {
                    // SAFETY: `take_idle` made this caller the owner of worker `i`, for good,
                    // and no shared user is left.
                    drop(unsafe { slot.conn_mut() }.take());
                }
                // Else shared users still read it: it closes when the pool is dropped.
                taken += 1;
            }
            let up = inner.core.up_count();
            if taken >= up {
                tracing::info!(pool = %inner.name, "pool shut down");
                return 0;
            }
            let released = std::future::poll_fn(|cx| {
                inner.core.wake_on_release(cx.waker());
                if inner.core.counts().idle > 0 || inner.core.up_count() <= taken {
                    std::task::Poll::Ready(())
                } else {
                    std::task::Poll::Pending
                }
            });
            if tokio::time::timeout_at(deadline, released).await.is_err() {
                let busy = inner.core.up_count() - taken;
                tracing::warn!(pool = %inner.name, busy, "shutdown grace ran out with workers busy");
                return busy;
            }
        }
    }
}
