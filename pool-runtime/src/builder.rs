//! [`PoolBuilder`]: a pool's options, with MongooseIM's names and defaults.

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_utils::CachePadded;
use tracing::Instrument;

use crate::core::Core;
use crate::core::slot::Slots;
use crate::error::{Chain, ConnectError, Error, PoolName};
use crate::metrics::PoolMetrics;
use crate::pool::Inner;
use crate::strategy::Strategy;
use crate::worker::{self, OverrunReport};
use crate::{Connector, Pool};

/// The defaults of every pool option, as MongooseIM has them (`workers = 10`,
/// `call_timeout = 5000`, …), from pool-spec's option table (a declaration resolves them per
/// pool type: `workers` is 20 for cassandra, `call_timeout` 60000 for rdbms).
pub mod defaults {
    pub use crate::settings::defaults::{
        CALL_TIMEOUT, CONNECT_TIMEOUT, MAX_START_INTERVAL, SHARED_DEPTH, WORKERS,
    };

    /// `max_worker_queue_len` for fire-and-forget jobs ([`crate::Pool::cast`]) when the pool
    /// sets none: queued jobs per worker.
    pub const CAST_QUEUE_LEN: usize = 1000;
}

pub use pool_spec::QueueType;

/// Called on every overrun alert, besides the `tracing` warning.
pub type OverrunHandler = Arc<dyn Fn(&OverrunReport) + Send + Sync>;

#[derive(Clone)]
pub(crate) struct Config {
    pub workers: usize,
    pub call_timeout: Option<Duration>,
    pub queue_type: QueueType,
    pub max_worker_queue_len: Option<usize>,
    pub overrun_warning: Option<Duration>,
    pub max_overrun_warnings: Option<u64>,
    pub overrun_handler: Option<OverrunHandler>,
    pub keepalive_interval: Option<Duration>,
    pub max_start_interval: Duration,
    pub connect_timeout: Duration,
    pub validate_idle: bool,
    pub multiplexed: bool,
    pub shared_depth: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            workers: defaults::WORKERS as usize,
            call_timeout: Some(defaults::CALL_TIMEOUT),
            queue_type: QueueType::Fifo,
            max_worker_queue_len: None,
            overrun_warning: None,
            max_overrun_warnings: None,
            overrun_handler: None,
            keepalive_interval: None,
            max_start_interval: defaults::MAX_START_INTERVAL,
            connect_timeout: defaults::CONNECT_TIMEOUT,
            validate_idle: true,
            multiplexed: false,
            shared_depth: defaults::SHARED_DEPTH,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("workers", &self.workers)
            .field("call_timeout", &self.call_timeout)
            .field("queue_type", &self.queue_type)
            .field("max_worker_queue_len", &self.max_worker_queue_len)
            .field("overrun_warning", &self.overrun_warning)
            .field("max_overrun_warnings", &self.max_overrun_warnings)
            .field("keepalive_interval", &self.keepalive_interval)
            .field("max_start_interval", &self.max_start_interval)
            .field("connect_timeout", &self.connect_timeout)
            .field("validate_idle", &self.validate_idle)
            .field("multiplexed", &self.multiplexed)
            .field("shared_depth", &self.shared_depth)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Pool`]; see [`Pool::builder`]. Every option has MongooseIM's name and default.
///
/// ```
/// use std::time::Duration;
/// use pool_runtime::{BestWorker, Generic, Pool, QueueType};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = Pool::<Generic, BestWorker>::builder(Generic)
///     .name("push")
///     .workers(20)
///     .call_timeout(Duration::from_secs(2))
///     .max_worker_queue_len(100)
///     .overrun_warning(Duration::from_millis(500))
///     .max_overrun_warnings(3)
///     .build()
///     .await?;
/// assert_eq!(pool.status().workers, 20);
/// # Ok(())
/// # }
/// ```
pub struct PoolBuilder<C: Connector, S: Strategy> {
    manager: C,
    name: PoolName,
    config: Config,
    _strategy: PhantomData<S>,
}

impl<C: Connector, S: Strategy> fmt::Debug for PoolBuilder<C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("name", &self.name)
            .field("strategy", &S::NAME)
            .field("config", &self.config)
            .finish()
    }
}

impl<C: Connector, S: Strategy> PoolBuilder<C, S> {
    pub(crate) fn new(manager: C) -> Self {
        PoolBuilder {
            manager,
            name: PoolName::from("pool"),
            config: Config::default(),
            _strategy: PhantomData,
        }
    }

    /// The name used in errors, logs and metrics (default `"pool"`).
    pub fn name(mut self, name: impl Into<PoolName>) -> Self {
        self.name = name.into();
        self
    }

    /// How many workers the pool will have (what its start connects at once).
    pub(crate) fn planned_workers(&self) -> usize {
        self.config.workers
    }

    /// `workers`: how many workers (connections). Default 10.
    pub fn workers(mut self, workers: usize) -> Self {
        self.config.workers = workers;
        self
    }

    /// `call_timeout`: how long a call may wait for a worker and run. Default 5 s.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.config.call_timeout = Some(timeout);
        self
    }

    /// No `call_timeout` (MongooseIM's `infinity`): callers wait and run as long as it takes.
    pub fn no_call_timeout(mut self) -> Self {
        self.config.call_timeout = None;
        self
    }

    /// `queue_type`: the order of the shared wait queue of `available_worker`. Default FIFO.
    pub fn queue_type(mut self, queue_type: QueueType) -> Self {
        self.config.queue_type = queue_type;
        self
    }

    /// `max_worker_queue_len`: a caller that would queue behind this many others on its
    /// worker fails at once with [`Error::QueueFull`]. For `available_worker` the shared queue
    /// holds up to `max_worker_queue_len × workers`. Default: unlimited.
    pub fn max_worker_queue_len(mut self, len: usize) -> Self {
        self.config.max_worker_queue_len = Some(len);
        self
    }

    /// `overrun_warning`: warn when a call, or a guard from [`Pool::get`], is held longer than
    /// this, and again at every further multiple of it (a constant interval). Default: never.
    pub fn overrun_warning(mut self, after: Duration) -> Self {
        self.config.overrun_warning = Some(after);
        self
    }

    /// `max_overrun_warnings`: at the N-th warning (after N × `overrun_warning`) a call is
    /// abandoned with [`Error::Overrun`] and its connection replaced; a held guard's
    /// connection is replaced when it comes back. Default: never.
    pub fn max_overrun_warnings(mut self, n: u64) -> Self {
        self.config.max_overrun_warnings = Some(n);
        self
    }

    /// `overrun_handler`: called with every overrun alert, besides the `tracing` warning.
    pub fn overrun_handler(
        mut self,
        handler: impl Fn(&OverrunReport) + Send + Sync + 'static,
    ) -> Self {
        self.config.overrun_handler = Some(Arc::new(handler));
        self
    }

    /// `keepalive_interval`: check every idle connection this often
    /// ([`ManageConnection::is_valid`](crate::ManageConnection::is_valid)); a failed check replaces it. Default: never.
    pub fn keepalive_interval(mut self, every: Duration) -> Self {
        self.config.keepalive_interval = Some(every);
        self
    }

    /// `max_start_interval`: the longest pause between reconnection attempts. Default 30 s.
    pub fn max_start_interval(mut self, cap: Duration) -> Self {
        self.config.max_start_interval = cap;
        self
    }

    /// How long one connection attempt or check may take. Default 5 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Whether a connection that sat idle for about a second is checked before it is lent
    /// out (one that was just used is not). Default: on.
    pub fn validate_idle(mut self, on: bool) -> Self {
        self.config.validate_idle = on;
        self
    }

    /// Lets many callers use one worker's connection at once through
    /// [`Pool::get_shared`] and [`Pool::call_shared`] (pipelining), besides exclusive use.
    /// Only for connectors whose connection multiplexes ([`crate::Multiplexed`]).
    pub fn multiplexed(mut self) -> Self
    where
        C: crate::Multiplexed,
    {
        self.config.multiplexed = true;
        self
    }

    /// Shared use with `available_worker`: fill a connection up to `depth` callers in
    /// flight before using the next (default 16). Deeper pipelines batch more per round trip
    /// and keep fewer server backends busy; shallower ones spread load for latency.
    /// `best_worker` always takes the connection with the fewest in flight.
    pub fn shared_depth(mut self, depth: u32) -> Self {
        self.config.shared_depth = depth.max(1);
        self
    }

    fn check(&self) -> Result<(), String> {
        let c = &self.config;
        if c.workers == 0 {
            return Err("`workers` must be at least 1".into());
        }
        if c.call_timeout.is_some_and(|t| t.is_zero()) {
            return Err("`call_timeout` must be positive".into());
        }
        if c.overrun_warning.is_some_and(|t| t.is_zero()) {
            return Err("`overrun_warning` must be positive".into());
        }
        if c.max_overrun_warnings == Some(0) {
            return Err("`max_overrun_warnings` must be at least 1".into());
        }
        if c.keepalive_interval.is_some_and(|t| t.is_zero()) {
            return Err("`keepalive_interval` must be positive".into());
        }
        Ok(())
    }

    /// Starts the pool: every worker connects now, concurrently. Fails only if none can
    /// (with the connector's own error, e.g. a wrong password); workers that failed keep
    /// retrying in the background. Must run inside a tokio runtime, which the pool's
    /// background tasks then use.
    pub async fn build(self) -> Result<Pool<C, S>, Error<C::Error>> {
        if let Err(message) = self.check() {
            return Err(Error::Config {
                pool: self.name,
                message,
            });
        }
        let config = self.config;
        let workers = config.workers;
        let lifo = config.queue_type == QueueType::Lifo && S::USES_QUEUE_TYPE;
        let tick = maintenance_tick(&config);
        let (slots, owners) = Slots::new(workers, config.multiplexed);
        let inner = Arc::new(Inner {
            metrics: PoolMetrics::new(&self.name),
            name: self.name,
            manager: self.manager,
            core: Core::new(workers, lifo, config.max_worker_queue_len),
            slots,
            config,
            next: CachePadded::new(AtomicUsize::new(0)),
            errors: (0..workers)
                .map(|_| Mutex::new(ConnectError::Pending))
                .collect(),
            epoch: std::time::Instant::now(),
            coarse_ms: AtomicU64::new(0),
            clock: tokio::time::Instant::now(),
            runtime: tokio::runtime::Handle::current(),
            casts: AtomicUsize::new(0),
        });
        let mut connecting = tokio::task::JoinSet::new();
        for owned in owners {
            let inner = inner.clone();
            connecting.spawn(async move {
                let result = worker::connect_once(&inner).await;
                (owned, result)
            });
        }
        let mut failed = Vec::new();
        while let Some(joined) = connecting.join_next().await {
            let (owned, result) =
                joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            match result {
                Ok(conn) => worker::install(&inner, owned, conn),
                Err(e) => {
                    inner.attempt_failed(&owned, e);
                    failed.push(owned);
                }
            }
        }
        if let Some(last) = failed.last().map(|o| o.worker())
            && failed.len() == workers
        {
            inner.core.close();
            for owned in failed {
                inner.slots.retire(&inner.core, owned);
            }
            return Err(Error::Connect {
                pool: inner.name.clone(),
                cause: inner.error_of(last),
            });
        }
        for owned in failed {
            let i = owned.worker();
            tracing::warn!(pool = %inner.name, worker = i, error = %Chain(&inner.error_of(i)), "worker could not connect; retrying");
            worker::spawn_reconnect(&inner, owned, 1);
        }
        let span = tracing::debug_span!("outgoing_pools.maintain", pool = %inner.name);
        tokio::spawn(worker::maintain(Arc::downgrade(&inner), tick).instrument(span));
        tracing::info!(pool = %inner.name, workers, strategy = S::NAME, "pool started");
        Ok(Pool::from_inner(inner))
    }
}

/// The maintenance period: fine enough for the overrun and keepalive settings, 500 ms at most
/// (so idle validation happens after 0.5–1 s idle, as HikariCP's 500 ms rule).
fn maintenance_tick(c: &Config) -> Duration {
    let mut tick = Duration::from_millis(500);
    if let Some(o) = c.overrun_warning {
        tick = tick.min(o / 4);
    }
    if let Some(k) = c.keepalive_interval {
        tick = tick.min(k);
    }
    tick.max(Duration::from_millis(5))
}
