//! The `generic` connector: workers with no connection, for plain async jobs (push
//! notifications, SNS, …) that need a bounded number running at once.

use std::convert::Infallible;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::Ordering;

use bb8::ManageConnection;

use crate::builder::defaults;
use crate::pool::Deadline;
use crate::strategy::{Keyless, Strategy, worker_for_key};
use crate::{Error, Pool};

/// A connector whose connection is `()`: a worker is just a permit to run one job.
///
/// ```
/// use pool_runtime::{Generic, NextWorker, Pool};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let push = Pool::<Generic, NextWorker>::builder(Generic).workers(2).build().await?;
/// let sent = push.call(async |()| "sent").await?;
/// push.cast(async { /* fire and forget */ })?;
/// assert_eq!(sent, "sent");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Generic;

impl ManageConnection for Generic {
    type Connection = ();
    type Error = Infallible;

    async fn connect(&self) -> Result<(), Infallible> {
        Ok(())
    }

    async fn is_valid(&self, _: &mut ()) -> Result<(), Infallible> {
        Ok(())
    }

    fn has_broken(&self, _: &mut ()) -> bool {
        false
    }
}

struct Pending<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<S: Strategy> Pool<Generic, S> {
    /// Runs `job` on a worker in the background (worker_pool's `cast`): returns at once.
    /// At most `max_worker_queue_len` jobs (default 1000) per worker may be waiting or
    /// running; past that the job is refused with [`Error::QueueFull`].
    pub fn cast<F>(&self, job: F) -> Result<(), Error<Infallible>>
    where
        S: Keyless,
        F: Future<Output = ()> + Send + 'static,
    {
        self.spawn_job(None, job)
    }

    /// [`Pool::cast`] on the worker `key` maps to: jobs with the same key run one at a time,
    /// in order.
    pub fn cast_by<K, F>(&self, key: &K, job: F) -> Result<(), Error<Infallible>>
    where
        K: Hash + ?Sized,
        F: Future<Output = ()> + Send + 'static,
    {
        self.spawn_job(Some(worker_for_key(key, self.status().workers)), job)
    }

    fn spawn_job<F>(&self, pinned: Option<usize>, job: F) -> Result<(), Error<Infallible>>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let inner = &self.inner;
        if inner.core.is_closed() {
            return Err(Error::Closed {
                pool: inner.name.clone(),
            });
        }
        let per_worker = inner
            .config
            .max_worker_queue_len
            .unwrap_or(defaults::CAST_QUEUE_LEN);
        // Queued plus running: a worker's running job is not part of its queue.
        let limit = (per_worker + 1).saturating_mul(inner.core.workers());
        if inner.casts.fetch_add(1, Ordering::Relaxed) >= limit {
            inner.casts.fetch_sub(1, Ordering::Relaxed);
            inner.metrics.queue_full.increment(1);
            return Err(Error::QueueFull {
                pool: inner.name.clone(),
                limit: per_worker,
            });
        }
        let pool = self.clone();
        inner.runtime.spawn(async move {
            let _pending = Pending(&pool.inner.casts);
            let mut deadline = Deadline::lazy(pool.inner.config.call_timeout);
            match pool.checkout(pinned, &mut deadline, false).await {
                Ok(worker) => {
                    job.await;
                    drop(worker);
                }
                Err(e) => tracing::warn!(pool = %pool.inner.name, error = %e, "cast dropped"),
            }
        });
        Ok(())
    }
}
