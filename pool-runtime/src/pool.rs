//! [`Pool`]: workers, each holding one connection, chosen by a [`Strategy`].

use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_utils::CachePadded;
use tokio::time::Instant;
use tracing::Instrument;

use crate::builder::Config;
use crate::core::slot::{Claim, Owned, Slots};
use crate::core::{Core, Refusal, Target};
use crate::error::{ConnectError, Error, PoolName};
use crate::metrics::PoolMetrics;
use crate::strategy::{Keyless, Strategy, worker_for_key};
use crate::worker;
use crate::{Conn, Connector, PoolBuilder};

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
pub struct Pool<C: Connector, S: Strategy> {
    pub(crate) inner: Arc<Inner<C>>,
    _strategy: PhantomData<S>,
}

impl<C: Connector, S: Strategy> Clone for Pool<C, S> {
    fn clone(&self) -> Self {
        Pool {
            inner: self.inner.clone(),
            _strategy: PhantomData,
        }
    }
}

impl<C: Connector, S: Strategy> fmt::Debug for Pool<C, S> {
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
    /// The pool was shut down ([`Pool::shutdown`]): its workers count as down once their
    /// connections are closed.
    pub closed: bool,
}

pub(crate) struct Inner<C: Connector> {
    pub(crate) name: PoolName,
    pub(crate) manager: C,
    pub(crate) core: Core,
    pub(crate) slots: Slots<C::Connection>,
    pub(crate) config: Config,
    pub(crate) next: CachePadded<AtomicUsize>,
    /// Each worker's latest connect error: a caller refused for worker `i`'s failed attempt
    /// gets exactly that attempt's error.
    pub(crate) errors: Box<[Mutex<ConnectError<C::Error>>]>,
    pub(crate) metrics: PoolMetrics,
    pub(crate) epoch: std::time::Instant,
    pub(crate) coarse_ms: AtomicU64,
    /// The origin of [`Inner::now_ms`], on tokio's clock (so paused-time tests drive it).
    pub(crate) clock: Instant,
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) casts: AtomicUsize,
}

impl<C: Connector> Inner<C> {
    /// Worker `i`'s latest connect error.
    pub(crate) fn error_of(&self, i: usize) -> ConnectError<C::Error> {
        self.errors[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Records that the owned, down worker's connection attempt failed with `e`, for its
    /// waiters.
    pub(crate) fn attempt_failed(&self, owned: &Owned, e: ConnectError<C::Error>) {
        self.metrics.connect_errors.increment(1);
        *self.errors[owned.worker()]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = e;
        self.slots.attempt_failed(&self.core, owned, self.now_ms());
    }

    /// The pool's clock for the reconnection rules (ms since the pool was built).
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.elapsed().as_millis() as u64
    }

    /// Turns a refusal from the core into the error callers see.
    pub(crate) fn refusal(&self, r: Refusal) -> Error<C::Error> {
        let pool = self.name.clone();
        match r {
            Refusal::Closed => Error::Closed { pool },
            Refusal::Unavailable(worker) => Error::Unavailable {
                pool,
                cause: self.error_of(worker as usize),
            },
            Refusal::Reroute => unreachable!("a reroute is handled by choosing again"),
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

    pub(crate) fn timeout(&self) -> Error<C::Error> {
        self.metrics.timeouts.increment(1);
        Error::Timeout {
            pool: self.name.clone(),
            timeout: self.config.call_timeout.unwrap_or_default(),
        }
    }

    pub(crate) fn coarse_now(&self) -> u64 {
        self.coarse_ms.load(Ordering::Relaxed)
    }
}

/// A caller's deadline (`call_timeout` from when it started), read from the clock only when
/// first needed: a `get()` that finds an idle worker never reads it.
pub(crate) struct Deadline {
    limit: Option<Duration>,
    at: Option<Instant>,
}

impl Deadline {
    /// `limit` from the first time it is needed.
    pub(crate) fn lazy(limit: Option<Duration>) -> Self {
        Deadline { limit, at: None }
    }

    /// `limit` from `started`.
    pub(crate) fn from(started: Instant, limit: Option<Duration>) -> Self {
        Deadline {
            limit,
            at: limit.map(|l| started + l),
        }
    }

    /// When it runs out; `None` for no limit.
    pub(crate) fn at(&mut self) -> Option<Instant> {
        if self.at.is_none()
            && let Some(limit) = self.limit
        {
            self.at = Some(Instant::now() + limit);
        }
        self.at
    }

    /// Runs `fut` until it finishes (`Some`) or the deadline passes (`None`).
    pub(crate) async fn run<F: Future>(&mut self, fut: F) -> Option<F::Output> {
        match self.at() {
            Some(at) => tokio::time::timeout_at(at, fut).await.ok(),
            None => Some(fut.await),
        }
    }
}

/// A claimed worker whose shared users are still leaving: dropped (the caller's deadline
/// passed, or the caller went away), it gives the worker back untouched.
struct Held<'a, C: Connector> {
    inner: &'a Inner<C>,
    claim: Option<Claim>,
}

impl<C: Connector> Held<'_, C> {
    fn claim(&self) -> &Claim {
        self.claim.as_ref().expect("a held claim")
    }
}

impl<C: Connector> Drop for Held<'_, C> {
    fn drop(&mut self) {
        if let Some(claim) = self.claim.take() {
            worker::give_back(self.inner, claim);
        }
    }
}

/// Consumes one unit of tokio's cooperative budget, as tokio's own semaphore does on every
/// acquire: a loop over a pool that always answers at once (an idle worker, or an immediate
/// error during an outage) still yields to the runtime's other tasks and timers.
#[inline]
pub(crate) fn cooperate() -> impl Future<Output = ()> {
    std::future::poll_fn(|cx| tokio::task::coop::poll_proceed(cx).map(|r| r.made_progress()))
}

impl<C: Connector, S: Strategy> Pool<C, S> {
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
                .map(|s| s.shared_users() as usize)
                .sum(),
            closed: self.inner.core.is_closed(),
        }
    }

    /// Takes a worker for exclusive use until the guard is dropped. Everything it may wait
    /// for — a queue, the check of a connection that sat idle, a reconnection — takes at most
    /// `call_timeout` together.
    ///
    /// A connection the connector reports broken ([`ManageConnection::has_broken`]) is never
    /// handed out: its worker reconnects and the caller gets another (or, if every worker is
    /// down, waits for a reconnection).
    ///
    /// With an idle worker at hand this is one compare-and-swap: no lock, no allocation, no
    /// clock read.
    ///
    /// [`ManageConnection::has_broken`]: crate::ManageConnection::has_broken
    pub async fn get(&self) -> Result<Conn<'_, C>, Error<C::Error>>
    where
        S: Keyless,
    {
        let mut deadline = Deadline::lazy(self.inner.config.call_timeout);
        self.checkout(None, &mut deadline, true).await
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
        let mut deadline = Deadline::lazy(self.inner.config.call_timeout);
        self.checkout(Some(i), &mut deadline, true).await
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
        let mut deadline = Deadline::from(started, inner.config.call_timeout);
        let span = tracing::debug_span!("outgoing_pools.call", pool = %inner.name);
        let result = async {
            let mut conn = self.checkout(pinned, &mut deadline, false).await?;
            conn.run_watched(f, started, deadline.at()).await
        }
        .instrument(span)
        .await;
        inner.metrics.call.record(started.elapsed());
        result
    }

    /// Acquires a worker whose connection can be lent: not reported broken, and checked
    /// (replaced if need be) if it sat idle. Everything it waits for is bounded by
    /// `deadline`; a check or a reconnection still running then goes on in the background
    /// for the worker.
    pub(crate) async fn checkout(
        &self,
        pinned: Option<usize>,
        deadline: &mut Deadline,
        watch: bool,
    ) -> Result<Conn<'_, C>, Error<C::Error>> {
        cooperate().await;
        let inner = &self.inner;
        loop {
            let claim = self.acquire(pinned, deadline).await?;
            let mut owned = match inner.slots.try_exclusive(claim) {
                Ok(owned) => owned,
                Err(claim) => {
                    let mut held = Held {
                        inner,
                        claim: Some(claim),
                    };
                    loop {
                        if deadline
                            .run(inner.slots.drained(held.claim()))
                            .await
                            .is_none()
                        {
                            return Err(inner.timeout());
                        }
                        let claim = held.claim.take().expect("a held claim");
                        match inner.slots.try_exclusive(claim) {
                            Ok(owned) => break owned,
                            Err(claim) => held.claim = Some(claim),
                        }
                    }
                }
            };
            let conn = inner
                .slots
                .conn_mut(&mut owned)
                .as_mut()
                .expect("an owned worker that is up holds a connection");
            if inner.manager.has_broken(conn) {
                Conn::new(inner, owned, false).discard();
                continue;
            }
            if !inner.slots[owned.worker()].stale.load(Ordering::Relaxed) {
                return Ok(Conn::new(inner, owned, watch));
            }
            let mut refresh = worker::start_refresh(inner.clone(), owned);
            match deadline.run(refresh.run()).await {
                // The check (or a replacement) is done: the worker is the caller's again.
                Some(Some(owned)) => return Ok(Conn::new(inner, owned, watch)),
                // The worker is down and reconnecting: choose again.
                Some(None) => {}
                // Dropping `refresh` lets it finish in the background, for the worker.
                None => return Err(inner.timeout()),
            }
        }
    }

    /// A worker index for this caller, from the strategy (or `pinned`'s worker), within
    /// `deadline`.
    async fn acquire(
        &self,
        pinned: Option<usize>,
        deadline: &mut Deadline,
    ) -> Result<Claim, Error<C::Error>> {
        let inner = &*self.inner;
        let mut reroutes = 0;
        loop {
            let target = match pinned {
                Some(i) => Target::Keyed(i),
                // Workers kept going down under this caller: the shared queue takes any.
                None if reroutes > inner.core.workers() => Target::Any,
                None => S::target(&inner.core, &inner.next),
            };
            let fast = match target {
                Target::Any | Target::IdleOnly => inner.slots.try_acquire_any(&inner.core),
                Target::Worker(i) | Target::Keyed(i) | Target::Prefer(i) => {
                    inner.slots.try_acquire(&inner.core, i)
                }
            };
            if let Some(claim) = fast {
                return Ok(claim);
            }
            match self.wait(target, deadline).await? {
                Ok(claim) => return Ok(claim),
                Err(Refusal::Reroute) => reroutes += 1,
                Err(r) => return Err(inner.refusal(r)),
            }
        }
    }

    #[cold]
    async fn wait(
        &self,
        target: Target,
        deadline: &mut Deadline,
    ) -> Result<Result<Claim, Refusal>, Error<C::Error>> {
        let inner = &*self.inner;
        let started = Instant::now();
        let acquire = inner.slots.acquire(&inner.core, target, inner.now_ms());
        inner.metrics.waiting.increment(1.0);
        let result = deadline.run(acquire).await;
        inner.metrics.waiting.decrement(1.0);
        inner.metrics.wait.record(started.elapsed());
        result.ok_or_else(|| inner.timeout())
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
        loop {
            for claim in inner.slots.take_idle(&inner.core) {
                match inner.slots.try_exclusive(claim) {
                    Ok(mut owned) => {
                        drop(inner.slots.conn_mut(&mut owned).take());
                        inner.slots.retire(&inner.core, owned);
                    }
                    // Shared users still read it: it closes when the pool is dropped.
                    Err(claim) => inner.slots.retire(&inner.core, claim),
                }
            }
            if inner.core.up_count() == 0 {
                tracing::info!(pool = %inner.name, "pool shut down");
                return 0;
            }
            // Workers in use come back through `release` (idle, taken above) or, once the
            // pool is closed, close their connection as they drop (`Conn`'s drop).
            let released = std::future::poll_fn(|cx| {
                inner.core.wake_on_release(cx.waker());
                if inner.core.counts().idle > 0 || inner.core.up_count() == 0 {
                    std::task::Poll::Ready(())
                } else {
                    std::task::Poll::Pending
                }
            });
            if tokio::time::timeout_at(deadline, released).await.is_err() {
                let busy = inner.core.up_count();
                tracing::warn!(pool = %inner.name, busy, "shutdown grace ran out with workers busy");
                return busy;
            }
        }
    }
}
