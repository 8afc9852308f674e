//! Declared `rdbms` pgsql pools against the real servers of `cargo xtask services up`: the
//! accessor hands out a `PgClient` (a `tokio_postgres::Client` with a statement cache), queries, transactions, shared calls, TLS, and
//! the seed's own example declaration, pointed at the test server by start-time overrides.
#![cfg(feature = "pgsql")]

use std::time::{Duration, Instant};

use outgoing_pools::connectors::Pgsql;
use outgoing_pools::connectors::pgsql::tokio_postgres;
use outgoing_pools::settings::keys as key;
use outgoing_pools::{BestWorker, Pool, StartError, outgoing_pools};
use test_support::{PG, PG_TLS, TLS, kit, lock_shared, require};

/// The shared server, plain text. `env(...)` values fall back to the test server's
/// defaults, so plain `cargo test` works too once `cargo xtask services up` has run.
mod plain {
    use super::outgoing_pools;

    #[outgoing_pools(rdbms(
        workers = 5,
        connection(
            driver = pgsql,
            host = env("OP_PG_HOST", default = "127.0.0.1"),
            port = env("OP_PG_PORT", default = "5432"),
            database = "pool",
            username = "pool",
            password = env("OP_PG_PASSWORD", default = "pool"),
            keepalive_interval = 1,
        ),
    ))]
    pub struct Pools;
}

/// The throwaway TLS server, TLS tried (no `required`), verified against our CA.
mod prefer {
    use super::outgoing_pools;

    #[outgoing_pools(rdbms(
        workers = 2,
        connection(
            driver = pgsql,
            host = env("OP_PGTLS_HOST", default = "127.0.0.1"),
            port = env("OP_PGTLS_PORT", default = "5433"),
            database = "pool",
            username = "pool",
            password = env("OP_PGTLS_PASSWORD", default = "pool"),
            keepalive_interval = 1,
            tls(cacertfile = env("OP_TLS_CA")),
        ),
    ))]
    pub struct Pools;
}

/// The seed's example, key for key:
/// `{rdbms, global, default, [{workers, 5}], [{server, {pgsql, "localhost", 5432, "mydb",
/// "mim", "mimpass", [{ssl, required}, {ssl_opts, [{verify, verify_peer},
/// {cacertfile, "path/to/cacert.pem"}]}]}}]}`.
mod seed {
    use super::outgoing_pools;

    #[outgoing_pools(rdbms(
        scope = global,
        tag = default,
        workers = 5,
        connection(
            driver = pgsql,
            host = "localhost",
            port = 5432,
            database = "mydb",
            username = "mim",
            password = "mimpass",
            tls(required = true, verify_mode = peer, cacertfile = "path/to/cacert.pem"),
        ),
    ))]
    pub struct Pools;
}

const POOL: &str = "rdbms.global.default";

/// The seed's pool, pointed at the throwaway TLS server without touching the declaration.
fn seed_on_test_server(ca: &std::path::Path) -> seed::PoolsBuilder {
    let pg = require(PG_TLS);
    seed::Pools::builder()
        .set(POOL, key::PORT, pg.port.to_string())
        .set(POOL, key::DATABASE, pg.db)
        .set(POOL, key::USERNAME, pg.user)
        .set(POOL, key::PASSWORD, pg.password)
        .set(POOL, key::TLS_CACERTFILE, ca.display().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_pool_hands_out_the_tokio_postgres_client() {
    require(PG);
    let pools = plain::Pools::start().await.unwrap();
    let db: &Pool<Pgsql, BestWorker> = pools.rdbms();
    assert_eq!(db.status().workers, 5);

    let mut conn = db.get().await.unwrap();
    let client: &mut tokio_postgres::Client = &mut conn;
    let n: i32 = client
        .query_one("SELECT $1::int * 6", &[&7])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 42);

    let tx = client.transaction().await.unwrap();
    tx.batch_execute("CREATE TEMP TABLE t (n int); INSERT INTO t VALUES (1), (2)")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let rows = conn.query("SELECT n FROM t ORDER BY n", &[]).await.unwrap();
    assert_eq!(rows.len(), 2);
    drop(conn);

    let app = kit::pg_setting(db, "application_name").await;
    assert_eq!(app, POOL);
    let timeout = kit::pg_setting(db, "statement_timeout").await;
    assert_eq!(timeout, "5s", "query_timeout defaults to 5000 ms");

    let tasks: Vec<_> = (0..50)
        .map(|i: i32| {
            let db = db.clone();
            tokio::spawn(async move {
                db.call_shared(async |c| {
                    c.query_one("SELECT $1::int", &[&i])
                        .await
                        .unwrap()
                        .get::<_, i32>(0)
                })
                .await
                .unwrap()
            })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap(), i as i32);
    }
    // Declared pgsql pools are multiplexed: more shared users than workers, none waiting.
    let mut shared = Vec::new();
    for _ in 0..12 {
        let s = tokio::time::timeout(std::time::Duration::from_secs(1), db.get_shared())
            .await
            .expect("shared use does not wait for a worker")
            .unwrap();
        shared.push(s);
    }
    assert_eq!(db.status().shared, 12);
    drop(shared);
    println!("{}", pools.status());
    pools.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_tls_section_tries_tls() {
    require(PG_TLS);
    let certs = require(TLS);
    let _shared = lock_shared(PG_TLS);
    let pools = prefer::Pools::builder()
        .set(POOL, key::TLS_CACERTFILE, certs.ca.display().to_string())
        .start()
        .await
        .unwrap();
    assert!(kit::uses_tls(pools.rdbms()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_example_runs_against_the_test_server() {
    let certs = require(TLS);
    let _shared = lock_shared(PG_TLS);
    let plan = seed::Pools::plan().to_string();
    assert!(plan.contains(POOL) && plan.contains("workers=5"), "{plan}");
    let pools = seed_on_test_server(&certs.ca).start().await.unwrap();
    let row = pools
        .rdbms()
        .call(async |c| {
            c.query_one(
                "SELECT ssl, current_user::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .unwrap()
        })
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "{{ssl, required}}: TLS");
    assert_eq!(row.get::<_, String>(1), "pool");
    assert_eq!(pools.rdbms().status().idle, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_example_verifies_the_peer() {
    let certs = require(TLS);
    let _shared = lock_shared(PG_TLS);
    let Err(err) = seed_on_test_server(&certs.wrong_ca).start().await else {
        panic!("started with the wrong CA");
    };
    assert!(matches!(err, StartError::Pool { .. }), "{err}");
    let text = format!("{err:?}");
    assert!(text.contains("UnknownIssuer"), "{text}");
    assert!(text.contains(POOL), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_stops_the_start_at_once_naming_the_cause() {
    let certs = require(TLS);
    let _shared = lock_shared(PG_TLS);
    let started = Instant::now();
    let Err(err) = seed_on_test_server(&certs.ca)
        .set(POOL, key::PASSWORD, "wrong")
        .start()
        .await
    else {
        panic!("started with a wrong password");
    };
    // The connector's own error is reachable through the chain, for its SQLSTATE.
    let pg_error = std::iter::successors(std::error::Error::source(&err), |e| e.source())
        .find_map(|e| e.downcast_ref::<tokio_postgres::Error>())
        .expect("tokio_postgres::Error in the source chain");
    assert_eq!(
        pg_error.code(),
        Some(&tokio_postgres::error::SqlState::INVALID_PASSWORD)
    );
    let err = format!("{err:?}");
    println!("{err}");
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(err.contains(POOL), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// `query_timeout = 0` is MongooseIM's `SET statement_timeout=0`: no limit on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_query_timeout_sets_no_statement_timeout() {
    require(PG);
    let pools = plain::Pools::builder()
        .set(POOL, key::QUERY_TIMEOUT, "0")
        .start()
        .await
        .unwrap();
    let timeout = kit::pg_setting(pools.rdbms(), "statement_timeout").await;
    assert_eq!(timeout, "0");
}

/// `statement_cache`: on by default (query text runs as a statement prepared once per
/// connection), bounded as declared or set at start, off with 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statement_cache_follows_statement_cache() {
    require(PG);
    let count = async |pools: &plain::Pools| {
        pools
            .rdbms()
            .call(async |c| {
                for n in 0..3 {
                    c.query_one(&format!("SELECT {n}"), &[]).await.unwrap();
                }
                c.cached_statements()
            })
            .await
            .unwrap()
    };
    let pools = plain::Pools::start().await.unwrap();
    assert_eq!(count(&pools).await, 3);
    for (size, kept) in [("2", 2), ("0", 0)] {
        let pools = plain::Pools::builder()
            .set(POOL, key::STATEMENT_CACHE, size)
            .start()
            .await
            .unwrap();
        assert_eq!(count(&pools).await, kept, "statement_cache = {size}");
    }
}

/// `tls.crl_files`: a revocation list that revokes the server's certificate fails the start
/// with rustls's reason; one that revokes nothing lets it through; a missing file is a start
/// error naming the key and the path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_lists_are_checked() {
    let certs = require(TLS);
    let _shared = lock_shared(PG_TLS);
    let crl = |path: &std::path::Path| {
        seed_on_test_server(&certs.ca).set(POOL, key::TLS_CRL_FILES, path.display().to_string())
    };
    let Err(err) = crl(&certs.crl_revoked).start().await else {
        panic!("started although the CRL revokes the server's certificate");
    };
    let text = format!("{err:?}");
    assert!(text.contains("Revoked") && text.contains(POOL), "{text}");

    let pools = crl(&certs.crl_empty).start().await.unwrap();
    assert_eq!(pools.rdbms().status().idle, 5);
    pools.shutdown().await;

    let missing = certs.ca.with_file_name("no-such.crl");
    let Err(err) = crl(&missing).start().await else {
        panic!("started with a missing CRL file");
    };
    let text = err.to_string();
    assert!(
        text.contains("`tls.crl_files`") && text.contains("no-such.crl"),
        "{text}"
    );
}

/// `tls.disconnect_on_failure = false` (MongooseIM's `just_tls`): a certificate that fails
/// verification — an unknown CA, a revoked certificate — is logged and the connection goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_on_failure_false_logs_and_goes_on() {
    let certs = require(TLS);
    let _shared = lock_shared(PG_TLS);
    for builder in [
        seed_on_test_server(&certs.wrong_ca),
        seed_on_test_server(&certs.ca).set(
            POOL,
            key::TLS_CRL_FILES,
            certs.crl_revoked.display().to_string(),
        ),
    ] {
        let pools = builder
            .set(POOL, key::TLS_DISCONNECT_ON_FAILURE, "false")
            .start()
            .await
            .unwrap();
        assert!(kit::uses_tls(pools.rdbms()).await, "still TLS");
        pools.shutdown().await;
    }
}

/// `driver = cockroachdb` (MongooseIM 6.3+) runs on this connector: CockroachDB speaks the
/// PostgreSQL protocol. Its default port is CockroachDB's; no CockroachDB server can be
/// installed here, so the pool is pointed at the PostgreSQL test server to run end to end.
mod cockroach {
    use super::outgoing_pools;

    #[outgoing_pools(rdbms(
        workers = 2,
        connection(
            driver = cockroachdb,
            host = env("OP_PG_HOST", default = "127.0.0.1"),
            database = "pool",
            username = "pool",
            password = env("OP_PG_PASSWORD", default = "pool"),
        ),
    ))]
    pub struct Pools;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cockroachdb_pool_runs_on_the_pgsql_connector() {
    let pg = require(PG);
    let plan = cockroach::Pools::plan().to_string();
    assert!(
        plan.contains("port=26257"),
        "CockroachDB's port by default: {plan}"
    );
    let pools = cockroach::Pools::builder()
        .set(POOL, key::PORT, pg.port.to_string())
        .start()
        .await
        .unwrap();
    let db: &Pool<Pgsql, BestWorker> = pools.rdbms();
    let one: i32 = db
        .call_shared(async |c| c.query_one("SELECT 1", &[]).await.unwrap().get(0))
        .await
        .unwrap();
    assert_eq!(one, 1);
}
