//! Shared use of multiplexing connections: many callers pipeline on one worker's connection
//! at once (tokio-postgres `Client`, redis `MultiplexedConnection`, …), without waiting for
//! each other. Exclusive use ([`Pool::get`]) still works on the same pool: an owner keeps new
//! shared users off its worker and waits for those in flight, then has it alone.

use std::fmt;
use std::hash::Hash;
use std::ops::Deref;
use std::sync::Arc;

use tokio::time::Instant;

use crate::core::slot::SharedUse;
use crate::error::Error;
use crate::pool::{Deadline, Inner, cooperate};
use crate::strategy::{self, Keyless, Strategy};
use crate::{Conn, Connector, Pool};

/// A connector whose connection serves many concurrent callers through `&` (it pipelines or
/// multiplexes requests). Implementing it allows [`crate::PoolBuilder::multiplexed`].
pub trait Multiplexed: Connector<Connection: Sync> {
    /// Whether the connection can no longer serve anyone (the server closed it, its I/O
    /// task ended): a cheap, synchronous check through `&`, run before a shared caller is
    /// given the connection, since [`ManageConnection::has_broken`] needs `&mut`. A closed
    /// connection is never lent: its worker reconnects. Default: never closed.
    ///
    /// [`ManageConnection::has_broken`]: crate::ManageConnection::has_broken
    fn is_closed(&self, conn: &Self::Connection) -> bool {
        let _ = conn;
        false
    }
}

impl Multiplexed for crate::Generic {}

/// A worker's connection used together with other callers: derefs to `&C::Connection`.
pub struct Shared<'a, C: Connector> {
    inner: &'a Arc<Inner<C>>,
    with: With<'a, C>,
}

enum With<'a, C: Connector> {
    /// Counted as one of the worker's shared users.
    Others(SharedUse<'a, C::Connection>),
    /// Every worker was owned and this caller waited for one exclusively.
    Alone(Conn<'a, C>),
}

impl<C: Connector> Shared<'_, C> {
    /// The index of the worker (0-based).
    pub fn worker(&self) -> usize {
        match &self.with {
            With::Others(shared) => shared.worker(),
            With::Alone(conn) => conn.worker(),
        }
    }
}

impl<C: Connector> Deref for Shared<'_, C> {
    type Target = C::Connection;

    fn deref(&self) -> &C::Connection {
        match &self.with {
            With::Others(shared) => shared
                .conn()
                .expect("a worker open to shared use holds a connection"),
            With::Alone(conn) => conn,
        }
    }
}

impl<C: Connector> fmt::Debug for Shared<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("pool", &self.inner.name)
            .field("worker", &self.worker())
            .finish()
    }
}

impl<C: Multiplexed, S: Strategy> Pool<C, S> {
    /// Uses a worker's connection together with other callers, without waiting for them.
    /// The strategy picks the worker (`best_worker`: fewest calls in flight). Only when every
    /// worker is owned exclusively (or the pool was not built
    /// [`multiplexed`](crate::PoolBuilder::multiplexed)) does the caller wait, as for
    /// [`Pool::get`].
    ///
    /// ```
    /// use pool_runtime::{BestWorker, Generic, Pool};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::<Generic, BestWorker>::builder(Generic)
    ///     .workers(2)
    ///     .multiplexed()
    ///     .build()
    ///     .await?;
    /// // Three callers at once on two workers, none waiting.
    /// let (a, b, c) = (pool.get_shared().await?, pool.get_shared().await?, pool.get_shared().await?);
    /// assert_eq!(pool.status().shared, 3);
    /// let n = pool.call_shared(async |_conn| 42).await?;
    /// # drop((a, b, c));
    /// # assert_eq!(n, 42);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get_shared(&self) -> Result<Shared<'_, C>, Error<C::Error>>
    where
        S: Keyless,
    {
        self.shared(None, &mut Deadline::lazy(self.inner.config.call_timeout))
            .await
    }

    /// [`Pool::get_shared`] on the worker `key` maps to.
    pub async fn get_shared_by<K: Hash + ?Sized>(
        &self,
        key: &K,
    ) -> Result<Shared<'_, C>, Error<C::Error>> {
        let mut deadline = Deadline::lazy(self.inner.config.call_timeout);
        self.shared(Some(self.worker_for(key)), &mut deadline).await
    }

    /// Runs `f` on a shared connection (see [`Pool::get_shared`]) under `call_timeout`.
    pub async fn call_shared<F, T>(&self, f: F) -> Result<T, Error<C::Error>>
    where
        S: Keyless,
        F: AsyncFnOnce(&C::Connection) -> T,
    {
        let started = Instant::now();
        let run = async {
            let mut deadline = Deadline::from(started, self.inner.config.call_timeout);
            let conn = self.shared(None, &mut deadline).await?;
            Ok(f(&conn).await)
        };
        let inner = &self.inner;
        let out = match inner.config.call_timeout {
            Some(t) => tokio::time::timeout_at(started + t, run)
                .await
                .unwrap_or_else(|_| Err(inner.timeout())),
            None => run.await,
        };
        inner.metrics.call.record(started.elapsed());
        out
    }

    async fn shared(
        &self,
        pinned: Option<usize>,
        deadline: &mut Deadline,
    ) -> Result<Shared<'_, C>, Error<C::Error>> {
        let inner = &self.inner;
        if inner.config.multiplexed {
            cooperate().await;
            let found = match pinned {
                Some(i) => try_share(inner, i),
                None => pick::<C, S>(inner),
            };
            if let Some(shared) = found {
                return Ok(Shared {
                    inner,
                    with: With::Others(shared),
                });
            }
        }
        let conn = self.checkout(pinned, deadline, true).await?;
        Ok(Shared {
            inner,
            with: With::Alone(conn),
        })
    }
}

/// Joins worker `i` as a shared user unless someone owns it or its connection is closed
/// (then the worker is taken down to reconnect).
fn try_share<C: Multiplexed>(
    inner: &Arc<Inner<C>>,
    i: usize,
) -> Option<SharedUse<'_, C::Connection>> {
    let shared = inner.slots.join(i)?;
    if shared.conn().is_some_and(|c| !inner.manager.is_closed(c)) {
        return Some(shared);
    }
    drop(shared);
    retire_closed(inner, i);
    None
}

/// Takes worker `i`, whose connection a shared caller found closed, down to reconnect — once
/// the shared users still on it have left. If someone else owns it, they will find out.
#[cold]
fn retire_closed<C: Multiplexed>(inner: &Arc<Inner<C>>, i: usize) {
    let Some(claim) = inner.slots.try_acquire(&inner.core, i) else {
        return;
    };
    let owner = inner.clone();
    inner.runtime.spawn(async move {
        let owned = owner.slots.exclusive(claim).await;
        Conn::new(&owner, owned, false).discard();
    });
}

/// The worker a shared caller joins, chosen by the strategy's rule.
fn pick<C: Multiplexed, S: Strategy>(
    inner: &Arc<Inner<C>>,
) -> Option<SharedUse<'_, C::Connection>> {
    strategy::pick_shared(
        S::SHARED_PICK,
        inner.core.workers(),
        &inner.next,
        inner.config.shared_depth,
        |i| inner.slots[i].shared_load(),
        |i| try_share(inner, i),
    )
}
