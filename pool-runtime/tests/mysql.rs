//! The mysql connector against real MariaDB servers (`cargo xtask services up`): the shared
//! one on 3306 and the TLS one on 3307 (shared lock: `mysql_faults` restarts it).

#![cfg(feature = "mysql")]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pool_runtime::connectors::mysql::Mysql;
use pool_runtime::connectors::mysql::mysql_async::prelude::*;
use pool_runtime::connectors::mysql::mysql_async::{self, TxOpts};
use pool_runtime::declared::FromSettings;
use pool_runtime::settings::{Settings, keys};
use pool_runtime::{AvailableWorker, Error, ManageConnection, Pool};
use test_support::{MYSQL, MYSQL_TLS, Sql, TLS, kit, lock_shared, require};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// `available_worker`: tests hold two guards at once, which must be the two workers even while
// keepalive briefly holds one (best_worker would queue behind a held worker).
type MyPool = Pool<Mysql, AvailableWorker>;
type MyError = Error<mysql_async::Error>;

/// A value's text form, as `Settings::builder` takes it.
fn s(v: impl ToString) -> String {
    v.to_string()
}

/// The declared settings of a pool on `sql`, plus `extra` (text values, checked as declared
/// ones are).
fn settings(sql: &Sql, extra: Vec<(&str, String)>) -> Settings {
    let mut b = kit::sql(sql).set(keys::QUERY_TIMEOUT, 5000);
    for (k, v) in extra {
        b = b.set(k, v);
    }
    b.build().expect("valid settings")
}

async fn start(settings: &Settings, workers: usize) -> Result<MyPool, MyError> {
    let connector = Mysql::from_settings(settings).expect("valid settings");
    Pool::builder(connector)
        .name("rdbms.global.default")
        .workers(workers)
        .build()
        .await
}

async fn connection_id(pool: &MyPool) -> u64 {
    pool.call(async |c| c.query_first::<u64, _>("SELECT CONNECTION_ID()").await)
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

/// The connection id once the pool has one: a pool whose only connection is being replaced
/// refuses callers at once (`Error::Unavailable`) until the new one is up.
async fn connection_id_when_up(pool: &MyPool) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match pool
            .call(async |c| c.query_first::<u64, _>("SELECT CONNECTION_ID()").await)
            .await
        {
            Ok(id) => return id.unwrap().unwrap(),
            Err(Error::Unavailable { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(5)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// A table of this test's own on the shared server.
fn table(name: &str) -> String {
    format!("op_mysql_{}_{name}", std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_with_parameters() {
    let my = require(MYSQL);
    let pool = start(&settings(&my, vec![]), 2).await.unwrap();
    let t = table("queries");
    let (sum, rows): (i64, Vec<(u32, String)>) = pool
        .call(async |c| -> Result<_, mysql_async::Error> {
            c.query_drop(format!("DROP TABLE IF EXISTS {t}")).await?;
            c.query_drop(format!("CREATE TABLE {t} (id INT PRIMARY KEY, name TEXT)"))
                .await?;
            c.exec_batch(
                format!("INSERT INTO {t} (id, name) VALUES (?, ?)"),
                [(1, "alice"), (2, "bob"), (3, "carol")],
            )
            .await?;
            let sum: i64 = c
                .exec_first(
                    format!("SELECT CAST(SUM(id) AS SIGNED) FROM {t} WHERE id > ?"),
                    (0,),
                )
                .await?
                .unwrap();
            let rows = c
                .exec(
                    format!("SELECT id, name FROM {t} WHERE id <> ? ORDER BY id"),
                    (2,),
                )
                .await?;
            c.query_drop(format!("DROP TABLE {t}")).await?;
            Ok((sum, rows))
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sum, 6);
    assert_eq!(rows, [(1, "alice".to_string()), (3, "carol".to_string())]);
    // Through a guard too: the native `mysql_async::Conn`.
    let mut conn = pool.get().await.unwrap();
    let conn: &mut mysql_async::Conn = &mut conn;
    let v: Option<String> = conn.query_first("SELECT CONCAT('a', 'b')").await.unwrap();
    assert_eq!(v.as_deref(), Some("ab"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_commit_and_roll_back() {
    let my = require(MYSQL);
    let pool = start(&settings(&my, vec![]), 2).await.unwrap();
    let t = table("tx");
    let count = async |pool: &MyPool| -> i64 {
        let q = format!("SELECT COUNT(*) FROM {t}");
        pool.call(async |c| c.query_first::<i64, _>(q).await)
            .await
            .unwrap()
            .unwrap()
            .unwrap()
    };
    pool.call(async |c| {
        c.query_drop(format!("DROP TABLE IF EXISTS {t}")).await?;
        c.query_drop(format!("CREATE TABLE {t} (id INT) ENGINE=InnoDB"))
            .await
    })
    .await
    .unwrap()
    .unwrap();

    pool.call(async |c| -> Result<(), mysql_async::Error> {
        let mut tx = c.start_transaction(TxOpts::default()).await?;
        tx.exec_drop(format!("INSERT INTO {t} VALUES (?)"), (1,))
            .await?;
        tx.rollback().await
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(count(&pool).await, 0, "rolled back");

    pool.call(async |c| -> Result<(), mysql_async::Error> {
        let mut tx = c.start_transaction(TxOpts::default()).await?;
        tx.exec_drop(format!("INSERT INTO {t} VALUES (?), (?)"), (1, 2))
            .await?;
        tx.commit().await
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(count(&pool).await, 2, "committed");

    pool.call(async |c| c.query_drop(format!("DROP TABLE {t}")).await)
        .await
        .unwrap()
        .unwrap();
}

/// The `get()` guard case of bb8#246: the next caller of the connection never sees what an
/// earlier one left half-done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_guard_leaves_half_done_never_reaches_the_next_caller() {
    let my = require(MYSQL);
    // One worker: the next caller gets the very same connection.
    let pool = start(&settings(&my, vec![]), 1).await.unwrap();
    let t = table("leftover");
    pool.call(async |c| {
        c.query_drop(format!("DROP TABLE IF EXISTS {t}")).await?;
        c.query_drop(format!("CREATE TABLE {t} (id INT) ENGINE=InnoDB"))
            .await
    })
    .await
    .unwrap()
    .unwrap();

    // 1. A result stream dropped after 3 of 200 000 rows: the connection is replaced, the
    //    next caller neither reads nor waits for the rest.
    let id = connection_id(&pool).await;
    {
        let mut conn = pool.get().await.unwrap();
        let mut result = conn
            .query_iter("SELECT seq FROM seq_1_to_200000")
            .await
            .unwrap();
        for want in 1..=3u64 {
            let row = result.next().await.unwrap().unwrap();
            assert_eq!(mysql_async::from_row::<u64>(row), want);
        }
        drop(result);
        assert!(pool.connector().has_broken(&mut conn), "rows left unread");
        // The guard goes back here with 199 997 rows unread.
    }
    let started = Instant::now();
    let id2 = connection_id_when_up(&pool).await;
    println!(
        "next caller after a dropped 200 000-row stream: {:?}",
        started.elapsed()
    );
    assert_ne!(id2, id, "replaced");
    assert!(started.elapsed() < Duration::from_millis(500));

    // 1b. The same after the server aborted the statement (query_timeout): the next caller gets
    //     its own result, not the earlier statement's error.
    let short = start(&settings(&my, vec![(keys::QUERY_TIMEOUT, s(200))]), 1)
        .await
        .unwrap();
    {
        let mut conn = short.get().await.unwrap();
        let mut result = conn
            .query_iter("SELECT seq FROM seq_1_to_20000000")
            .await
            .unwrap();
        result.next().await.unwrap().unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let answer = short
        .call(async |c| c.query_first::<i64, _>("SELECT 42").await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer, Some(42));

    // 1c. A result read to its end leaves the connection as it was.
    {
        let mut conn = pool.get().await.unwrap();
        let rows: Vec<u64> = conn.query("SELECT seq FROM seq_1_to_10").await.unwrap();
        assert_eq!(rows.len(), 10);
        assert!(!pool.connector().has_broken(&mut conn));
    }

    // 2. A transaction dropped without commit.
    {
        let mut conn = pool.get().await.unwrap();
        let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
        tx.exec_drop(format!("INSERT INTO {t} VALUES (?)"), (7,))
            .await
            .unwrap();
    }
    let (rows, in_tx): (i64, i64) = pool
        .call(async |c| {
            c.query_first(format!(
                "SELECT (SELECT COUNT(*) FROM {t}), @@in_transaction"
            ))
            .await
        })
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (rows, in_tx),
        (0, 0),
        "rolled back, and not in a transaction"
    );

    // 3. A command cancelled while the server runs it: the guard comes back marked broken and
    //    the connection is replaced; the next caller does not wait for the old statement.
    let id = connection_id(&pool).await;
    {
        let mut conn = pool.get().await.unwrap();
        let cut = tokio::time::timeout(
            Duration::from_millis(100),
            conn.query_drop("SELECT SLEEP(3)"),
        )
        .await;
        assert!(cut.is_err(), "cancelled");
        assert!(pool.connector().has_broken(&mut conn));
    }
    let started = Instant::now();
    let id2 = connection_id_when_up(&pool).await;
    assert_ne!(id2, id, "replaced");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the next caller waited {:?}",
        started.elapsed()
    );

    pool.call(async |c| c.query_drop(format!("DROP TABLE {t}")).await)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_timeout_aborts_a_slow_statement_and_keeps_the_connection() {
    let my = require(MYSQL);
    let pool = start(&settings(&my, vec![(keys::QUERY_TIMEOUT, s(200))]), 1)
        .await
        .unwrap();
    let id = connection_id(&pool).await;
    let started = Instant::now();
    let result = pool
        .call(async |c| c.query_drop("SELECT SLEEP(5)").await)
        .await
        .unwrap();
    let elapsed = started.elapsed();
    println!("SELECT SLEEP(5) with query_timeout = 200: {result:?} after {elapsed:?}");
    match result {
        Err(mysql_async::Error::Server(e)) => assert_eq!(e.code, 1969, "{e}"),
        other => panic!("expected the server to abort the statement, got {other:?}"),
    }
    assert!(
        elapsed >= Duration::from_millis(190) && elapsed < Duration::from_millis(1500),
        "{elapsed:?}"
    );
    assert_eq!(
        connection_id(&pool).await,
        id,
        "the connection stays usable"
    );
    // A statement within the limit runs.
    let v: Option<i64> = pool
        .call(async |c| c.query_first("SELECT SLEEP(0.05) + 1").await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v, Some(1));
}

/// Kills connections behind the pool's back, from a connection of its own.
async fn kill(my: &Sql, ids: &[u64]) {
    let mut admin = mysql_async::Conn::new(
        mysql_async::Opts::from_url(&format!("{}?prefer_socket=false", my.url())).unwrap(),
    )
    .await
    .unwrap();
    for id in ids {
        admin.query_drop(format!("KILL {id}")).await.unwrap();
    }
    admin.disconnect().await.unwrap();
}

async fn both_ids(pool: &MyPool) -> Vec<u64> {
    // Both guards at once: one per worker.
    let mut a = pool.get().await.unwrap();
    let mut b = pool.get().await.unwrap();
    let q = "SELECT CONNECTION_ID()";
    let x: Option<u64> = a.query_first(q).await.unwrap();
    let y: Option<u64> = b.query_first(q).await.unwrap();
    vec![x.unwrap(), y.unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_replaces_killed_idle_connections_before_anyone_uses_them() {
    let my = require(MYSQL);
    let with_keepalive = |k: bool| {
        let connector = Mysql::from_settings(&settings(&my, vec![])).unwrap();
        let b = MyPool::builder(connector)
            .workers(2)
            // Only keepalive may notice: no validation of idle connections when lent out.
            .validate_idle(false);
        if k {
            b.keepalive_interval(Duration::from_secs(1))
        } else {
            b
        }
    };
    let pool = with_keepalive(true).build().await.unwrap();
    let control = with_keepalive(false).build().await.unwrap();
    let before = both_ids(&pool).await;
    let control_before = both_ids(&control).await;
    kill(&my, &[before.clone(), control_before.clone()].concat()).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;

    // With keepalive: both connections were replaced while idle, every call succeeds.
    let after = both_ids(&pool).await;
    assert!(
        after.iter().all(|id| !before.contains(id)),
        "{before:?} → {after:?}"
    );
    // Without: nothing noticed them while idle, but a connection the server closed is not
    // lent; each is replaced as it is handed out, so no call fails either.
    let control_after = both_ids(&control).await;
    assert!(
        control_after.iter().all(|id| !control_before.contains(id)),
        "{control_before:?} → {control_after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_is_bounded_by_query_timeout() {
    let my = require(MYSQL);
    let proxy = Proxy::start(my.addr()).await;
    let st = settings(
        &my,
        vec![
            (keys::QUERY_TIMEOUT, s(300)),
            (keys::HOST, s("127.0.0.1")),
            (keys::PORT, s(proxy.port())),
        ],
    );
    let pool = start(&st, 1).await.unwrap();
    let mut conn = pool.get().await.unwrap();
    pool.connector().is_valid(&mut conn).await.unwrap();
    proxy.pause(true);
    let started = Instant::now();
    let err = pool.connector().is_valid(&mut conn).await.unwrap_err();
    let elapsed = started.elapsed();
    println!("check of a stalled connection: {err} after {elapsed:?}");
    assert!(err.to_string().contains(keys::QUERY_TIMEOUT), "{err}");
    assert!(
        elapsed >= Duration::from_millis(290) && elapsed < Duration::from_millis(800),
        "{elapsed:?}"
    );
    // The abandoned ping left the connection marked: it is replaced when the guard drops.
    assert!(pool.connector().has_broken(&mut conn));
    proxy.pause(false);
}

// ---- TLS, on the throwaway server (3307)

async fn ssl_version(pool: &MyPool) -> String {
    let row: Option<(String, String)> = pool
        .call(async |c| {
            c.query_first("SHOW SESSION STATUS LIKE 'Ssl_version'")
                .await
        })
        .await
        .unwrap()
        .unwrap();
    row.map(|(_, v)| v).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_the_right_ca() {
    let my = require(MYSQL_TLS);
    let tls = require(TLS);
    let _shared = lock_shared(MYSQL_TLS);
    let ca = tls.ca.display().to_string();
    // No TLS declared: a plain connection.
    let plain = start(&settings(&my, vec![]), 1).await.unwrap();
    assert_eq!(ssl_version(&plain).await, "");
    // `tls(cacertfile = …)`, verify_mode = peer by default, host `127.0.0.1` (in the SAN).
    let st = settings(&my, vec![(keys::TLS_CACERTFILE, s(&ca))]);
    let pool = start(&st, 2).await.unwrap();
    let v = ssl_version(&pool).await;
    assert!(v.starts_with("TLSv1."), "{v:?}");
    // By name, as the seed's `"localhost"`.
    let st = settings(
        &my,
        vec![
            (keys::HOST, s("localhost")),
            (keys::TLS_VERIFY_MODE, s("peer")),
            (keys::TLS_CACERTFILE, s(&ca)),
        ],
    );
    let pool = start(&st, 1).await.unwrap();
    assert!(ssl_version(&pool).await.starts_with("TLSv1."));
    // `certfile` + `keyfile` are presented: the only pair at hand is the server's own, which
    // the server refuses as a client certificate (no clientAuth usage), so it was sent.
    let st = settings(
        &my,
        vec![
            (keys::TLS_CACERTFILE, s(&ca)),
            (keys::TLS_CERTFILE, s(tls.cert.display())),
            (keys::TLS_KEYFILE, s(tls.key.display())),
        ],
    );
    let msg = start(&st, 1)
        .await
        .map_err(|e| format!("{e:?}"))
        .unwrap_err();
    assert!(
        msg.contains("received fatal alert: UnsupportedCertificate"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_the_wrong_ca_fails_clearly() {
    let my = require(MYSQL_TLS);
    let tls = require(TLS);
    let _shared = lock_shared(MYSQL_TLS);
    let started = Instant::now();
    let st = settings(&my, vec![(keys::TLS_CACERTFILE, s(tls.wrong_ca.display()))]);
    let err = start(&st, 2).await.unwrap_err();
    let msg = format!("{err:?}");
    println!("wrong CA: {msg} ({:?})", started.elapsed());
    assert!(
        msg.contains("invalid peer certificate: UnknownIssuer"),
        "{msg}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    // A name the certificate does not have fails as clearly.
    let st = settings(
        &my,
        vec![
            (keys::TLS_CACERTFILE, s(tls.ca.display())),
            (keys::TLS_SERVER_NAME_INDICATION_HOST, s("wrong.example")),
        ],
    );
    let msg = start(&st, 1)
        .await
        .map_err(|e| format!("{e:?}"))
        .unwrap_err();
    println!("wrong name: {msg}");
    assert!(
        msg.contains("not valid for name \"wrong.example\""),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_verify_mode_none_accepts_any_certificate() {
    let my = require(MYSQL_TLS);
    let tls = require(TLS);
    let _shared = lock_shared(MYSQL_TLS);
    let st = settings(
        &my,
        vec![
            (keys::TLS_VERIFY_MODE, s("none")),
            (keys::TLS_CACERTFILE, s(tls.wrong_ca.display())),
        ],
    );
    let pool = start(&st, 1).await.unwrap();
    assert!(ssl_version(&pool).await.starts_with("TLSv1."));
}

/// `tls.disconnect_on_failure = false`: a certificate that fails verification is accepted (a
/// warning at start says mysql cannot log each failure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_disconnect_on_failure_false_goes_on() {
    let my = require(MYSQL_TLS);
    let tls = require(TLS);
    let _shared = lock_shared(MYSQL_TLS);
    let st = settings(
        &my,
        vec![
            (keys::TLS_DISCONNECT_ON_FAILURE, s(false)),
            (keys::TLS_CACERTFILE, s(tls.wrong_ca.display())),
        ],
    );
    let pool = start(&st, 1).await.unwrap();
    assert!(ssl_version(&pool).await.starts_with("TLSv1."));
}

/// `tls.password`: mysql_async cannot open an encrypted key, so the connector opens it and
/// hands it over in memory, and the TLS connection comes up with that client identity. A wrong
/// password fails the start naming the key, without echoing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_encrypted_client_key_opens_with_its_password() {
    let my = require(MYSQL_TLS);
    let tls = require(TLS);
    let _shared = lock_shared(MYSQL_TLS);
    let dir = std::env::temp_dir().join(format!("op-mysql-key-{}", std::process::id()));
    let (cert, key) = tls.encrypted_client_identity(&dir, "s3cret");
    let with = |password: &str| {
        settings(
            &my,
            vec![
                (keys::TLS_CACERTFILE, s(tls.ca.display())),
                (keys::TLS_CERTFILE, s(cert.display())),
                (keys::TLS_KEYFILE, s(key.display())),
                (keys::TLS_PASSWORD, s(password)),
            ],
        )
    };
    let pool = start(&with("s3cret"), 1).await.unwrap();
    assert!(ssl_version(&pool).await.starts_with("TLSv1."));
    let Err(wrong) = Mysql::from_settings(&with("nope")) else {
        panic!("a wrong key password was accepted");
    };
    let wrong = wrong.to_string();
    assert!(
        wrong.contains("cannot decrypt with `tls.password`") && !wrong.contains("nope"),
        "{wrong}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The seed's MySQL SSL example: `[{verify, verify_peer}, {cacertfile, …},
/// {server_name_indication, disable}]` on `"localhost"`; a proxy in front of the server reads
/// the TLS ClientHello to see whether SNI was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_sni_off_as_in_the_seed_example() {
    let my = require(MYSQL_TLS);
    let tls = require(TLS);
    let _shared = lock_shared(MYSQL_TLS);
    let proxy = Proxy::start(my.addr()).await;
    let ca = tls.ca.display().to_string();
    let at_proxy = |extra: Vec<(&'static str, String)>| {
        let mut v = vec![
            (keys::HOST, s("localhost")),
            (keys::PORT, s(proxy.port())),
            (keys::TLS_VERIFY_MODE, s("peer")),
            (keys::TLS_CACERTFILE, s(&ca)),
        ];
        v.extend(extra);
        settings(&my, v)
    };

    // SNI on (the default): the ClientHello names the host.
    let pool = start(&at_proxy(vec![]), 1).await.unwrap();
    assert!(ssl_version(&pool).await.starts_with("TLSv1."));
    assert_eq!(proxy.take_sni(), [Some("localhost".to_string())]);

    // The seed's example: no SNI, TLS verified against the CA.
    let seed = at_proxy(vec![(keys::TLS_SERVER_NAME_INDICATION_ENABLED, s(false))]);
    let pool = start(&seed, 1).await.unwrap();
    let v = ssl_version(&pool).await;
    assert!(v.starts_with("TLSv1."), "{v:?}");
    assert_eq!(proxy.take_sni(), [None], "no server_name extension sent");

    // Verification stays on with SNI off.
    let wrong = settings(
        &my,
        vec![
            (keys::HOST, s("localhost")),
            (keys::PORT, s(proxy.port())),
            (keys::TLS_CACERTFILE, s(tls.wrong_ca.display())),
            (keys::TLS_SERVER_NAME_INDICATION_ENABLED, s(false)),
        ],
    );
    let msg = start(&wrong, 1)
        .await
        .map_err(|e| format!("{e:?}"))
        .unwrap_err();
    assert!(msg.contains("UnknownIssuer"), "{msg}");
}

// ---- a TCP proxy that can stall and that reads the SNI of TLS ClientHellos

struct Proxy {
    addr: SocketAddr,
    paused: Arc<AtomicBool>,
    sni: Arc<Mutex<Vec<Option<String>>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let paused = Arc::new(AtomicBool::new(false));
        let sni = Arc::new(Mutex::new(Vec::new()));
        let (p, n) = (paused.clone(), sni.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pipe(cr, sw, p.clone(), Some(n.clone())));
                tokio::spawn(pipe(sr, cw, p.clone(), None));
            }
        });
        Proxy { addr, paused, sni }
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn pause(&self, on: bool) {
        self.paused.store(on, Ordering::SeqCst);
    }

    /// The SNI of each TLS ClientHello seen since the last call (`None`: no SNI extension).
    fn take_sni(&self) -> Vec<Option<String>> {
        std::mem::take(&mut *self.sni.lock().unwrap())
    }
}

/// Copies one direction; the client-to-server one also looks for the ClientHello, which comes
/// right after the client's first MySQL packet (the SSLRequest).
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    paused: Arc<AtomicBool>,
    sni: Option<Arc<Mutex<Vec<Option<String>>>>>,
) {
    let mut head = Vec::new();
    let mut looking = sni.is_some();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while paused.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if looking {
            head.extend_from_slice(&buf[..n]);
            match client_hello_sni(&head) {
                Some(found) => {
                    if let (Some(found), Some(sni)) = (found, &sni) {
                        sni.lock().unwrap().push(found);
                    }
                    looking = false;
                }
                None if head.len() > 64 * 1024 => looking = false,
                None => {}
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// `None`: not enough bytes yet. `Some(None)`: no ClientHello follows the first packet (no
/// TLS). `Some(Some(sni))`: the ClientHello and its SNI.
fn client_hello_sni(bytes: &[u8]) -> Option<Option<Option<String>>> {
    let len = |b: &[u8], at: usize, n: usize| -> Option<usize> {
        Some(
            b.get(at..at + n)?
                .iter()
                .fold(0usize, |acc, x| (acc << 8) | usize::from(*x)),
        )
    };
    // The first MySQL packet: 3-byte little-endian length, sequence id.
    let first = bytes.get(..4)?;
    let packet = usize::from(first[0]) | usize::from(first[1]) << 8 | usize::from(first[2]) << 16;
    let rec = bytes.get(4 + packet..)?;
    if rec.is_empty() {
        return None;
    }
    if rec[0] != 0x16 {
        return Some(None);
    }
    let rec_len = len(rec, 3, 2)?;
    let hs = rec.get(5..5 + rec_len)?;
    if hs[0] != 1 {
        return Some(None);
    }
    let body = &hs[4..];
    let mut p = 2 + 32;
    p += 1 + usize::from(*body.get(p)?);
    p += 2 + len(body, p, 2)?;
    p += 1 + usize::from(*body.get(p)?);
    let end = p + 2 + len(body, p, 2)?;
    p += 2;
    while p + 4 <= end {
        let (kind, n) = (len(body, p, 2)?, len(body, p + 2, 2)?);
        if kind == 0 {
            // server_name_list: length, then (type 0 = host_name, length, name).
            let name_len = len(body, p + 4 + 3, 2)?;
            let name = body.get(p + 4 + 5..p + 4 + 5 + name_len)?;
            return Some(Some(Some(String::from_utf8_lossy(name).into_owned())));
        }
        p += 4 + n;
    }
    Some(Some(None))
}

/// `query_timeout = 0` sets no limit, as MongooseIM passes it on: the server's own default
/// (no `max_statement_time`) stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_query_timeout_sets_no_statement_limit() {
    let my = require(MYSQL);
    let limited = start(&settings(&my, vec![]), 1).await.unwrap();
    let unlimited = start(&settings(&my, vec![(keys::QUERY_TIMEOUT, s(0))]), 1)
        .await
        .unwrap();
    let limit = async |pool: &MyPool| -> f64 {
        pool.call(async |c| {
            c.query_first::<f64, _>("SELECT @@SESSION.max_statement_time")
                .await
        })
        .await
        .unwrap()
        .unwrap()
        .unwrap()
    };
    assert_eq!(limit(&limited).await, 5.0);
    assert_eq!(limit(&unlimited).await, 0.0);
}
