//! A declared ODBC pool: the seed's `{server, "DSN=mydb"}`, a query and a transaction.
//!
//! ```text
//! cargo run --example odbc --features odbc
//! ```
//!
//! It uses the data source `pooltest` that `cargo xtask services up` registers (PostgreSQL
//! through psqlODBC); set `ODBC_CONNECTION_STRING` to use another, e.g. `DSN=mydb` or
//! `Driver={PostgreSQL Unicode};Server=…;Database=…;Uid=…;Pwd=…`. ODBC calls block, so each
//! connection runs on a thread of its own; the async runtime never waits on the driver.

use std::error::Error;

use outgoing_pools::connectors::odbc::odbc_api;
use outgoing_pools::outgoing_pools;

#[outgoing_pools(rdbms(
    workers = 3,
    connection(
        driver = odbc,
        settings = env("ODBC_CONNECTION_STRING", default = "DSN=pooltest"),
        query_timeout = 2000,
        keepalive_interval = 30,
    ),
))]
pub struct Pools;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let pools = match Pools::start().await {
        Ok(pools) => pools,
        Err(e) => {
            eprintln!("no ODBC data source answers: {e}");
            eprintln!(
                "register one (`cargo xtask services up` makes DSN `pooltest`) or set \
                 ODBC_CONNECTION_STRING"
            );
            std::process::exit(1);
        }
    };
    let pool = pools.rdbms();

    // A query: rows come back as text.
    let rows = pool
        .call(async |conn| {
            conn.query("SELECT 1 + 1 AS two, CURRENT_DATE AS today")
                .await
        })
        .await??;
    println!("{:?}: {:?}", rows.columns, rows.rows);

    // A transaction with parameters: odbc-api itself, run on the connection's thread.
    let mut conn = pool.get().await?;
    conn.execute("CREATE TEMPORARY TABLE accounts (name TEXT PRIMARY KEY, balance INT)")
        .await?;
    conn.execute("INSERT INTO accounts VALUES ('alice', 100), ('bob', 0)")
        .await?;
    conn.with(|c| -> Result<(), odbc_api::Error> {
        c.set_autocommit(false)?;
        let mut move_money =
            c.prepare("UPDATE accounts SET balance = balance + ? WHERE name = ?")?;
        use odbc_api::IntoParameter;
        move_money.execute((&-30, &"alice".into_parameter()))?;
        move_money.execute((&30, &"bob".into_parameter()))?;
        c.commit()?;
        c.set_autocommit(true)
    })
    .await??;
    let balances = conn
        .query("SELECT name, balance FROM accounts ORDER BY name")
        .await?;
    println!("after the transfer: {:?}", balances.rows);
    conn.execute("DROP TABLE accounts").await?;
    drop(conn);

    println!("{}", pools.status());
    pools.shutdown().await;
    Ok(())
}
