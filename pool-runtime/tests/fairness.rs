//! Fairness: a released worker goes to the caller that waited longest (or, with
//! `queue_type = lifo`, the newest); a newcomer never takes it first.

mod support;

use std::sync::{Arc, Mutex};

use pool_runtime::{AvailableWorker, BestWorker, Generic, Pool, QueueType};
use support::eventually;

async fn grant_order(queue_type: QueueType) -> Vec<usize> {
    let pool = Pool::<Generic, AvailableWorker>::builder(Generic)
        .workers(1)
        .queue_type(queue_type)
        .build()
        .await
        .unwrap();
    let held = pool.get().await.unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for k in 0..8 {
        let (p, order) = (pool.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            let _c = p.get().await.unwrap();
            order.lock().unwrap().push(k);
            tokio::task::yield_now().await;
        }));
        // Queue them one after another, in a known order.
        eventually(5, "queued", || pool.status().waiting == k + 1).await;
    }
    drop(held);
    // A newcomer right after the release queues behind the eight.
    let (p, o) = (pool.clone(), order.clone());
    let newcomer = tokio::spawn(async move {
        let _c = p.get().await.unwrap();
        o.lock().unwrap().push(99);
    });
    for t in tasks {
        t.await.unwrap();
    }
    newcomer.await.unwrap();
    Arc::try_unwrap(order).unwrap().into_inner().unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn fifo_hand_off_serves_the_longest_waiter_first() {
    assert_eq!(
        grant_order(QueueType::Fifo).await,
        [0, 1, 2, 3, 4, 5, 6, 7, 99]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn lifo_serves_the_newest_waiter_first() {
    let order = grant_order(QueueType::Lifo).await;
    // The newcomer arrives after the release has already been handed to waiter 7.
    assert_eq!(&order[..2], [7, 99]);
    assert_eq!(&order[2..], [6, 5, 4, 3, 2, 1, 0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_worker_serves_its_own_queue_in_order() {
    let pool = Pool::<Generic, BestWorker>::builder(Generic)
        .workers(2)
        .build()
        .await
        .unwrap();
    let key = (0u32..).find(|k| pool.worker_for(k) == 1).unwrap();
    let held = pool.get_by(&key).await.unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for k in 0..6 {
        let (p, order) = (pool.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            let _c = p.get_by(&key).await.unwrap();
            order.lock().unwrap().push(k);
        }));
        eventually(5, "queued", || pool.status().waiting == k + 1).await;
    }
    // Worker 0 stays free for everyone else meanwhile.
    assert_eq!(pool.get().await.unwrap().worker(), 0);
    drop(held);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4, 5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversubscribed_waits_stay_close_to_each_other() {
    // 200 tasks on 10 workers, each holding 1 ms: with FIFO hand-off the longest wait is a
    // small multiple of the median (a barging pool's tail is tens of times its median).
    let pool = Pool::<Generic, AvailableWorker>::builder(Generic)
        .workers(10)
        .call_timeout(std::time::Duration::from_secs(30))
        .build()
        .await
        .unwrap();
    let waits = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (p, waits) = (pool.clone(), waits.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..5 {
                let t = std::time::Instant::now();
                let _c = p.get().await.unwrap();
                waits.lock().unwrap().push(t.elapsed());
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut w = waits.lock().unwrap().clone();
    w.sort();
    let p50 = w[w.len() / 2];
    let max = *w.last().unwrap();
    assert!(
        max < p50 * 5 + std::time::Duration::from_millis(50),
        "p50 {p50:?}, max {max:?}"
    );
}
