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
async fn best_worker_prefers_an_idle_worker_then_whichever_frees_first() {
    let pool = Pool::<Generic, BestWorker>::builder(Generic)
        .workers(2)
        .build()
        .await
        .unwrap();
    let slow = pool.get().await.unwrap();
    let fast = pool.get().await.unwrap();
    assert_ne!(
        slow.worker(),
        fast.worker(),
        "an idle worker is chosen while one exists"
    );
    // Both busy: two callers wait, in arrival order, for whichever worker frees first, and
    // neither is stuck behind the slow one.
    let mut waiting = Vec::new();
    for k in 0..2 {
        let p = pool.clone();
        waiting.push(tokio::spawn(async move { p.get().await.unwrap().worker() }));
        support::eventually(5, "queued", || pool.status().waiting == k + 1).await;
    }
    let free = fast.worker();
    drop(fast);
    let first = waiting.remove(0).await.unwrap();
    assert_eq!(
        first, free,
        "the first caller got the worker that freed first"
    );
    let second = waiting.remove(0).await.unwrap();
    assert_eq!(
        second, free,
        "and so did the next, while the slow one is still held"
    );
    drop(slow);
}

#[tokio::test]
async fn best_and_random_and_next_worker_skip_a_down_worker() {
    let steer = support::Steerable::new();
    let best = Pool::<support::Steerable, BestWorker>::builder(steer.clone())
        .workers(3)
        .build()
        .await
        .unwrap();
    let next = Pool::<support::Steerable, NextWorker>::builder(steer.clone())
        .workers(3)
        .build()
        .await
        .unwrap();
    let random = Pool::<support::Steerable, RandomWorker>::builder(steer.clone())
        .workers(3)
        .build()
        .await
        .unwrap();
    steer.set(support::refuse, true);
    // Worker 1 of each goes down and stays down (its reconnects are refused).
    for down in [
        best.get_by(&key_for(&best, 1)).await.unwrap(),
        next.get_by(&key_for(&next, 1)).await.unwrap(),
        random.get_by(&key_for(&random, 1)).await.unwrap(),
    ] {
        down.discard();
    }
    let mut seen = (HashSet::new(), Vec::new(), HashSet::new());
    for _ in 0..60 {
        seen.0.insert(best.get().await.unwrap().worker());
        seen.1.push(next.get().await.unwrap().worker());
        seen.2.insert(random.get().await.unwrap().worker());
    }
    assert_eq!(seen.0, HashSet::from([0, 2]));
    assert_eq!(seen.2, HashSet::from([0, 2]));
    // Round robin passes the down worker's turn on: the others share the calls evenly.
    let zeros = seen.1.iter().filter(|&&w| w == 0).count();
    assert_eq!((zeros, seen.1.len() - zeros), (30, 30), "{:?}", seen.1);
}

fn key_for<S: pool_runtime::Strategy>(pool: &Pool<support::Steerable, S>, worker: usize) -> u32 {
    (0u32..).find(|k| pool.worker_for(k) == worker).unwrap()
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
