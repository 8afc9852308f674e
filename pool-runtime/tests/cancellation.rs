//! Cancellation at every await: thousands of `get()`/`call()` futures dropped at random
//! points leave every worker idle and usable, with no waiter left behind.

mod support;

use std::time::Duration;

use pool_runtime::{AvailableWorker, BestWorker, Generic, NextWorker, Pool, Strategy};
use support::eventually;

/// A tiny deterministic generator, so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

async fn storm<S: Strategy + pool_runtime::Keyless>(seed: u64) {
    let pool = Pool::<Generic, S>::builder(Generic)
        .workers(4)
        .call_timeout(Duration::from_secs(30))
        .build()
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for t in 0..16u64 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(seed ^ (t + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            for _ in 0..300 {
                let limit = Duration::from_nanos(rng.below(200_000));
                match rng.below(4) {
                    0 => {
                        let _ = tokio::time::timeout(limit, pool.get()).await;
                    }
                    1 => {
                        let _ = tokio::time::timeout(
                            limit,
                            pool.call(async |()| tokio::task::yield_now().await),
                        )
                        .await;
                    }
                    2 => {
                        let key = rng.below(8);
                        let _ = tokio::time::timeout(limit, async {
                            let c = pool.get_by(&key).await;
                            tokio::task::yield_now().await;
                            drop(c);
                        })
                        .await;
                    }
                    _ => {
                        // Poll once, then drop: queued or assigned-but-uncollected.
                        let mut f = Box::pin(pool.get());
                        let _ = futures_poll_once(f.as_mut()).await;
                        drop(f);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    eventually(5, "all idle", || pool.status().idle == 4).await;
    let s = pool.status();
    assert_eq!((s.idle, s.busy, s.down, s.waiting), (4, 0, 0, 0), "{s:?}");
    // Every worker is usable at once.
    let all: Vec<_> = futures_all(&pool).await;
    assert_eq!(all.len(), 4);
}

async fn futures_all<S: Strategy + pool_runtime::Keyless>(pool: &Pool<Generic, S>) -> Vec<usize> {
    let mut held = Vec::new();
    for k in 0..4u32 {
        let key = (0u32..).find(|x| pool.worker_for(x) == k as usize).unwrap();
        held.push(pool.get_by(&key).await.unwrap());
    }
    held.iter().map(|c| c.worker()).collect()
}

async fn futures_poll_once<F: std::future::Future + Unpin>(mut f: F) -> Option<F::Output> {
    std::future::poll_fn(|cx| match std::pin::Pin::new(&mut f).poll(cx) {
        std::task::Poll::Ready(v) => std::task::Poll::Ready(Some(v)),
        std::task::Poll::Pending => std::task::Poll::Ready(None),
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dropped_futures_leak_nothing_available_worker() {
    for seed in 1..4 {
        storm::<AvailableWorker>(seed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dropped_futures_leak_nothing_best_worker() {
    for seed in 11..14 {
        storm::<BestWorker>(seed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dropped_futures_leak_nothing_next_worker() {
    for seed in 21..24 {
        storm::<NextWorker>(seed).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn dropped_futures_leak_nothing_on_one_thread() {
    storm::<AvailableWorker>(42).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_across_await_liveness() {
    // qp's hang: pool 2, 32 tasks, each 20 × (get; yield; drop), with and without 50 µs
    // timeouts. Must always complete.
    for round in 0..50 {
        let pool = Pool::<Generic, AvailableWorker>::builder(Generic)
            .workers(2)
            .build()
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for t in 0..32 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..20 {
                    if (t + round) % 2 == 0 {
                        let c = pool.get().await.unwrap();
                        tokio::task::yield_now().await;
                        drop(c);
                    } else {
                        let _ = tokio::time::timeout(Duration::from_micros(50), async {
                            let c = pool.get().await;
                            tokio::task::yield_now().await;
                            drop(c);
                        })
                        .await;
                    }
                }
            }));
        }
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .expect("no hang")
                .unwrap();
        }
        assert_eq!(pool.status().idle, 2);
    }
}
