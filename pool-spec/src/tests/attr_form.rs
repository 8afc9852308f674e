use super::*;

pub(super) const DESIGN_EXAMPLE: &str = r#"
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
"#;

#[test]
fn design_example_parses() {
    let decl = attr_ok(DESIGN_EXAMPLE);
    let hosts: Vec<&str> = decl.hosts.iter().map(|h| h.value.as_str()).collect();
    assert_eq!(hosts, ["a.com", "b.com", "c.eu", "d.eu"]);
    assert_eq!(decl.pools.len(), 5);
    let types: Vec<PoolType> = decl.pools.iter().map(|p| p.pool_type).collect();
    assert_eq!(
        types,
        [
            PoolType::Redis,
            PoolType::Redis,
            PoolType::Rdbms,
            PoolType::Http,
            PoolType::Generic
        ]
    );
    assert_eq!(decl.pools[0].scope.value, Scope::Literal("a.com".into()));
    assert_eq!(decl.pools[1].scope.value, Scope::Host);
    assert_eq!(decl.pools[2].scope.value, Scope::Global);
    assert_eq!(decl.pools[3].tag.value, "http_auth");
    assert_eq!(decl.pools[4].tag.value, "push");
    assert_eq!(decl.pools[1].strategy(), Strategy::RandomWorker);

    let rdbms = &decl.pools[2];
    assert_eq!(rdbms.driver(), Some(Driver::Pgsql));
    assert_eq!(
        rdbms
            .get(Level::Connection, "password")
            .unwrap()
            .value
            .value,
        Value::Env {
            name: "DB_PASSWORD".into(),
            default: None
        }
    );
    let tls = rdbms.tls.as_ref().unwrap();
    assert_eq!(tls.settings.len(), 2);
    assert_eq!(
        rdbms.get(Level::Tls, "required").unwrap().value.value,
        Value::Bool(true)
    );
}

#[test]
fn empty_declaration_is_valid() {
    let decl = attr_ok("");
    assert!(decl.pools.is_empty());
    assert!(plan(&decl).groups.is_empty());
}

#[test]
fn bare_type_is_a_pool_with_defaults() {
    let decl = attr_ok("generic, cassandra");
    assert_eq!(decl.pools.len(), 2);
}

#[test]
fn crate_path_and_file() {
    let decl = attr_ok("crate = ::my_pools::reexport, redis()");
    let krate = decl.krate.unwrap();
    assert_eq!(quote::quote!(#krate).to_string(), ":: my_pools :: reexport");

    let decl = attr_ok(r#"crate = "my_pools", generic()"#);
    assert!(decl.krate.is_some());

    let decl = attr_ok(r#"file = "pools.toml", crate = outgoing"#);
    assert_eq!(decl.file.as_ref().unwrap().value, "pools.toml");
    assert!(decl.pools.is_empty());
}

#[test]
fn values_of_every_kind() {
    let decl = attr_ok(
        r#"
        cassandra(overrun_warning = 1000, max_overrun_warnings = infinity, queue_type = lifo,
            connection(servers = ["c1", { host = "c2", port = 9043 }, (host = "c3")],
                       keyspace = "ks", auth(plain(username = "u", password = "p")),
                       tls(verify_mode = selfsigned_peer, versions = ["tlsv1.3"],
                           server_name_indication(enabled = false, host = "sni.example")))),
        rabbit(connection(confirms_enabled = true, reconnect(attempts = 3, delay = 100))),
        ldap(connection(servers = ["l1", "l2"], root_dn = "cn=admin", port = 1389)),
        "#,
    );
    let c = &decl.pools[0];
    assert_eq!(
        c.get(Level::Pool, "overrun_warning").unwrap().value.value,
        Value::Int(1000)
    );
    assert_eq!(
        c.get(Level::Pool, "max_overrun_warnings")
            .unwrap()
            .value
            .value,
        Value::Infinity
    );
    assert_eq!(
        c.get(Level::Connection, "servers").unwrap().value.value,
        Value::Servers(vec![
            Server {
                host: "c1".into(),
                port: 9042
            },
            Server {
                host: "c2".into(),
                port: 9043
            },
            Server {
                host: "c3".into(),
                port: 9042
            },
        ])
    );
    assert!(c.get(Level::Connection, "auth.plain.username").is_some());
    assert_eq!(
        c.get(Level::Tls, "server_name_indication.enabled")
            .unwrap()
            .value
            .value,
        Value::Bool(false)
    );
    assert_eq!(
        c.get(Level::Tls, "versions").unwrap().value.value,
        Value::List(vec!["tlsv1.3".into()])
    );
    let r = &decl.pools[1];
    assert_eq!(
        r.get(Level::Connection, "reconnect.attempts")
            .unwrap()
            .value
            .value,
        Value::Int(3)
    );
    let l = &decl.pools[2];
    assert_eq!(
        l.get(Level::Connection, "servers").unwrap().value.value,
        Value::List(vec!["l1".into(), "l2".into()])
    );
}

#[test]
fn env_values_stay_unresolved() {
    let decl = attr_ok(
        r#"redis(connection(host = env("REDIS_HOST", default = "127.0.0.2"),
                            port = env("REDIS_PORT", default = 6380),
                            password = env("REDIS_PASSWORD")))"#,
    );
    let pool = &decl.pools[0];
    assert_eq!(
        pool.get(Level::Connection, "host").unwrap().value.value,
        Value::Env {
            name: "REDIS_HOST".into(),
            default: Some("127.0.0.2".into())
        }
    );
    assert_eq!(
        pool.get(Level::Connection, "port").unwrap().value.value,
        Value::Env {
            name: "REDIS_PORT".into(),
            default: Some("6380".into())
        }
    );
    let planned = plan(&decl).groups[0].global.clone().unwrap();
    assert!(planned.get("password").unwrap().is_env());
}

#[test]
fn seed_forms_are_expressible() {
    // ODBC connection string (`{server, "DSN=mydb"}`).
    let odbc = only_pool(r#"rdbms(connection(driver = odbc, settings = "DSN=mydb"))"#);
    assert_eq!(odbc.connector, ConnectorKind::Odbc);
    assert_eq!(odbc.get("settings"), Some(&Value::Str("DSN=mydb".into())));
    assert_eq!(odbc.get("host"), None);
    assert_eq!(odbc.get("port"), None);

    // pgsql `{ssl, false | true | required}`.
    let pg = r#"driver = pgsql, host = "h", database = "d", username = "u", password = "p""#;
    let off = only_pool(&format!("rdbms(connection({pg}))"));
    assert_eq!(off.tls, None);
    let tried = only_pool(&format!("rdbms(connection({pg}, tls()))"));
    assert!(!tried.tls.unwrap().required);
    let required = only_pool(&format!("rdbms(connection({pg}, tls(required = true)))"));
    assert!(required.tls.unwrap().required);

    // mysql `[{verify, verify_peer}, {cacertfile, ...}, {server_name_indication, disable}]`.
    let mysql = only_pool(
        r#"rdbms(connection(driver = mysql, host = "h", database = "d", username = "u",
                           password = "p",
                           tls(verify_mode = peer, cacertfile = "ca.pem",
                               server_name_indication(enabled = false))))"#,
    );
    assert_eq!(mysql.connector, ConnectorKind::Mysql);
    let tls = mysql.tls.unwrap();
    assert_eq!(tls.get("verify_mode"), Some(&Value::Ident("peer".into())));
    assert_eq!(
        tls.get("server_name_indication.enabled"),
        Some(&Value::Bool(false))
    );
    assert_eq!(tls.get("required"), None);

    // ldap `{encrypt, tls}` + `tls_options`, and the 3.x `rootdn`.
    let ldap = only_pool(r#"ldap(connection(encrypt = tls, rootdn = "cn=admin"))"#);
    assert_eq!(ldap.get("port"), Some(&Value::Int(636)));
    assert_eq!(ldap.get("root_dn"), Some(&Value::Str("cn=admin".into())));
    assert!(ldap.tls.is_some());
    assert_eq!(ldap.get("encrypt"), None);
    let ldap = only_pool(r#"ldap(connection(encrypt = none))"#);
    assert_eq!(ldap.get("port"), Some(&Value::Int(389)));
    assert!(ldap.tls.is_none());
    let ldap = only_pool(r#"ldap(connection(tls(verify_mode = peer, cacertfile = "ca.pem")))"#);
    assert_eq!(ldap.get("port"), Some(&Value::Int(636)));

    // rabbit's `max_worker_queue_len` is a pool key.
    let rabbit = only_pool("rabbit(max_worker_queue_len = 100)");
    assert_eq!(rabbit.max_worker_queue_len, Some(100));

    // riak `{address, ...}` and `{credentials, User, Password}`.
    let riak = only_pool(
        r#"riak(strategy = next_worker, connection(address = "10.0.0.9", username = "u", password = "p", tls(cacertfile = "ca.pem")))"#,
    );
    assert_eq!(riak.get("host"), Some(&Value::Str("10.0.0.9".into())));
    assert_eq!(riak.get("username"), Some(&Value::Str("u".into())));
    assert!(riak.tls.is_some());
}

#[test]
fn mongooseim_implementation_limits_do_not_apply() {
    attr_ok(
        r#"
        redis(strategy = available_worker),
        riak(strategy = available_worker),
        elastic(), elastic(tag = second),
        rdbms(connection(driver = odbc, settings = "DSN=x")),
        rdbms(tag = other, connection(driver = mysql, host = "h", database = "d", username = "u", password = "p")),
        generic(strategy = hash_worker),
        "#,
    );
}

#[test]
fn secrets_are_redacted_in_debug() {
    let decl = attr_ok(
        r#"
        rdbms(connection(driver = pgsql, host = "h", database = "d", username = "u",
                         password = "pg-s3cret", tls(password = "key-s3cret"))),
        rabbit(connection(password = env("RABBIT_PASSWORD", default = "env-s3cret"))),
        cassandra(connection(auth(plain(username = "u", password = "cass-s3cret")))),
        rdbms(tag = odbc, connection(driver = odbc, settings = "DSN=x;PWD=odbc-s3cret")),
        "#,
    );
    let plan = plan(&decl);
    for text in [
        format!("{decl:?}"),
        format!("{decl:#?}"),
        format!("{plan:?}"),
        format!("{plan:#?}"),
        format!("{plan}"),
    ] {
        assert!(!text.contains("s3cret"), "secret leaked: {text}");
        assert!(text.contains("***"), "no redaction marker: {text}");
    }
    // The variable's name is not a secret and helps debugging.
    assert!(format!("{plan:?}").contains("RABBIT_PASSWORD"));
}

#[test]
fn errors_point_at_the_narrowest_token() {
    // The key for an unknown key.
    let (message, line, column) = attr_error("redis(\n    wrokers = 5)");
    assert_eq!(
        message,
        "unknown key `wrokers` in `redis` pool; did you mean `workers`?"
    );
    assert_eq!((line, column), (2, 4));

    // The literal for a bad value.
    let (message, line, column) = attr_error("redis(workers = \"5\")");
    assert_eq!(message, "expected an integer for `workers`, found \"5\"");
    assert_eq!((line, column), (1, 16));

    // The second definition of a duplicate key.
    let (message, line, column) = attr_error("redis(workers = 5,\n workers = 6)");
    assert_eq!(message, "duplicate key `workers` in `redis` pool");
    assert_eq!((line, column), (2, 1));

    // The second pool of a duplicate pool.
    let (message, line, column) = attr_error("redis(),\nredis()");
    assert_eq!(
        message,
        "duplicate `redis` pool with tag `default` for global scope"
    );
    assert_eq!((line, column), (2, 0));

    // The connection section for a missing connection key.
    let (message, line, column) = attr_error("http(workers = 1, connection())");
    assert_eq!(message, "missing required key `host` in `http` connection");
    assert_eq!((line, column), (1, 18));
}

#[test]
fn syntax_errors_are_reported_and_parsing_goes_on() {
    let messages = attr_errors(
        r#"redis(workers 5), , http(connection(host = )), "oops", ldap(workers == 1), generic(workers = 1 2)"#,
    );
    assert_eq!(
        messages,
        [
            "unexpected `,`",
            "expected `key = value` or `name(...)`",
            "missing value for `host`",
            "expected `hosts = [...]`, `crate = path`, `file = \"...\"` or a pool entry such as `redis(...)`",
            "expected a value for `workers`, found `=`",
            "unexpected `2` after the value of `workers`; separate entries with `,`",
        ]
    );
}

#[test]
fn malformed_env() {
    assert_eq!(
        attr_errors(r#"redis(connection(host = env(HOST)))"#),
        ["expected `env(\"NAME\")` or `env(\"NAME\", default = \"...\")`"]
    );
    assert_eq!(
        attr_errors(r#"redis(connection(host = env("HOST", fallback = "x")))"#),
        ["expected `env(\"NAME\")` or `env(\"NAME\", default = \"...\")`"]
    );
}
