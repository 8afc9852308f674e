//! A declared MySQL/MariaDB pool: a query and a transaction.
//!
//! ```text
//! cargo run --example mysql --features mysql
//! ```
//!
//! It connects to `mysql://pool:pool@127.0.0.1:3306/pool` (the server `cargo xtask services
//! up` provides); point it elsewhere without recompiling with `MYSQL_HOST`, `MYSQL_PORT`,
//! `MYSQL_DATABASE`, `MYSQL_USER` and `MYSQL_PASSWORD`, or the override variables such as
//! `OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__HOST`.

use std::error::Error;

use outgoing_pools::connectors::mysql::mysql_async::{TxOpts, prelude::*};
use outgoing_pools::outgoing_pools;

#[outgoing_pools(rdbms(
    workers = 5,
    connection(
        driver = mysql,
        host = env("MYSQL_HOST", default = "127.0.0.1"),
        port = env("MYSQL_PORT", default = "3306"),
        database = env("MYSQL_DATABASE", default = "pool"),
        username = env("MYSQL_USER", default = "pool"),
        password = env("MYSQL_PASSWORD", default = "pool"),
        // The server aborts statements running longer than 2 s.
        query_timeout = 2000,
        // `SELECT 1` on idle connections every 30 s, as MongooseIM's keepalive.
        keepalive_interval = 30,
    ),
))]
pub struct Pools;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    println!("{}", Pools::plan());
    let pools = match Pools::start().await {
        Ok(pools) => pools,
        Err(e) => {
            eprintln!("no MySQL/MariaDB server answers: {e}");
            eprintln!(
                "start one (`cargo xtask services up`) or set MYSQL_HOST, MYSQL_PORT, \
                 MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD"
            );
            std::process::exit(1);
        }
    };
    let pool = pools.rdbms();

    // A query: `call` runs the closure on one worker's `mysql_async::Conn`, under call_timeout.
    let version: Option<String> = pool
        .call(async |conn| conn.query_first("SELECT VERSION()").await)
        .await??;
    println!("server: {}", version.unwrap_or_default());

    // A transaction, on a connection held with `get()` (exclusive until the guard drops).
    let mut conn = pool.get().await?;
    conn.query_drop(
        "CREATE TEMPORARY TABLE accounts (name VARCHAR(20) PRIMARY KEY, balance INT) \
         ENGINE=InnoDB",
    )
    .await?;
    conn.exec_batch(
        "INSERT INTO accounts VALUES (?, ?)",
        [("alice", 100), ("bob", 0)],
    )
    .await?;
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    tx.exec_drop(
        "UPDATE accounts SET balance = balance - ? WHERE name = ?",
        (30, "alice"),
    )
    .await?;
    tx.exec_drop(
        "UPDATE accounts SET balance = balance + ? WHERE name = ?",
        (30, "bob"),
    )
    .await?;
    tx.commit().await?;
    let balances: Vec<(String, i32)> = conn
        .query("SELECT name, balance FROM accounts ORDER BY name")
        .await?;
    println!("after the transfer: {balances:?}");
    // The temporary table lives in this connection's session: drop it before giving the
    // connection back, so the next caller starts clean.
    conn.query_drop("DROP TEMPORARY TABLE accounts").await?;
    drop(conn);

    println!("{}", pools.status());
    pools.shutdown().await;
    Ok(())
}
