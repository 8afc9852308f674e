//! Quickstart: declare the pools once, start them, run jobs through them.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! Every pool here is `generic` (workers without a connection), so nothing needs to be running:
//! the jobs just sleep to stand in for a push notification, a background job, a user's request.

use std::error::Error;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use outgoing_pools::outgoing_pools;
use tokio::task::JoinSet;

#[outgoing_pools(
    hosts = ["a.com", "b.com"],
    // Push notifications for every host: any idle worker will do, callers queue in order.
    generic(tag = push, strategy = available_worker, workers = 4),
    // Background jobs, one pool per host so a busy host cannot starve the other...
    generic(tag = jobs, scope = host, strategy = next_worker, workers = 2),
    // ...and a.com, the busy one, gets more workers.
    generic(tag = jobs, scope = "a.com", strategy = next_worker, workers = 6),
    // A user's requests must not overtake each other: the same user always gets the same worker.
    generic(tag = users, strategy = hash_worker, workers = 3),
)]
pub struct Pools;

/// `generic.a.com.jobs` → `jobs@a.com`, `generic.global.push` → `push`: short enough for one
/// terminal line.
fn short(name: &str) -> String {
    let rest = name.split_once('.').map_or(name, |(_, rest)| rest);
    match rest.rsplit_once('.') {
        Some(("global", tag)) => tag.to_owned(),
        Some((host, tag)) => format!("{tag}@{host}"),
        None => rest.to_owned(),
    }
}

/// What each job pretends to spend talking to a service.
const WORK: Duration = Duration::from_millis(60);

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // The plan is known before anything starts: handy to log at boot.
    println!("{}", Pools::plan());
    let pools = Arc::new(Pools::start().await?);
    let started = Instant::now();

    // A live status line, redrawn while the jobs run.
    println!("live: pool busy/workers (+callers waiting)");
    let running = Arc::new(AtomicBool::new(true));
    let ticker = tokio::spawn({
        let (pools, running) = (pools.clone(), running.clone());
        async move {
            while running.load(Ordering::Relaxed) {
                let line: Vec<String> = pools
                    .status()
                    .0
                    .into_iter()
                    .map(|(name, s)| {
                        format!("{} {}/{} (+{})", short(name), s.busy, s.workers, s.waiting)
                    })
                    .collect();
                // Padded, so a shorter line fully covers the previous one.
                print!("\r{:<90}", line.join(" | "));
                let _ = std::io::stdout().flush();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });

    let mut tasks = JoinSet::new();
    // Push: more callers than workers, so they wait their turn (`call` bounds waiting + work
    // by `call_timeout`).
    for _ in 0..40 {
        let pools = pools.clone();
        tasks.spawn(async move {
            pools
                .generic_push()
                .call(async |()| tokio::time::sleep(WORK).await)
                .await
        });
    }
    // Jobs: each host's pool is sized for its load; `Host::ALL` covers every declared host.
    for host in Host::ALL {
        for _ in 0..20 {
            let pools = pools.clone();
            tasks.spawn(async move {
                pools
                    .generic_jobs(host)
                    .call(async |()| tokio::time::sleep(WORK).await)
                    .await
            });
        }
    }
    // Users: each user's requests in sequence, the users side by side, keyed by user name.
    for user in ["alice", "bob", "carol"] {
        let pools = pools.clone();
        tasks.spawn(async move {
            for _ in 0..10 {
                pools
                    .generic_users()
                    .call_by(user, async |()| tokio::time::sleep(WORK).await)
                    .await?;
            }
            Ok(())
        });
    }
    // Fire and forget: `cast` returns at once, the job runs on a push worker later.
    let sent = Arc::new(AtomicUsize::new(0));
    for _ in 0..10 {
        let sent = sent.clone();
        pools.generic_push().cast(async move {
            tokio::time::sleep(WORK).await;
            sent.fetch_add(1, Ordering::Relaxed);
        })?;
    }

    while let Some(result) = tasks.join_next().await {
        result??;
    }
    while sent.load(Ordering::Relaxed) < 10 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.store(false, Ordering::Relaxed);
    ticker.await?;

    println!("\n\nall jobs done in {:.1?}\n", started.elapsed());
    for user in ["alice", "bob", "carol"] {
        println!(
            "{user} always ran on users worker {}",
            pools.generic_users().worker_for(user)
        );
    }
    println!("\n{}", pools.status());

    // Every clone is gone (tasks and ticker finished), so the pools can be shut down.
    let pools = Arc::try_unwrap(pools).map_err(|_| "pools still shared")?;
    pools.shutdown().await;
    println!("shut down");
    Ok(())
}
