//! Reconnection: a pool whose backend fails keeps serving what it can, reports the real
//! error, never hangs, and comes back by itself.

mod support;

use std::time::Duration;

use pool_runtime::{AvailableWorker, ConnectError, Error, HashWorker, NextWorker, Pool};
use support::{Refused, Steerable, broken, eventually, hang, invalid, refuse};

async fn pool(steer: &Steerable, workers: usize) -> Pool<Steerable, AvailableWorker> {
    Pool::builder(steer.clone())
        .name("db")
        .workers(workers)
        .call_timeout(Duration::from_millis(500))
        .max_start_interval(Duration::from_millis(100))
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn start_fails_with_the_connectors_own_error() {
    let steer = Steerable::new();
    steer.set(refuse, true);
    let started = std::time::Instant::now();
    let err = Pool::<Steerable, AvailableWorker>::builder(steer)
        .name("db")
        .build()
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "a refused connect fails fast"
    );
    match &err {
        Error::Connect {
            cause: ConnectError::Failed(cause),
            ..
        } => {
            assert!(cause.inspect(|e| *e == Refused))
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(err.to_string(), "pool `db`: cannot connect");
    assert_eq!(format!("{err:?}"), "pool `db`: cannot connect: Refused");
    let source = std::error::Error::source(&err).expect("the connector's error");
    assert_eq!(source.downcast_ref::<Refused>(), Some(&Refused));
}

#[tokio::test]
async fn connect_timeout_is_reported_as_such() {
    let steer = Steerable::new();
    steer.set(hang, true);
    let err = Pool::<Steerable, AvailableWorker>::builder(steer)
        .name("db")
        .connect_timeout(Duration::from_millis(30))
        .build()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "pool `db`: cannot connect: connect timed out after 30ms"
    );
}

#[tokio::test]
async fn a_broken_connection_is_replaced_and_callers_get_another_worker() {
    let steer = Steerable::new();
    let pool = pool(&steer, 2).await;
    let conn = pool.get().await.unwrap();
    let old = *conn;
    steer.set(broken, true);
    drop(conn); // has_broken: the worker goes down and reconnects
    steer.set(broken, false);
    // Meanwhile a caller gets the other worker, not an error and not a hang.
    pool.call(async |_c| ()).await.unwrap();
    eventually(5, "both up", || pool.status().idle == 2).await;
    let ids: Vec<u64> = vec![*pool.get().await.unwrap(), *pool.get().await.unwrap()];
    assert!(!ids.contains(&old));
}

#[tokio::test]
async fn all_workers_down_gives_the_real_error_at_once_then_recovers() {
    let steer = Steerable::new();
    let pool = pool(&steer, 3).await;
    steer.set(refuse, true);
    for _ in 0..3 {
        pool.get().await.unwrap().discard(); // each goes down
    }
    eventually(5, "all down", || pool.status().down == 3).await;
    eventually(5, "reconnects attempted", || steer.connects() >= 6).await;
    let started = std::time::Instant::now();
    let err = pool.call(async |_c| ()).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "fails fast, no hang"
    );
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    assert_eq!(format!("{err:?}"), "pool `db`: no connection: Refused");
    // The backend comes back: the pool recovers by itself.
    steer.set(refuse, false);
    eventually(5, "recovered", || pool.status().idle == 3).await;
    for _ in 0..10 {
        pool.call(async |_c| ()).await.unwrap();
    }
}

#[tokio::test]
async fn waiters_are_told_when_the_last_worker_goes_down() {
    let steer = Steerable::new();
    let pool = pool(&steer, 1).await;
    let held = pool.get().await.unwrap();
    let p = pool.clone();
    let waiter = tokio::spawn(async move { p.get().await.map(|_| ()) });
    eventually(5, "waiting", || pool.status().waiting == 1).await;
    steer.set(refuse, true);
    held.discard();
    let err = tokio::time::timeout(Duration::from_millis(200), waiter)
        .await
        .expect("the waiter is woken, not left to time out")
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    steer.set(refuse, false);
    eventually(5, "recovered", || pool.status().idle == 1).await;
}

#[tokio::test]
async fn a_worker_that_cannot_connect_at_start_keeps_trying() {
    let steer = Steerable::new();
    // Two of four connects fail at start: the pool starts with the other two.
    steer
        .0
        .fail_next
        .store(2, std::sync::atomic::Ordering::SeqCst);
    let pool = Pool::<Steerable, NextWorker>::builder(steer.clone())
        .workers(4)
        .max_start_interval(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    assert!(pool.status().down <= 2);
    eventually(5, "all up", || pool.status().down == 0).await;
}

#[tokio::test]
async fn an_idle_connection_that_fails_its_check_is_replaced_before_use() {
    let steer = Steerable::new();
    let pool = pool(&steer, 1).await;
    let old = *pool.get().await.unwrap();
    // Idle for more than a maintenance tick: validated before it is lent.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    steer.set(invalid, true);
    let checks = steer.checks();
    let p = pool.clone();
    let got = tokio::spawn(async move { *p.get().await.unwrap() });
    eventually(5, "checked", || steer.checks() > checks).await;
    steer.set(invalid, false);
    assert_ne!(got.await.unwrap(), old);
}

#[tokio::test]
async fn keepalive_replaces_dead_idle_connections() {
    let steer = Steerable::new();
    let pool = Pool::<Steerable, AvailableWorker>::builder(steer.clone())
        .workers(2)
        .keepalive_interval(Duration::from_millis(30))
        .max_start_interval(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    eventually(5, "keepalive ran", || steer.checks() >= 2).await;
    steer.set(invalid, true);
    eventually(5, "keepalive failed the workers", || steer.connects() >= 4).await;
    steer.set(invalid, false);
    eventually(5, "recovered", || pool.status().idle == 2).await;
}

#[tokio::test]
async fn a_keyed_call_on_a_down_worker_fails_clearly() {
    let steer = Steerable::new();
    let pool = Pool::<Steerable, HashWorker>::builder(steer.clone())
        .workers(2)
        .max_start_interval(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    let w = pool.worker_for("k");
    steer.set(refuse, true);
    pool.get_by("k").await.unwrap().discard();
    eventually(5, "down", || pool.status().down == 1).await;
    let err = pool.call_by("k", async |_c| ()).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    // Another key on the other worker still works.
    let other = (0u32..).find(|k| pool.worker_for(k) != w).unwrap();
    pool.call_by(&other, async |_c| ()).await.unwrap();
    steer.set(refuse, false);
    eventually(5, "up", || pool.status().down == 0).await;
    pool.call_by("k", async |_c| ()).await.unwrap();
}

#[tokio::test]
async fn the_call_after_a_replaced_connection_waits_for_the_replacement() {
    // One worker: the timed-out call's connection is replaced; the next caller must get the
    // new one (within its timeout), not "no connection", since nothing has failed to connect.
    let steer = Steerable::new();
    let pool = pool(&steer, 1).await;
    let slow = pool
        .call(async |_c| tokio::time::sleep(Duration::from_secs(5)).await)
        .await
        .unwrap_err();
    assert!(matches!(slow, Error::Timeout { .. }), "{slow}");
    for _ in 0..3 {
        pool.call(async |_c| ()).await.unwrap();
    }
    assert_eq!(steer.connects(), 2);
}
