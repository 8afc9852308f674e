//! The pools under test, behind one small trait so every benchmark is written once.
//!
//! Every pool gets the same no-op connector ([`Noop`]: the connection is a `u64`, connecting
//! and checking succeed at once, nothing is ever broken) and is used as its own users use it:
//! no health check on checkout where the pool makes it optional (bb8
//! `test_on_check_out(false)`, mobc `test_on_check_out(false)`; deadpool's recycle is a
//! no-op), no idle-connection churn (mobc `max_idle = max_open`, whose default of 2 would
//! reconnect). Ours runs with the defaults a declaration gets: `best_worker`, idle
//! validation on (a connection idle for a whole maintenance tick is checked before use),
//! `call_timeout` 5 s; `ours-available` is the same with `available_worker`.

use std::convert::Infallible;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::time::Duration;

use pool_runtime::{AvailableWorker, BestWorker, ManageConnection, Pool};

/// The connector every pool gets: a connection is a counter, and nothing ever fails.
#[derive(Clone, Copy, Debug, Default)]
pub struct Noop;

// bb8's trait, which is also ours (`pool_runtime::ManageConnection` is a re-export).
impl ManageConnection for Noop {
    type Connection = u64;
    type Error = Infallible;

    async fn connect(&self) -> Result<u64, Infallible> {
        Ok(0)
    }

    async fn is_valid(&self, _: &mut u64) -> Result<(), Infallible> {
        Ok(())
    }

    fn has_broken(&self, _: &mut u64) -> bool {
        false
    }
}

impl deadpool::managed::Manager for Noop {
    type Type = u64;
    type Error = Infallible;

    async fn create(&self) -> Result<u64, Infallible> {
        Ok(0)
    }

    async fn recycle(
        &self,
        _: &mut u64,
        _: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<Infallible> {
        Ok(())
    }
}

#[mobc::async_trait]
impl mobc::Manager for Noop {
    type Connection = u64;
    type Error = Infallible;

    async fn connect(&self) -> Result<u64, Infallible> {
        Ok(0)
    }

    async fn check(&self, conn: u64) -> Result<u64, Infallible> {
        Ok(conn)
    }
}

/// What the benchmarks need from a pool: build one, and check out a connection.
///
/// `get` unwraps: with the no-op connector and the wait bounds used here an error is a bug
/// in the pool (or a hang the benchmark's own timeout reports), never an expected outcome.
pub trait BenchPool: Clone + Send + Sync + 'static {
    /// The column name in the reports.
    const NAME: &'static str;

    /// The checked-out connection; dropping it gives it back.
    type Guard<'a>: DerefMut<Target = u64> + Send
    where
        Self: 'a;

    /// A pool of `size` connections. `wait` bounds how long `get` may wait; `None` keeps the
    /// pool's own default (what the published benchmarks measured).
    fn build(size: usize, wait: Option<Duration>) -> impl Future<Output = Self> + Send;

    fn get(&self) -> impl Future<Output = Self::Guard<'_>> + Send;
}

/// Ours as a declaration makes it: the default strategy and options.
pub type Ours = Pool<Noop, BestWorker>;

/// Ours with the other strategy a classic pool compares to (one shared FIFO queue, lowest
/// idle worker first).
pub type OursAvailable = Pool<Noop, AvailableWorker>;

macro_rules! ours {
    ($ty:ty, $name:literal) => {
        impl BenchPool for $ty {
            const NAME: &'static str = $name;
            type Guard<'a> = pool_runtime::Conn<'a, Noop>;

            async fn build(size: usize, wait: Option<Duration>) -> Self {
                let mut builder = Pool::builder(Noop).name("bench").workers(size);
                if let Some(wait) = wait {
                    builder = builder.call_timeout(wait);
                }
                builder.build().await.expect("no-op connector cannot fail")
            }

            async fn get(&self) -> Self::Guard<'_> {
                Pool::get(self).await.expect(concat!($name, ": get failed"))
            }
        }
    };
}

ours!(Ours, "ours");
ours!(OursAvailable, "ours-available");

impl BenchPool for bb8::Pool<Noop> {
    const NAME: &'static str = "bb8";
    type Guard<'a> = bb8::PooledConnection<'a, Noop>;

    async fn build(size: usize, wait: Option<Duration>) -> Self {
        let mut builder = bb8::Pool::builder()
            .max_size(u32::try_from(size).expect("pool size fits u32"))
            .test_on_check_out(false);
        if let Some(wait) = wait {
            builder = builder.connection_timeout(wait);
        }
        builder
            .build(Noop)
            .await
            .expect("no-op connector cannot fail")
    }

    async fn get(&self) -> Self::Guard<'_> {
        bb8::Pool::get(self).await.expect("bb8: get failed")
    }
}

impl BenchPool for deadpool::managed::Pool<Noop> {
    const NAME: &'static str = "deadpool";
    type Guard<'a> = deadpool::managed::Object<Noop>;

    async fn build(size: usize, wait: Option<Duration>) -> Self {
        deadpool::managed::Pool::builder(Noop)
            .max_size(size)
            .wait_timeout(wait)
            // Only consulted when a timeout is set.
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .expect("valid deadpool config")
    }

    async fn get(&self) -> Self::Guard<'_> {
        deadpool::managed::Pool::get(self)
            .await
            .expect("deadpool: get failed")
    }
}

impl BenchPool for mobc::Pool<Noop> {
    const NAME: &'static str = "mobc";
    type Guard<'a> = mobc::Connection<Noop>;

    async fn build(size: usize, wait: Option<Duration>) -> Self {
        let size = size as u64;
        let mut builder = mobc::Pool::builder()
            .max_open(size)
            .max_idle(size)
            .test_on_check_out(false);
        if let Some(wait) = wait {
            builder = builder.get_timeout(Some(wait));
        }
        builder.build(Noop)
    }

    async fn get(&self) -> Self::Guard<'_> {
        mobc::Pool::get(self).await.expect("mobc: get failed")
    }
}

/// No pool at all: `get` hands out a fresh local counter. Its latency is what spawning and
/// joining the tasks costs, the floor under every pool (reported, never a contender).
#[derive(Clone, Copy, Debug, Default)]
pub struct Floor;

pub struct Local(u64);

impl Deref for Local {
    type Target = u64;
    fn deref(&self) -> &u64 {
        &self.0
    }
}

impl DerefMut for Local {
    fn deref_mut(&mut self) -> &mut u64 {
        &mut self.0
    }
}

impl BenchPool for Floor {
    const NAME: &'static str = "floor";
    type Guard<'a> = Local;

    async fn build(_: usize, _: Option<Duration>) -> Self {
        Floor
    }

    async fn get(&self) -> Local {
        Local(0)
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A pool type with its benchmarks instantiated, as plain function pointers: the harness
/// interleaves pools of different types by walking a list of these.
#[derive(Clone, Copy)]
pub struct Contender {
    pub name: &'static str,
    /// Builds and pre-reserves a pool for the latency grid.
    pub latency_pool: fn(usize) -> BoxFuture<'static, Box<dyn LatencyPool>>,
    /// One throughput run (pool built inside the timer); `None` if it timed out.
    pub throughput_run: fn(crate::measure::ThroughputCase) -> BoxFuture<'static, Option<Duration>>,
    /// One fairness run: every `get()` wait.
    pub fairness_run: fn(crate::measure::FairnessCase) -> BoxFuture<'static, Option<Vec<Duration>>>,
    /// Allocations (count, bytes) over `ops` uncontended get+drop, on the current thread.
    pub allocs: fn(usize) -> crate::alloc::Count,
}

/// A built pool whose type is erased, for the interleaved latency loop.
pub trait LatencyPool: Send + Sync {
    /// One Astro36 round: spawn `tasks` tasks × 10 get+bump+drop, join; the elapsed time.
    fn round(&self, tasks: usize) -> BoxFuture<'_, Duration>;
}

impl<P: BenchPool> LatencyPool for P {
    fn round(&self, tasks: usize) -> BoxFuture<'_, Duration> {
        Box::pin(crate::measure::latency_round(self, tasks))
    }
}

impl Contender {
    pub fn of<P: BenchPool>() -> Self {
        use crate::measure;
        Contender {
            name: P::NAME,
            latency_pool: |size| {
                Box::pin(async move {
                    let pool = P::build(size, None).await;
                    measure::prereserve(&pool, size).await;
                    Box::new(pool) as Box<dyn LatencyPool>
                })
            },
            throughput_run: |case| Box::pin(measure::throughput_run::<P>(case)),
            fairness_run: |case| Box::pin(measure::fairness_run::<P>(case)),
            allocs: measure::allocs::<P>,
        }
    }
}

/// The pools compared, deadpool (the baseline of every ratio) included.
pub fn pools() -> Vec<Contender> {
    vec![
        Contender::of::<Ours>(),
        Contender::of::<OursAvailable>(),
        Contender::of::<bb8::Pool<Noop>>(),
        Contender::of::<deadpool::managed::Pool<Noop>>(),
        Contender::of::<mobc::Pool<Noop>>(),
    ]
}

/// The name of the pool every ratio is relative to.
pub const BASELINE: &str = "deadpool";
/// The name of the pool the acceptance lines are about.
pub const OURS: &str = "ours";
