use super::*;

fn s(text: &str) -> Value {
    Value::Str(text.into())
}
fn i(n: i64) -> Value {
    Value::Int(n)
}
fn id(text: &str) -> Value {
    Value::Ident(text.into())
}

/// (key, value) pairs of a planned pool's connection, for whole-list comparisons.
fn connection(pool: &PlannedPool) -> Vec<(&'static str, Value)> {
    pool.connection
        .iter()
        .map(|s| (s.key, s.value.clone()))
        .collect()
}

#[test]
fn pool_key_defaults() {
    let redis = only_pool("redis()");
    assert_eq!(redis.workers, 10);
    assert_eq!(redis.strategy, Strategy::BestWorker);
    assert_eq!(redis.call_timeout_ms, 5000);
    assert_eq!(redis.queue_type, QueueType::Fifo);
    assert_eq!(redis.max_worker_queue_len, None);
    assert_eq!(redis.overrun_warning_ms, None);
    assert_eq!(redis.max_overrun_warnings, None);
    assert_eq!(redis.tag, "default");
    assert_eq!(redis.host, None);
    assert_eq!(redis.origin, PoolOrigin::Global);

    assert_eq!(only_pool("cassandra()").workers, 20);
    let rdbms = only_pool(r#"rdbms(connection(driver = odbc, settings = "DSN=x"))"#);
    assert_eq!(rdbms.call_timeout_ms, 60000);
    assert_eq!(rdbms.workers, 10);
}

#[test]
fn explicit_pool_keys() {
    let pool = only_pool(
        "generic(workers = 3, strategy = available_worker, call_timeout = 100, queue_type = lifo, \
         overrun_warning = 50, max_overrun_warnings = 4)",
    );
    assert_eq!(pool.workers, 3);
    assert_eq!(pool.strategy, Strategy::AvailableWorker);
    assert_eq!(pool.call_timeout_ms, 100);
    assert_eq!(pool.queue_type, QueueType::Lifo);
    assert_eq!(pool.overrun_warning_ms, Some(50));
    assert_eq!(pool.max_overrun_warnings, Some(4));
    assert_eq!(pool.connector, ConnectorKind::Generic);
    assert!(pool.connection.is_empty());
}

#[test]
fn redis_defaults() {
    let pool = only_pool("redis()");
    assert_eq!(pool.connector, ConnectorKind::Redis);
    assert_eq!(
        connection(&pool),
        [
            ("host", s("127.0.0.1")),
            ("port", i(6379)),
            ("database", i(0)),
            ("cluster", Value::Bool(false))
        ]
    );
    assert_eq!(pool.tls, None);
}

#[test]
fn http_defaults() {
    let pool = only_pool(r#"http(connection(host = "http://h"))"#);
    assert_eq!(
        connection(&pool),
        [
            ("host", s("http://h")),
            ("path_prefix", s("/")),
            ("request_timeout", i(2000))
        ]
    );
}

#[test]
fn elastic_defaults() {
    let pool = only_pool("elastic()");
    assert_eq!(
        connection(&pool),
        [("host", s("localhost")), ("port", i(9200))]
    );
}

#[test]
fn rabbit_defaults() {
    let pool = only_pool("rabbit()");
    assert_eq!(
        connection(&pool),
        [
            ("host", s("localhost")),
            ("port", i(5672)),
            ("username", s("guest")),
            ("password", s("guest")),
            ("virtual_host", s("/")),
            ("max_worker_queue_len", i(1000)),
            ("confirms_enabled", Value::Bool(false)),
            ("reconnect.attempts", i(0)),
            ("reconnect.delay", i(2000)),
        ]
    );
}

#[test]
fn ldap_defaults() {
    let pool = only_pool("ldap()");
    assert_eq!(
        connection(&pool),
        [
            ("servers", Value::List(vec!["localhost".into()])),
            ("port", i(389)),
            ("root_dn", s("")),
            ("password", s("")),
            ("connect_interval", i(10000)),
        ]
    );
    assert_eq!(
        only_pool("ldap(connection(tls()))").get("port"),
        Some(&i(636))
    );
}

#[test]
fn cassandra_defaults() {
    let pool = only_pool("cassandra()");
    assert_eq!(
        connection(&pool),
        [
            (
                "servers",
                Value::Servers(vec![Server {
                    host: "localhost".into(),
                    port: 9042
                }])
            ),
            ("keyspace", s("mongooseim")),
        ]
    );
}

#[test]
fn riak_defaults() {
    let pool = only_pool("riak()");
    assert_eq!(
        connection(&pool),
        [("host", s("localhost")), ("port", i(8087))]
    );
}

#[test]
fn rdbms_defaults() {
    let sql = r#"host = "h", database = "d", username = "u", password = "p""#;
    let pg = only_pool(&format!("rdbms(connection(driver = pgsql, {sql}))"));
    assert_eq!(pg.connector, ConnectorKind::Pgsql);
    assert_eq!(
        connection(&pg),
        [
            ("driver", id("pgsql")),
            ("host", s("h")),
            ("port", i(5432)),
            ("database", s("d")),
            ("username", s("u")),
            ("password", s("p")),
            ("query_timeout", i(5000)),
            ("max_start_interval", i(30)),
            ("statement_cache", i(100)),
        ]
    );
    let my = only_pool(&format!(
        "rdbms(connection(driver = mysql, {sql}, keepalive_interval = 10))"
    ));
    assert_eq!(my.get("port"), Some(&i(3306)));
    assert_eq!(my.get("keepalive_interval"), Some(&i(10)));
    assert_eq!(my.get("statement_cache"), None, "a pgsql key");
    let odbc = only_pool(r#"rdbms(connection(driver = odbc, settings = "DSN=x"))"#);
    assert_eq!(
        connection(&odbc),
        [
            ("driver", id("odbc")),
            ("settings", s("DSN=x")),
            ("query_timeout", i(5000)),
            ("max_start_interval", i(30)),
        ]
    );
}

#[test]
fn tls_defaults() {
    let pool = only_pool("redis(connection(tls()))");
    let tls = pool.tls.unwrap();
    assert!(!tls.required);
    let settings: Vec<(&str, Value)> = tls
        .settings
        .iter()
        .map(|s| (s.key, s.value.clone()))
        .collect();
    assert_eq!(
        settings,
        [
            ("verify_mode", id("peer")),
            ("disconnect_on_failure", Value::Bool(true)),
            ("server_name_indication.enabled", Value::Bool(true)),
            ("server_name_indication.protocol", id("default")),
        ]
    );
    let pg = only_pool(
        r#"rdbms(connection(driver = pgsql, host = "h", database = "d", username = "u", password = "p", tls()))"#,
    );
    assert_eq!(pg.tls.unwrap().get("required"), Some(&Value::Bool(false)));
}

/// Every default in the table shows up in the plan of a pool that does not set it.
#[test]
fn every_table_default_reaches_the_plan() {
    for desc in OPTIONS {
        if desc.level == Level::Pool {
            continue;
        }
        for &pool_type in desc.types {
            let drivers: Vec<Option<Driver>> = if pool_type == PoolType::Rdbms {
                Driver::ALL.iter().copied().map(Some).collect()
            } else {
                vec![None]
            };
            for driver in drivers {
                if !desc.honoured_by(pool_type, driver) {
                    continue;
                }
                let Some(expected) = desc.default_for(pool_type, driver, desc.level == Level::Tls)
                else {
                    continue;
                };
                let connection = match (pool_type, driver) {
                    (PoolType::Http, _) => r#"host = "http://h""#.to_owned(),
                    (_, Some(Driver::Odbc)) => r#"driver = odbc, settings = "s""#.to_owned(),
                    (_, Some(d)) => format!(
                        r#"driver = {d}, host = "h", database = "d", username = "u", password = "p""#
                    ),
                    _ => String::new(),
                };
                let mut keys = vec![connection];
                if desc.level == Level::Tls {
                    keys.push("tls()".to_owned());
                }
                keys.retain(|k| !k.is_empty());
                let pool = only_pool(&format!("{pool_type}(connection({}))", keys.join(", ")));
                let got = match desc.level {
                    Level::Tls => pool.tls.as_ref().unwrap().get(desc.name),
                    _ => pool.get(desc.name),
                };
                assert_eq!(
                    got,
                    Some(&expected),
                    "{pool_type} {:?} {}",
                    driver,
                    desc.name
                );
            }
        }
    }
}

#[test]
fn reference_lists_every_option() {
    let reference = reference_markdown();
    for desc in OPTIONS {
        assert!(
            reference.contains(&format!("`{}`", desc.name)),
            "{}",
            desc.name
        );
    }
    assert!(reference.contains("| pool | `workers` | all |"));
}

#[test]
fn env_text_parsing_matches_the_table() {
    let port = lookup(Level::Connection, PoolType::Redis, "port").unwrap();
    assert_eq!(port.parse_text("6380"), Ok(Value::Int(6380)));
    assert_eq!(
        port.parse_text("0"),
        Err("must be between 1 and 65535, got 0".into())
    );
    let servers = lookup(Level::Connection, PoolType::Cassandra, "servers").unwrap();
    assert_eq!(
        servers.parse_text("a, b:9000"),
        Ok(Value::Servers(vec![
            Server {
                host: "a".into(),
                port: 9042
            },
            Server {
                host: "b".into(),
                port: 9000
            }
        ]))
    );
    let verify = lookup(Level::Tls, PoolType::Redis, "verify_mode").unwrap();
    assert_eq!(
        verify.parse_text("nope"),
        Err("expected one of `peer`, `selfsigned_peer` or `none`, found `nope`".into())
    );
}

/// A server list's items take its option's default port: 6379 for redis `servers`, 26379 for
/// `sentinels`, 9042 for cassandra's, from the declaration as from text read at start.
#[test]
fn server_lists_take_their_own_default_port() {
    let server = |host: &str, port| Server {
        host: host.into(),
        port,
    };
    let redis = |name| lookup(Level::Connection, PoolType::Redis, name).unwrap();
    assert_eq!(
        redis("servers").parse_text("a, b:7000"),
        Ok(Value::Servers(vec![server("a", 6379), server("b", 7000)]))
    );
    assert_eq!(
        redis("sentinels").parse_text("s"),
        Ok(Value::Servers(vec![server("s", 26379)]))
    );
    // IPv6: bracketed with a port, or bare without one.
    assert_eq!(
        redis("servers").parse_text("[::1]:7000, ::1, [fe80::2]"),
        Ok(Value::Servers(vec![
            server("::1", 7000),
            server("::1", 6379),
            server("fe80::2", 6379)
        ]))
    );
    for bad in ["a:0", "a:x", ":7000", "[::1", "[::1]7000"] {
        assert!(redis("servers").parse_text(bad).is_err(), "{bad}");
    }
    assert_eq!(
        redis("servers").parse_text("a, a:6379"),
        Err("lists `a:6379` twice".into())
    );

    // The declaration reads `"host"` and `"host:port"` items alike, with the option's port.
    let pool = only_pool(
        r#"redis(connection(cluster = true, servers = ["a", "b:7000", { host = "c" }]))"#,
    );
    assert_eq!(
        pool.get("servers"),
        Some(&Value::Servers(vec![
            server("a", 6379),
            server("b", 7000),
            server("c", 6379)
        ]))
    );
    let pool = only_pool(r#"redis(connection(sentinels = ["s", "t:5000"], master_name = "m"))"#);
    assert_eq!(
        pool.get("sentinels"),
        Some(&Value::Servers(vec![server("s", 26379), server("t", 5000)]))
    );
    let pool = only_pool(r#"cassandra(connection(servers = ["c1", "c2:9100"]))"#);
    assert_eq!(
        pool.get("servers"),
        Some(&Value::Servers(vec![
            server("c1", 9042),
            server("c2", 9100)
        ]))
    );
    assert_eq!(
        only_pool("cassandra()").get("servers"),
        Some(&Value::Servers(vec![server("localhost", 9042)]))
    );
    assert_eq!(
        attr_error(r#"redis(connection(cluster = true, servers = ["a:0"]))"#).0,
        "expected a list of servers (`\"host\"`, `\"host:port\"` or `{ host = \"...\", port = ... }`; port 6379 unless given) for `servers`, found \"a:0\" in the list"
    );
}

/// The keys a Redis Cluster honours are keys of the table.
#[test]
fn redis_cluster_tls_keys_are_table_keys() {
    for name in REDIS_CLUSTER_TLS {
        assert!(
            lookup(Level::Tls, PoolType::Redis, name).is_some(),
            "{name}"
        );
    }
    let verify = lookup(Level::Tls, PoolType::Redis, "verify_mode").unwrap();
    for mode in REDIS_CLUSTER_VERIFY_MODES {
        assert!(verify.parse_text(mode).is_ok(), "{mode}");
    }
}
