//! Declared `redis` pools on the throwaway Redis Cluster (7001–7006: three masters with a
//! replica each) and Sentinel (master 6390, replica 6391, sentinel 26390) of `cargo xtask
//! services up`: reads and writes across slots, `MOVED` and `ASK` followed while slots move,
//! a master failing over under load, and a Sentinel failover under load. Each test that
//! changes a topology holds its service alone and makes it anew afterwards (`ctl restart`).
#![cfg(feature = "redis")]

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use outgoing_pools::connectors::Redis;
use outgoing_pools::connectors::redis::RedisConnection;
use outgoing_pools::connectors::redis::redis::{self, AsyncCommands};
use outgoing_pools::settings::keys as key;
use outgoing_pools::{ManageConnection, outgoing_pools};
use test_support::{
    REDIS_CLUSTER, REDIS_CLUSTER_TLS, REDIS_SENTINEL, RedisSentinel, TLS, lock_exclusive,
    lock_shared, require,
};

const POOL: &str = "redis.global.default";
/// Calls under a fault may fail, but never take longer than this (the pools' `call_timeout`
/// of 1 s, plus scheduling noise on two loaded cores).
const CALL_LIMIT: Duration = Duration::from_millis(1250);

/// A cluster pool: its seed nodes are set at start from the services' addresses.
mod cluster {
    use super::outgoing_pools;

    #[outgoing_pools(redis(
        workers = 4,
        call_timeout = 1000,
        connection(cluster = true, servers = ["127.0.0.1:7001"]),
    ))]
    pub struct Pools;
}

/// A cluster pool over TLS: seeds, CA and client identity set at start.
mod cluster_tls {
    use super::outgoing_pools;

    #[outgoing_pools(redis(
        workers = 2,
        call_timeout = 1000,
        connection(
            cluster = true,
            servers = ["127.0.0.1:7101"],
            tls(cacertfile = "set at start"),
        ),
    ))]
    pub struct Pools;
}

/// A pool following the master the Sentinel names.
mod sentinel {
    use super::outgoing_pools;

    #[outgoing_pools(redis(
        workers = 4,
        call_timeout = 1000,
        connection(sentinels = ["127.0.0.1:26390"], master_name = "pool-master"),
    ))]
    pub struct Pools;
}

fn servers(nodes: &[(String, u16)]) -> String {
    nodes
        .iter()
        .map(|(h, p)| format!("{h}:{p}"))
        .collect::<Vec<_>>()
        .join(",")
}

async fn cluster_pools() -> cluster::Pools {
    let c = require(REDIS_CLUSTER);
    cluster::Pools::builder()
        .set(POOL, key::SERVERS, servers(&c.nodes))
        .start()
        .await
        .unwrap()
}

/// The pool on the Sentinel of the services, after `dead` (Sentinels that do not answer,
/// tried first).
async fn sentinel_pools_after(dead: &[(String, u16)]) -> sentinel::Pools {
    let s = require(REDIS_SENTINEL);
    let mut sentinels = dead.to_vec();
    sentinels.push(s.sentinel);
    sentinel::Pools::builder()
        .set(POOL, key::SENTINELS, servers(&sentinels))
        .set(POOL, key::MASTER_NAME, s.master_name)
        .start()
        .await
        .unwrap()
}

/// The master the Sentinel names now: not always the one of the services' start, since a run
/// cut off between a failover and the `restart` that undoes it leaves the replica promoted.
async fn sentinel_master(s: &RedisSentinel) -> (String, u16) {
    let mut sentinel = node(&s.sentinel.0, s.sentinel.1).await;
    redis::cmd("SENTINEL")
        .arg("GET-MASTER-ADDR-BY-NAME")
        .arg(&s.master_name)
        .query_async(&mut sentinel)
        .await
        .unwrap()
}

/// A connection of the test's own to one node.
async fn node(host: &str, port: u16) -> RedisConnection {
    Redis::new(host, port).connect().await.unwrap()
}

/// A key of this test run's own.
fn key_of(test: &str, i: usize) -> String {
    format!("op-topo:{}:{test}:{i}", std::process::id())
}

/// Runs `tasks` callers, each doing `SET`/`GET` of its own keys through `pools` until
/// `stop`; returns every call's (start, duration, error).
type Log = Arc<Mutex<Vec<(Instant, Duration, Option<String>)>>>;

fn load<P: Send + Sync + 'static>(
    pools: Arc<P>,
    redis: fn(&P) -> &outgoing_pools::Pool<Redis, outgoing_pools::BestWorker>,
    test: &'static str,
    stop: Arc<AtomicBool>,
) -> (Log, Vec<tokio::task::JoinHandle<()>>) {
    let log: Log = Arc::default();
    let tasks = (0..8)
        .map(|t| {
            let (pools, stop, log) = (pools.clone(), stop.clone(), log.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let k = key_of(test, t * 1000 + n % 50);
                    let started = Instant::now();
                    let result = redis(&pools)
                        .call_shared(async |c| {
                            let mut c = c.clone();
                            let _: () = c.set(&k, n).await?;
                            c.get::<_, usize>(&k).await
                        })
                        .await;
                    let error = match result {
                        Ok(Ok(got)) if got == n => None,
                        Ok(Ok(got)) => Some(format!("read {got}, wrote {n}")),
                        Ok(Err(e)) => Some(format!("redis: {e}")),
                        Err(e) => Some(format!("pool: {e}")),
                    };
                    let failed = error.is_some();
                    log.lock()
                        .unwrap()
                        .push((started, started.elapsed(), error));
                    tokio::time::sleep(Duration::from_millis(if failed { 20 } else { 2 })).await;
                }
            })
        })
        .collect();
    (log, tasks)
}

/// Prints each kind of failure in the log once, with when it last happened after `since`.
fn print_failures(log: &Log, since: Instant) {
    let log = log.lock().unwrap();
    let mut kinds = std::collections::BTreeMap::new();
    for (start, took, error) in log.iter() {
        if let Some(e) = error {
            let kind: String = e.chars().take(120).collect();
            kinds.insert(kind, (*start + *took).saturating_duration_since(since));
        }
    }
    for (kind, last) in &kinds {
        println!("  {kind} (last {last:?} after)");
    }
}

/// What a fault's log shows: failures, calls since `since`, the last failure, the slowest
/// call.
fn summary(log: &Log, since: Instant) -> (usize, usize, Option<Instant>, Duration) {
    let log = log.lock().unwrap();
    let failures: Vec<_> = log.iter().filter(|c| c.2.is_some()).collect();
    let last = failures.iter().map(|c| c.0 + c.1).max();
    let slowest = log.iter().map(|c| c.1).max().unwrap_or_default();
    let after = log.iter().filter(|c| c.0 >= since).count();
    (failures.len(), after, last, slowest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_pool_reads_and_writes_across_slots() {
    let _shared = lock_shared(REDIS_CLUSTER);
    let c = require(REDIS_CLUSTER);
    let pools = cluster_pools().await;
    let keys: Vec<String> = (0..200).map(|i| key_of("slots", i)).collect();
    // Exclusive and shared, one pipeline per key (a cluster pipeline must stay in one slot).
    for (i, k) in keys.iter().enumerate() {
        if i % 2 == 0 {
            let mut conn = pools.redis().get().await.unwrap();
            let _: () = conn.set(k, i).await.unwrap();
        } else {
            let _: () = pools
                .redis()
                .call_shared(async |conn| conn.clone().set(k, i).await)
                .await
                .unwrap()
                .unwrap();
        }
    }
    for (i, k) in keys.iter().enumerate() {
        let got: usize = pools
            .redis()
            .call_shared(async |conn| conn.clone().get(k).await)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, i);
    }
    // The keys really are spread over the three masters.
    let mut holders = std::collections::BTreeSet::new();
    for (host, port) in &c.nodes[..3] {
        let mut n = node(host, *port).await;
        for k in &keys {
            let slot: u16 = redis::cmd("CLUSTER")
                .arg("KEYSLOT")
                .arg(k)
                .query_async(&mut n)
                .await
                .unwrap();
            let here: i64 = redis::cmd("CLUSTER")
                .arg("COUNTKEYSINSLOT")
                .arg(slot)
                .query_async(&mut n)
                .await
                .unwrap();
            if here > 0 {
                holders.insert(*port);
            }
        }
    }
    assert!(holders.len() >= 2, "every key on one node: {holders:?}");
    pools.shutdown().await;
}

/// A slot moves under the pool: first its migration (the old owner answers `ASK` for keys it
/// no longer has), then its new owner everywhere (the old one answers `MOVED`). The pool's
/// connections follow both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_pool_follows_moved_and_ask() {
    let _alone = lock_exclusive(REDIS_CLUSTER);
    let c = require(REDIS_CLUSTER);
    let pools = cluster_pools().await;
    let k = key_of("migrate", 0);
    // Who owns the key's slot, and a master that does not.
    let mut any = node(&c.nodes[0].0, c.nodes[0].1).await;
    let slot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(&k)
        .query_async(&mut any)
        .await
        .unwrap();
    let mut masters = Vec::new();
    for (host, port) in &c.nodes {
        let mut n = node(host, *port).await;
        let role: Vec<redis::Value> = redis::cmd("ROLE").query_async(&mut n).await.unwrap();
        if redis::from_redis_value_ref::<String>(&role[0]).unwrap() == "master" {
            let id: String = redis::cmd("CLUSTER")
                .arg("MYID")
                .query_async(&mut n)
                .await
                .unwrap();
            masters.push((id, n));
        }
    }
    // `CLUSTER NODES` lists each master's slot ranges (from the ninth field on).
    let nodes: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async(&mut any)
        .await
        .unwrap();
    let owner_id = nodes
        .lines()
        .find(|l| {
            l.contains("master")
                && l.split(' ').skip(8).any(|r| {
                    let (a, b) = r.split_once('-').unwrap_or((r, r));
                    matches!((a.parse::<u16>(), b.parse::<u16>()), (Ok(a), Ok(b)) if a <= slot && slot <= b)
                })
        })
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .to_owned();
    let source = masters.iter().position(|m| m.0 == owner_id).unwrap();
    let target = (source + 1) % masters.len();
    let (source_id, target_id) = (masters[source].0.clone(), masters[target].0.clone());

    // Migration under way: the key does not exist on the source, so it answers ASK.
    let _: () = redis::cmd("CLUSTER")
        .arg("SETSLOT")
        .arg(slot)
        .arg("IMPORTING")
        .arg(&source_id)
        .query_async(&mut masters[target].1)
        .await
        .unwrap();
    let _: () = redis::cmd("CLUSTER")
        .arg("SETSLOT")
        .arg(slot)
        .arg("MIGRATING")
        .arg(&target_id)
        .query_async(&mut masters[source].1)
        .await
        .unwrap();
    let _: () = pools
        .redis()
        .call_shared(async |conn| conn.clone().set(&k, "asked").await)
        .await
        .unwrap()
        .unwrap();
    let on_target: Option<String> = {
        let t = &mut masters[target].1;
        let _: () = redis::cmd("ASKING").query_async(t).await.unwrap();
        t.get(&k).await.unwrap()
    };
    assert_eq!(
        on_target.as_deref(),
        Some("asked"),
        "the write did not follow ASK"
    );

    // Migration done: every master says the target owns the slot; the pool's slot map still
    // says the source, which now answers MOVED.
    for m in &mut masters {
        let _: () = redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("NODE")
            .arg(&target_id)
            .query_async(&mut m.1)
            .await
            .unwrap();
    }
    for round in 0..4 {
        let got: Option<String> = pools
            .redis()
            .call_shared(async |conn| conn.clone().get(&k).await)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            got.as_deref(),
            Some("asked"),
            "round {round}: the read did not follow MOVED"
        );
    }
    pools.shutdown().await;
    drop(masters);
    tokio::task::spawn_blocking(move || c.ctl("restart"))
        .await
        .unwrap();
}

/// A master dies under load: its replica takes over (`cluster-node-timeout` 2 s), the pool's
/// connections find the new master, no call runs past `call_timeout`, and every call after
/// the failover succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_pool_survives_a_master_failing_over() {
    let _alone = lock_exclusive(REDIS_CLUSTER);
    let c = require(REDIS_CLUSTER);
    let pools = Arc::new(cluster_pools().await);
    let stop = Arc::new(AtomicBool::new(false));
    let (log, tasks) = load(
        pools.clone(),
        |p: &cluster::Pools| p.redis(),
        "failover",
        stop.clone(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        summary(&log, Instant::now()).0,
        0,
        "failures before the fault"
    );

    let (host, port) = c.nodes[0].clone();
    let mut victim = node(&host, port).await;
    let killed = Instant::now();
    let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN")
        .arg("NOSAVE")
        .query_async(&mut victim)
        .await;
    // Wait for a replica to take over its slots.
    let mut survivor = node(&c.nodes[1].0, c.nodes[1].1).await;
    loop {
        let info: String = redis::cmd("CLUSTER")
            .arg("INFO")
            .query_async(&mut survivor)
            .await
            .unwrap();
        if info.contains("cluster_state:ok") && killed.elapsed() > Duration::from_secs(1) {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "no failover after 30 s: {info}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failed_over = Instant::now();
    println!(
        "cluster: failover done {:?} after the kill",
        killed.elapsed()
    );
    // Quiet for 3 s, within 15 s of the failover.
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, _, last, _) = summary(&log, failed_over);
        let quiet_since = last.map_or(failed_over, |l| l.max(failed_over));
        if quiet_since.elapsed() >= Duration::from_secs(3) {
            break;
        }
        assert!(
            failed_over.elapsed() < Duration::from_secs(15),
            "calls still failing 15 s after the failover"
        );
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let (failures, after, last, slowest) = summary(&log, failed_over);
    print_failures(&log, failed_over);
    println!(
        "cluster: {failures} calls failed, the last {:?} after the kill; slowest call {slowest:?}; {after} calls after the failover",
        last.map(|l| l - killed)
    );
    assert!(slowest <= CALL_LIMIT, "a call took {slowest:?}");
    assert!(after > 100, "only {after} calls after the failover");
    drop(pools);
    tokio::task::spawn_blocking(move || c.ctl("restart"))
        .await
        .unwrap();
}

/// The cluster client's own TLS connections, from the table's keys: verified against the
/// declared CA (a wrong one fails `start()`), with a client identity whose key is encrypted
/// (opened with `tls.password`, in memory).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_pool_over_tls() {
    let _shared = lock_shared(REDIS_CLUSTER_TLS);
    let c = require(REDIS_CLUSTER_TLS);
    let certs = require(TLS);
    let dir = std::env::temp_dir().join(format!("op-cluster-tls-{}", std::process::id()));
    let (cert, key_file) = certs.encrypted_client_identity(&dir, "s3cret");
    let pools = cluster_tls::Pools::builder()
        .set(POOL, key::SERVERS, servers(&c.nodes))
        .set(POOL, key::TLS_CACERTFILE, certs.ca.display().to_string())
        .set(POOL, key::TLS_CERTFILE, cert.display().to_string())
        .set(POOL, key::TLS_KEYFILE, key_file.display().to_string())
        .set(POOL, key::TLS_PASSWORD, "s3cret")
        .start()
        .await
        .unwrap();
    for i in 0..60 {
        let k = key_of("cluster-tls", i);
        let got: usize = pools
            .redis()
            .call_shared(async |conn| {
                let mut conn = conn.clone();
                let _: () = conn.set(&k, i).await?;
                conn.get(&k).await
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, i);
    }
    pools.shutdown().await;

    let wrong = cluster_tls::Pools::builder()
        .set(POOL, key::SERVERS, servers(&c.nodes))
        .set(
            POOL,
            key::TLS_CACERTFILE,
            certs.wrong_ca.display().to_string(),
        )
        .start()
        .await;
    let Err(err) = wrong else {
        panic!("a cluster whose certificates the CA did not sign was accepted")
    };
    let text = format!("{err:?}");
    assert!(
        text.contains("redis.global.default") && text.contains("UnknownIssuer"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_pool_serves_the_master() {
    let _shared = lock_shared(REDIS_SENTINEL);
    let s = require(REDIS_SENTINEL);
    // A Sentinel that is down comes first: the next one is asked.
    let pools = sentinel_pools_after(&[("127.0.0.1".into(), 1)]).await;
    let k = key_of("sentinel", 0);
    let _: () = pools
        .redis()
        .call_shared(async |c| c.clone().set(&k, "on the master").await)
        .await
        .unwrap()
        .unwrap();
    let mut c = pools.redis().get().await.unwrap();
    let role: Vec<redis::Value> = redis::cmd("ROLE").query_async(&mut *c).await.unwrap();
    assert_eq!(
        redis::from_redis_value_ref::<String>(&role[0]).unwrap(),
        "master"
    );
    let got: String = c.get(&k).await.unwrap();
    assert_eq!(got, "on the master");
    drop(c);
    // It is the master the Sentinel names.
    let (host, port) = sentinel_master(&s).await;
    let mut master = node(&host, port).await;
    let there: Option<String> = master.get(&k).await.unwrap();
    assert_eq!(there.as_deref(), Some("on the master"));
    pools.shutdown().await;
}

/// `SENTINEL FAILOVER` under load: the old master is demoted (its clients are disconnected,
/// and a connection that stayed would answer writes with `READONLY`), the pool reconnects to
/// the new master the Sentinel names, and writes go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_pool_follows_a_failover_under_load() {
    let _alone = lock_exclusive(REDIS_SENTINEL);
    let s = require(REDIS_SENTINEL);
    let pools = Arc::new(sentinel_pools_after(&[]).await);
    let stop = Arc::new(AtomicBool::new(false));
    let (log, tasks) = load(
        pools.clone(),
        |p: &sentinel::Pools| p.redis(),
        "sentinel-failover",
        stop.clone(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        summary(&log, Instant::now()).0,
        0,
        "failures before the failover"
    );

    let (host, old) = sentinel_master(&s).await;
    let mut sentinel = node(&s.sentinel.0, s.sentinel.1).await;
    let started = Instant::now();
    let _: () = redis::cmd("SENTINEL")
        .arg("FAILOVER")
        .arg(&s.master_name)
        .query_async(&mut sentinel)
        .await
        .unwrap();
    let new_port = loop {
        let addr: Option<(String, u16)> = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(&s.master_name)
            .query_async(&mut sentinel)
            .await
            .unwrap();
        if let Some((_, port)) = addr.filter(|a| a.1 != old) {
            break port;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no failover after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let switched = Instant::now();
    println!(
        "sentinel: master moved to {new_port} {:?} after SENTINEL FAILOVER",
        started.elapsed()
    );
    // The pool leaves the old master at once: the Sentinel's `+switch-master`, not the old
    // master's demotion (the Sentinel's next check, up to 10 s later), moves it.
    let mut old_master = node(&host, old).await;
    loop {
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut old_master)
            .await
            .unwrap();
        let ours = list
            .lines()
            .filter(|l| l.contains(&format!(" name={POOL} ")))
            .count();
        if ours == 0 {
            break;
        }
        assert!(
            switched.elapsed() < Duration::from_secs(2),
            "{ours} of the pool's connections still on the old master 2 s after the switch"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "sentinel: the pool left the old master {:?} after the switch",
        switched.elapsed()
    );
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, _, last, _) = summary(&log, switched);
        let quiet_since = last.map_or(switched, |l| l.max(switched));
        // Every worker on the new master, and no failure for 3 s.
        let mut c = pools.redis().get().await.unwrap();
        let port: String = {
            let info: String = redis::cmd("INFO")
                .arg("server")
                .query_async(&mut *c)
                .await
                .unwrap();
            info.lines()
                .find_map(|l| l.strip_prefix("tcp_port:"))
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        drop(c);
        if quiet_since.elapsed() >= Duration::from_secs(3) && port == new_port.to_string() {
            break;
        }
        assert!(
            switched.elapsed() < Duration::from_secs(20),
            "not settled on {new_port} 20 s after the failover"
        );
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let (failures, after, last, slowest) = summary(&log, switched);
    print_failures(&log, switched);
    println!(
        "sentinel: {failures} calls failed, the last {:?} after the switch; slowest call {slowest:?}; {after} calls after it",
        last.map(|l| l.saturating_duration_since(switched))
    );
    assert!(slowest <= CALL_LIMIT, "a call took {slowest:?}");
    assert!(after > 100, "only {after} calls after the failover");
    drop(pools);
    tokio::task::spawn_blocking(move || s.ctl("restart"))
        .await
        .unwrap();
}
