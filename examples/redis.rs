//! A declared `redis` pool: commands shared by many callers at once (pipelined on the
//! workers' connections), a transaction and a blocking pop on a connection used alone, and
//! pub/sub.
//!
//! ```text
//! cargo run --example redis
//! ```
//!
//! It connects to 127.0.0.1:6379 (the test server of `cargo xtask services up`);
//! `OP_REDIS_HOST` and `OP_REDIS_PORT` point it elsewhere. With no server answering it says so
//! and exits.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use outgoing_pools::connectors::redis::redis::{self, AsyncCommands};
use outgoing_pools::outgoing_pools;

/// The application's pools: a `redis` pool of 4 connections, and a second one for pub/sub.
/// Every value can also be overridden at start (`Pools::builder().set(...)` or
/// `OUTGOING_POOLS__REDIS__GLOBAL__DEFAULT__<KEY>`).
#[outgoing_pools(
    redis(
        workers = 4,
        connection(
            host = env("OP_REDIS_HOST", default = "127.0.0.1"),
            port = env("OP_REDIS_PORT", default = "6379"),
        ),
    ),
    redis(
        tag = events,
        workers = 1,
        strategy = available_worker,
        connection(
            host = env("OP_REDIS_HOST", default = "127.0.0.1"),
            port = env("OP_REDIS_PORT", default = "6379"),
        ),
    ),
)]
pub struct Pools;

#[tokio::main]
async fn main() -> ExitCode {
    println!("declared:\n{}", Pools::plan());
    let pools = match Pools::start().await {
        Ok(pools) => pools,
        Err(e) => {
            println!("no Redis to talk to: {e}");
            println!(
                "start one (`cargo xtask services up`) or point OP_REDIS_HOST and \
                 OP_REDIS_PORT at yours"
            );
            return ExitCode::SUCCESS;
        }
    };
    match run(&pools).await {
        Ok(()) => {
            println!("\n{}", pools.status());
            pools.shutdown().await;
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(pools: &Pools) -> Result<(), Box<dyn std::error::Error>> {
    let redis = pools.redis();
    let key = format!("example:{}", std::process::id());

    // Shared: the closure gets `&RedisConnection`; a clone is the `&mut` redis-rs wants, and
    // every caller's commands pipeline on one of the workers' connections.
    let started = Instant::now();
    let calls = (0..1000).map(|_| {
        redis.call_shared(async |c| {
            let mut c = c.clone();
            c.incr::<_, _, i64>(&key, 1).await
        })
    });
    for result in futures_util::future::join_all(calls).await {
        result??;
    }
    let n: i64 = redis
        .call_shared(async |c| c.clone().get(&key).await)
        .await??;
    println!(
        "\n1000 INCRs from 1000 callers at once: {n} in {:?}",
        started.elapsed()
    );

    // Exclusive: `get()` lends the worker's connection alone until dropped, for a transaction
    // sent command by command, and for blocking commands.
    let mut conn = redis.get().await?;
    let _: () = redis::cmd("MULTI").query_async(&mut *conn).await?;
    let _: () = redis::cmd("INCRBY")
        .arg(&key)
        .arg(10)
        .query_async(&mut *conn)
        .await?;
    let _: () = redis::cmd("EXPIRE")
        .arg(&key)
        .arg(60)
        .query_async(&mut *conn)
        .await?;
    let (total, _): (i64, bool) = redis::cmd("EXEC").query_async(&mut *conn).await?;
    println!("MULTI/EXEC: {total}");
    let waited = Instant::now();
    let popped: Option<(String, String)> = conn.blpop(format!("{key}:queue"), 0.5).await?;
    println!(
        "BLPOP on an empty list: {popped:?} after {:?}",
        waited.elapsed()
    );
    drop(conn);

    // Pub/sub on a connection of its own; the worker gets a fresh connection afterwards.
    let mut sub = pools.redis_events().get().await?;
    let channel = format!("{key}:news");
    sub.subscribe(&channel).await?;
    let receivers: i64 = redis
        .call_shared(async |c| c.clone().publish(&channel, "hello").await)
        .await??;
    let msg = tokio::time::timeout(Duration::from_secs(2), sub.next_message()).await?;
    if let Some(msg) = msg {
        println!(
            "pub/sub: {receivers} receiver got {:?} on {}",
            msg.get_payload::<String>()?,
            msg.get_channel_name()
        );
    }
    Ok(())
}
