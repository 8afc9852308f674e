//! Resolution at start: every source goes through the table's checks.

use super::*;
use crate::declared::SettingSpec;

const fn setting(key: &'static str, source: Source) -> SettingSpec {
    SettingSpec {
        key,
        source,
        written: true,
    }
}

/// A default the macro hands over beside the written values.
const fn default(key: &'static str, source: Source) -> SettingSpec {
    SettingSpec {
        key,
        source,
        written: false,
    }
}

/// A declared pgsql pool, as the macro would generate it.
const PG: PoolSpec = PoolSpec {
    name: "rdbms.global.default",
    pool_type: PoolType::Rdbms,
    driver: Some(Driver::Pgsql),
    host: None,
    tag: "default",
    connector: "Pgsql",
    strategy: "best_worker",
    options: &[
        setting(keys::WORKERS, Source::Int(5)),
        setting(keys::CALL_TIMEOUT, Source::Int(60000)),
        setting(keys::OVERRUN_WARNING, Source::Str("infinity")),
    ],
    connection: &[
        setting(keys::HOST, Source::Str("localhost")),
        setting(keys::DATABASE, Source::Str("app")),
        setting(keys::USERNAME, Source::Str("app")),
        setting(
            keys::PASSWORD,
            Source::Env {
                var: "DB_PASSWORD",
                default: None,
            },
        ),
        setting(
            keys::TLS_CACERTFILE,
            Source::Env {
                var: "CA",
                default: Some("certs/ca.pem"),
            },
        ),
    ],
};

/// A cassandra pool whose servers come from the environment.
const CASSANDRA: PoolSpec = PoolSpec {
    name: "cassandra.global.default",
    pool_type: PoolType::Cassandra,
    driver: None,
    connector: "Cassandra",
    options: &[],
    connection: &[setting(
        keys::SERVERS,
        Source::Env {
            var: "CASSANDRA_SERVERS",
            default: None,
        },
    )],
    ..PG
};

fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |k| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    }
}

fn resolve(
    spec: &PoolSpec,
    overrides: &Overrides,
    vars: &'static [(&'static str, &'static str)],
) -> Result<Settings, StartError> {
    Settings::resolve_with(spec, overrides, env(vars))
}

const PASSWORD: (&str, &str) = ("DB_PASSWORD", "pw");

#[test]
fn override_variable_names() {
    assert_eq!(
        PG.override_var(keys::PASSWORD),
        "OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__PASSWORD"
    );
    let host = PoolSpec {
        host: Some("a.com"),
        ..PG
    };
    assert_eq!(
        host.override_var(keys::TLS_CACERTFILE),
        "OUTGOING_POOLS__RDBMS__A_COM__DEFAULT__TLS_CACERTFILE"
    );
}

#[test]
fn env_values_are_read_at_start_and_the_table_fills_in_defaults() {
    let s = resolve(&PG, &Overrides::default(), &[PASSWORD]).unwrap();
    let pg = PgsqlSettings::from_settings(&s).unwrap();
    assert_eq!(pg.password.expose(), "pw");
    assert_eq!(pg.port, 5432);
    assert_eq!(pg.query_timeout, Duration::from_secs(5));
    let tls = pg.tls.unwrap();
    assert_eq!(tls.cacertfile.as_deref(), Some("certs/ca.pem"));
    assert_eq!(tls.verify_mode, VerifyMode::Peer);
    let options = PoolOptions::from_settings(&s).unwrap();
    assert_eq!((options.workers, options.overrun_warning), (5, None));
    assert_eq!(options.connect_timeout, defaults::CONNECT_TIMEOUT);
    let debug = format!("{s:?}");
    assert!(debug.contains(r#""password": ***"#), "{debug}");
    assert!(!debug.contains("pw\""), "{debug}");
}

#[test]
fn a_missing_variable_names_the_pool_the_key_and_the_variable() {
    let err = resolve(&PG, &Overrides::default(), &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "pool `rdbms.global.default`: `password` reads the environment variable `DB_PASSWORD`, which is not set"
    );
}

#[test]
fn a_server_without_a_port_gets_the_tables_default() {
    let s = resolve(
        &CASSANDRA,
        &Overrides::default(),
        &[("CASSANDRA_SERVERS", " db1 , db2:9999 ")],
    )
    .unwrap();
    let c = CassandraSettings::from_settings(&s).unwrap();
    let servers: Vec<(&str, u16)> = c.servers.iter().map(|s| (&*s.host, s.port)).collect();
    assert_eq!(servers, [("db1", 9042), ("db2", 9999)]);
    assert_eq!(c.keyspace, "mongooseim");
}

#[test]
fn overrides_win_over_variables_and_declarations() {
    let vars = &[
        PASSWORD,
        ("OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__PORT", " 6432 "),
        ("OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__HOST", "db1"),
    ];
    let mut o = Overrides::default();
    o.set("rdbms.global.default", keys::HOST, "  db2 ");
    let pg = PgsqlSettings::from_settings(&resolve(&PG, &o, vars).unwrap()).unwrap();
    assert_eq!((pg.host.as_str(), pg.port), ("db2", 6432));
}

#[test]
fn keys_neither_declared_nor_defaulted_can_be_set_at_start() {
    let vars = &[
        PASSWORD,
        (
            "OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__KEEPALIVE_INTERVAL",
            "7",
        ),
        ("OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__WORKERS", "3"),
        (
            "OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__TLS_REQUIRED",
            "true",
        ),
        ("OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__SHARED_DEPTH", "4"),
    ];
    let s = resolve(&PG, &Overrides::default(), vars).unwrap();
    let pg = PgsqlSettings::from_settings(&s).unwrap();
    assert_eq!(pg.keepalive_interval, Some(Duration::from_secs(7)));
    assert_eq!(pg.tls.unwrap().required, Some(true));
    let options = PoolOptions::from_settings(&s).unwrap();
    assert_eq!((options.workers, options.shared_depth), (3, 4));
}

#[test]
fn values_read_at_start_are_checked_as_the_declaration_is() {
    let bad = |var: &'static str, value: &'static str| {
        let vars: &'static [(&str, &str)] = Box::leak(Box::new([PASSWORD, (var, value)]));
        resolve(&PG, &Overrides::default(), vars)
            .err()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        bad("OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__PORT", "70000"),
        "pool `rdbms.global.default`: `port` from the variable \
         `OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__PORT`: must be between 1 and 65535, got 70000"
    );
    assert_eq!(
        bad(
            "OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__QUERY_TIMEOUT",
            "-1"
        ),
        "pool `rdbms.global.default`: `query_timeout` from the variable \
         `OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__QUERY_TIMEOUT`: must be at least 0, got -1"
    );
    assert_eq!(
        bad("OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__DATABASE", " "),
        "pool `rdbms.global.default`: `database` from the variable \
         `OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__DATABASE`: must not be empty"
    );
    assert_eq!(
        bad(
            "OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__TLS_VERIFY_MODE",
            "peeer"
        ),
        "pool `rdbms.global.default`: `tls.verify_mode` from the variable \
         `OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__TLS_VERIFY_MODE`: expected one of `peer`, \
         `selfsigned_peer` or `none`, found `peeer`"
    );
    assert!(
        bad("OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__WORKERS", "many")
            .contains("`workers` from the variable"),
    );
    // A secret is never printed, even when it is not what the key takes.
    let mut o = Overrides::default();
    o.set("rdbms.global.default", keys::PASSWORD, "s3cret");
    let s = resolve(&PG, &o, &[]).unwrap();
    assert!(!format!("{s:?}").contains("s3cret"));
}

#[test]
fn a_bad_url_from_the_environment_names_the_variable() {
    const HTTP: PoolSpec = PoolSpec {
        name: "http.global.default",
        pool_type: PoolType::Http,
        driver: None,
        connection: &[setting(
            keys::HOST,
            Source::Env {
                var: "AUTH_URL",
                default: None,
            },
        )],
        ..PG
    };
    let http = HTTP;
    let err = resolve(&http, &Overrides::default(), &[("AUTH_URL", "ftp://x")])
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("pool `http.global.default`: `host` from the variable `AUTH_URL`: "),
        "{err}"
    );
}

#[test]
fn unknown_or_fixed_overrides_are_refused_with_a_suggestion() {
    let check = |o: &Overrides, vars: &[&str]| {
        o.check_with(&[PG], vars.iter().map(|v| (*v).to_owned()))
            .err()
            .map(|e| e.to_string())
    };
    let none = Overrides::default();
    assert_eq!(
        check(
            &none,
            &["OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__PROT", "PATH"]
        )
        .unwrap(),
        "override of the variable `OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__PROT`: pool \
         `rdbms.global.default` has no such key; did you mean \
         `OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__PORT`?"
    );
    assert_eq!(
        check(&none, &["OUTGOING_POOLS__RDBMS__GLOBAL__DEFALT__HOST"]).unwrap(),
        "override of the variable `OUTGOING_POOLS__RDBMS__GLOBAL__DEFALT__HOST`: it names no \
         declared pool; did you mean `OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__HOST`?"
    );
    // Another declaration of the process may own a variable that is none of ours.
    assert_eq!(
        check(
            &none,
            &[
                "OUTGOING_POOLS__REDIS__GLOBAL__DEFAULT__HOST",
                "OUTGOING_POOLS__RDBMS__EU__BILLING__HOST"
            ]
        ),
        None
    );
    assert_eq!(
        check(&none, &["OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__DRIVER"]).unwrap(),
        "override of the variable `OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__DRIVER`: `driver` \
         cannot be set at start: it selects the connector type at compile time"
    );
    assert!(
        check(&none, &["OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__STRATEGY"])
            .unwrap()
            .contains("`strategy` cannot be set at start")
    );
    assert_eq!(
        check(&none, &["OUTGOING_POOLS__RDBMS__GLOBAL__DEFAULT__PORT"]),
        None
    );
    let mut o = Overrides::default();
    o.set("rdbms.global.defualt", keys::HOST, "x");
    assert_eq!(
        check(&o, &[]).unwrap(),
        "override of `rdbms.global.defualt` `host`: no such pool; did you mean \
         `rdbms.global.default`?"
    );
    let mut o = Overrides::default();
    o.set("rdbms.global.default", "hots", "x");
    assert_eq!(
        check(&o, &[]).unwrap(),
        "override of `rdbms.global.default` `hots`: no such key for a `rdbms` pool; did you \
         mean `host`?"
    );
    let mut o = Overrides::default();
    o.set("rdbms.global.default", keys::SETTINGS, "DSN=x");
    assert_eq!(
        check(&o, &[]).unwrap(),
        "override of `rdbms.global.default` `settings`: `settings` is not supported by driver \
         `pgsql`"
    );
}

#[test]
fn hand_built_settings_take_the_same_checks() {
    let base = || {
        Settings::builder("db", PoolType::Rdbms, Some(Driver::Mysql))
            .set(keys::HOST, "h")
            .set(keys::DATABASE, "d")
            .set(keys::USERNAME, "u")
            .set(keys::PASSWORD, "p")
    };
    let m = MysqlSettings::from_settings(&base().build().unwrap()).unwrap();
    assert_eq!((m.port, m.tls), (3306, None));
    let err = |b: SettingsBuilder| b.build().err().unwrap().to_string();
    assert_eq!(
        err(base().set(keys::TLS_VERSIONS, "tlsv1.3")),
        "override of `db` `tls.versions`: `tls.versions` is not supported by driver `mysql`"
    );
    assert_eq!(
        err(Settings::builder("db", PoolType::Rdbms, Some(Driver::Mysql)).set(keys::HOST, "h")),
        "pool `db`: `database` is required and has no value"
    );
    // ODBC takes its SSL options from the data source: no TLS key, declared or at start.
    assert_eq!(
        err(Settings::builder("db", PoolType::Rdbms, Some(Driver::Odbc))
            .set(keys::SETTINGS, "DSN=x")
            .set(keys::TLS_CACERTFILE, "ca.pem")),
        "override of `db` `tls.cacertfile`: `tls.cacertfile` is not supported by driver `odbc`"
    );
    assert_eq!(
        err(base().set(keys::TLS_KEYFILE, "k.pem")),
        "pool `db`: `tls.keyfile` (from the builder) needs `tls.certfile`"
    );
    assert_eq!(
        err(base().set(keys::DRIVER, "pgsql")),
        "override of `db` `driver`: `driver` cannot be set at start: it selects the connector \
         type at compile time"
    );
}

#[test]
fn plan_lines_show_every_option_and_redact_secrets() {
    let line = PG.to_string();
    assert!(line.contains("workers=5 call_timeout=60000"), "{line}");
    assert!(line.contains("password=env(DB_PASSWORD)"), "{line}");
    const LIT: PoolSpec = PoolSpec {
        connection: &[setting(keys::PASSWORD, Source::Str("hunter2"))],
        ..PG
    };
    let lit = LIT;
    assert!(!lit.to_string().contains("hunter2"));
}

#[test]
fn pool_and_connection_keys_share_one_namespace_without_clashes() {
    // Overrides name keys flat (`…__WORKERS`, `…__HOST`): no pool option may be spelled like a
    // connection key, and no two keys of one type may map to the same variable.
    for &pool_type in PoolType::ALL {
        for driver in Driver::ALL.iter().copied().map(Some).chain([None]) {
            let vars: Vec<String> = rows(pool_type, driver)
                .map(|d| PG.override_var(&d.key()))
                .collect();
            let mut unique = vars.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), vars.len(), "{pool_type} {driver:?}: {vars:?}");
        }
    }
}

/// Rabbit's `connection.max_worker_queue_len` (MongooseIM's rabbit worker limit) and the pool's
/// `max_worker_queue_len` are two keys of the one namespace, set apart.
#[test]
fn a_connection_key_spelt_like_a_pool_option_is_prefixed() {
    let s = Settings::builder("mq", PoolType::Rabbit, None)
        .set(keys::CONNECTION_MAX_WORKER_QUEUE_LEN, "5")
        .set(keys::MAX_WORKER_QUEUE_LEN, "7")
        .build()
        .unwrap();
    assert_eq!(
        RabbitSettings::from_settings(&s)
            .unwrap()
            .max_worker_queue_len,
        Some(5)
    );
    assert_eq!(
        PoolOptions::from_settings(&s).unwrap().max_worker_queue_len,
        Some(7)
    );
    let default = Settings::builder("mq", PoolType::Rabbit, None)
        .build()
        .unwrap();
    assert_eq!(
        RabbitSettings::from_settings(&default)
            .unwrap()
            .max_worker_queue_len,
        Some(1000)
    );
}

/// `redis()` as the macro generates it: every default handed over.
const REDIS: PoolSpec = PoolSpec {
    name: "redis.global.default",
    pool_type: PoolType::Redis,
    driver: None,
    connector: "Redis",
    options: &[],
    connection: &[
        default(keys::HOST, Source::Str("127.0.0.1")),
        default(keys::PORT, Source::Int(6379)),
        default(keys::DATABASE, Source::Int(0)),
        default(keys::CLUSTER, Source::Bool(false)),
    ],
    ..PG
};

/// `redis(connection(host = "10.0.0.1", database = 2, tls()))`, its TLS defaults handed over
/// too.
const REDIS_WRITTEN: PoolSpec = PoolSpec {
    connection: &[
        setting(keys::HOST, Source::Str("10.0.0.1")),
        default(keys::PORT, Source::Int(6379)),
        setting(keys::DATABASE, Source::Int(2)),
        default(keys::CLUSTER, Source::Bool(false)),
        default(keys::TLS_VERIFY_MODE, Source::Str("peer")),
        default(keys::TLS_DISCONNECT_ON_FAILURE, Source::Bool(true)),
        default(keys::TLS_SERVER_NAME_INDICATION_ENABLED, Source::Bool(true)),
        default(
            keys::TLS_SERVER_NAME_INDICATION_PROTOCOL,
            Source::Str("default"),
        ),
    ],
    ..REDIS
};

/// `redis(connection(port = 6379))`: a value written equal to its default is still written.
const REDIS_PORT_WRITTEN: PoolSpec = PoolSpec {
    connection: &[
        default(keys::HOST, Source::Str("127.0.0.1")),
        setting(keys::PORT, Source::Int(6379)),
        default(keys::DATABASE, Source::Int(0)),
        default(keys::CLUSTER, Source::Bool(false)),
    ],
    ..REDIS
};

fn redis_var(key: &str) -> &'static str {
    Box::leak(REDIS.override_var(key).into_boxed_str())
}

fn redis_builder() -> SettingsBuilder {
    Settings::builder("r", PoolType::Redis, None)
}

#[test]
fn redis_topology_keys_land_in_their_fields() {
    let server = |host: &str, port| Server {
        host: host.into(),
        port,
    };
    let plain = RedisSettings::from_settings(&resolve(&REDIS, &Overrides::default(), &[]).unwrap())
        .unwrap();
    assert_eq!(
        (
            plain.servers,
            plain.cluster,
            plain.sentinels,
            plain.master_name
        ),
        (None, false, None, None)
    );
    assert_eq!(
        (plain.host.as_str(), plain.port, plain.database),
        ("127.0.0.1", 6379, 0)
    );

    // A cluster from variables: the declared defaults of `host` and `port` are no seed list.
    let vars: &'static [(&str, &str)] = Box::leak(Box::new([
        (redis_var(keys::CLUSTER), "true"),
        (redis_var(keys::SERVERS), "a, b:7001"),
    ]));
    let cluster =
        RedisSettings::from_settings(&resolve(&REDIS, &Overrides::default(), vars).unwrap())
            .unwrap();
    assert!(cluster.cluster);
    assert_eq!(
        cluster.servers,
        Some(vec![server("a", 6379), server("b", 7001)])
    );

    let sentinels = redis_builder()
        .set(keys::SENTINELS, "s1, s2:5000")
        .set(keys::MASTER_NAME, "mymaster")
        .build()
        .unwrap();
    let sentinels = RedisSettings::from_settings(&sentinels).unwrap();
    assert_eq!(
        sentinels.sentinels,
        Some(vec![server("s1", 26379), server("s2", 5000)])
    );
    assert_eq!(sentinels.master_name.as_deref(), Some("mymaster"));
    assert!(!sentinels.cluster);

    // The TLS keys a cluster client takes, with its one seed in `host`.
    let tls = redis_builder()
        .set(keys::CLUSTER, "true")
        .set(keys::HOST, "seed")
        .set(keys::TLS_CACERTFILE, "ca.pem")
        .set(keys::TLS_VERIFY_MODE, "none")
        .build()
        .unwrap();
    let tls = RedisSettings::from_settings(&tls).unwrap();
    assert_eq!((tls.host.as_str(), tls.cluster), ("seed", true));
    assert_eq!(tls.tls.unwrap().verify_mode, VerifyMode::None);
}

#[test]
fn redis_topology_rules_apply_at_start() {
    let err = |spec: &PoolSpec, o: &Overrides, vars: &'static [(&'static str, &'static str)]| {
        resolve(spec, o, vars).err().unwrap().to_string()
    };
    let built = |b: SettingsBuilder| b.build().err().unwrap().to_string();
    let none = Overrides::default();
    let servers = redis_var(keys::SERVERS);
    let cluster = redis_var(keys::CLUSTER);

    // `servers` without `cluster = true`.
    let vars: &'static [(&str, &str)] = Box::leak(Box::new([(servers, "a")]));
    assert_eq!(
        err(&REDIS, &none, vars),
        format!(
            "pool `redis.global.default`: `servers` from the variable `{servers}`: lists the seed \
             nodes of a Redis Cluster and needs `cluster = true`; a single server goes in `host` \
             and `port`"
        )
    );

    // `sentinels` in a cluster.
    assert_eq!(
        built(
            redis_builder()
                .set(keys::CLUSTER, "true")
                .set(keys::SENTINELS, "s")
                .set(keys::MASTER_NAME, "m")
        ),
        "pool `r`: `sentinels` from the builder: cannot be combined with `cluster = true`; a \
         pool follows a Redis Cluster or a master named by Sentinels, not both"
    );

    // A database other than 0 in a cluster, whichever of the two came at start.
    let mut o = Overrides::default();
    o.set(REDIS.name, keys::DATABASE, "3");
    let vars: &'static [(&str, &str)] = Box::leak(Box::new([(cluster, "true")]));
    assert_eq!(
        err(&REDIS, &o, vars),
        "pool `redis.global.default`: `database` from the builder: must be 0 with \
         `cluster = true`, got 3; a Redis Cluster serves database 0 only"
    );
    assert_eq!(
        err(&REDIS_WRITTEN, &none, vars),
        "pool `redis.global.default`: `database` from the declaration: must be 0 with \
         `cluster = true`, got 2; a Redis Cluster serves database 0 only"
    );

    // `host` or `port` beside `sentinels`, or beside a cluster's `servers`.
    let vars: &'static [(&str, &str)] = Box::leak(Box::new([
        (redis_var(keys::SENTINELS), "s"),
        (redis_var(keys::MASTER_NAME), "m"),
    ]));
    assert_eq!(
        err(&REDIS_WRITTEN, &none, vars),
        "pool `redis.global.default`: `host` from the declaration: cannot be combined with \
         `sentinels`; the master's address comes from the Sentinels"
    );
    assert_eq!(
        err(&REDIS_PORT_WRITTEN, &none, vars),
        "pool `redis.global.default`: `port` from the declaration: cannot be combined with \
         `sentinels`; the master's address comes from the Sentinels"
    );
    assert!(resolve(&REDIS, &none, vars).is_ok());
    assert_eq!(
        built(
            redis_builder()
                .set(keys::CLUSTER, "true")
                .set(keys::SERVERS, "a")
                .set(keys::PORT, "7000")
        ),
        "pool `r`: `port` from the builder: cannot be combined with `servers`; a Redis \
         Cluster's seed nodes go in `servers`, or a single seed in `host` and `port`"
    );

    // TLS keys the cluster client cannot honour; the declared TLS defaults are not among them.
    let mut o = Overrides::default();
    o.set(REDIS.name, keys::CLUSTER, "true");
    o.set(REDIS.name, keys::DATABASE, "0");
    o.set(REDIS.name, keys::TLS_CIPHERS, "HIGH");
    assert_eq!(
        err(&REDIS_WRITTEN, &o, &[]),
        "pool `redis.global.default`: `tls.ciphers` from the builder: is not supported with \
         `cluster = true`; the Redis Cluster client takes only `tls.cacertfile`, \
         `tls.certfile`, `tls.keyfile`, `tls.password` and `tls.verify_mode` (`peer` or `none`)"
    );
    let verify = redis_var(keys::TLS_VERIFY_MODE);
    let vars: &'static [(&str, &str)] =
        Box::leak(Box::new([(cluster, "true"), (verify, "selfsigned_peer")]));
    assert_eq!(
        err(&REDIS, &none, vars),
        format!(
            "pool `redis.global.default`: `tls.verify_mode` from the variable `{verify}`: cannot \
             be `selfsigned_peer` with `cluster = true`; the Redis Cluster client takes `peer` \
             or `none`"
        )
    );
    let mut o = Overrides::default();
    o.set(REDIS.name, keys::DATABASE, "0");
    let vars: &'static [(&str, &str)] = Box::leak(Box::new([(cluster, "true")]));
    assert!(resolve(&REDIS_WRITTEN, &o, vars).is_ok());

    // Paired: `sentinels` needs `master_name`.
    assert_eq!(
        built(redis_builder().set(keys::SENTINELS, "s")),
        "pool `r`: `sentinels` (from the builder) needs `master_name`"
    );
}
