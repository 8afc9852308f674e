//! Declared mysql pools against the test servers: the seed's "RDBMS connection setup" example
//! (a global pool of 5 and a pool of 3 for myhost.com) and its MySQL SSL example, translated to
//! the declaration syntax, every value read with `env(...)` when the pools start.
//!
//! One test in its own binary: it sets those variables from the test-services contract.

#![cfg(feature = "mysql")]

use outgoing_pools::connectors::mysql::mysql_async::{self, TxOpts, prelude::*};
use outgoing_pools::{Error, StartError};
use test_support::{MYSQL, MYSQL_TLS, TLS, lock_shared, require};

mod seed {
    use outgoing_pools::outgoing_pools;

    #[outgoing_pools(
        hosts = ["myhost.com", "other.com"],
        // {rdbms, global, default, [{workers, 5}],
        //  [{server, {mysql, "localhost", 3306, "mydb", "user", "passwd"}}]}
        rdbms(workers = 5,
              connection(driver = mysql, host = env("OP_MYSQL_HOST"), port = env("OP_MYSQL_PORT"),
                         database = env("OP_MYSQL_DB"), username = env("OP_MYSQL_USER"),
                         password = env("OP_MYSQL_PASSWORD"))),
        // {rdbms, "myhost.com", default, [{workers, 3}], [{server, {mysql, …}}]}
        rdbms(scope = "myhost.com", workers = 3,
              connection(driver = mysql, host = env("OP_MYSQL_HOST"), port = env("OP_MYSQL_PORT"),
                         database = env("OP_MYSQL_DB"), username = env("OP_MYSQL_USER"),
                         password = env("OP_MYSQL_PASSWORD"))),
        // {server, {mysql, "localhost", 3306, "mydb", "mim", "mimpass",
        //           [{verify, verify_peer}, {cacertfile, "path/to/cacert.pem"},
        //            {server_name_indication, disable}]}}
        rdbms(tag = ssl, workers = 5,
              connection(driver = mysql, host = env("OP_MYSQLTLS_NAME", default = "localhost"),
                         port = env("OP_MYSQLTLS_PORT"), database = env("OP_MYSQLTLS_DB"),
                         username = env("OP_MYSQLTLS_USER"), password = env("OP_MYSQLTLS_PASSWORD"),
                         tls(verify_mode = peer, cacertfile = env("OP_TLS_CA"),
                             server_name_indication(enabled = false)))),
    )]
    pub struct Pools;
}

use seed::{Host, Pools};

#[test]
fn the_seeds_mysql_examples_declared() {
    let my = require(MYSQL);
    let tls_my = require(MYSQL_TLS);
    let tls = require(TLS);
    let vars = [
        ("OP_MYSQL_HOST", my.host.clone()),
        ("OP_MYSQL_PORT", my.port.to_string()),
        ("OP_MYSQL_DB", my.db.clone()),
        ("OP_MYSQL_USER", my.user.clone()),
        ("OP_MYSQL_PASSWORD", my.password.clone()),
        ("OP_MYSQLTLS_PORT", tls_my.port.to_string()),
        ("OP_MYSQLTLS_DB", tls_my.db.clone()),
        ("OP_MYSQLTLS_USER", tls_my.user.clone()),
        ("OP_MYSQLTLS_PASSWORD", tls_my.password.clone()),
        ("OP_TLS_CA", tls.ca.display().to_string()),
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
        let _shared = lock_shared(MYSQL_TLS);
        println!("{}", Pools::plan());
        let pools = Pools::start().await.unwrap();
        let status = pools.status();
        assert_eq!(status.get("rdbms.global.default").unwrap().workers, 5);
        assert_eq!(status.get("rdbms.myhost.com.default").unwrap().workers, 3);
        assert_eq!(status.get("rdbms.global.ssl").unwrap().workers, 5);
        // myhost.com has its own pool; other.com falls back to the global one.
        assert_eq!(pools.rdbms(Host::MyhostCom).status().workers, 3);
        assert_eq!(pools.rdbms(Host::OtherCom).status().workers, 5);

        // A query, through `call` …
        let pool = pools.rdbms(Host::MyhostCom);
        let two: Option<i64> = pool
            .call(async |c| c.query_first("SELECT 1 + 1").await)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(two, Some(2));

        // … and a transaction through the guard, which hands out the native connection.
        let table = format!("op_facade_mysql_{}", std::process::id());
        let mut guard = pools.rdbms(Host::OtherCom).get().await.unwrap();
        let conn: &mut mysql_async::Conn = &mut guard;
        conn.query_drop(format!("CREATE TABLE {table} (id INT) ENGINE=InnoDB"))
            .await
            .unwrap();
        let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
        tx.exec_drop(format!("INSERT INTO {table} VALUES (?), (?)"), (1, 2))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let n: Option<i64> = conn
            .query_first(format!("SELECT COUNT(*) FROM {table}"))
            .await
            .unwrap();
        assert_eq!(n, Some(2));
        conn.query_drop(format!("DROP TABLE {table}"))
            .await
            .unwrap();
        drop(guard);

        // The SSL example: encrypted, verified against the CA, no SNI.
        let row: Option<(String, String)> = pools
            .rdbms_ssl()
            .call(async |c| {
                c.query_first("SHOW SESSION STATUS LIKE 'Ssl_version'")
                    .await
            })
            .await
            .unwrap()
            .unwrap();
        let version = row.map(|(_, v)| v).unwrap_or_default();
        assert!(version.starts_with("TLSv1."), "{version:?}");
        pools.shutdown().await;

        // A wrong password (here overridden at start) is a start error naming the pool and
        // the server's answer.
        let err = Pools::builder()
            .set("rdbms.myhost.com.default", "password", "wrong")
            .start()
            .await
            .err()
            .expect("a wrong password cannot start");
        let msg = format!("{err:?}");
        println!("{msg}");
        assert!(matches!(err, StartError::Pool { .. }), "{msg}");
        assert!(msg.contains("rdbms.myhost.com.default"), "{msg}");
        assert!(msg.contains("Access denied"), "{msg}");
        // mysql_async's own error is in the source chain, and reads like the server's
        // message, with its code, once.
        let my_error = std::iter::successors(std::error::Error::source(&err), |e| e.source())
            .find_map(|e| e.downcast_ref::<mysql_async::Error>())
            .expect("mysql_async::Error in the source chain");
        assert!(
            matches!(my_error, mysql_async::Error::Server(e) if e.code == 1045),
            "{my_error}"
        );
        assert!(msg.contains("ERROR 1045 (28000): Access denied"), "{msg}");
        assert_eq!(msg.matches("Access denied").count(), 1, "{msg}");
        assert!(!msg.contains("ServerError {"), "{msg}");

        // Errors of a running pool are the runtime's, with mysql_async's error inside.
        let pools = Pools::start().await.unwrap();
        let e: Result<(), Error<mysql_async::Error>> = pools
            .rdbms(Host::MyhostCom)
            .call(async |c| c.query_drop("SELECT 1").await)
            .await
            .map(|r| r.unwrap());
        assert!(e.is_ok());
        pools.shutdown().await;
    });
}
