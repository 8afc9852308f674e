//! Each strategy's choice rule (worker_pool §1.4).

mod support;

use std::collections::HashSet;
use std::time::Duration;

use pool_runtime::{
    AvailableWorker, BestWorker, Error, Generic, HashWorker, NextAvailableWorker, NextWorker, Pool,
    RandomWorker,
};

#[tokio::test]
async fn available_worker_takes_the_lowest_idle_worker() {
    let pool = Pool::<Generic, AvailableWorker>::builder(Generic)
        .workers(4)
        .build()
        .await
        .unwrap();
    let a = pool.get().await.unwrap();
    let b = pool.get().await.unwrap();
    assert_eq!((a.worker(), b.worker()), (0, 1));
    drop(a);
    assert_eq!(pool.get().await.unwrap().worker(), 0);
}

#[tokio::test]
async fn next_worker_goes_round_robin() {
    let pool = Pool::<Generic, NextWorker>::builder(Generic)
        .workers(3)
        .build()
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(pool.get().await.unwrap().worker());
    }
    assert_eq!(seen, [0, 1, 2, 0, 1, 2]);
}

#[tokio::test]
async fn random_worker_spreads_over_all_workers() {
    let pool = Pool::<Generic, RandomWorker>::builder(Generic)
        .workers(4)
        .build()
        .await
        .unwrap();
    let mut seen = HashSet::new();
    for _ in 0..400 {
        seen.insert(pool.get().await.unwrap().worker());
    }
    assert_eq!(seen.len(), 4);
}

#[tokio::test]
async fn best_worker_prefers_an_idle_worker_then_the_shortest_queue() {
    let pool = Pool::<Generic, BestWorker>::builder(Generic)
        .workers(2)
        .build()
        .await
        .unwrap();
    let first = pool.get().await.unwrap();
    let second = pool.get().await.unwrap();
    assert_ne!(
        first.worker(),
        second.worker(),
        "an idle worker is chosen while one exists"
    );
    // Queue one caller on `first`'s worker by holding it there with a keyed call.
    let pinned = first.worker();
    let p = pool.clone();
    let queued = tokio::spawn(async move { p.get_by_worker_for_test(pinned).await });
    support::eventually(5, "one caller queued", || pool.status().waiting == 1).await;
    // Both are busy; worker `pinned` has a queue of 1, the other 0: best picks the other.
    let p = pool.clone();
    let chooser = tokio::spawn(async move { p.get().await.unwrap().worker() });
    support::eventually(5, "two callers queued", || pool.status().waiting == 2).await;
    drop(second);
    assert_eq!(chooser.await.unwrap(), 1 - pinned);
    drop(first);
    queued.await.unwrap();
}

#[tokio::test]
async fn hash_worker_maps_a_key_to_the_same_worker() {
    let pool = Pool::<Generic, HashWorker>::builder(Generic)
        .workers(8)
        .build()
        .await
        .unwrap();
    let w = pool.get_by("alice@a.com").await.unwrap().worker();
    for _ in 0..20 {
        assert_eq!(pool.get_by("alice@a.com").await.unwrap().worker(), w);
    }
    let spread: HashSet<_> = futures_for_keys(&pool).await;
    assert!(spread.len() > 4, "keys spread over workers: {spread:?}");
}

async fn futures_for_keys(pool: &Pool<Generic, HashWorker>) -> HashSet<usize> {
    let mut s = HashSet::new();
    for k in 0..200 {
        s.insert(pool.get_by(&k).await.unwrap().worker());
    }
    s
}

#[tokio::test]
async fn next_available_worker_fails_fast_when_all_are_busy() {
    let pool = Pool::<Generic, NextAvailableWorker>::builder(Generic)
        .workers(2)
        .build()
        .await
        .unwrap();
    let _a = pool.get().await.unwrap();
    let _b = pool.get().await.unwrap();
    let started = std::time::Instant::now();
    let err = pool.get().await.unwrap_err();
    assert!(matches!(err, Error::NoAvailableWorkers { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(err.to_string(), "pool `pool`: no available workers");
}

#[tokio::test]
async fn keyed_calls_work_on_every_strategy() {
    let pool = Pool::<Generic, AvailableWorker>::builder(Generic)
        .workers(4)
        .build()
        .await
        .unwrap();
    let a = pool.call_by("k", async |()| 1).await.unwrap();
    let w1 = pool.get_by("k").await.unwrap().worker();
    let w2 = pool.get_by("k").await.unwrap().worker();
    assert_eq!((a, w1), (1, w2));
}

trait ForTest {
    async fn get_by_worker_for_test(&self, worker: usize);
}

impl ForTest for Pool<Generic, BestWorker> {
    /// Waits on exactly `worker`, through a key that maps there.
    async fn get_by_worker_for_test(&self, worker: usize) {
        let key = (0u32..).find(|k| self.worker_for(k) == worker).unwrap();
        let _c = self.get_by(&key).await.unwrap();
    }
}
