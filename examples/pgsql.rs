//! A declared `rdbms` pool on PostgreSQL: a query, a transaction, and many callers sharing
//! the pool's connections at once.
//!
//! ```text
//! cargo run --example pgsql
//! ```
//!
//! It connects to 127.0.0.1:5432, database, user and password `pool` (the test server of
//! `cargo xtask services up`); `OP_PG_HOST`, `OP_PG_PORT`, `OP_PG_DB`, `OP_PG_USER` and
//! `OP_PG_PASSWORD` point it elsewhere. With no server answering it says so and exits.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use outgoing_pools::outgoing_pools;

/// The application's pools: one `rdbms` pool of 4 PostgreSQL connections. Every value can
/// also be overridden at start (`Pools::builder().set(...)` or
/// `OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__<KEY>`).
#[outgoing_pools(rdbms(
    workers = 4,
    connection(
        driver = pgsql,
        host = env("OP_PG_HOST", default = "127.0.0.1"),
        port = env("OP_PG_PORT", default = "5432"),
        database = env("OP_PG_DB", default = "pool"),
        username = env("OP_PG_USER", default = "pool"),
        password = env("OP_PG_PASSWORD", default = "pool"),
        query_timeout = 2000,
        keepalive_interval = 30,
    ),
))]
pub struct Pools;

#[tokio::main]
async fn main() -> ExitCode {
    println!("declared:\n{}", Pools::plan());
    let pools = match Pools::start().await {
        Ok(pools) => pools,
        Err(e) => {
            println!("no PostgreSQL to talk to: {e}");
            println!(
                "start one (`cargo xtask services up`) or point OP_PG_HOST, OP_PG_PORT and \
                 OP_PG_PASSWORD at yours"
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
    let db = pools.rdbms();

    // A query, on a worker's connection for the time of the call (under `call_timeout`).
    let version: String = db
        .call(async |c| c.query_one("SELECT version()", &[]).await?.try_get(0))
        .await??;
    println!("\nquery: {version}");

    // A transaction: `get()` lends the worker's connection alone until dropped. It is a
    // `PgClient`: the `tokio_postgres::Client` (it derefs to one) with a statement cache, so
    // query text runs as a statement prepared once per connection, in transactions too.
    let mut conn = db.get().await?;
    let tx = conn.transaction().await?;
    tx.batch_execute("CREATE TEMP TABLE greetings (word text)")
        .await?;
    for word in ["hello", "bonjour", "hola"] {
        tx.execute("INSERT INTO greetings VALUES ($1)", &[&word])
            .await?;
    }
    let n: i64 = tx
        .query_one("SELECT count(*) FROM greetings", &[])
        .await?
        .get(0);
    tx.commit().await?;
    drop(conn);
    println!("transaction: inserted and committed {n} rows on one worker's connection");

    // Many callers at once: `call_shared` sends each query on a worker's connection
    // without waiting for the others (tokio-postgres pipelines them); a pool built with
    // `.multiplexed()` never makes them wait for a worker.
    let started = Instant::now();
    let calls = 200;
    let tasks: Vec<_> = (0..calls)
        .map(|i: i32| {
            let db = db.clone();
            tokio::spawn(async move {
                db.call_shared(async |c| {
                    let row = c.query_one("SELECT $1::int * 2", &[&i]).await?;
                    row.try_get::<_, i32>(0)
                })
                .await
            })
        })
        .collect();
    let mut sum = 0i64;
    for t in tasks {
        sum += i64::from(t.await??.map_err(|e| format!("query: {e}"))?);
    }
    println!(
        "shared: {calls} concurrent calls on {} workers in {:?} (sum {sum})",
        db.status().workers,
        started.elapsed()
    );

    // Checked while idle (SELECT 1) every keepalive_interval; here, a look at the server.
    let backends: i64 = db
        .call(async |c| {
            c.query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'rdbms.global.default'",
                &[],
            )
            .await?
            .try_get(0)
        })
        .await??;
    println!("server: {backends} backends named after the pool");
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}
