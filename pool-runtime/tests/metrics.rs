//! The documented metrics are recorded, per pool.

use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use pool_runtime::metrics::names;
use pool_runtime::{AvailableWorker, Error, Generic, NextAvailableWorker, Pool};

#[tokio::test]
async fn metrics_are_recorded_under_their_documented_names() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let pool = Pool::<Generic, AvailableWorker>::builder(Generic)
        .name("jobs")
        .workers(1)
        .call_timeout(Duration::from_millis(30))
        .overrun_warning(Duration::from_millis(5))
        .build()
        .await
        .unwrap();
    pool.call(async |()| tokio::time::sleep(Duration::from_millis(12)).await)
        .await
        .unwrap();
    let held = pool.get().await.unwrap();
    assert!(matches!(
        pool.call(async |()| ()).await,
        Err(Error::Timeout { .. })
    ));
    drop(held);
    let busy = Pool::<Generic, NextAvailableWorker>::builder(Generic)
        .name("fast")
        .workers(1)
        .build()
        .await
        .unwrap();
    let _g = busy.get().await.unwrap();
    assert!(busy.get().await.is_err());

    let snapshot = snapshotter.snapshot().into_vec();
    let get = |name: &str, pool: &str| -> &DebugValue {
        snapshot
            .iter()
            .find(|(key, ..)| {
                key.key().name() == name
                    && key
                        .key()
                        .labels()
                        .any(|l| l.key() == "pool" && l.value() == pool)
            })
            .map(|(_, _, _, v)| v)
            .unwrap_or_else(|| panic!("{name} for {pool} not recorded"))
    };
    assert!(matches!(
        get(names::TIMEOUTS, "jobs"),
        DebugValue::Counter(1)
    ));
    assert!(matches!(get(names::OVERRUNS, "jobs"), DebugValue::Counter(n) if *n >= 2));
    assert!(matches!(
        get(names::QUEUE_FULL, "fast"),
        DebugValue::Counter(1)
    ));
    assert!(matches!(get(names::CALL_SECONDS, "jobs"), DebugValue::Histogram(h) if h.len() == 2));
    assert!(matches!(get(names::WAIT_SECONDS, "jobs"), DebugValue::Histogram(h) if h.len() == 1));
    assert!(matches!(get(names::WORKERS_UP, "jobs"), DebugValue::Gauge(g) if g.0 == 1.0));
    assert!(matches!(get(names::WAITING, "jobs"), DebugValue::Gauge(g) if g.0 == 0.0));
}
