//! `call_timeout`, `max_worker_queue_len`, overrun warnings and shutdown.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pool_runtime::{
    AvailableWorker, BestWorker, Error, Generic, NextWorker, OverrunAlert, OverrunReport, Pool,
    PoolStatus,
};
use support::{Steerable, eventually};

#[tokio::test]
async fn call_timeout_bounds_waiting() {
    let pool = Pool::<Generic, AvailableWorker>::builder(Generic)
        .workers(1)
        .call_timeout(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    let _held = pool.get().await.unwrap();
    let started = std::time::Instant::now();
    let err = pool.call(async |()| ()).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(err.to_string(), "pool `pool`: timed out after 50ms");
    assert_eq!(
        pool.status().waiting,
        0,
        "the timed-out waiter left the queue"
    );
}

#[tokio::test]
async fn call_timeout_bounds_waiting_plus_running_and_replaces_the_connection() {
    let steer = Steerable::new();
    let pool = Pool::<Steerable, AvailableWorker>::builder(steer.clone())
        .workers(1)
        .call_timeout(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    let before = *pool.get().await.unwrap();
    let err = pool
        .call(async |_c| tokio::time::sleep(Duration::from_secs(10)).await)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    // The abandoned call's connection is never lent again: the worker reconnects.
    eventually(5, "worker back", || pool.status().idle == 1).await;
    let after = *pool.get().await.unwrap();
    assert_ne!(before, after);
    assert_eq!(steer.connects(), 2);
}

#[tokio::test]
async fn max_worker_queue_len_fails_fast() {
    let pool = Pool::<Generic, BestWorker>::builder(Generic)
        .name("push")
        .workers(1)
        .max_worker_queue_len(2)
        .build()
        .await
        .unwrap();
    let held = pool.get().await.unwrap();
    let mut queued = Vec::new();
    for _ in 0..2 {
        let p = pool.clone();
        queued.push(tokio::spawn(async move { p.call(async |()| ()).await }));
    }
    eventually(5, "two queued", || pool.status().waiting == 2).await;
    let err = pool.call(async |()| ()).await.unwrap_err();
    assert!(matches!(err, Error::QueueFull { limit: 2, .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "pool `push`: the queue is full (2 waiting)"
    );
    drop(held);
    for q in queued {
        q.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn overrun_warns_at_each_interval_and_abandons_at_the_limit() {
    let reports: Arc<Mutex<Vec<OverrunReport>>> = Arc::default();
    let sink = reports.clone();
    let pool = Pool::<Generic, NextWorker>::builder(Generic)
        .workers(1)
        .call_timeout(Duration::from_secs(10))
        .overrun_warning(Duration::from_millis(40))
        .max_overrun_warnings(3)
        .overrun_handler(move |r| sink.lock().unwrap().push(r.clone()))
        .build()
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let err = pool
        .call(async |()| tokio::time::sleep(Duration::from_secs(5)).await)
        .await
        .unwrap_err();
    let ran = started.elapsed();
    assert!(matches!(err, Error::Overrun { .. }), "{err}");
    // Constant interval: warnings at 40, 80, 120 ms; the third abandons the call.
    assert!(
        ran >= Duration::from_millis(120) && ran < Duration::from_secs(2),
        "{ran:?}"
    );
    let alerts: Vec<_> = reports.lock().unwrap().iter().map(|r| r.alert).collect();
    assert_eq!(
        alerts,
        [
            OverrunAlert::Overrun,
            OverrunAlert::Overrun,
            OverrunAlert::MaxOverrunLimit
        ]
    );
    assert!(reports.lock().unwrap().iter().all(|r| r.held_by == "call"));
}

#[tokio::test]
async fn a_guard_held_too_long_is_reported_and_replaced() {
    let reports: Arc<Mutex<Vec<OverrunReport>>> = Arc::default();
    let sink = reports.clone();
    let steer = Steerable::new();
    let pool = Pool::<Steerable, AvailableWorker>::builder(steer.clone())
        .workers(1)
        .overrun_warning(Duration::from_millis(40))
        .max_overrun_warnings(2)
        .overrun_handler(move |r| sink.lock().unwrap().push(r.clone()))
        .build()
        .await
        .unwrap();
    let held = pool.get().await.unwrap();
    let first = *held;
    eventually(5, "two warnings", || reports.lock().unwrap().len() >= 2).await;
    drop(held);
    let r = reports.lock().unwrap().clone();
    assert_eq!(r[0].held_by, "guard");
    assert_eq!(r[1].alert, OverrunAlert::MaxOverrunLimit);
    eventually(5, "worker back", || pool.status().idle == 1).await;
    assert_ne!(
        *pool.get().await.unwrap(),
        first,
        "the connection was replaced"
    );
}

#[tokio::test]
async fn shutdown_drains_in_flight_calls_then_refuses() {
    let pool = Pool::<Generic, AvailableWorker>::builder(Generic)
        .workers(2)
        .build()
        .await
        .unwrap();
    let p = pool.clone();
    let in_flight = tokio::spawn(async move {
        p.call(async |()| tokio::time::sleep(Duration::from_millis(50)).await)
            .await
    });
    eventually(5, "call running", || pool.status().busy == 1).await;
    let left = pool.shutdown(Duration::from_secs(5)).await;
    assert_eq!(left, 0);
    in_flight.await.unwrap().unwrap();
    let err = pool.get().await.unwrap_err();
    assert!(matches!(err, Error::Closed { .. }), "{err}");
    assert_eq!(err.to_string(), "pool `pool` is shut down");
    // Every connection is closed, and the status says so.
    assert_eq!(
        pool.status(),
        PoolStatus {
            workers: 2,
            idle: 0,
            busy: 0,
            down: 2,
            waiting: 0,
            shared: 0,
            closed: true,
        }
    );
}

#[tokio::test]
async fn a_worker_coming_back_after_the_grace_closes_its_connection() {
    let pool = Pool::<Generic, AvailableWorker>::builder(Generic)
        .workers(2)
        .build()
        .await
        .unwrap();
    let stuck = pool.get().await.unwrap();
    assert_eq!(pool.shutdown(Duration::from_millis(20)).await, 1);
    let status = pool.status();
    assert_eq!((status.busy, status.down, status.closed), (1, 1, true));
    drop(stuck);
    let status = pool.status();
    assert_eq!((status.idle, status.busy, status.down), (0, 0, 2));
}

#[tokio::test]
async fn shutdown_grace_runs_out_on_a_stuck_call() {
    let pool = Pool::<Generic, AvailableWorker>::builder(Generic)
        .workers(1)
        .build()
        .await
        .unwrap();
    let _stuck = pool.get().await.unwrap();
    assert_eq!(pool.shutdown(Duration::from_millis(20)).await, 1);
}

#[tokio::test]
async fn shutdown_wakes_waiters_with_closed() {
    let pool = Pool::<Generic, AvailableWorker>::builder(Generic)
        .workers(1)
        .build()
        .await
        .unwrap();
    let held = pool.get().await.unwrap();
    let p = pool.clone();
    let waiter = tokio::spawn(async move { p.get().await.map(|_| ()) });
    eventually(5, "waiting", || pool.status().waiting == 1).await;
    let p = pool.clone();
    let shut = tokio::spawn(async move { p.shutdown(Duration::from_secs(5)).await });
    assert!(matches!(waiter.await.unwrap(), Err(Error::Closed { .. })));
    drop(held);
    assert_eq!(shut.await.unwrap(), 0);
}

#[tokio::test]
async fn cast_runs_in_the_background_and_is_bounded() {
    let pool = Pool::<Generic, NextWorker>::builder(Generic)
        .workers(1)
        .max_worker_queue_len(3)
        .build()
        .await
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let gate = Arc::new(tokio::sync::Notify::new());
    for i in 0..4 {
        let (tx, gate) = (tx.clone(), gate.clone());
        pool.cast(async move {
            gate.notified().await;
            tx.send(i).unwrap();
        })
        .unwrap();
    }
    // One running plus three queued: the fifth is refused.
    let err = pool.cast(async {}).unwrap_err();
    assert!(matches!(err, Error::QueueFull { .. }), "{err}");
    let mut got = Vec::new();
    for _ in 0..4 {
        gate.notify_waiters();
        tokio::task::yield_now().await;
        got.push(
            tokio::time::timeout(Duration::from_secs(5), async {
                loop {
                    gate.notify_waiters();
                    if let Ok(v) = rx.try_recv() {
                        return v;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
            .await
            .unwrap(),
        );
    }
    got.sort();
    assert_eq!(got, [0, 1, 2, 3]);
    pool.cast(async {}).unwrap();
}

#[tokio::test]
async fn builder_rejects_zero_workers() {
    let err = Pool::<Generic, AvailableWorker>::builder(Generic)
        .name("jobs")
        .workers(0)
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "pool `jobs`: `workers` must be at least 1");
}
