//! Quickstart: declare the pools once, start them, run jobs through them.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! The main pools are `generic` (workers without a connection), so nothing needs to be running:
//! the jobs just sleep to stand in for a push notification, a background job, a user's request.
//! When a PostgreSQL server answers (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
//! `PGDATABASE`, defaulting to the local server), a declared `rdbms` pool runs queries on it
//! too, and when a Redis server answers (`REDIS_HOST`, `REDIS_PORT`, defaulting to
//! 127.0.0.1:6379), a declared `redis` pool counts on it; when none does, the quickstart says
//! so and carries on.

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

/// The database pool, declared apart so the job pools run even when no server answers. Its
/// values are read from the environment at start, never compiled in.
#[cfg(feature = "pgsql")]
mod db {
    use outgoing_pools::outgoing_pools;

    #[outgoing_pools(rdbms(
        workers = 4,
        call_timeout = 5000,
        connection(
            driver = pgsql,
            host = env("PGHOST", default = "127.0.0.1"),
            port = env("PGPORT", default = "5432"),
            username = env("PGUSER", default = "postgres"),
            // MongooseIM requires a non-empty password; a server that trusts local logins ignores it.
            password = env("PGPASSWORD", default = "postgres"),
            database = env("PGDATABASE", default = "postgres"),
            keepalive_interval = 30,
        ),
    ))]
    pub struct DbPools;
}

/// Runs a few queries when a PostgreSQL server answers.
#[cfg(feature = "pgsql")]
async fn database() -> Result<(), Box<dyn Error>> {
    use outgoing_pools::connectors::pgsql::tokio_postgres;

    println!("\n{}", db::DbPools::plan());
    let pools = match db::DbPools::start().await {
        Ok(pools) => pools,
        Err(e) => {
            println!("no PostgreSQL to use ({e}); skipping the database part");
            return Ok(());
        }
    };
    let pg = pools.rdbms();
    // Exclusive use: the worker's connection (a `PgClient`, which derefs to
    // `tokio_postgres::Client` and caches prepared statements) is ours until the call ends, so
    // a transaction is safe.
    let version: String = pg
        .call(async |client| {
            let tx = client.transaction().await?;
            let row = tx.query_one("SELECT version()", &[]).await?;
            tx.commit().await?;
            Ok::<_, tokio_postgres::Error>(row.get(0))
        })
        .await??;
    println!(
        "connected: {}",
        version.split(',').next().unwrap_or(&version)
    );
    // Shared use: many callers pipeline their queries on the same connections at once.
    let mut queries = JoinSet::new();
    for i in 0..100i32 {
        let pg = pg.clone();
        queries.spawn(async move {
            pg.call_shared(async |client| {
                let row = client.query_one("SELECT $1::int * 2", &[&i]).await?;
                Ok::<i32, tokio_postgres::Error>(row.get(0))
            })
            .await
        });
    }
    let mut sum = 0;
    while let Some(r) = queries.join_next().await {
        sum += r???;
    }
    println!(
        "100 pipelined queries on {} connections: sum {sum}",
        pg.status().workers
    );
    println!("\n{}", pools.status());
    pools.shutdown().await;
    Ok(())
}

#[cfg(not(feature = "pgsql"))]
async fn database() -> Result<(), Box<dyn Error>> {
    println!("built without the `pgsql` feature: no database part");
    Ok(())
}

/// The Redis pool, declared apart like the database's.
#[cfg(feature = "redis")]
mod cache {
    use outgoing_pools::outgoing_pools;

    #[outgoing_pools(redis(
        workers = 4,
        connection(
            host = env("REDIS_HOST", default = "127.0.0.1"),
            port = env("REDIS_PORT", default = "6379"),
        ),
    ))]
    pub struct CachePools;
}

/// Counts on a Redis server when one answers.
#[cfg(feature = "redis")]
async fn cache() -> Result<(), Box<dyn Error>> {
    use outgoing_pools::connectors::redis::redis::{self, AsyncCommands};

    let pools = match cache::CachePools::start().await {
        Ok(pools) => pools,
        Err(e) => {
            println!("\nno Redis to use ({e}); skipping the cache part");
            return Ok(());
        }
    };
    let redis = pools.redis();
    let key = format!("quickstart:{}", std::process::id());
    // Shared use: 100 callers' INCRs pipelined on the pool's 4 connections.
    let mut incrs = JoinSet::new();
    for _ in 0..100 {
        let (redis, key) = (redis.clone(), key.clone());
        incrs.spawn(async move {
            redis
                .call_shared(async |c| c.clone().incr::<_, _, i64>(&key, 1).await)
                .await
        });
    }
    while let Some(r) = incrs.join_next().await {
        r???;
    }
    // Exclusive use: a transaction sent command by command holds the connection.
    let mut conn = redis.get().await?;
    let _: () = redis::cmd("MULTI").query_async(&mut *conn).await?;
    let _: () = conn.get(&key).await?;
    let _: () = conn.del(&key).await?;
    let (count, _): (i64, i64) = redis::cmd("EXEC").query_async(&mut *conn).await?;
    drop(conn);
    println!("\n100 pipelined INCRs on Redis, read and deleted in one transaction: {count}");
    pools.shutdown().await;
    Ok(())
}

#[cfg(not(feature = "redis"))]
async fn cache() -> Result<(), Box<dyn Error>> {
    println!("built without the `redis` feature: no cache part");
    Ok(())
}

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

    database().await?;
    cache().await
}
