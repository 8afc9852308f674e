//! The worker-pool runtime of outgoing-pools: [`Pool`], worker_pool's strategies, and the
//! connectors.
//!
//! A pool owns `workers` workers, each holding one connection made by a connector (any bb8
//! [`ManageConnection`]). A caller gets one worker per call, chosen by the pool's strategy:
//!
//! ```
//! use pool_runtime::{AvailableWorker, Generic, Pool};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), pool_runtime::Error<std::convert::Infallible>> {
//! let pool = Pool::<Generic, AvailableWorker>::builder(Generic).workers(16).build().await?;
//! let mut conn = pool.get().await?; // a guard: Deref/DerefMut to the connection
//! *conn = ();
//! drop(conn);
//! let n = pool.call(async |_c| 7).await?; // under call_timeout
//! let status = pool.status();
//! assert_eq!((n, status.workers, status.idle, status.busy, status.waiting), (7, 16, 16, 0, 0));
//! # Ok(())
//! # }
//! ```
//!
//! The core is fair (a released worker goes straight to the oldest waiter; nobody barges),
//! cancellation-safe (dropping a `get()` or `call()` future at any point loses nothing), and
//! takes no lock and allocates nothing when a worker is idle. See [`metrics`] for what is
//! recorded and `tracing` targets for what is logged.
//!
//! # Failures
//!
//! - A connection the connector can tell is broken ([`ManageConnection::has_broken`],
//!   [`Multiplexed::is_closed`] for shared use) is never lent: its worker reconnects and the
//!   caller gets another.
//! - Keyless strategies pick among the workers that are up; only with every worker down does
//!   a caller wait for a reconnection or get [`Error::Unavailable`]. Keyed calls wait for their
//!   own worker.
//! - A caller finding its worker (or every worker) down with the latest attempt older than
//!   250 ms starts an attempt now rather than waiting out the backoff; the first success has
//!   every other down worker try at once.
//! - `call_timeout` bounds everything a caller waits for; a check or connect that outlives it
//!   finishes in the background for the worker.
//! - Every `get()`/`call()` consumes tokio's cooperative budget.
//!
//! # Overrun rule
//!
//! `overrun_warning = O`, `max_overrun_warnings = N`: warnings at O, 2·O, 3·O, … after the
//! call got its worker (a constant interval, whatever N is); the N-th warning (at N·O)
//! abandons the call. worker_pool's code doubles the interval when N is finite while its docs
//! say the opposite; a constant interval makes the limit easy to reason about: N·O.
//!
//! # Known limit
//!
//! As with every hand-off design (tokio's semaphore included), a future that was given a
//! worker but is neither polled nor dropped keeps it.

mod builder;
mod conn;
mod core;
pub mod declared;
mod error;
pub mod metrics;
mod pool;
pub mod settings;
mod shared;
mod strategy;
mod worker;

pub mod connectors;

pub use bb8::ManageConnection;

/// A connector: anything that makes and checks connections. It is bb8's
/// [`ManageConnection`] whose error is a standard error that can be shared between threads,
/// so any bb8 manager crate plugs in unchanged (every client crate's error qualifies): one
/// failed connection attempt is reported to every caller that waited for it, and reaches
/// them as the [`source`](std::error::Error::source) of the pool's [`Error`].
///
/// Implemented for every such manager; implement [`ManageConnection`] to write one.
///
/// ```
/// use pool_runtime::{AvailableWorker, Connector, ManageConnection, Pool};
///
/// struct Counter;
///
/// impl ManageConnection for Counter {
///     type Connection = u64;
///     type Error = std::io::Error;
///
///     async fn connect(&self) -> std::io::Result<u64> {
///         Ok(0)
///     }
///     async fn is_valid(&self, _: &mut u64) -> std::io::Result<()> {
///         Ok(())
///     }
///     fn has_broken(&self, _: &mut u64) -> bool {
///         false
///     }
/// }
///
/// fn is_connector<C: Connector>(_: &C) {}
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// is_connector(&Counter);
/// let pool = Pool::<Counter, AvailableWorker>::builder(Counter).workers(2).build().await.unwrap();
/// assert_eq!(*pool.get().await.unwrap(), 0);
/// # }
/// ```
pub trait Connector: ManageConnection<Error: std::error::Error + Sync> {}

impl<T: ManageConnection<Error: std::error::Error + Sync>> Connector for T {}

pub use crate::builder::{OverrunHandler, PoolBuilder, QueueType, defaults};
pub use crate::conn::Conn;
pub use crate::connectors::generic::Generic;
pub use crate::declared::StartError;
pub use crate::error::{Cause, Chain, ConnectError, Error, PoolName};
pub use crate::pool::{Pool, PoolStatus};
pub use crate::shared::{Multiplexed, Shared};
pub use crate::strategy::{
    AvailableWorker, BestWorker, HashWorker, Keyless, NextAvailableWorker, NextWorker,
    RandomWorker, Strategy,
};
pub use crate::worker::{OverrunAlert, OverrunReport};
