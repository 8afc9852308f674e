//! The odbc connector against the DSN `cargo xtask services up` registers (the shared
//! PostgreSQL through psqlODBC), in both of the seed's forms: `"DSN=…"` and a driver-level
//! connection string.

#![cfg(feature = "odbc")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pool_runtime::connectors::odbc::{Odbc, OdbcConnection, OdbcError, Rows, odbc_api};
use pool_runtime::declared::FromSettings;
use pool_runtime::settings::{Settings, keys};
use pool_runtime::{BestWorker, Error, ManageConnection, Pool};
use test_support::{ODBC, kit, require};

type OdbcPool = Pool<Odbc, BestWorker>;

fn settings(connection_string: &str, query_timeout_ms: i64) -> Settings {
    kit::odbc(connection_string)
        .set(keys::QUERY_TIMEOUT, query_timeout_ms)
        .build()
        .expect("valid settings")
}

async fn start(connection_string: &str, workers: usize) -> OdbcPool {
    let connector = Odbc::from_settings(&settings(connection_string, 5000)).unwrap();
    Pool::builder(connector)
        .name("rdbms.global.default")
        .workers(workers)
        .build()
        .await
        .unwrap()
}

fn text(v: &str) -> Option<String> {
    Some(v.to_string())
}

async fn backend_pid(conn: &mut OdbcConnection) -> String {
    let rows = conn.query("SELECT pg_backend_pid()").await.unwrap();
    rows.rows[0][0].clone().unwrap()
}

/// Calls until the pool has a connection again (a pool whose only connection is being
/// replaced refuses callers at once).
async fn pid_when_up(pool: &OdbcPool) -> String {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match pool.call(async |c| backend_pid(c).await).await {
            Ok(pid) => return pid,
            Err(Error::Unavailable { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(5)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dsn_form_and_the_connection_string_form() {
    let odbc = require(ODBC);
    for form in [format!("DSN={}", odbc.dsn), odbc.connection_string.clone()] {
        let pool = start(&form, 2).await;
        let rows = pool
            .call(async |c| c.query("SELECT 1 AS one, 'x' AS s, NULL AS n").await)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            rows,
            Rows {
                columns: vec!["one".into(), "s".into(), "n".into()],
                rows: vec![vec![text("1"), text("x"), None]],
            },
            "{form}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_statements_and_a_transaction() {
    let odbc = require(ODBC);
    let pool = start(&format!("DSN={}", odbc.dsn), 2).await;
    let table = format!("op_odbc_{}", std::process::id());
    let mut conn = pool.get().await.unwrap();
    conn.execute(format!("DROP TABLE IF EXISTS {table}"))
        .await
        .unwrap();
    conn.execute(format!("CREATE TABLE {table} (id INT, name TEXT)"))
        .await
        .unwrap();
    let changed = conn
        .execute(format!(
            "INSERT INTO {table} VALUES (1, 'alice'), (2, 'bob')"
        ))
        .await
        .unwrap();
    assert_eq!(changed, Some(2));

    // A transaction with parameters, through odbc-api itself on the connection's thread.
    let t = table.clone();
    let committed = conn
        .with(move |c| -> Result<usize, odbc_api::Error> {
            use odbc_api::IntoParameter;
            c.set_autocommit(false)?;
            let mut insert = c.prepare(&format!("INSERT INTO {t} VALUES (?, ?)"))?;
            insert.execute((&3, &"carol".into_parameter()))?;
            c.rollback()?;
            insert.execute((&4, &"dave".into_parameter()))?;
            c.commit()?;
            c.set_autocommit(true)?;
            Ok(1)
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(committed, 1);
    let rows = conn
        .query(format!("SELECT id, name FROM {table} ORDER BY id"))
        .await
        .unwrap();
    assert_eq!(rows.columns, ["id", "name"]);
    assert_eq!(
        rows.rows,
        [
            [text("1"), text("alice")],
            [text("2"), text("bob")],
            [text("4"), text("dave")]
        ]
    );
    // An SQL error is the driver's message.
    let err = conn
        .query("SELECT * FROM no_such_table_here")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no_such_table_here"), "{err}");
    assert!(
        !conn.is_broken(),
        "an SQL error leaves the connection usable"
    );
    conn.execute(format!("DROP TABLE {table}")).await.unwrap();
}

/// The ODBC call blocks a thread of its own: a `current_thread` runtime keeps running its
/// other tasks meanwhile.
#[test]
fn a_slow_query_does_not_block_the_runtime() {
    let odbc = require(ODBC);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = start(&format!("DSN={}", odbc.dsn), 1).await;
        let ticks = Arc::new(AtomicUsize::new(0));
        let t = ticks.clone();
        let ticker = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(10));
            loop {
                every.tick().await;
                t.fetch_add(1, Ordering::Relaxed);
            }
        });
        tokio::task::yield_now().await;
        let started = Instant::now();
        let before = ticks.load(Ordering::Relaxed);
        pool.call(async |c| c.query("SELECT pg_sleep(1)").await)
            .await
            .unwrap()
            .unwrap();
        let elapsed = started.elapsed();
        let ticked = ticks.load(Ordering::Relaxed) - before;
        println!("during a 1 s ODBC query ({elapsed:?}) the runtime ticked {ticked} times (10 ms)");
        assert!(elapsed >= Duration::from_secs(1));
        assert!(ticked >= 80, "the runtime stalled: {ticked} ticks");
        ticker.abort();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_dsn_is_a_clear_start_error() {
    require(ODBC);
    let started = Instant::now();
    let connector = Odbc::from_settings(&settings("DSN=no_such_dsn_here", 5000)).unwrap();
    let err = Pool::<Odbc, BestWorker>::builder(connector)
        .name("rdbms.global.default")
        .workers(3)
        .build()
        .await
        .unwrap_err();
    let msg = format!("{err:?}");
    println!("wrong DSN: {msg} ({:?})", started.elapsed());
    assert!(matches!(err, Error::Connect { .. }), "{msg}");
    assert!(msg.contains("Data source name not found"), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // A login the server refuses, as clearly (the test server trusts local passwords, so a
    // user that does not exist), and the connection string is not in the message.
    let odbc = require(ODBC);
    let wrong = odbc
        .connection_string
        .replace("Uid=pool", "Uid=no_such_user");
    assert_ne!(wrong, odbc.connection_string);
    let connector = Odbc::from_settings(&settings(&wrong, 5000)).unwrap();
    let msg = Pool::<Odbc, BestWorker>::builder(connector)
        .workers(1)
        .build()
        .await
        .map_err(|e| format!("{e:?}"))
        .unwrap_err();
    println!("refused login: {msg}");
    assert!(msg.contains("no_such_user"), "{msg}");
    assert!(!msg.contains("Pwd="), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_timeout_bounds_a_statement_and_the_connection_is_replaced() {
    let odbc = require(ODBC);
    let connector = Odbc::from_settings(&settings(&format!("DSN={}", odbc.dsn), 300)).unwrap();
    let pool: OdbcPool = Pool::builder(connector).workers(1).build().await.unwrap();
    let pid = pool.call(async |c| backend_pid(c).await).await.unwrap();
    let started = Instant::now();
    let err = pool
        .call(async |c| c.query("SELECT pg_sleep(3)").await)
        .await
        .unwrap()
        .unwrap_err();
    let elapsed = started.elapsed();
    println!("SELECT pg_sleep(3) with query_timeout = 300: {err} after {elapsed:?}");
    assert!(matches!(err, OdbcError::Timeout(_)), "{err}");
    assert!(
        elapsed >= Duration::from_millis(290) && elapsed < Duration::from_millis(800),
        "{elapsed:?}"
    );
    // The next caller gets a new connection at once, not the one still sleeping.
    let started = Instant::now();
    let pid2 = pid_when_up(&pool).await;
    assert_ne!(pid, pid2);
    assert!(started.elapsed() < Duration::from_millis(1000));
}

/// A call cancelled while its work runs on the connection's thread (call_timeout here) does
/// not wedge the next caller, nor does a guard given back with abandoned work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_work_never_wedges_the_next_caller() {
    let odbc = require(ODBC);
    let connector = Odbc::from_settings(&settings(&format!("DSN={}", odbc.dsn), 10_000)).unwrap();
    let pool: OdbcPool = Pool::builder(connector)
        .workers(1)
        .call_timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    // 1. `call()` timed out while a closure runs on the thread.
    let started = Instant::now();
    let err = pool
        .call(async |c| {
            c.with(|conn| conn.execute("SELECT pg_sleep(2)", (), None).map(drop))
                .await
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    let pid = pid_when_up(&pool).await;
    assert!(
        started.elapsed() < Duration::from_millis(1200),
        "the next caller waited for the abandoned work: {:?}",
        started.elapsed()
    );

    // 2. A guard whose holder gave up on a statement, then gave the guard back.
    {
        let mut conn = pool.get().await.unwrap();
        let cut =
            tokio::time::timeout(Duration::from_millis(100), conn.query("SELECT pg_sleep(2)"))
                .await;
        assert!(cut.is_err());
        assert!(conn.is_broken());
        // Further use of it fails at once instead of queueing behind the sleep.
        let again = conn.query("SELECT 1").await.unwrap_err();
        assert!(matches!(again, OdbcError::Broken), "{again}");
        assert!(pool.connector().has_broken(&mut conn));
    }
    let started = Instant::now();
    let pid2 = pid_when_up(&pool).await;
    assert_ne!(pid, pid2, "replaced");
    assert!(started.elapsed() < Duration::from_millis(1000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_a_closure_reaches_the_caller_and_the_connection_is_replaced() {
    let odbc = require(ODBC);
    let pool = start(&format!("DSN={}", odbc.dsn), 1).await;
    let pid = pool.call(async |c| backend_pid(c).await).await.unwrap();
    let pool2 = pool.clone();
    let joined =
        tokio::spawn(async move { pool2.call(async |c| c.with(|_| panic!("boom")).await).await })
            .await;
    assert!(joined.unwrap_err().is_panic());
    assert_ne!(pid_when_up(&pool).await, pid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_replaces_a_terminated_connection_before_anyone_uses_it() {
    let odbc = require(ODBC);
    let dsn = format!("DSN={}", odbc.dsn);
    let connector = Odbc::from_settings(&settings(&dsn, 5000)).unwrap();
    let pool: OdbcPool = Pool::builder(connector)
        .workers(1)
        .keepalive_interval(Duration::from_secs(1))
        // Only keepalive may notice: no validation of idle connections when lent out.
        .validate_idle(false)
        .build()
        .await
        .unwrap();
    let pid = pool.call(async |c| backend_pid(c).await).await.unwrap();
    // Terminate it from a connection of our own.
    let admin_connector = Odbc::new(dsn);
    let mut admin = admin_connector.connect().await.unwrap();
    let done = admin
        .query(format!(
            "SELECT CASE WHEN pg_terminate_backend({pid}) THEN 1 ELSE 0 END"
        ))
        .await
        .unwrap();
    assert_eq!(done.rows, [[text("1")]]);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // The first call after succeeds, on a new connection.
    let pid2 = pool.call(async |c| backend_pid(c).await).await.unwrap();
    assert_ne!(pid, pid2);
    let check = admin_connector.is_valid(&mut admin).await;
    assert!(check.is_ok(), "{check:?}");
}
