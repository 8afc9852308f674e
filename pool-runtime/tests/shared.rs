//! Shared use: callers pipeline on one worker without waiting; exclusive use still works and
//! has its worker alone.

mod support;

use std::time::Duration;

use pool_runtime::{BestWorker, Generic, NextWorker, Pool};
use support::eventually;

async fn pool(workers: usize) -> Pool<Generic, BestWorker> {
    Pool::builder(Generic)
        .workers(workers)
        .multiplexed()
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn many_callers_share_workers_without_waiting() {
    let pool = pool(2).await;
    let held: Vec<_> = futures(&pool, 10).await;
    assert_eq!(pool.status().shared, 10);
    assert_eq!(pool.status().waiting, 0);
    // best_worker spreads them: fewest in flight first.
    let on0 = held.iter().filter(|s| s.worker() == 0).count();
    assert_eq!(on0, 5);
    drop(held);
    assert_eq!(pool.status().shared, 0);
}

async fn futures(
    pool: &Pool<Generic, BestWorker>,
    n: usize,
) -> Vec<pool_runtime::Shared<'_, Generic>> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(pool.get_shared().await.unwrap());
    }
    v
}

#[tokio::test]
async fn an_owner_waits_for_shared_users_and_then_has_the_worker_alone() {
    let pool = pool(1).await;
    let shared = pool.get_shared().await.unwrap();
    let p = pool.clone();
    let owner = tokio::spawn(async move {
        let c = p.get().await.unwrap();
        assert_eq!(p.status().shared, 0, "no shared user while owned");
        drop(c);
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!owner.is_finished(), "the owner waits for the shared user");
    drop(shared);
    owner.await.unwrap();
}

#[tokio::test]
async fn shared_callers_avoid_an_owned_worker_and_wait_when_all_are_owned() {
    let pool = pool(2).await;
    let owned = pool.get().await.unwrap();
    for _ in 0..5 {
        assert_ne!(pool.get_shared().await.unwrap().worker(), owned.worker());
    }
    let other = pool.get().await.unwrap();
    let p = pool.clone();
    let waiter = tokio::spawn(async move { p.call_shared(async |()| 1).await.unwrap() });
    eventually(5, "waiting", || pool.status().waiting == 1).await;
    // best_worker queued it on one of the two (shortest queue, ties at random).
    drop(owned);
    drop(other);
    assert_eq!(waiter.await.unwrap(), 1);
}

#[tokio::test]
async fn next_worker_shares_round_robin() {
    let pool = Pool::<Generic, NextWorker>::builder(Generic)
        .workers(3)
        .multiplexed()
        .build()
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(pool.get_shared().await.unwrap().worker());
    }
    assert_eq!(seen, [0, 1, 2, 0, 1, 2]);
}

#[tokio::test]
async fn a_pool_not_built_multiplexed_lends_exclusively() {
    let pool = Pool::<Generic, BestWorker>::builder(Generic)
        .workers(1)
        .build()
        .await
        .unwrap();
    let a = pool.get_shared().await.unwrap();
    let p = pool.clone();
    let b = tokio::spawn(async move { p.get_shared().await.map(|s| s.worker()) });
    eventually(5, "waiting", || pool.status().waiting == 1).await;
    drop(a);
    assert_eq!(b.await.unwrap().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_shared_and_exclusive_load_leaves_everything_idle() {
    let pool = pool(3).await;
    let mut tasks = Vec::new();
    for t in 0..16 {
        let p = pool.clone();
        tasks.push(tokio::spawn(async move {
            for k in 0..200 {
                if (t + k) % 5 == 0 {
                    p.call(async |()| tokio::task::yield_now().await)
                        .await
                        .unwrap();
                } else {
                    let _ = tokio::time::timeout(
                        Duration::from_micros(50),
                        p.call_shared(async |()| tokio::task::yield_now().await),
                    )
                    .await;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let s = pool.status();
    assert_eq!((s.idle, s.shared, s.waiting), (3, 0, 0), "{s:?}");
}

#[tokio::test]
async fn available_worker_fills_a_connection_to_its_depth_before_the_next() {
    let pool = Pool::<Generic, pool_runtime::AvailableWorker>::builder(Generic)
        .workers(3)
        .multiplexed()
        .shared_depth(2)
        .build()
        .await
        .unwrap();
    let mut held = Vec::new();
    let mut workers = Vec::new();
    for _ in 0..6 {
        let s = pool.get_shared().await.unwrap();
        workers.push(s.worker());
        held.push(s);
    }
    assert_eq!(workers, [0, 0, 1, 1, 2, 2]);
    // Past every connection's depth: the least loaded.
    let extra = pool.get_shared().await.unwrap();
    assert!(extra.worker() < 3);
}
