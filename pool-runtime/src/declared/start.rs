//! Starting and stopping the pools of a declaration together.
//!
//! Every pool's settings are resolved and checked first, in declaration order, so a wrong
//! value fails the start before any connection is opened. Then the pools connect
//! concurrently, declaration order deciding who goes first, with at most
//! [`CONNECTING_AT_ONCE`] connections being opened at a time; the first pool that cannot start
//! fails the whole start, after the starts in flight are dropped and the pools already started
//! are shut down.
//!
//! The generated `start()` makes one call here with each pool's type erased behind a function
//! pointer ([`prepare::<C, S>`](prepare)), and builds the struct from the [`Started`] pools one
//! field at a time. So what the compiler checks grows by one line per pool, never by one await
//! per pool holding every pool started before it (which made type checking quadratic in the
//! pool count), and the generic code is instantiated once per `Pool<C, S>` type, not per pool.

use std::any::Any;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::{FromSettings, Overrides, PoolSpec, StartError};
use crate::error::PoolName;
use crate::settings::{PoolOptions, Settings, keys};
use crate::strategy::Strategy;
use crate::{Pool, PoolBuilder, PoolStatus};

/// How many connections the pools of a declaration open at once while starting (each pool
/// opens all its workers' connections together; a pool with more workers than this starts
/// alone). A 400-pool declaration thus starts in a few rounds instead of 400 pools one after
/// the other, without hitting its servers with every connection at the same instant.
pub const CONNECTING_AT_ONCE: usize = 64;

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A started pool of a declaration with its types erased: what starting, stopping and
/// reporting on all the pools at once needs. Implemented by every [`Pool`].
pub trait AnyPool: Send + Sync + 'static {
    /// [`Pool::status`].
    fn status(&self) -> PoolStatus;

    /// [`Pool::shutdown`], boxed.
    fn shutdown_boxed(&self, grace: Duration) -> Boxed<'_, usize>;

    /// The pool itself, to downcast to its `Pool<C, S>`.
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

impl<C: crate::Connector, S: Strategy> AnyPool for Pool<C, S> {
    fn status(&self) -> PoolStatus {
        Pool::status(self)
    }

    fn shutdown_boxed(&self, grace: Duration) -> Boxed<'_, usize> {
        Box::pin(self.shutdown(grace))
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

/// A declared pool with its settings checked and its connector built, not connected yet.
pub struct Prepared {
    workers: usize,
    build: Boxed<'static, Result<Box<dyn AnyPool>, StartError>>,
}

/// What the generated code passes for each pool: [`prepare::<C, S>`](prepare) for its
/// `Pool<C, S>`.
pub type Prepare = fn(&'static PoolSpec, &Overrides) -> Result<Prepared, StartError>;

/// Resolves and checks the settings of the declared pool `spec` and builds its connector;
/// connecting waits for [`start_all`]. `connection` keys that are pool behaviours in this
/// runtime (`keepalive_interval`, `max_start_interval`) configure the pool, whatever the type.
///
/// # Errors
///
/// A setting that is missing or wrong, or a connector that is not compiled in.
pub fn prepare<C, S>(spec: &'static PoolSpec, overrides: &Overrides) -> Result<Prepared, StartError>
where
    C: FromSettings,
    S: Strategy,
{
    let builder = pool_builder::<C, S>(spec, overrides)?;
    Ok(Prepared {
        workers: builder.planned_workers(),
        build: Box::pin(async move {
            match builder.build().await {
                Ok(pool) => Ok(Box::new(pool) as Box<dyn AnyPool>),
                Err(e) => Err(StartError::Pool {
                    pool: PoolName::from(spec.name),
                    source: Box::new(e),
                }),
            }
        }),
    })
}

/// The builder of one declared pool, every setting resolved and checked: all that can fail
/// before a connection is opened.
fn pool_builder<C, S>(
    spec: &PoolSpec,
    overrides: &Overrides,
) -> Result<PoolBuilder<C, S>, StartError>
where
    C: FromSettings,
    S: Strategy,
{
    let settings = Settings::resolve(spec, overrides)?;
    let options = PoolOptions::from_settings(&settings)?;
    let connector = C::from_settings(&settings)?;
    let mut b = Pool::<C, S>::builder(connector)
        .name(spec.name)
        .workers(options.workers as usize)
        .call_timeout(options.call_timeout)
        .queue_type(options.queue_type)
        .connect_timeout(options.connect_timeout)
        .shared_depth(options.shared_depth);
    if let Some(n) = options.max_worker_queue_len {
        b = b.max_worker_queue_len(n as usize);
    }
    if let Some(after) = options.overrun_warning {
        b = b.overrun_warning(after);
    }
    if let Some(n) = options.max_overrun_warnings {
        b = b.max_overrun_warnings(n.into());
    }
    if let Some(every) = settings.opt(keys::KEEPALIVE_INTERVAL)? {
        b = b.keepalive_interval(every);
    }
    if let Some(cap) = settings.opt(keys::MAX_START_INTERVAL)? {
        b = b.max_start_interval(cap);
    }
    Ok(C::tune(b))
}

/// The pools of a declaration, started, in declaration order.
pub struct Started(Vec<Option<Box<dyn AnyPool>>>);

impl Started {
    /// The `i`-th pool, as the `Pool<C, S>` its [`Prepare`] made.
    ///
    /// # Panics
    ///
    /// If it was taken already or is not a `T`: the generated code takes each pool once, as
    /// the type it prepared it with.
    pub fn take<T: AnyPool>(&mut self, i: usize) -> T {
        let pool = self.0[i].take().expect("each pool is taken once");
        *pool
            .into_any()
            .downcast::<T>()
            .expect("a pool is taken as the type it was prepared with")
    }
}

/// Starts the declared pools `specs`, `prepare[i]` making the `i`-th (see the module docs for
/// the order of work).
///
/// What the generated `start()` does, by hand:
///
/// ```
/// use std::time::Duration;
/// use pool_runtime::declared::{
///     Overrides, PoolSpec, Prepare, SettingSpec, Source, prepare, shutdown_all, start_all,
/// };
/// use pool_runtime::settings::PoolType;
/// use pool_runtime::{BestWorker, Generic, Pool, RandomWorker};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// const fn generic(name: &'static str, tag: &'static str, strategy: &'static str) -> PoolSpec {
///     PoolSpec {
///         name,
///         pool_type: PoolType::Generic,
///         driver: None,
///         host: None,
///         tag,
///         connector: "Generic",
///         strategy,
///         options: &[SettingSpec { key: "workers", source: Source::Int(2), written: true }],
///         connection: &[],
///     }
/// }
/// static SPECS: [PoolSpec; 2] = [
///     generic("generic.global.a", "a", "best_worker"),
///     generic("generic.global.b", "b", "random_worker"),
/// ];
/// static PREPARE: [Prepare; 2] = [prepare::<Generic, BestWorker>, prepare::<Generic, RandomWorker>];
///
/// let mut started = start_all(&SPECS, &Overrides::default(), &PREPARE).await.unwrap();
/// let a: Pool<Generic, BestWorker> = started.take(0);
/// let b: Pool<Generic, RandomWorker> = started.take(1);
/// assert_eq!((a.status().workers, b.status().idle), (2, 2));
/// shutdown_all(&[&a, &b], Duration::ZERO).await;
/// # }
/// ```
///
/// # Errors
///
/// The first setting that is wrong, in declaration order, before anything connects; else the
/// first pool that cannot start (no worker connecting), once the pools already started are
/// shut down.
///
/// # Panics
///
/// If `specs` and `prepare` differ in length.
pub async fn start_all(
    specs: &'static [PoolSpec],
    overrides: &Overrides,
    prepare: &[Prepare],
) -> Result<Started, StartError> {
    assert_eq!(specs.len(), prepare.len(), "one `Prepare` per pool");
    let mut waiting = specs
        .iter()
        .zip(prepare)
        .enumerate()
        .map(|(i, (spec, prepare))| Ok((i, prepare(spec, overrides)?)))
        .collect::<Result<VecDeque<(usize, Prepared)>, StartError>>()?;
    let mut started: Vec<Option<Box<dyn AnyPool>>> = specs.iter().map(|_| None).collect();
    let mut connecting = FuturesUnordered::new();
    let mut opening = 0;
    let failed = loop {
        while let Some((_, next)) = waiting.front()
            && (opening == 0 || opening + next.workers <= CONNECTING_AT_ONCE)
        {
            let (i, next) = waiting.pop_front().expect("just looked at it");
            opening += next.workers;
            let (workers, build) = (next.workers, next.build);
            connecting.push(async move { (i, workers, build.await) });
        }
        match connecting.next().await {
            Some((i, workers, Ok(pool))) => {
                opening -= workers;
                started[i] = Some(pool);
            }
            Some((_, _, Err(e))) => break e,
            None => return Ok(Started(started)),
        }
    };
    // The starts in flight stop here (their connections close as they drop).
    drop(connecting);
    let pools: Vec<&dyn AnyPool> = started.iter().flatten().map(|p| &**p).collect();
    shutdown_all(&pools, Duration::ZERO).await;
    Err(failed)
}

/// Shuts `pools` down concurrently, with one shared `grace` for the calls in flight
/// ([`Pool::shutdown`]).
pub async fn shutdown_all(pools: &[&dyn AnyPool], grace: Duration) {
    let mut stopping: FuturesUnordered<_> = pools.iter().map(|p| p.shutdown_boxed(grace)).collect();
    while stopping.next().await.is_some() {}
}

/// `prepare::<C, S>` for each connector `C` and every strategy.
macro_rules! every_pool_type {
    ($($c:ty),* $(,)?) => {
        [$(
            prepare::<$c, crate::BestWorker>,
            prepare::<$c, crate::RandomWorker>,
            prepare::<$c, crate::NextWorker>,
            prepare::<$c, crate::AvailableWorker>,
            prepare::<$c, crate::NextAvailableWorker>,
            prepare::<$c, crate::HashWorker>,
        )*]
    };
}

/// Every `Pool<C, S>` of the built-in connectors, instantiated (compiled) here once: at
/// opt-level 0 rustc shares generic instances between crates, so a debug build of an
/// application declaring pools links these instead of compiling the pool machinery (connect,
/// reconnect, keepalive, shutdown) again for each `Pool<C, S>` it declares. Release builds
/// compile what they use, as usual.
#[doc(hidden)]
pub static BUILT_IN: [Prepare; 6 * 11] = {
    use crate::connectors::*;
    every_pool_type!(
        crate::Generic,
        Pgsql,
        Mysql,
        Odbc,
        Redis,
        Http,
        Elastic,
        Rabbit,
        Ldap,
        Cassandra,
        Riak,
    )
};
