//! [`Conn`]: a worker lent to one caller.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::time::Instant;

use crate::Connector;
use crate::core::slot::Owned;
use crate::error::Error;
use crate::pool::Inner;
use crate::worker;

/// A worker's connection, lent to one caller until dropped. Derefs to the connector's native
/// connection type (`tokio_postgres::Client`, `mysql_async::Conn`, …).
///
/// Dropping it gives the worker to the next waiter. If the connector reports the connection
/// broken ([`ManageConnection::has_broken`]), or [`Conn::discard`] was called, the worker
/// reconnects in the background instead; once the pool is shut down, the connection closes.
///
/// [`ManageConnection::has_broken`]: crate::ManageConnection::has_broken
pub struct Conn<'a, C: Connector> {
    inner: &'a Arc<Inner<C>>,
    /// The worker; taken only by the drop, which hands it on.
    owned: Option<Owned>,
    broken: bool,
    watched: bool,
}

impl<'a, C: Connector> Conn<'a, C> {
    /// `watch`: raise overrun warnings while the guard is held (the maintenance task does).
    #[inline]
    pub(crate) fn new(inner: &'a Arc<Inner<C>>, owned: Owned, watch: bool) -> Self {
        let watched = watch && inner.config.overrun_warning.is_some();
        if watched {
            let slot = &inner.slots[owned.worker()];
            slot.warnings.store(0, Ordering::Relaxed);
            slot.poisoned.store(false, Ordering::Relaxed);
            slot.since.store(inner.coarse_now() + 1, Ordering::Relaxed);
        }
        Conn {
            inner,
            owned: Some(owned),
            broken: false,
            watched,
        }
    }

    /// The index of the worker (0-based).
    pub fn worker(&self) -> usize {
        self.owned().worker()
    }

    #[inline]
    fn owned(&self) -> &Owned {
        self.owned
            .as_ref()
            .expect("a lent worker is owned until the guard drops")
    }

    /// Gives the worker back with its connection marked broken: it reconnects before anyone
    /// uses it again. Use it when an operation was abandoned half-way.
    pub fn discard(mut self) {
        self.broken = true;
    }

    /// Runs `f` under the deadline, raising overrun warnings, and abandons it at the limit.
    pub(crate) async fn run_watched<F, T>(
        &mut self,
        f: F,
        started: Instant,
        deadline: Option<Instant>,
    ) -> Result<T, Error<C::Error>>
    where
        F: AsyncFnOnce(&mut C::Connection) -> T,
    {
        let inner = self.inner;
        let idx = self.worker();
        let overrun = inner.config.overrun_warning;
        let max = inner.config.max_overrun_warnings;
        // Until `f` finishes the connection is mid-operation: if this future is dropped, or
        // gives up below, the guard replaces the connection instead of lending it on.
        self.broken = true;
        let out = {
            let mut fut = pin!(f(&mut **self));
            // Overrun counts from when the call got its worker, as worker_pool's does.
            let begun = Instant::now();
            let mut warnings = 0u32;
            loop {
                let next_warning = overrun.map(|o| begun + o * (warnings + 1));
                let wake = match (deadline, next_warning) {
                    (Some(d), Some(w)) => d.min(w),
                    (Some(t), None) | (None, Some(t)) => t,
                    (None, None) => break Ok(fut.await),
                };
                match tokio::time::timeout_at(wake, fut.as_mut()).await {
                    Ok(v) => break Ok(v),
                    Err(_) if Some(wake) == deadline => break Err(inner.timeout()),
                    Err(_) => {
                        warnings += 1;
                        let last = max.is_some_and(|m| u64::from(warnings) >= m);
                        worker::report_overrun(inner, idx, begun.elapsed(), last, "call");
                        if last {
                            break Err(Error::Overrun {
                                pool: inner.name.clone(),
                                ran: started.elapsed(),
                            });
                        }
                    }
                }
            }
        };
        if out.is_ok() {
            self.broken = false;
        }
        out
    }
}

impl<C: Connector> Deref for Conn<'_, C> {
    type Target = C::Connection;

    #[inline]
    fn deref(&self) -> &C::Connection {
        self.inner
            .slots
            .conn(self.owned())
            .as_ref()
            .expect("a lent worker always holds a connection")
    }
}

impl<C: Connector> DerefMut for Conn<'_, C> {
    #[inline]
    fn deref_mut(&mut self) -> &mut C::Connection {
        let owned = self
            .owned
            .as_mut()
            .expect("a lent worker is owned until the guard drops");
        self.inner
            .slots
            .conn_mut(owned)
            .as_mut()
            .expect("a lent worker always holds a connection")
    }
}

impl<C: Connector> Drop for Conn<'_, C> {
    #[inline]
    fn drop(&mut self) {
        let inner = self.inner;
        let Some(mut owned) = self.owned.take() else {
            return;
        };
        let slot = &inner.slots[owned.worker()];
        if self.watched {
            slot.since.store(0, Ordering::Relaxed);
            if slot.poisoned.swap(false, Ordering::Relaxed) {
                self.broken = true;
            }
        }
        // `has_broken` runs even for a connection already known broken: a connector may
        // clean up there (pgsql cancels the abandoned statement on the server).
        let broken = match inner.slots.conn_mut(&mut owned).as_mut() {
            Some(conn) => inner.manager.has_broken(conn) | self.broken,
            None => true,
        } || inner.core.is_closed();
        if broken {
            worker::down(inner, owned);
        } else {
            if !slot.used.load(Ordering::Relaxed) {
                slot.used.store(true, Ordering::Relaxed);
            }
            worker::give_back(inner, owned);
        }
    }
}

impl<C: Connector> fmt::Debug for Conn<'_, C>
where
    C::Connection: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("pool", &self.inner.name)
            .field("worker", &self.worker())
            .field("connection", &**self)
            .finish()
    }
}
