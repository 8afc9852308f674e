//! Declared ODBC pools against the test DSN: the seed's `{server, "DSN=mydb"}` and a
//! driver-level connection string, translated to the declaration syntax, every value read
//! with `env(...)` when the pools start.
//!
//! One test in its own binary: it sets those variables from the test-services contract.

#![cfg(feature = "odbc")]

use std::time::{Duration, Instant};

use outgoing_pools::StartError;
use outgoing_pools::connectors::odbc::{OdbcConnection, OdbcError, odbc_api};
use test_support::{ODBC, require};

mod seed {
    use outgoing_pools::outgoing_pools;

    #[outgoing_pools(
        // {rdbms, global, default, [{workers, 5}], [{server, "DSN=mydb"}]}
        rdbms(workers = 5, connection(driver = odbc, settings = env("OP_ODBC_SETTINGS"))),
        // The same data source, DSN-less.
        rdbms(tag = dsnless, workers = 2, strategy = available_worker,
              connection(driver = odbc, settings = env("OP_ODBC_CONNECTION_STRING"),
                         query_timeout = 500, keepalive_interval = 30)),
    )]
    pub struct Pools;
}

use seed::Pools;

#[test]
fn the_seeds_odbc_example_declared() {
    let odbc = require(ODBC);
    let vars = [
        ("OP_ODBC_SETTINGS", format!("DSN={}", odbc.dsn)),
        ("OP_ODBC_CONNECTION_STRING", odbc.connection_string.clone()),
    ];
    for (k, v) in vars {
        // SAFETY: this binary runs this one test, and sets these before any other thread
        // (the runtime's included) exists.
        unsafe { std::env::set_var(k, v) };
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let plan = Pools::plan().to_string();
        println!("{plan}");
        assert!(plan.contains("settings=env(OP_ODBC_SETTINGS)"), "{plan}");
        let pools = Pools::start().await.unwrap();
        assert_eq!(
            pools.status().get("rdbms.global.default").unwrap().workers,
            5
        );

        // A query through `call` on the DSN pool …
        let rows = pools
            .rdbms()
            .call(async |c| c.query("SELECT current_database() AS db").await)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rows.columns, ["db"]);
        assert_eq!(rows.rows, [[Some("pool".to_string())]]);

        // … and a transaction through the guard of the DSN-less one, which hands out the
        // `OdbcConnection`.
        let mut guard = pools.rdbms_dsnless().get().await.unwrap();
        let conn: &mut OdbcConnection = &mut guard;
        conn.execute("CREATE TEMPORARY TABLE t (id INT)")
            .await
            .unwrap();
        conn.with(|c| -> Result<(), odbc_api::Error> {
            c.set_autocommit(false)?;
            c.execute("INSERT INTO t VALUES (1), (2)", (), None)?;
            c.commit()?;
            c.execute("INSERT INTO t VALUES (3)", (), None)?;
            c.rollback()?;
            c.set_autocommit(true)
        })
        .await
        .unwrap()
        .unwrap();
        let n = conn.query("SELECT COUNT(*) FROM t").await.unwrap();
        assert_eq!(n.rows, [[Some("2".to_string())]]);
        conn.execute("DROP TABLE t").await.unwrap();

        // Its query_timeout = 500 applies.
        let started = Instant::now();
        let err = conn.query("SELECT pg_sleep(3)").await.unwrap_err();
        assert!(matches!(err, OdbcError::Timeout(_)), "{err}");
        assert!(started.elapsed() < Duration::from_millis(1500));
        drop(guard); // replaced: its thread still runs the sleep
        pools.shutdown().await;

        // A data source that does not exist is a start error naming the pool.
        let err = Pools::builder()
            .set("rdbms.global.default", "settings", "DSN=no_such_dsn")
            .start()
            .await
            .err()
            .expect("no such DSN");
        let msg = format!("{err:?}");
        println!("{msg}");
        assert!(matches!(err, StartError::Pool { .. }), "{msg}");
        assert!(msg.contains("rdbms.global.default"), "{msg}");
        assert!(msg.contains("Data source name not found"), "{msg}");
    });
}
