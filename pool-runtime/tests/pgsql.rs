//! The pgsql connector against real PostgreSQL servers (`cargo xtask services up`): queries,
//! transactions, shared pipelining, every TLS mode, a wrong password, keepalive,
//! `query_timeout`, `call_timeout`, and abandoned row streams (bb8#246).
#![cfg(feature = "pgsql")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, pin_mut};
use pool_runtime::connectors::Pgsql;
use pool_runtime::connectors::pgsql::PgsqlError;
use pool_runtime::connectors::tls::Tls;
use pool_runtime::declared::FromSettings;
use pool_runtime::settings::{Settings, keys};
use pool_runtime::{BestWorker, Error, Pool};
use test_support::{PG, PG_TLS, Sql, TLS, kit, lock_shared, require};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type PgPool = Pool<Pgsql, BestWorker>;

/// A value's text form, as `Settings::builder` takes it.
fn s(v: impl ToString) -> String {
    v.to_string()
}

/// A pool on `pg` named `name`, with `extra` keys (text values, checked as declared ones are).
fn settings(name: &str, pg: &Sql, extra: Vec<(&str, String)>) -> Settings {
    try_settings(name, pg, extra).expect("valid settings")
}

fn try_settings(
    name: &str,
    pg: &Sql,
    extra: Vec<(&str, String)>,
) -> Result<Settings, pool_runtime::StartError> {
    let mut b = kit::sql_named(name, pg);
    for (k, v) in extra {
        b = b.set(k, v);
    }
    b.build()
}

fn pgsql(name: &str, pg: &Sql, extra: Vec<(&str, String)>) -> Pgsql {
    Pgsql::from_settings(&settings(name, pg, extra)).expect("valid settings")
}

async fn pool(name: &str, pgsql: Pgsql, workers: usize) -> PgPool {
    Pool::builder(pgsql)
        .name(name)
        .workers(workers)
        .multiplexed()
        .build()
        .await
        .unwrap_or_else(|e| panic!("pool {name} did not start: {e}"))
}

async fn build(pgsql: Pgsql) -> Result<PgPool, Error<PgsqlError>> {
    Pool::builder(pgsql).workers(1).build().await
}

/// A plain connection beside the pools, to look at the server.
async fn admin(pg: &Sql) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .expect("admin connection");
    tokio::spawn(conn);
    client
}

/// Leaves a raw `BEGIN` (and a temp table) open on a guard, then checks that the next caller
/// is outside any transaction; returns that caller's guard.
async fn after_an_open_transaction(pool: &PgPool) -> pool_runtime::Conn<'_, Pgsql> {
    let conn = pool.get().await.unwrap();
    conn.batch_execute("BEGIN; CREATE TEMP TABLE leftover (n int)")
        .await
        .unwrap();
    drop(conn);
    let conn = pool.get().await.unwrap();
    let fresh: bool = conn
        .query_one("SELECT txid_current_if_assigned() IS NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        fresh,
        "the next caller ran inside the previous caller's transaction"
    );
    conn
}

async fn backend_pid(pool: &PgPool) -> i32 {
    let conn = pool.get().await.unwrap();
    conn.query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0)
}

/// A server that does not speak TLS: answers `N` to the SSLRequest, then relays to `upstream`.
async fn no_tls_server(upstream: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut first = [0u8; 8];
                client.read_exact(&mut first).await?;
                let mut server = TcpStream::connect(upstream).await?;
                if first[4..] == [0x04, 0xd2, 0x16, 0x2f] {
                    client.write_all(b"N").await?;
                } else {
                    server.write_all(&first).await?;
                }
                tokio::io::copy_bidirectional(&mut client, &mut server).await?;
                Ok::<_, std::io::Error>(())
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_prepared_statements_and_the_native_client() {
    let pg = require(PG);
    let pool = pool("pg.queries", pgsql("pg.queries", &pg, vec![]), 2).await;
    let n: i32 = pool
        .call(async |c| {
            c.query_one("SELECT $1::int + 1", &[&41])
                .await
                .unwrap()
                .get(0)
        })
        .await
        .unwrap();
    assert_eq!(n, 42);

    let conn = pool.get().await.unwrap();
    let client: &tokio_postgres::Client = &conn; // the native client is handed out
    let stmt = client.prepare("SELECT $1::text || '!'").await.unwrap();
    let row = client.query_one(&stmt, &[&"hi"]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), "hi!");
    let app: String = client
        .query_one("SHOW application_name", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(app, "pg.queries", "application_name names the pool");
    drop(conn);
    assert_eq!(pool.status().idle, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_take_the_worker_exclusively() {
    let pg = require(PG);
    let pool = pool("pg.tx", pgsql("pg.tx", &pg, vec![]), 1).await;
    let mut conn = pool.get().await.unwrap();
    let pid: i32 = conn
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let tx = conn.transaction().await.unwrap();
    tx.batch_execute("CREATE TEMP TABLE t (n int); INSERT INTO t VALUES (1)")
        .await
        .unwrap();

    // A shared caller cannot slip into the transaction: it waits for the worker.
    let shared = tokio::spawn({
        let pool = pool.clone();
        async move {
            pool.call_shared(async |c| {
                let row = c
                    .query_one(
                        "SELECT txid_current_if_assigned() IS NULL, (SELECT count(*) FROM t)",
                        &[],
                    )
                    .await
                    .unwrap();
                (row.get::<_, bool>(0), row.get::<_, i64>(1))
            })
            .await
            .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !shared.is_finished(),
        "a shared call ran inside a transaction"
    );
    tx.commit().await.unwrap();
    drop(conn);
    let (outside_tx, rows) = shared.await.unwrap();
    assert!(outside_tx, "the shared call ran in its own transaction");
    assert_eq!(rows, 1, "and saw the committed row");

    // A dropped transaction rolls back, and the connection is kept.
    let mut conn = pool.get().await.unwrap();
    let tx = conn.transaction().await.unwrap();
    tx.execute("INSERT INTO t VALUES (2)", &[]).await.unwrap();
    drop(tx);
    drop(conn);
    let conn = pool.get().await.unwrap();
    let count: i64 = conn
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
    let same: i32 = conn
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(same, pid, "no reconnect for ordinary use");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_calls_pipeline_on_two_workers() {
    let pg = require(PG);
    let pool = pool("pg.shared", pgsql("pg.shared", &pg, vec![]), 2).await;
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let calls = 200;
    let started = Instant::now();
    let tasks: Vec<_> = (0..calls)
        .map(|i: i32| {
            let pool = pool.clone();
            let max = max_in_flight.clone();
            tokio::spawn(async move {
                pool.call_shared(async |c| {
                    max.fetch_max(pool.status().shared, Ordering::Relaxed);
                    let row = c.query_one("SELECT $1::int, pg_sleep(0.01)", &[&i]).await?;
                    Ok::<i32, tokio_postgres::Error>(row.get(0))
                })
                .await
            })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap().unwrap().unwrap(), i as i32);
    }
    let max = max_in_flight.load(Ordering::Relaxed);
    println!(
        "{calls} shared calls on 2 workers in {:?}; at most {max} in flight",
        started.elapsed()
    );
    assert!(
        max > 2,
        "in flight at once: {max}, not more than the workers"
    );
    assert_eq!(pool.status().shared, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_off_uses_plain_text() {
    let pg = require(PG);
    let pool = pool("pg.tls.off", pgsql("pg.tls.off", &pg, vec![]), 1).await;
    assert!(!kit::uses_tls(&pool).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_preferred_uses_tls_when_offered_and_plain_text_otherwise() {
    let (pg, pg_tls, certs) = (require(PG), require(PG_TLS), require(TLS));
    let _shared = lock_shared(PG_TLS);
    let ca = || vec![(keys::TLS_CACERTFILE, s(certs.ca.display().to_string()))];
    let pool_tls = pool("pg.prefer.tls", pgsql("pg.prefer.tls", &pg_tls, ca()), 1).await;
    assert!(kit::uses_tls(&pool_tls).await, "TLS offered: TLS used");

    let plain = no_tls_server(pg.addr().parse().unwrap()).await;
    let mut no_tls = pg.clone();
    no_tls.host = plain.ip().to_string();
    no_tls.port = plain.port();
    let pool_plain = pool(
        "pg.prefer.plain",
        pgsql("pg.prefer.plain", &no_tls, ca()),
        1,
    )
    .await;
    assert!(
        !kit::uses_tls(&pool_plain).await,
        "TLS not offered: plain text"
    );

    // Preferred, yet verified: a certificate that does not verify is an error, not a downgrade.
    let wrong = vec![(
        keys::TLS_CACERTFILE,
        s(certs.wrong_ca.display().to_string()),
    )];
    let err = build(pgsql("pg.prefer.wrong", &pg_tls, wrong))
        .await
        .map_err(|e| format!("{e:?}"))
        .unwrap_err();
    assert!(err.contains("certificate"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_required_verifies_the_server() {
    let (pg, pg_tls, certs) = (require(PG), require(PG_TLS), require(TLS));
    let _shared = lock_shared(PG_TLS);
    let required = |ca: &std::path::Path| {
        vec![
            (keys::TLS_REQUIRED, s(true)),
            (keys::TLS_CACERTFILE, s(ca.display().to_string())),
            (keys::TLS_VERIFY_MODE, s("peer")),
        ]
    };
    let ok = pool("pg.req", pgsql("pg.req", &pg_tls, required(&certs.ca)), 1).await;
    assert!(kit::uses_tls(&ok).await);

    let started = Instant::now();
    let err = build(pgsql("pg.req.wrong", &pg_tls, required(&certs.wrong_ca)))
        .await
        .map_err(|e| format!("{e:?}"))
        .unwrap_err();
    println!("required, wrong CA: {err}");
    assert!(
        err.contains("invalid peer certificate") && err.contains("UnknownIssuer"),
        "{err}"
    );
    assert!(err.contains("127.0.0.1:5433"), "names the server: {err}");
    assert!(started.elapsed() < Duration::from_secs(2));

    let plain = no_tls_server(pg.addr().parse().unwrap()).await;
    let mut no_tls = pg.clone();
    no_tls.host = plain.ip().to_string();
    no_tls.port = plain.port();
    let err = build(pgsql("pg.req.plain", &no_tls, required(&certs.ca)))
        .await
        .map_err(|e| format!("{e:?}"))
        .unwrap_err();
    assert!(err.contains("server does not support TLS"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_verify_mode_none_accepts_any_certificate() {
    let (pg_tls, certs) = (require(PG_TLS), require(TLS));
    let _shared = lock_shared(PG_TLS);
    let extra = vec![
        (keys::TLS_REQUIRED, s(true)),
        (
            keys::TLS_CACERTFILE,
            s(certs.wrong_ca.display().to_string()),
        ),
        (keys::TLS_VERIFY_MODE, s("none")),
    ];
    let pool = pool("pg.verify.none", pgsql("pg.verify.none", &pg_tls, extra), 1).await;
    assert!(kit::uses_tls(&pool).await);
}

/// `verify_mode = selfsigned_peer`: a server certificate that is itself in `cacertfile` is
/// accepted, where `peer` needs a chain to a CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_selfsigned_peer_accepts_a_pinned_certificate() {
    let (pg_tls, certs) = (require(PG_TLS), require(TLS));
    let _shared = lock_shared(PG_TLS);
    let pinned = |mode: &str| {
        vec![
            (keys::TLS_REQUIRED, s(true)),
            (keys::TLS_CACERTFILE, s(certs.cert.display().to_string())),
            (keys::TLS_VERIFY_MODE, s(mode)),
        ]
    };
    let name = "pg.verify.selfsigned";
    let pool = pool(name, pgsql(name, &pg_tls, pinned("selfsigned_peer")), 1).await;
    assert!(kit::uses_tls(&pool).await);
    let err = build(pgsql(name, &pg_tls, pinned("peer")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_server_name_indication_host_is_sent_and_verified() {
    let (pg_tls, certs) = (require(PG_TLS), require(TLS));
    let _shared = lock_shared(PG_TLS);
    let sni = |host: &str| {
        vec![
            (keys::TLS_REQUIRED, s(true)),
            (keys::TLS_CACERTFILE, s(certs.ca.display().to_string())),
            (keys::TLS_SERVER_NAME_INDICATION_HOST, s(host)),
        ]
    };
    // Connected to 127.0.0.1, verified as `localhost` (the certificate names both).
    let pool = pool("pg.sni", pgsql("pg.sni", &pg_tls, sni("localhost")), 1).await;
    assert!(kit::uses_tls(&pool).await);
    let err = build(pgsql("pg.sni.wrong", &pg_tls, sni("db.example.invalid")))
        .await
        .map_err(|e| format!("{e:?}"))
        .unwrap_err();
    assert!(err.contains("not valid for name"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_built_connectors_follow_the_config_ssl_mode() {
    let (pg_tls, certs) = (require(PG_TLS), require(TLS));
    let _shared = lock_shared(PG_TLS);
    let config: tokio_postgres::Config =
        format!("{}?sslmode=require", pg_tls.url()).parse().unwrap();
    // `require` without a TLS configuration verifies against the system's roots, which do
    // not hold the test CA.
    let err = build(Pgsql::new(config.clone()))
        .await
        .map_err(|e| format!("{e:?}"))
        .unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
    let ca = settings(
        "ca",
        &pg_tls,
        vec![(keys::TLS_CACERTFILE, s(certs.ca.display()))],
    );
    let tls = Tls::from_settings(&ca).unwrap().unwrap();
    let pool = build(Pgsql::new(config).with_tls(tls)).await.unwrap();
    assert!(kit::uses_tls(&pool).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_clear_error_at_once() {
    // The shared server trusts local connections; the throwaway one checks SCRAM passwords.
    let pg = require(PG_TLS);
    let _shared = lock_shared(PG_TLS);
    let call_timeout = Duration::from_secs(5);
    let started = Instant::now();
    let err = Pool::<Pgsql, BestWorker>::builder(pgsql(
        "pg.badpw",
        &pg,
        vec![(keys::PASSWORD, s("not-the-password"))],
    ))
    .name("pg.badpw")
    .workers(3)
    .call_timeout(call_timeout)
    .build()
    .await
    .unwrap_err();
    let took = started.elapsed();
    let Error::Connect { cause, .. } = &err else {
        panic!("{err}")
    };
    let code = match cause {
        pool_runtime::ConnectError::Failed(c) => c.inspect(|e| e.code().cloned()),
        other => panic!("{other}"),
    };
    let text = format!("{err:?}");
    println!("wrong password, after {took:?}: {text}");
    assert_eq!(
        code,
        Some(tokio_postgres::error::SqlState::INVALID_PASSWORD)
    );
    assert!(
        text.contains("password authentication failed for user \"pool\""),
        "{text}"
    );
    // The chain leads to tokio-postgres's own error, each part said once.
    assert_eq!(err.to_string(), "pool `pg.badpw`: cannot connect");
    let source = std::error::Error::source(&err).expect("the connector's error");
    let pg_error = source
        .downcast_ref::<pool_runtime::connectors::pgsql::PgsqlError>()
        .and_then(|e| std::error::Error::source(e))
        .and_then(|e| e.downcast_ref::<tokio_postgres::Error>())
        .expect("tokio_postgres::Error in the chain");
    assert_eq!(
        pg_error.code(),
        Some(&tokio_postgres::error::SqlState::INVALID_PASSWORD)
    );
    assert_eq!(
        text.matches("password authentication failed").count(),
        1,
        "{text}"
    );
    // Long before `call_timeout`: nothing waits for it (SCRAM costs ~0.3 s per attempt here).
    assert!(took < call_timeout / 2, "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_over_tls_with_scram_too() {
    let (pg_tls, certs) = (require(PG_TLS), require(TLS));
    let _shared = lock_shared(PG_TLS);
    let extra = vec![
        (keys::PASSWORD, s("nope")),
        (keys::TLS_REQUIRED, s(true)),
        (keys::TLS_CACERTFILE, s(certs.ca.display().to_string())),
    ];
    let started = Instant::now();
    let err = build(pgsql("pg.badpw.tls", &pg_tls, extra))
        .await
        .unwrap_err();
    let Error::Connect { cause, .. } = &err else {
        panic!("{err:?}")
    };
    let code = cause.connector_error().and_then(|e| e.code());
    assert_eq!(
        code,
        Some(&tokio_postgres::error::SqlState::INVALID_PASSWORD),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_timeout_is_the_servers_statement_timeout() {
    let pg = require(PG);
    let extra = vec![(keys::QUERY_TIMEOUT, s(300))];
    let pool = pool("pg.qt", pgsql("pg.qt", &pg, extra), 1).await;
    let pid = backend_pid(&pool).await;
    let started = Instant::now();
    let result = pool
        .call(async |c| c.batch_execute("SELECT pg_sleep(5)").await)
        .await
        .unwrap();
    let took = started.elapsed();
    let err = result.unwrap_err();
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::QUERY_CANCELED)
    );
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    let setting = kit::pg_setting(&pool, "statement_timeout").await;
    assert_eq!(setting, "300ms");
    assert_eq!(
        backend_pid(&pool).await,
        pid,
        "the connection is still good"
    );
}

/// Waits until every worker has a connection again.
async fn all_up(pool: &PgPool) -> Duration {
    let started = Instant::now();
    while pool.status().idle < pool.status().workers {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            pool.status()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    started.elapsed()
}

/// The backend pid of every worker, holding them all at once.
async fn worker_pids(pool: &PgPool) -> Vec<i32> {
    let mut guards = Vec::new();
    for _ in 0..pool.status().workers {
        guards.push(pool.get().await.unwrap());
    }
    let mut pids = Vec::new();
    for g in &guards {
        pids.push(
            g.query_one("SELECT pg_backend_pid()", &[])
                .await
                .unwrap()
                .get(0),
        );
    }
    pids
}

/// Waits until backend `pid` is gone from the server.
async fn gone(admin: &tokio_postgres::Client, pid: i32, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let state: Option<Option<String>> = admin
            .query_opt("SELECT state FROM pg_stat_activity WHERE pid = $1", &[&pid])
            .await
            .unwrap()
            .map(|r| r.get(0));
        if state.is_none() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "backend {pid} still there: {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_timeout_abandons_the_call_and_replaces_its_connection() {
    let pg = require(PG);
    let pool = Pool::<Pgsql, BestWorker>::builder(pgsql("pg.ct", &pg, vec![]))
        .name("pg.ct")
        .workers(2)
        .call_timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    let before = worker_pids(&pool).await;
    let started = Instant::now();
    let sleeper = std::sync::atomic::AtomicI32::new(0);
    let err = pool
        .call(async |c| {
            let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[]).await?.get(0);
            sleeper.store(pid, std::sync::atomic::Ordering::SeqCst);
            c.batch_execute("SELECT pg_sleep(3)").await
        })
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(took < Duration::from_millis(600), "{took:?}");
    // The abandoned statement is cancelled on the server, not left sleeping for 3 s.
    let admin = admin(&pg).await;
    let pid = sleeper.load(std::sync::atomic::Ordering::SeqCst);
    let took = gone(&admin, pid, Duration::from_millis(1500)).await;
    println!("the abandoned backend was gone after {took:?}");
    let started = Instant::now();
    pool.call(async |c| c.batch_execute("SELECT 1").await)
        .await
        .unwrap()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    all_up(&pool).await;
    let after = worker_pids(&pool).await;
    assert_eq!(
        after.iter().filter(|p| before.contains(p)).count(),
        1,
        "one connection replaced: {before:?} -> {after:?}"
    );
}

/// bb8#246: a row stream dropped early must not leave the next caller behind the rest of
/// the result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_row_stream_does_not_hold_up_the_next_caller() {
    let pg = require(PG);
    let name = "pg.abandon";
    let big = "SELECT g, repeat('x', 200) FROM generate_series(1, 20000000) g";
    let extra = vec![(keys::QUERY_TIMEOUT, s(60000))];
    let pool = pool(name, pgsql(name, &pg, extra), 2).await;
    let admin = admin(&pg).await;

    // What happens without the pool: the next query waits for the rest of the result.
    let raw = self::admin(&pg).await;
    {
        let stream = raw.query_raw(big, std::iter::empty::<i32>()).await.unwrap();
        pin_mut!(stream);
        for _ in 0..10 {
            stream.next().await.unwrap().unwrap();
        }
    }
    let started = Instant::now();
    let raw_wait =
        tokio::time::timeout(Duration::from_secs(2), raw.batch_execute("SELECT 1")).await;
    println!(
        "plain client after an abandoned stream: {}",
        match raw_wait {
            Ok(_) => format!("next query after {:?}", started.elapsed()),
            Err(_) => "next query still waiting after 2 s".into(),
        }
    );
    drop(raw);

    // Through a guard from `get()`: every worker serves at once again, the abandoned
    // backend is cancelled.
    let pid = {
        let conn = pool.get().await.unwrap();
        let pid: i32 = conn
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        let stream = conn
            .query_raw(big, std::iter::empty::<i32>())
            .await
            .unwrap();
        pin_mut!(stream);
        for _ in 0..10 {
            stream.next().await.unwrap().unwrap();
        }
        pid
    };
    let started = Instant::now();
    pool.call(async |c| c.batch_execute("SELECT 1").await)
        .await
        .unwrap()
        .unwrap();
    let next = started.elapsed();
    let replaced = all_up(&pool).await;
    let pids = worker_pids(&pool).await;
    let both = started.elapsed();
    let cancelled = gone(&admin, pid, Duration::from_secs(5)).await;
    println!(
        "pool after an abandoned stream: next call after {next:?}, connection replaced after \
         {replaced:?}, both workers answering after {both:?}, abandoned backend gone after {cancelled:?}"
    );
    assert!(!pids.contains(&pid));
    assert!(both < Duration::from_millis(500), "{both:?}");

    // Through `call()`: the closure returns early with its stream unread.
    let pids = worker_pids(&pool).await;
    let (first, pid) = pool
        .call(async |c| {
            let pid: i32 = c
                .query_one("SELECT pg_backend_pid()", &[])
                .await
                .unwrap()
                .get(0);
            let stream = c.query_raw(big, std::iter::empty::<i32>()).await.unwrap();
            pin_mut!(stream);
            let first: i32 = stream.next().await.unwrap().unwrap().get(0);
            (first, pid)
        })
        .await
        .unwrap();
    assert_eq!(first, 1);
    assert!(pids.contains(&pid));
    let started = Instant::now();
    all_up(&pool).await;
    assert!(!worker_pids(&pool).await.contains(&pid));
    assert!(started.elapsed() < Duration::from_millis(500));
    gone(&admin, pid, Duration::from_secs(5)).await;
}

/// The same protections on a TLS connection (a different stream under the probe).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_streams_and_open_transactions_over_tls() {
    let (pg_tls, certs) = (require(PG_TLS), require(TLS));
    let _shared = lock_shared(PG_TLS);
    let name = "pg.tls.abandon";
    let extra = vec![
        (keys::TLS_REQUIRED, s(true)),
        (keys::TLS_CACERTFILE, s(certs.ca.display().to_string())),
    ];
    let pool = pool(name, pgsql(name, &pg_tls, extra), 1).await;
    let pid = backend_pid(&pool).await;

    let conn = after_an_open_transaction(&pool).await;
    drop(conn);
    assert_eq!(
        backend_pid(&pool).await,
        pid,
        "rolled back, not reconnected"
    );

    {
        let conn = pool.get().await.unwrap();
        let stream = conn
            .query_raw(
                "SELECT g FROM generate_series(1, 20000000) g",
                std::iter::empty::<i32>(),
            )
            .await
            .unwrap();
        pin_mut!(stream);
        stream.next().await.unwrap().unwrap();
    }
    all_up(&pool).await;
    let started = Instant::now();
    assert_ne!(backend_pid(&pool).await, pid, "replaced");
    assert!(started.elapsed() < Duration::from_millis(500));
    // The abandoned backend goes away: the pool cancelled its statement.
    let gone = Instant::now();
    loop {
        let there: bool = pool
            .call(async |c| {
                c.query_one(
                    "SELECT count(*) > 0 FROM pg_stat_activity WHERE pid = $1",
                    &[&pid],
                )
                .await
                .unwrap()
                .get(0)
            })
            .await
            .unwrap();
        if !there {
            break;
        }
        assert!(
            gone.elapsed() < Duration::from_secs(5),
            "backend {pid} still there"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Ordinary use — errors, prepared statements, transactions committed or dropped — keeps the
/// connection; a transaction left open is rolled back before the next caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordinary_use_keeps_the_connection_and_open_transactions_are_rolled_back() {
    let pg = require(PG);
    let pool = pool("pg.keep", pgsql("pg.keep", &pg, vec![]), 1).await;
    let pid = backend_pid(&pool).await;
    for round in 0..20 {
        let mut conn = pool.get().await.unwrap();
        let err = conn.query_one("SELECT 1 / 0", &[]).await.unwrap_err();
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::DIVISION_BY_ZERO)
        );
        let stmt = conn.prepare("SELECT $1::int").await.unwrap();
        let _ = conn.query(&stmt, &[&round]).await.unwrap();
        drop(stmt);
        let many = conn.query_one("SELECT generate_series(1, 3)", &[]).await;
        assert!(many.is_err(), "query_one of 3 rows");
        let tx = conn.transaction().await.unwrap();
        let _ = tx.batch_execute("SELECT 1 / 0").await.unwrap_err();
        drop(tx);
        drop(conn);
        assert_eq!(backend_pid(&pool).await, pid, "round {round}: reconnected");
    }
    // A raw BEGIN never committed: the next caller is outside any transaction.
    let conn = after_an_open_transaction(&pool).await;
    let leftover = conn
        .query_opt("SELECT to_regclass('pg_temp.leftover')::text", &[])
        .await
        .unwrap()
        .and_then(|r| r.get::<_, Option<String>>(0));
    assert_eq!(leftover, None, "rolled back");
    drop(conn);
    assert_eq!(backend_pid(&pool).await, pid);
}

#[test]
fn bad_settings_are_clear_start_errors() {
    let pg = Sql {
        host: "127.0.0.1".into(),
        port: 5432,
        user: "u".into(),
        password: "p".into(),
        db: "d".into(),
        scheme: "postgres",
        data: None,
        ctl: None,
    };
    let err = |extra| {
        try_settings("rdbms.global.default", &pg, extra)
            .and_then(|s| Pgsql::from_settings(&s))
            .map_err(|e| format!("{e:?}"))
            .unwrap_err()
    };
    assert_eq!(
        err(vec![(keys::PORT, s(70000))]),
        "pool `rdbms.global.default`: `port` from the builder: must be between 1 and 65535, got \
         70000"
    );
    assert_eq!(
        err(vec![(keys::QUERY_TIMEOUT, s(-1))]),
        "pool `rdbms.global.default`: `query_timeout` from the builder: must be at least 0, got -1"
    );
    assert!(err(vec![(keys::DRIVER, s("mysql"))]).contains("`driver` cannot be set at start"));
    assert!(
        err(vec![(keys::TLS_CACERTFILE, s("/nonexistent/ca.pem"))])
            .contains("`tls.cacertfile` \"/nonexistent/ca.pem\"")
    );
    let missing = Settings::builder(
        "p",
        pool_runtime::settings::PoolType::Rdbms,
        Some(pool_runtime::settings::Driver::Pgsql),
    )
    .set(keys::HOST, "h")
    .build()
    .map_err(|e| format!("{e:?}"))
    .unwrap_err();
    assert_eq!(missing, "pool `p`: `database` is required and has no value");
}

// ---- the statement cache --------------------------------------------------------------------

/// The statements the server holds for the connection running this (protocol-level
/// prepared statements included), not counting this query's own (run uncached, on the
/// native client).
async fn server_statements(c: &tokio_postgres::Client) -> i64 {
    c.query_one(
        "SELECT count(*) FROM pg_prepared_statements WHERE statement NOT LIKE '%pg_prepared_statements%'",
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

/// A statement's identity (its name on the server, which tokio-postgres shows only in `Debug`).
fn id(st: &tokio_postgres::Statement) -> String {
    format!("{st:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_text_is_prepared_once_per_connection() {
    let pg = require(PG);
    let pool = pool("pg.cache", pgsql("pg.cache", &pg, vec![]), 1).await;
    for i in 0..5 {
        let n: i32 = pool
            .call(async |c| {
                c.query_one("SELECT $1::int + 1", &[&i])
                    .await
                    .unwrap()
                    .get(0)
            })
            .await
            .unwrap();
        assert_eq!(n, i + 1);
    }
    let conn = pool.get().await.unwrap();
    assert_eq!(conn.cached_statements(), 1);
    assert_eq!(
        server_statements(&conn).await,
        1,
        "one statement on the server for five calls"
    );
    // `prepare_cached` finds the same statement, and a `Statement` runs as given.
    let a = conn.prepare_cached("SELECT $1::int + 1").await.unwrap();
    let b = conn.prepare_cached("SELECT $1::int + 1").await.unwrap();
    assert_eq!(id(&a), id(&b));
    assert_eq!(conn.query_one(&a, &[&1]).await.unwrap().get::<_, i32>(0), 2);
    let typed = conn
        .prepare_typed_cached("SELECT $1 + 1", &[tokio_postgres::types::Type::INT8])
        .await
        .unwrap();
    assert_eq!(
        conn.query_one(&typed, &[&1i64])
            .await
            .unwrap()
            .get::<_, i64>(0),
        2
    );
    assert_eq!(conn.cached_statements(), 2);
    // Transactions use the cache too.
    drop(conn);
    let mut conn = pool.get().await.unwrap();
    let tx = conn.transaction().await.unwrap();
    let n: i32 = tx
        .query_one("SELECT $1::int + 1", &[&9])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 10);
    tx.execute("CREATE TEMP TABLE cached_tx (n int)", &[])
        .await
        .unwrap();
    let insert = tx
        .prepare_cached("INSERT INTO cached_tx VALUES ($1)")
        .await
        .unwrap();
    tx.execute(&insert, &[&1]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(conn.cached_statements(), 4);
    // The raw variants take text through the cache too.
    let inserted = conn
        .execute_raw("INSERT INTO cached_tx VALUES ($1)", [2i32])
        .await
        .unwrap();
    assert_eq!(inserted, 1);
    let rows: Vec<i32> = conn
        .query_raw(
            "SELECT n FROM cached_tx ORDER BY n",
            std::iter::empty::<i32>(),
        )
        .await
        .unwrap()
        .map(|row| row.unwrap().get::<_, i32>(0))
        .collect()
        .await;
    assert_eq!(rows, [1, 2]);
    assert_eq!(conn.cached_statements(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_is_bounded_and_evicts_the_least_recently_used() {
    let pg = require(PG);
    let small = pgsql("pg.cache.small", &pg, vec![(keys::STATEMENT_CACHE, s(2))]);
    let small = pool("pg.cache.small", small, 1).await;
    let conn = small.get().await.unwrap();
    let a = conn.prepare_cached("SELECT 'a'").await.unwrap();
    let b = conn.prepare_cached("SELECT 'b'").await.unwrap();
    conn.prepare_cached("SELECT 'a'").await.unwrap(); // b is now the least recently used
    conn.prepare_cached("SELECT 'c'").await.unwrap();
    assert_eq!(conn.cached_statements(), 2);
    assert_eq!(
        id(&conn.prepare_cached("SELECT 'a'").await.unwrap()),
        id(&a)
    );
    assert_ne!(
        id(&conn.prepare_cached("SELECT 'b'").await.unwrap()),
        id(&b)
    );
    drop((a, b));
    // Evicted statements are closed on the server: only the cached ones remain.
    assert_eq!(server_statements(&conn).await, 2);
    conn.clear_statement_cache();
    conn.prepare_cached("SELECT 'a'").await.unwrap();
    assert_eq!(server_statements(&conn).await, 1);
    drop(conn);

    let none = pgsql("pg.cache.none", &pg, vec![(keys::STATEMENT_CACHE, s(0))]);
    let none = pool("pg.cache.none", none, 1).await;
    let conn = none.get().await.unwrap();
    let one: i32 = conn.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    assert_eq!(conn.cached_statements(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_connection_starts_with_an_empty_cache() {
    let pg = require(PG);
    let admin = admin(&pg).await;
    let pool = pool(
        "pg.cache.replaced",
        pgsql("pg.cache.replaced", &pg, vec![]),
        1,
    )
    .await;
    let pid = backend_pid(&pool).await;
    assert_eq!(pool.get().await.unwrap().cached_statements(), 1);
    admin
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    gone(&admin, pid, Duration::from_secs(5)).await;
    let started = Instant::now();
    loop {
        // The dead connection is not lent; the worker reconnects.
        if let Ok(conn) = pool.get().await {
            assert_eq!(
                conn.cached_statements(),
                0,
                "the new connection has a fresh cache"
            );
            let new: i32 = conn
                .query_one("SELECT pg_backend_pid()", &[])
                .await
                .unwrap()
                .get(0);
            assert_ne!(new, pid);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no new connection"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_callers_share_one_cache() {
    let pg = require(PG);
    let pool = Arc::new(pool("pg.cache.shared", pgsql("pg.cache.shared", &pg, vec![]), 1).await);
    let mut calls = Vec::new();
    for i in 0..200i32 {
        let pool = pool.clone();
        calls.push(tokio::spawn(async move {
            let text = format!("SELECT $1::int + {}", i % 4);
            let n: i32 = pool
                .call_shared(async |c| c.query_one(&text, &[&i]).await.map(|r| r.get(0)))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(n, i + i % 4, "every reply matches its request");
        }));
    }
    for call in calls {
        call.await.unwrap();
    }
    let conn = pool.get().await.unwrap();
    assert_eq!(conn.cached_statements(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_statements_are_prepared_again() {
    let pg = require(PG);
    let pool = pool("pg.cache.stale", pgsql("pg.cache.stale", &pg, vec![]), 1).await;
    let conn = pool.get().await.unwrap();
    let one = async || {
        conn.query_one("SELECT 1::int", &[])
            .await
            .map(|r| r.get::<_, i32>(0))
    };
    assert_eq!(one().await.unwrap(), 1);
    // DISCARD ALL deallocates every prepared statement of the session.
    conn.batch_execute("DISCARD ALL").await.unwrap();
    assert_eq!(
        one().await.unwrap(),
        1,
        "a deallocated statement is prepared again"
    );
    assert_eq!(conn.cached_statements(), 1);

    // A schema change that alters a cached query's result.
    conn.batch_execute("CREATE TEMP TABLE plan_change (a int); INSERT INTO plan_change VALUES (1)")
        .await
        .unwrap();
    let select = "SELECT * FROM plan_change";
    assert_eq!(conn.query_one(select, &[]).await.unwrap().len(), 1);
    conn.batch_execute("ALTER TABLE plan_change ADD COLUMN b int")
        .await
        .unwrap();
    let row = conn.query_one(select, &[]).await.unwrap();
    assert_eq!(
        row.len(),
        2,
        "the statement was prepared again for the new columns"
    );

    // Inside a transaction the server has aborted it: the error is the caller's, and the
    // next use outside it prepares afresh.
    drop(conn);
    let mut conn = pool.get().await.unwrap();
    conn.batch_execute("ALTER TABLE plan_change ADD COLUMN c int")
        .await
        .unwrap();
    let tx = conn.transaction().await.unwrap();
    let err = tx.query_one(select, &[]).await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::FEATURE_NOT_SUPPORTED)
    );
    tx.rollback().await.unwrap();
    assert_eq!(conn.query_one(select, &[]).await.unwrap().len(), 3);
}
