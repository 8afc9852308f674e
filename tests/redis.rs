//! Declared `redis` pools against the real servers of `cargo xtask services up`: commands and
//! pipelines shared and exclusive, `MULTI`/`EXEC` and `WATCH`, pub/sub, `BLPOP` for 2 s, the
//! declared database, an ACL user over TLS, a wrong CA, session state never inherited, and
//! cancellation storms with every reply matching its request.
#![cfg(feature = "redis")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use outgoing_pools::connectors::redis::redis::{self, AsyncCommands};
use outgoing_pools::connectors::redis::{RedisConnection, RedisConnectorError};
use outgoing_pools::settings::keys as key;
use outgoing_pools::{StartError, outgoing_pools};
use test_support::{REDIS, REDIS_TLS, TLS, lock_shared, require};

/// The shared server, plain text; `env(...)` falls back to its usual address.
mod plain {
    use super::outgoing_pools;

    #[outgoing_pools(redis(
        workers = 4,
        connection(
            host = env("OP_REDIS_HOST", default = "127.0.0.1"),
            port = env("OP_REDIS_PORT", default = "6379"),
        ),
    ))]
    pub struct Pools;
}

/// One worker, so consecutive callers get the same worker (and see what it was left with).
mod single {
    use super::outgoing_pools;

    #[outgoing_pools(redis(
        workers = 1,
        strategy = available_worker,
        call_timeout = 5000,
        connection(
            host = env("OP_REDIS_HOST", default = "127.0.0.1"),
            port = env("OP_REDIS_PORT", default = "6379"),
            database = 3,
        ),
    ))]
    pub struct Pools;
}

/// The throwaway TLS server, logging in as its ACL user, verified against the test CA.
mod acl {
    use super::outgoing_pools;

    #[outgoing_pools(redis(
        workers = 2,
        strategy = available_worker,
        connection(
            host = env("OP_REDISTLS_HOST", default = "127.0.0.1"),
            port = env("OP_REDISTLS_PORT", default = "6380"),
            username = "pool",
            password = env("OP_REDISTLS_USER_PASSWORD", default = "poolpass"),
            tls(cacertfile = "set at start", server_name_indication(host = "localhost")),
        ),
    ))]
    pub struct Pools;
}

/// The TLS server, verified against a CA that did not sign its certificate.
mod wrong_ca {
    use super::outgoing_pools;

    #[outgoing_pools(redis(
        workers = 1,
        connection(
            host = env("OP_REDISTLS_HOST", default = "127.0.0.1"),
            port = env("OP_REDISTLS_PORT", default = "6380"),
            password = env("OP_REDISTLS_PASSWORD", default = "secret"),
            tls(cacertfile = "set at start"),
        ),
    ))]
    pub struct Pools;
}

const POOL: &str = "redis.global.default";

/// The ACL user's pool pointed at the TLS server of `cargo xtask services up`, trusting its CA.
fn acl_pools() -> acl::PoolsBuilder {
    let redis = require(REDIS_TLS);
    let (user, password) = redis.user.clone().expect("the TLS server has an ACL user");
    acl::Pools::builder()
        .set(POOL, key::HOST, redis.host)
        .set(POOL, key::PORT, redis.port.to_string())
        .set(POOL, key::USERNAME, user)
        .set(POOL, key::PASSWORD, password)
        .set(
            POOL,
            key::TLS_CACERTFILE,
            require(TLS).ca.display().to_string(),
        )
}

/// A key of this test run's own, so tests on the shared server never meet.
fn key(test: &str) -> String {
    static RUN: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    let run = RUN.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    });
    format!("op-test:{run}:{test}")
}

/// `CLIENT ID` of the connection.
async fn client_id(c: &mut RedisConnection) -> i64 {
    redis::cmd("CLIENT").arg("ID").query_async(c).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_and_pipelines_shared_and_exclusive() {
    let _ = require(REDIS);
    let pools = plain::Pools::start().await.unwrap();
    let k = key("commands");

    // The public contract, as written there.
    let mut c = pools.redis().get().await.unwrap(); // exclusive
    let _: () = redis::cmd("SET")
        .arg(&k)
        .arg("v")
        .query_async(&mut *c)
        .await
        .unwrap();
    let v: Option<String> = redis::cmd("GET")
        .arg(&k)
        .query_async(&mut *c)
        .await
        .unwrap();
    assert_eq!(v.as_deref(), Some("v"));
    drop(c);
    let n: i64 = pools
        .redis()
        .call_shared(async |c| {
            // shared: &RedisConnection, cloned for redis-rs's `&mut`
            let mut c = c.clone();
            redis::cmd("INCR")
                .arg(format!("{k}:n"))
                .query_async(&mut c)
                .await
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 1);

    // Typed commands and a pipeline, shared.
    let (a, b): (i64, Option<String>) = pools
        .redis()
        .call_shared(async |c| {
            redis::pipe()
                .incr(format!("{k}:n"), 10)
                .get(&k)
                .query_async(&mut c.clone())
                .await
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a, b.as_deref()), (11, Some("v")));
    let got: Option<String> = pools
        .redis()
        .call(async |c| c.get(&k).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.as_deref(), Some("v"));

    // Many shared callers at once, every reply its own.
    let calls = (0..200).map(|i| {
        let (pools, k) = (&pools, &k);
        async move {
            let mine = format!("{k}:{i}");
            pools
                .redis()
                .call_shared(async |c| {
                    let mut c = c.clone();
                    let _: () = c.set(&mine, i).await?;
                    c.get::<_, i64>(&mine).await
                })
                .await
                .unwrap()
                .unwrap()
        }
    });
    let got = futures_util::future::join_all(calls).await;
    assert_eq!(got, (0..200).collect::<Vec<i64>>());
    pools.shutdown().await;
}

/// A transaction sent command by command, and an optimistic one with `WATCH` that a write of
/// another connection aborts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_exec_and_watch_on_exclusive_use() {
    let _ = require(REDIS);
    let pools = plain::Pools::start().await.unwrap();
    let k = key("multi");
    let mut c = pools.redis().get().await.unwrap();
    let _: () = redis::cmd("MULTI").query_async(&mut *c).await.unwrap();
    let queued: String = redis::cmd("INCR")
        .arg(&k)
        .query_async(&mut *c)
        .await
        .unwrap();
    assert_eq!(queued, "QUEUED");
    let _: String = redis::cmd("INCR")
        .arg(&k)
        .query_async(&mut *c)
        .await
        .unwrap();
    let (x, y): (i64, i64) = redis::cmd("EXEC").query_async(&mut *c).await.unwrap();
    assert_eq!((x, y), (1, 2));
    drop(c);

    let mut c = pools.redis().get().await.unwrap();
    let _: () = redis::cmd("WATCH")
        .arg(&k)
        .query_async(&mut *c)
        .await
        .unwrap();
    // Another caller writes the watched key meanwhile.
    let _: () = pools
        .redis()
        .call_shared(async |o| o.clone().set(&k, 100).await)
        .await
        .unwrap()
        .unwrap();
    let _: () = redis::cmd("MULTI").query_async(&mut *c).await.unwrap();
    let _: String = redis::cmd("INCR")
        .arg(&k)
        .query_async(&mut *c)
        .await
        .unwrap();
    let aborted: Option<Vec<i64>> = redis::cmd("EXEC").query_async(&mut *c).await.unwrap();
    assert_eq!(aborted, None, "EXEC after a watched key changed must abort");
    drop(c);
    pools.shutdown().await;
}

/// Messages published to a channel reach an exclusive connection subscribed to it; the worker
/// then gets a new connection, so the next caller is not subscribed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pub_sub_on_an_exclusive_connection() {
    let _ = require(REDIS);
    let pools = single::Pools::start().await.unwrap();
    let other = plain::Pools::start().await.unwrap();
    let channel = key("channel");
    let mut c = pools.redis().get().await.unwrap();
    let before = client_id(&mut c).await;
    c.subscribe(&channel).await.unwrap();
    for i in 0..3 {
        let receivers: i64 = other
            .redis()
            .call_shared(async |o| o.clone().publish(&channel, format!("m{i}")).await)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(receivers, 1);
    }
    for i in 0..3 {
        let msg = tokio::time::timeout(Duration::from_secs(2), c.next_message())
            .await
            .expect("a message within 2 s")
            .expect("the connection is open");
        assert_eq!(msg.get_channel_name(), channel);
        assert_eq!(msg.get_payload::<String>().unwrap(), format!("m{i}"));
    }
    drop(c);
    let mut next = pools.redis().get().await.unwrap();
    let after = client_id(&mut next).await;
    assert_ne!(
        before, after,
        "a subscribed connection must not be lent again"
    );
    let info: String = redis::cmd("CLIENT")
        .arg("INFO")
        .query_async(&mut *next)
        .await
        .unwrap();
    assert!(info.contains(" sub=0 "), "{info}");
    drop(next);
    pools.shutdown().await;
    other.shutdown().await;
}

/// `BLPOP` may block as long as the call may (redis-rs's own 500 ms response timeout would
/// fail it, redis-rs#1924), and returns what another caller pushes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blpop_waits_its_full_timeout() {
    let _ = require(REDIS);
    let pools = single::Pools::start().await.unwrap();
    // Its own worker on the same database.
    let other = single::Pools::start().await.unwrap();
    let list = key("blpop");
    let started = Instant::now();
    let got: Option<(String, String)> = pools
        .redis()
        .call(async |c| c.blpop(&list, 2.0).await)
        .await
        .unwrap()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(got, None);
    assert!(
        took >= Duration::from_millis(1900),
        "returned after {took:?}"
    );
    assert!(
        took < Duration::from_millis(3000),
        "returned after {took:?}"
    );

    // And it returns the value pushed while it waits.
    let waiting = pools
        .redis()
        .call(async |c| c.blpop::<_, Option<(String, String)>>(&list, 5.0).await);
    let push = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        other
            .redis()
            .call(async |o| o.rpush::<_, _, i64>(&list, "x").await)
            .await
            .unwrap()
            .unwrap();
    };
    let (got, ()) = tokio::join!(waiting, push);
    assert_eq!(got.unwrap().unwrap(), Some((list.clone(), "x".to_owned())));
    pools.shutdown().await;
    other.shutdown().await;
}

/// A blocking command whose caller gives up leaves the server side of its connection blocked:
/// the connection is replaced, and the next caller is answered at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_blpop_does_not_hold_up_the_next_caller() {
    let _ = require(REDIS);
    let pools = single::Pools::start().await.unwrap();
    let list = key("abandoned");
    let mut c = pools.redis().get().await.unwrap();
    let before = client_id(&mut c).await;
    let gave_up = tokio::time::timeout(
        Duration::from_millis(100),
        c.blpop::<_, Option<(String, String)>>(&list, 10.0),
    )
    .await;
    assert!(gave_up.is_err(), "BLPOP of an empty list returned early");
    drop(c);
    let started = Instant::now();
    let mut next = pools.redis().get().await.unwrap();
    let after = client_id(&mut next).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_ne!(before, after);
    drop(next);
    pools.shutdown().await;
}

/// The declared database is every connection's; a caller's `SELECT`, an unfinished `MULTI`
/// or `WATCH` never reach the next caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_state_is_never_inherited() {
    let _ = require(REDIS);
    let pools = single::Pools::start().await.unwrap();
    let k = key("state");
    let db = async |c: &mut RedisConnection| -> String {
        let info: String = redis::cmd("CLIENT")
            .arg("INFO")
            .query_async(c)
            .await
            .unwrap();
        info.split(' ')
            .find_map(|f| f.strip_prefix("db="))
            .unwrap()
            .to_owned()
    };
    let flags = async |c: &mut RedisConnection| -> String {
        let info: String = redis::cmd("CLIENT")
            .arg("INFO")
            .query_async(c)
            .await
            .unwrap();
        info.split(' ')
            .find_map(|f| f.strip_prefix("flags="))
            .unwrap()
            .to_owned()
    };

    let mut c = pools.redis().get().await.unwrap();
    assert_eq!(db(&mut c).await, "3");
    let _: () = redis::cmd("SELECT")
        .arg(5)
        .query_async(&mut *c)
        .await
        .unwrap();
    drop(c);
    let mut c = pools.redis().get().await.unwrap();
    assert_eq!(db(&mut c).await, "3", "a SELECT leaked to the next caller");

    let _: () = redis::cmd("MULTI").query_async(&mut *c).await.unwrap();
    let _: String = redis::cmd("SET")
        .arg(&k)
        .arg(1)
        .query_async(&mut *c)
        .await
        .unwrap();
    drop(c); // never EXEC'd
    let mut c = pools.redis().get().await.unwrap();
    assert!(!flags(&mut c).await.contains('x'), "a MULTI leaked");
    let exists: bool = c.exists(&k).await.unwrap();
    assert!(!exists, "the abandoned transaction ran");

    let _: () = redis::cmd("WATCH")
        .arg(&k)
        .query_async(&mut *c)
        .await
        .unwrap();
    drop(c);
    let mut c = pools.redis().get().await.unwrap();
    assert!(!flags(&mut c).await.contains('w'), "a WATCH leaked");

    // A finished transaction and a SELECT back leave the connection as it was: kept.
    let id = client_id(&mut c).await;
    let _: () = redis::cmd("SELECT")
        .arg(4)
        .query_async(&mut *c)
        .await
        .unwrap();
    let _: () = redis::cmd("SELECT")
        .arg(3)
        .query_async(&mut *c)
        .await
        .unwrap();
    let _: () = redis::cmd("MULTI").query_async(&mut *c).await.unwrap();
    let _: String = redis::cmd("INCR")
        .arg(&k)
        .query_async(&mut *c)
        .await
        .unwrap();
    let _: (i64,) = redis::cmd("EXEC").query_async(&mut *c).await.unwrap();
    drop(c);
    let mut c = pools.redis().get().await.unwrap();
    assert_eq!(
        client_id(&mut c).await,
        id,
        "a clean connection was replaced"
    );
    drop(c);
    pools.shutdown().await;
}

/// Exclusive callers cancelled at random points, mid-command included: every reply that
/// arrives is the answer to its own request (no `GET` answered with another's value), and
/// the pool serves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_storm_on_exclusive_use_has_no_crosstalk() {
    let _ = require(REDIS);
    let pools = Arc::new(plain::Pools::start().await.unwrap());
    let k = key("storm");
    // Every key holds its own name.
    pools
        .redis()
        .call(async |c| {
            let mut p = redis::pipe();
            for i in 0..64 {
                p.set(format!("{k}:{i}"), format!("{k}:{i}")).ignore();
            }
            p.query_async::<()>(c).await
        })
        .await
        .unwrap()
        .unwrap();
    let completed = Arc::new(AtomicUsize::new(0));
    let cancelled = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..32)
        .map(|t| {
            let (pools, k) = (pools.clone(), k.clone());
            let (completed, cancelled) = (completed.clone(), cancelled.clone());
            tokio::spawn(async move {
                for n in 0..100u64 {
                    let i = (t * 7 + n as usize) % 64;
                    let want = format!("{k}:{i}");
                    // 0..3 ms: a checkout and two round trips take about 1 ms here, so
                    // many calls are cut short while a request is on the wire.
                    let budget = Duration::from_micros((n * 37 + t as u64 * 11) % 3000);
                    let work = async {
                        let mut c = pools.redis().get().await.unwrap();
                        let got: String = c.get(&want).await.unwrap();
                        let again: String = c.get(&want).await.unwrap();
                        (got, again)
                    };
                    match tokio::time::timeout(budget, work).await {
                        Ok((got, again)) => {
                            assert_eq!(got, want, "crosstalk");
                            assert_eq!(again, want, "crosstalk");
                            completed.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            cancelled.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let (done, gone) = (
        completed.load(Ordering::Relaxed),
        cancelled.load(Ordering::Relaxed),
    );
    println!("storm: {done} completed, {gone} cancelled");
    assert!(
        done > 100 && gone > 100,
        "{done} completed, {gone} cancelled"
    );
    // Still serving, every worker.
    for i in 0..64 {
        let want = format!("{k}:{i}");
        let got: String = pools
            .redis()
            .call(async |c| c.get(&want).await)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, want);
    }
    assert_eq!(pools.status().get(POOL).unwrap().down, 0);
}

/// The ACL user of the TLS server, over TLS verified against the test CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acl_user_over_tls() {
    let _lock = lock_shared(REDIS_TLS);
    let pools = acl_pools().start().await.unwrap();
    let me: String = pools
        .redis()
        .call_shared(async |c| {
            redis::cmd("ACL")
                .arg("WHOAMI")
                .query_async(&mut c.clone())
                .await
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(me, "pool");
    pools.shutdown().await;
}

/// A client certificate (its key encrypted, opened with `tls.password`) is presented: the
/// server checks a presented certificate against the test CA, so one the CA signed logs in
/// and one an unrelated CA signed is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_is_presented() {
    let _lock = lock_shared(REDIS_TLS);
    let certs = require(TLS);
    let dir = std::env::temp_dir().join(format!("op-redis-client-{}", std::process::id()));
    let with = |(cert, key): (std::path::PathBuf, std::path::PathBuf)| {
        acl_pools()
            .set(POOL, key::TLS_CERTFILE, cert.display().to_string())
            .set(POOL, key::TLS_KEYFILE, key.display().to_string())
            .set(POOL, key::TLS_PASSWORD, "s3cret")
    };
    let good = certs.encrypted_client_identity(&dir.join("good"), "s3cret");
    let pools = with(good).start().await.unwrap();
    let pong: String = pools
        .redis()
        .call(async |c| redis::cmd("PING").query_async(c).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pong, "PONG");
    pools.shutdown().await;

    let foreign = certs.unrelated_client_identity(&dir.join("foreign"), "s3cret");
    let err = match with(foreign).start().await {
        Err(e) => e,
        Ok(_) => panic!("a client certificate of an unrelated CA was accepted"),
    };
    let text = format!("{err:?}");
    assert!(text.contains("UnknownCA"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server certificate that the declared CA did not sign fails `start()`, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ca_fails_start() {
    let _lock = lock_shared(REDIS_TLS);
    let redis = require(REDIS_TLS);
    let wrong = wrong_ca::Pools::builder()
        .set(POOL, key::HOST, redis.host)
        .set(POOL, key::PORT, redis.port.to_string())
        .set(POOL, key::PASSWORD, redis.password.unwrap_or_default())
        .set(
            POOL,
            key::TLS_CACERTFILE,
            require(TLS).wrong_ca.display().to_string(),
        );
    let err = match wrong.start().await {
        Err(e) => e,
        Ok(_) => panic!("a server certificate the CA did not sign was accepted"),
    };
    let text = format!("{err:?}");
    assert!(text.contains("redis.global.default"), "{text}");
    assert!(
        text.contains("UnknownIssuer") || text.contains("unknown issuer"),
        "{text}"
    );
    // The connector's error is reachable for code that wants it.
    let StartError::Pool { source, .. } = &err else {
        panic!("{text}")
    };
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&**source);
    let mut found = false;
    while let Some(e) = cause {
        found |= e.downcast_ref::<RedisConnectorError>().is_some();
        cause = e.source();
    }
    assert!(found, "{text}");
}

/// A wrong password fails `start()` within a second with the server's words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_fails_start_with_the_servers_words() {
    let _lock = lock_shared(REDIS_TLS);
    let started = Instant::now();
    let err = match acl_pools()
        .set(POOL, key::PASSWORD, "not-the-password")
        .start()
        .await
    {
        Err(e) => e,
        Ok(_) => panic!("a wrong password started the pool"),
    };
    let text = format!("{err:?}");
    assert!(text.contains("WRONGPASS"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}
