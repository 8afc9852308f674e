//! The declaration end to end: what `#[outgoing_pools]` plans and generates for every pool type
//! and for the seed's examples, and how the generated pools start, run and stop.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use outgoing_pools::connectors::{
    Cassandra, Elastic, Http, Ldap, Mysql, Odbc, Pgsql, Rabbit, Redis, Riak,
};
use outgoing_pools::declared::{PoolSpec, SettingSpec, UnknownHost};
use outgoing_pools::settings::{PoolType, keys as key};
use outgoing_pools::{
    AvailableWorker, BestWorker, Generic, HashWorker, NextWorker, Pool, RandomWorker, StartError,
    defaults,
};

/// The design's example (`shared/DESIGN.md`, "The declaration").
mod design {
    use outgoing_pools::outgoing_pools;

    #[outgoing_pools(
        hosts = ["a.com", "b.com", "c.eu", "d.eu"],
        redis(scope = "a.com", workers = 5, connection(host = "10.0.0.1")),
        redis(scope = host, strategy = random_worker, connection(host = "10.0.0.2")),
        rdbms(
            workers = 5,
            connection(driver = pgsql, host = "localhost", database = "mydb", username = "mim",
                       password = env("DB_PASSWORD"), keepalive_interval = 30,
                       tls(required = true, cacertfile = "certs/ca.pem")),
        ),
        http(tag = http_auth, strategy = available_worker, call_timeout = 5000,
             connection(host = "https://auth.example.com:8080", path_prefix = "/api", request_timeout = 2000)),
        generic(tag = push, workers = 20),
    )]
    pub struct Pools;
}

/// The same declaration, read from `tests/pools.toml`.
mod from_file {
    use outgoing_pools::outgoing_pools;

    #[outgoing_pools(file = "tests/pools.toml")]
    pub struct Pools;
}

/// Every pool type, written as the seed's examples are.
mod every_type {
    use outgoing_pools::outgoing_pools;

    #[outgoing_pools(
        hosts = ["a.com", "b.com"],
        cassandra(connection(
            servers = [{ host = "cassandra_server1.example.com", port = 9042 }, "cassandra_server2.example.com"],
            keyspace = "big_mongooseim",
            auth(plain(username = "cass", password = env("OP_CASSANDRA_PASSWORD", default = "pw"))),
            tls(verify_mode = none),
        )),
        riak(workers = 20, strategy = next_worker,
             connection(address = "riak.local", port = 8087, username = "username", password = "pass",
                        tls(cacertfile = "path/to/cacert.pem"))),
        redis(scope = host, connection(host = "10.0.0.2", port = 9923, database = 1)),
        http(tag = http_auth, strategy = available_worker, connection(host = "https://my_server:8080")),
        elastic(connection(host = "localhost")),
        rdbms(tag = pg, connection(driver = pgsql, host = "localhost", port = 5432, database = "mydb",
              username = "mim", password = "mimpass",
              tls(required = true, verify_mode = peer, cacertfile = "path/to/cacert.pem"))),
        rdbms(tag = my, connection(driver = mysql, host = "localhost", port = 3306, database = "mydb",
              username = "mim", password = "mimpass",
              tls(verify_mode = peer, cacertfile = "path/to/cacert.pem", server_name_indication(enabled = false)))),
        rdbms(tag = odbc, connection(driver = odbc, settings = "DSN=mydb")),
        rabbit(scope = host, tag = event_pusher, workers = 20, max_worker_queue_len = 100,
               connection(amqp_host = "localhost", amqp_port = 5672, amqp_username = "guest",
                          amqp_password = "guest", confirms_enabled = true)),
        ldap(scope = host, workers = 5,
             connection(servers = ["ldap-server.example.com"], rootdn = "cn=admin,dc=example,dc=com",
                        password = "ldap-admin-password")),
        generic(tag = push, workers = 20),
    )]
    pub struct Pools;
}

/// The seed's host expansion: a.com and c.eu have their own redis pool, `host` covers the rest.
mod seed_redis {
    use outgoing_pools::outgoing_pools;

    #[outgoing_pools(
        hosts = ["a.com", "b.com", "c.eu", "d.eu"],
        redis(scope = "a.com", connection(host = "redis-a")),
        redis(scope = host, connection(host = "redis-any")),
        redis(scope = "c.eu", connection(host = "redis-c")),
    )]
    pub struct Pools;
}

/// The seed's RDBMS example: a global mysql pool of 5 and a dedicated one of 3 for myhost.com.
mod seed_rdbms {
    use outgoing_pools::outgoing_pools;

    #[outgoing_pools(
        hosts = ["myhost.com", "other.com"],
        rdbms(workers = 5, connection(driver = mysql, host = "localhost", port = 3306,
                                      database = "mydb", username = "user", password = "passwd")),
        rdbms(scope = "myhost.com", workers = 3,
              connection(driver = mysql, host = "localhost", port = 3306, database = "mydb",
                         username = "user", password = "passwd")),
    )]
    pub struct Pools;
}

/// Generic pools only, so they start here: fallback to the global pool, a group with a
/// `hash_worker` pool, a group with no pool for some host, and one mixing keyless strategies.
mod generic_only {
    use outgoing_pools::outgoing_pools;

    #[outgoing_pools(
        hosts = ["a.com", "b.com", "c.eu"],
        generic(workers = 2),
        generic(scope = "a.com", workers = 3),
        generic(tag = users, strategy = hash_worker, workers = 4),
        generic(tag = jobs, scope = "a.com", strategy = hash_worker),
        generic(tag = jobs, scope = "b.com", strategy = next_worker),
        generic(tag = mixed, scope = host, strategy = next_worker, workers = 2),
        generic(tag = mixed, scope = "c.eu", strategy = available_worker, workers = 1),
    )]
    pub struct Pools;
}

/// Options left out take the runtime's defaults.
mod bare {
    use outgoing_pools::outgoing_pools;

    #[outgoing_pools(generic)]
    pub struct Pools;
}

/// Every runtime option can be declared.
mod tuned {
    use outgoing_pools::outgoing_pools;

    #[outgoing_pools(generic(tag = tuned, connect_timeout = 1500, shared_depth = 4, workers = 3))]
    pub struct Pools;
}

#[tokio::test]
async fn every_runtime_option_can_be_declared_and_the_plan_shows_it() {
    let plan = tuned::Pools::plan();
    let options = plan.pools()[0].options();
    assert_eq!(options.connect_timeout, Duration::from_millis(1500));
    assert_eq!(options.shared_depth, 4);
    let line = plan.to_string();
    for shown in [
        "workers=3",
        "call_timeout=5000",
        "connect_timeout=1500",
        "shared_depth=4",
    ] {
        assert!(line.contains(shown), "{shown} in {line}");
    }
    let pools = tuned::Pools::start().await.unwrap();
    assert_eq!(pools.generic_tuned().status().workers, 3);
    pools.shutdown().await;
}

/// A redis pool: no connector in this build.
mod rabbit_only {
    use outgoing_pools::outgoing_pools;

    #[outgoing_pools(generic(tag = first), rabbit(connection(host = "10.0.0.1")))]
    pub struct Pools;
}

/// A value read from an environment variable that is not set.
mod missing_env {
    use outgoing_pools::outgoing_pools;

    #[outgoing_pools(redis(tag = cache, connection(host = env("OP_TEST_UNSET_VAR"))))]
    pub struct Pools;
}

fn spec(pools: &'static [PoolSpec], name: &str) -> &'static PoolSpec {
    pools
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no pool `{name}`"))
}

fn setting(spec: &'static PoolSpec, key: &str) -> &'static SettingSpec {
    spec.connection
        .iter()
        .find(|s| s.key == key)
        .unwrap_or_else(|| panic!("no key `{key}` in `{}`", spec.name))
}

/// `(source, secret)` of a setting, the source as its `Debug` text.
fn value(spec: &'static PoolSpec, key: &str) -> (String, bool) {
    let s = setting(spec, key);
    (format!("{:?}", s.source), spec.is_secret(key))
}

fn keys(spec: &PoolSpec) -> Vec<&'static str> {
    spec.connection.iter().map(|s| s.key).collect()
}

fn names(pools: &[PoolSpec]) -> Vec<&'static str> {
    pools.iter().map(|p| p.name).collect()
}

#[test]
fn design_example_plan() {
    use design::{Host, Pools, RedisPool};

    let plan = Pools::plan();
    let pools = plan.pools();
    assert_eq!(
        names(pools),
        [
            "redis.a.com.default",
            "redis.b.com.default",
            "redis.c.eu.default",
            "redis.d.eu.default",
            "rdbms.global.default",
            "http.global.http_auth",
            "generic.global.push",
        ]
    );

    let a = spec(pools, "redis.a.com.default");
    assert_eq!(
        (
            a.pool_type,
            a.host,
            a.tag,
            a.connector,
            a.strategy,
            a.options().workers
        ),
        (
            PoolType::Redis,
            Some("a.com"),
            "default",
            "Redis",
            "best_worker",
            5
        )
    );
    assert_eq!(value(a, key::HOST), (r#"Str("10.0.0.1")"#.into(), false));
    for host in ["b.com", "c.eu", "d.eu"] {
        let p = spec(pools, &format!("redis.{host}.default"));
        assert_eq!((p.strategy, p.options().workers), ("random_worker", 10));
        assert_eq!(value(p, key::HOST).0, r#"Str("10.0.0.2")"#);
        assert_eq!(value(p, key::PORT), ("Int(6379)".into(), false));
    }

    let rdbms = spec(pools, "rdbms.global.default");
    assert_eq!(
        (
            rdbms.connector,
            rdbms.options().workers,
            rdbms.options().call_timeout
        ),
        ("Pgsql", 5, Duration::from_secs(60))
    );
    assert_eq!(
        keys(rdbms),
        [
            "driver",
            "host",
            "port",
            "database",
            "username",
            "password",
            "query_timeout",
            "keepalive_interval",
            "max_start_interval",
            "statement_cache",
            "tls.verify_mode",
            "tls.cacertfile",
            "tls.disconnect_on_failure",
            "tls.server_name_indication.enabled",
            "tls.server_name_indication.protocol",
            "tls.required",
        ]
    );
    assert_eq!(
        value(rdbms, key::PASSWORD),
        (r#"Env { var: "DB_PASSWORD", default: None }"#.into(), true)
    );
    assert_eq!(value(rdbms, key::PORT).0, "Int(5432)");
    assert_eq!(value(rdbms, key::KEEPALIVE_INTERVAL).0, "Int(30)");
    assert_eq!(
        value(rdbms, key::TLS_REQUIRED),
        ("Bool(true)".into(), false)
    );
    assert_eq!(value(rdbms, key::TLS_VERIFY_MODE).0, r#"Str("peer")"#);

    let http = spec(pools, "http.global.http_auth");
    assert_eq!(
        (http.connector, http.strategy, http.options().call_timeout),
        ("Http", "available_worker", Duration::from_secs(5))
    );
    assert_eq!(keys(http), ["host", "path_prefix", "request_timeout"]);
    assert_eq!(value(http, key::PATH_PREFIX).0, r#"Str("/api")"#);

    let push = spec(pools, "generic.global.push");
    assert_eq!((push.connector, push.options().workers), ("Generic", 20));
    assert!(push.connection.is_empty());

    // `env` values are names until the pools start; the table never shows secrets.
    let table = plan.to_string();
    assert!(table.contains("password=env(DB_PASSWORD)"), "{table}");

    // Accessors: concrete `Pool<C, S>` types; redis mixes strategies across hosts, so it
    // returns the generated enum.
    let _: fn(&Pools) -> &Pool<Pgsql, BestWorker> = Pools::rdbms;
    let _: fn(&Pools) -> &Pool<Http, AvailableWorker> = Pools::http_http_auth;
    let _: fn(&Pools) -> &Pool<Generic, BestWorker> = Pools::generic_push;
    let _: for<'a> fn(&'a Pools, Host) -> RedisPool<'a> = Pools::redis;
    fn _variants<'a>(
        best: &'a Pool<Redis, BestWorker>,
        random: &'a Pool<Redis, RandomWorker>,
    ) -> [RedisPool<'a>; 2] {
        [
            RedisPool::RedisBestWorker(best),
            RedisPool::RedisRandomWorker(random),
        ]
    }
}

#[test]
fn the_file_form_plans_what_the_attribute_form_does() {
    assert_eq!(
        format!("{:?}", from_file::Pools::plan()),
        format!("{:?}", design::Pools::plan())
    );
    assert_eq!(from_file::Host::ALL.len(), 4);
    let _: for<'a> fn(&'a from_file::Pools, from_file::Host) -> from_file::RedisPool<'a> =
        from_file::Pools::redis;
}

#[test]
fn every_pool_type() {
    use every_type::{Host, Pools};

    let plan = Pools::plan();
    let pools = plan.pools();
    assert_eq!(
        names(pools),
        [
            "cassandra.global.default",
            "riak.global.default",
            "redis.a.com.default",
            "redis.b.com.default",
            "http.global.http_auth",
            "elastic.global.default",
            "rdbms.global.pg",
            "rdbms.global.my",
            "rdbms.global.odbc",
            "rabbit.a.com.event_pusher",
            "rabbit.b.com.event_pusher",
            "ldap.a.com.default",
            "ldap.b.com.default",
            "generic.global.push",
        ]
    );

    let cassandra = spec(pools, "cassandra.global.default");
    assert_eq!(
        (cassandra.options().workers, cassandra.strategy),
        (20, "best_worker")
    );
    assert_eq!(
        value(cassandra, key::SERVERS),
        (r#"Servers([("cassandra_server1.example.com", 9042), ("cassandra_server2.example.com", 9042)])"#
                .into(),
            false
        )
    );
    assert_eq!(
        value(cassandra, key::AUTH_PLAIN_PASSWORD),
        (
            r#"Env { var: "OP_CASSANDRA_PASSWORD", default: Some("pw") }"#.into(),
            true
        )
    );
    assert_eq!(value(cassandra, key::TLS_VERIFY_MODE).0, r#"Str("none")"#);

    let riak = spec(pools, "riak.global.default");
    assert_eq!((riak.options().workers, riak.strategy), (20, "next_worker"));
    // `address` is the seed's name for `host`.
    assert_eq!(value(riak, key::HOST).0, r#"Str("riak.local")"#);
    assert!(value(riak, key::PASSWORD).1);
    assert_eq!(
        value(riak, key::TLS_CACERTFILE).0,
        r#"Str("path/to/cacert.pem")"#
    );

    let redis = spec(pools, "redis.b.com.default");
    assert_eq!(keys(redis), ["host", "port", "database", "cluster"]);
    assert_eq!(value(redis, key::PORT).0, "Int(9923)");

    let http = spec(pools, "http.global.http_auth");
    assert_eq!(value(http, key::PATH_PREFIX).0, r#"Str("/")"#);
    assert_eq!(value(http, key::REQUEST_TIMEOUT).0, "Int(2000)");

    let elastic = spec(pools, "elastic.global.default");
    assert_eq!(keys(elastic), ["host", "port"]);
    assert_eq!(value(elastic, key::PORT).0, "Int(9200)");

    let pg = spec(pools, "rdbms.global.pg");
    assert_eq!(value(pg, key::TLS_REQUIRED).0, "Bool(true)");
    let my = spec(pools, "rdbms.global.my");
    assert_eq!(my.connector, "Mysql");
    assert!(!keys(my).contains(&"tls.required"));
    assert_eq!(
        value(my, key::TLS_SERVER_NAME_INDICATION_ENABLED).0,
        "Bool(false)"
    );
    let odbc = spec(pools, "rdbms.global.odbc");
    assert_eq!(odbc.connector, "Odbc");
    assert_eq!(
        keys(odbc),
        ["driver", "settings", "query_timeout", "max_start_interval"]
    );
    assert!(value(odbc, key::SETTINGS).1);

    let rabbit = spec(pools, "rabbit.a.com.event_pusher");
    assert_eq!(
        (
            rabbit.options().workers,
            rabbit.options().max_worker_queue_len
        ),
        (20, Some(100))
    );
    assert_eq!(value(rabbit, key::HOST).0, r#"Str("localhost")"#);
    assert_eq!(
        value(rabbit, key::CONFIRMS_ENABLED),
        ("Bool(true)".into(), false)
    );
    assert_eq!(value(rabbit, key::RECONNECT_DELAY).0, "Int(2000)");

    let ldap = spec(pools, "ldap.b.com.default");
    assert_eq!(ldap.options().workers, 5);
    assert_eq!(
        value(ldap, key::SERVERS),
        (r#"List(["ldap-server.example.com"])"#.into(), false)
    );
    assert_eq!(
        value(ldap, key::ROOT_DN).0,
        r#"Str("cn=admin,dc=example,dc=com")"#
    );
    assert_eq!(value(ldap, key::PORT).0, "Int(389)");

    // Secrets never show in the table, literal or not.
    let table = plan.to_string();
    for secret in ["mimpass", "ldap-admin-password", "\"pass\"", "DSN=mydb"] {
        assert!(!table.contains(secret), "{secret} in {table}");
    }
    assert!(
        table.contains(r#"username="guest" password=*** virtual_host"#),
        "{table}"
    );

    let _: fn(&Pools) -> &Pool<Cassandra, BestWorker> = Pools::cassandra;
    let _: fn(&Pools) -> &Pool<Riak, NextWorker> = Pools::riak;
    let _: fn(&Pools, Host) -> &Pool<Redis, BestWorker> = Pools::redis;
    let _: fn(&Pools) -> &Pool<Http, AvailableWorker> = Pools::http_http_auth;
    let _: fn(&Pools) -> &Pool<Elastic, BestWorker> = Pools::elastic;
    let _: fn(&Pools) -> &Pool<Pgsql, BestWorker> = Pools::rdbms_pg;
    let _: fn(&Pools) -> &Pool<Mysql, BestWorker> = Pools::rdbms_my;
    let _: fn(&Pools) -> &Pool<Odbc, BestWorker> = Pools::rdbms_odbc;
    let _: fn(&Pools, Host) -> &Pool<Rabbit, BestWorker> = Pools::rabbit_event_pusher;
    let _: fn(&Pools, Host) -> &Pool<Ldap, BestWorker> = Pools::ldap;
    let _: fn(&Pools) -> &Pool<Generic, BestWorker> = Pools::generic_push;
}

#[test]
fn seed_host_expansion() {
    use seed_redis::{Host, Pools};

    let plan = Pools::plan();
    let hosts: Vec<(Option<&str>, String)> = plan
        .pools()
        .iter()
        .map(|p| (p.host, value(p, key::HOST).0))
        .collect();
    assert_eq!(
        hosts,
        [
            (Some("a.com"), r#"Str("redis-a")"#.to_owned()),
            (Some("b.com"), r#"Str("redis-any")"#.to_owned()),
            (Some("c.eu"), r#"Str("redis-c")"#.to_owned()),
            (Some("d.eu"), r#"Str("redis-any")"#.to_owned()),
        ]
    );
    let _: fn(&Pools, Host) -> &Pool<Redis, BestWorker> = Pools::redis;
}

#[test]
fn seed_rdbms_pool_per_host() {
    use seed_rdbms::{Host, Pools};

    let plan = Pools::plan();
    let sizes: Vec<(&str, u32)> = plan
        .pools()
        .iter()
        .map(|p| (p.name, p.options().workers))
        .collect();
    assert_eq!(
        sizes,
        [("rdbms.global.default", 5), ("rdbms.myhost.com.default", 3)]
    );
    assert_eq!(value(&plan.pools()[0], key::PORT).0, "Int(3306)");
    let _: fn(&Pools, Host) -> &Pool<Mysql, BestWorker> = Pools::rdbms;
}

#[test]
fn the_plan_defaults_are_the_runtime_defaults() {
    let plan = bare::Pools::plan();
    let generic = &plan.pools()[0];
    assert_eq!(generic.name, "generic.global.default");
    assert_eq!(generic.options().workers, defaults::WORKERS);
    assert_eq!(generic.options().call_timeout, defaults::CALL_TIMEOUT);
    assert_eq!(generic.options().connect_timeout, defaults::CONNECT_TIMEOUT);
    assert_eq!(generic.options().shared_depth, defaults::SHARED_DEPTH);
    assert_eq!(generic.strategy, "best_worker");
    assert_eq!(
        (
            generic.options().max_worker_queue_len,
            generic.options().overrun_warning,
            generic.options().max_overrun_warnings
        ),
        (None, None, None)
    );
}

#[test]
fn hosts_parse_display_and_list() {
    use generic_only::Host;

    assert_eq!(Host::ALL, [Host::ACom, Host::BCom, Host::CEu]);
    assert_eq!(Host::from_str("c.eu"), Ok(Host::CEu));
    assert_eq!("a.com".parse::<Host>(), Ok(Host::ACom));
    assert_eq!(Host::BCom.as_str(), "b.com");
    assert_eq!(Host::CEu.to_string(), "c.eu");
    let unknown = Host::from_str("x.org").unwrap_err();
    assert_eq!(
        unknown,
        UnknownHost {
            host: "x.org".into(),
            known: &["a.com", "b.com", "c.eu"],
        }
    );
    assert_eq!(
        unknown.to_string(),
        r#"unknown host `x.org`; declared hosts are ["a.com", "b.com", "c.eu"]"#
    );
}

/// Waits until `count` reaches `n` (the jobs cast in the background are done).
async fn until(count: &AtomicUsize, n: usize) {
    tokio::time::timeout(Duration::from_secs(5), async {
        while count.load(Ordering::SeqCst) < n {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the cast jobs ran");
}

#[tokio::test]
async fn generic_pools_start_run_and_stop() {
    use generic_only::{GenericJobsPool, GenericMixedPool, Host, Pools};

    // The accessors' types: fallback to the global pool keeps one concrete type; a host
    // without any pool makes it an `Option`; mixed strategies make it an enum.
    let _: fn(&Pools, Host) -> &Pool<Generic, BestWorker> = Pools::generic;
    let _: fn(&Pools) -> &Pool<Generic, HashWorker> = Pools::generic_users;
    let _: for<'a> fn(&'a Pools, Host) -> Option<GenericJobsPool<'a>> = Pools::generic_jobs;
    let _: for<'a> fn(&'a Pools, Host) -> GenericMixedPool<'a> = Pools::generic_mixed;

    let pools = Pools::start().await.expect("generic pools start");

    // A host with its own pool gets it; the others fall back to the global one.
    assert_eq!(
        pools.generic(Host::ACom).name().as_str(),
        "generic.a.com.default"
    );
    assert_eq!(pools.generic(Host::ACom).status().workers, 3);
    assert_eq!(
        pools.generic(Host::BCom).name().as_str(),
        "generic.global.default"
    );
    assert_eq!(pools.generic(Host::CEu).status().workers, 2);

    let done = Arc::new(AtomicUsize::new(0));
    let job = |done: &Arc<AtomicUsize>| {
        let done = done.clone();
        async move {
            done.fetch_add(1, Ordering::SeqCst);
        }
    };

    // Concrete pools: `call`, `cast`, `get_by`, `call_by`, `cast_by`.
    let global = pools.generic(Host::BCom);
    assert_eq!(global.call(async |()| 1 + 1).await.unwrap(), 2);
    global.cast(job(&done)).unwrap();
    drop(global.get_by("alice").await.unwrap());
    assert_eq!(
        global.call_by(&7, async |()| "keyed").await.unwrap(),
        "keyed"
    );
    global.cast_by("alice", job(&done)).unwrap();

    let users = pools.generic_users();
    assert_eq!(users.call_by("alice", async |()| 3).await.unwrap(), 3);
    users.cast_by("alice", job(&done)).unwrap();
    assert_eq!(users.worker_for("alice"), users.worker_for("alice"));

    // An enum with a `hash_worker` variant: keyed calls only; `None` where no pool serves.
    let jobs_a = pools
        .generic_jobs(Host::ACom)
        .expect("a.com has a jobs pool");
    assert!(matches!(jobs_a, GenericJobsPool::GenericHashWorker(_)));
    assert_eq!(jobs_a.name().as_str(), "generic.a.com.jobs");
    assert_eq!(jobs_a.call_by(&1, async |()| 4).await.unwrap(), 4);
    drop(jobs_a.get_by(&1).await.unwrap());
    jobs_a.cast_by(&1, job(&done)).unwrap();
    let jobs_b = pools
        .generic_jobs(Host::BCom)
        .expect("b.com has a jobs pool");
    assert!(matches!(jobs_b, GenericJobsPool::GenericNextWorker(_)));
    assert!(pools.generic_jobs(Host::CEu).is_none());

    // An enum of keyless strategies: every call.
    for host in Host::ALL {
        let mixed = pools.generic_mixed(host);
        assert_eq!(mixed.call(async |()| 5).await.unwrap(), 5);
        drop(mixed.get().await.unwrap());
        mixed.cast(job(&done)).unwrap();
        assert_eq!(mixed.call_by(host.as_str(), async |()| 6).await.unwrap(), 6);
    }
    assert!(matches!(
        pools.generic_mixed(Host::CEu),
        GenericMixedPool::GenericAvailableWorker(_)
    ));
    assert_eq!(pools.generic_mixed(Host::CEu).status().workers, 1);

    until(&done, 7).await;

    let status = pools.status();
    assert_eq!(status.0.len(), Pools::plan().pools().len());
    assert_eq!(status.get("generic.global.users").unwrap().workers, 4);
    assert_eq!(status.get("generic.c.eu.mixed").unwrap().workers, 1);
    assert!(status.to_string().contains("generic.b.com.jobs"));

    // After shutdown, a handle kept aside is closed.
    let kept = pools.generic(Host::ACom).clone();
    pools.shutdown().await;
    assert!(kept.call(async |()| ()).await.is_err());
}

#[tokio::test]
async fn a_pool_without_its_connector_fails_to_start_without_panicking() {
    let Err(err) = rabbit_only::Pools::start().await else {
        panic!("rabbit has no connector in this build");
    };
    match &err {
        StartError::ConnectorMissing {
            pool, pool_type, ..
        } => {
            assert_eq!(pool.as_str(), "rabbit.global.default");
            assert_eq!(*pool_type, "rabbit");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("rabbit"), "{err}");
}

#[tokio::test]
async fn a_missing_environment_variable_names_pool_key_and_variable() {
    let Err(err) = missing_env::Pools::start().await else {
        panic!("OP_TEST_UNSET_VAR is not set");
    };
    match &err {
        StartError::MissingEnv { pool, key, var } => {
            assert_eq!(
                (pool.as_str(), key.as_str(), var.as_str()),
                ("redis.global.cache", "host", "OP_TEST_UNSET_VAR")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn builder_overrides_come_first_and_are_checked() {
    use missing_env::Pools;

    // The builder's `host` replaces the missing variable; its bad `port` is then reported, with
    // where it came from.
    let Err(err) = Pools::builder()
        .set("redis.global.cache", "host", "10.0.0.9")
        .set("redis.global.cache", "port", "not-a-port")
        .start()
        .await
    else {
        panic!("the port is not a number");
    };
    match &err {
        StartError::InvalidValue {
            pool,
            key,
            source_name,
            ..
        } => {
            assert_eq!(
                (pool.as_str(), key.as_str(), source_name.as_str()),
                ("redis.global.cache", "port", "the builder")
            );
        }
        other => panic!("unexpected {other:?}"),
    }

    // Overrides must name a declared pool and key.
    for (pool, key) in [
        ("redis.global.cahce", "host"),
        ("redis.global.cache", "hots"),
    ] {
        let Err(err) = Pools::builder().set(pool, key, "x").start().await else {
            panic!("{pool} {key} is not declared");
        };
        assert!(
            matches!(&err, StartError::UnknownOverride { .. }),
            "unexpected {err:?}"
        );
    }
}

/// MongooseIM 6's host types, from a TOML file (`tests/host_types.toml`).
mod host_types {
    use outgoing_pools::outgoing_pools;

    #[outgoing_pools(file = "tests/host_types.toml")]
    pub struct Pools;
}

#[test]
fn host_types_get_pools_like_hosts() {
    use host_types::{Host, Pools};
    let names: Vec<&str> = Host::ALL.iter().map(|h| h.as_str()).collect();
    assert_eq!(names, ["localhost", "test type", "dummy_type"]);
    let plan = Pools::plan();
    let text = plan.to_string();
    for pool in [
        "redis.localhost.default",
        "redis.test type.default",
        "redis.dummy_type.default",
    ] {
        assert!(text.contains(pool), "{pool} in\n{text}");
    }
    let specs = plan.pools();
    let own = spec(specs, "redis.test type.default");
    assert_eq!(
        (own.options().workers, value(own, key::HOST).0),
        (3, r#"Str("10.0.0.1")"#.into())
    );
    let expanded = spec(specs, "redis.dummy_type.default");
    assert_eq!(value(expanded, key::HOST).0, r#"Str("10.0.0.2")"#);
    assert_eq!("test type".parse::<Host>().unwrap().as_str(), "test type");
}
