//! The runtime without a declaration: build pools by hand, pick a strategy, and see the
//! options at work (`cargo run --example pool_api`).

use std::time::Duration;

use outgoing_pools::{
    AvailableWorker, Error, Generic, HashWorker, NextAvailableWorker, OverrunReport, Pool,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `available_worker`: the first idle worker, else a fair FIFO queue.
    let jobs = Pool::<Generic, AvailableWorker>::builder(Generic)
        .name("jobs")
        .workers(4)
        .call_timeout(Duration::from_millis(200))
        .overrun_warning(Duration::from_millis(50))
        .max_overrun_warnings(2)
        .overrun_handler(|r: &OverrunReport| println!("  overrun: {r:?}"))
        .build()
        .await?;

    // A guard: exclusive use of one worker until dropped.
    let guard = jobs.get().await?;
    println!("got worker {} of {:?}", guard.worker(), jobs.status());
    drop(guard);

    // `call` bounds waiting plus running by `call_timeout`.
    let answer = jobs.call(async |()| 6 * 7).await?;
    println!("call returned {answer}");

    // A call that runs too long is warned about, then abandoned at the limit (2 × 50 ms).
    let slow = jobs
        .call(async |()| tokio::time::sleep(Duration::from_secs(1)).await)
        .await;
    println!("slow call: {}", slow.unwrap_err());

    // Fire and forget, bounded by the queue limit.
    jobs.cast(async { println!("  cast ran in the background") })?;
    tokio::time::sleep(Duration::from_millis(20)).await;

    // `hash_worker`: the same key always reaches the same worker (per-user ordering); there
    // is no keyless `get()` on such a pool, so forgetting the key does not compile.
    let per_user = Pool::<Generic, HashWorker>::builder(Generic)
        .workers(8)
        .build()
        .await?;
    let w = per_user.call_by("alice@a.com", async |()| ()).await;
    println!(
        "alice's calls go to worker {} ({w:?})",
        per_user.worker_for("alice@a.com")
    );

    // `next_available_worker`: an idle worker or an immediate error, never a wait.
    let fast = Pool::<Generic, NextAvailableWorker>::builder(Generic)
        .workers(1)
        .build()
        .await?;
    let _busy = fast.get().await?;
    match fast.get().await {
        Err(e @ Error::NoAvailableWorkers { .. }) => println!("fail fast: {e}"),
        other => println!("unexpected: {other:?}"),
    }

    // Shared use: many callers pipeline on one worker's (multiplexing) connection.
    let shared = Pool::<Generic, AvailableWorker>::builder(Generic)
        .workers(2)
        .multiplexed()
        .build()
        .await?;
    let a = shared.get_shared().await?;
    let b = shared.get_shared().await?;
    let c = shared.get_shared().await?;
    println!("three shared users: {:?}", shared.status());
    drop((a, b, c));

    // Shutdown drains in-flight calls, then refuses new ones.
    jobs.shutdown(Duration::from_secs(1)).await;
    println!(
        "after shutdown: {}",
        jobs.get().await.map(|_| ()).unwrap_err()
    );
    Ok(())
}
