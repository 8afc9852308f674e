//! MongooseIM's own configuration tests for `outgoing_pools` (`config_parser_SUITE`: `pool_*`,
//! `test_pool_opts`, `test_just_tls_*`), each case written as the `pools.toml` fragment a user
//! would bring: every fragment MongooseIM accepts plans what it starts, every one it refuses is
//! an error naming the key. Checks MongooseIM makes at start (files that do not exist) are the
//! runtime's, at `start()`; the few deliberate differences are rows of the README's table and
//! are marked here.

use super::*;

/// A pool's own keys, under `[outgoing_pools.TYPE.default]`.
fn pool(ty: &str, keys: &str) -> String {
    format!("[outgoing_pools.{ty}.default]\n{keys}\n")
}

/// Connection keys, under `[outgoing_pools.TYPE.default.connection]`.
fn conn(ty: &str, keys: &str) -> String {
    format!("[outgoing_pools.{ty}.default.connection]\n{keys}\n")
}

/// TLS keys beside connection keys `base`.
fn tls(ty: &str, base: &str, keys: &str) -> String {
    format!(
        "{}[outgoing_pools.{ty}.default.connection.tls]\n{keys}\n",
        conn(ty, base)
    )
}

/// The one pool a fragment plans (it must be valid), the same in the attribute form.
fn planned(text: &str) -> PlannedPool {
    let plan = plan(&toml_ok(text));
    if let Some(attr) = to_attr(text) {
        assert_eq!(
            super::plan(&attr_ok(&attr)),
            plan,
            "the attribute form {attr}"
        );
    }
    plan.groups[0].global.clone().expect("a global pool")
}

/// The attribute form of a one-section fragment (`None` for one with `[[host_config]]`):
/// `[outgoing_pools.T.G]` becomes `T(tag = G, ...)`, tables become groups, `scope` strings the
/// attribute's words.
fn to_attr(text: &str) -> Option<String> {
    let root: toml::Table = text.parse().ok()?;
    if root.contains_key("host_config") {
        return None;
    }
    let mut out = Vec::new();
    if let Some(toml::Value::Table(general)) = root.get("general") {
        for (key, value) in general {
            out.push(format!("{key} = {}", attr_value(value)));
        }
    }
    let pools = root.get("outgoing_pools")?.as_table()?;
    for (ty, tags) in pools {
        for (tag, keys) in tags.as_table()? {
            let mut inner = vec![format!("tag = {tag}")];
            for (key, value) in keys.as_table()? {
                inner.push(match (key.as_str(), value) {
                    ("scope", toml::Value::String(scope)) => {
                        let word = if scope == "host_type" { "host" } else { scope };
                        format!("scope = {word}")
                    }
                    _ => attr_entry(key, value),
                });
            }
            out.push(format!("{ty}({})", inner.join(", ")));
        }
    }
    Some(out.join(", "))
}

fn attr_entry(key: &str, value: &toml::Value) -> String {
    match value {
        toml::Value::Table(t) => {
            let inner: Vec<String> = t.iter().map(|(k, v)| attr_entry(k, v)).collect();
            format!("{key}({})", inner.join(", "))
        }
        other => format!("{key} = {}", attr_value(other)),
    }
}

fn attr_value(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(attr_value).collect();
            format!("[{}]", items.join(", "))
        }
        toml::Value::Table(t) => {
            let inner: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{k} = {}", attr_value(v)))
                .collect();
            format!("{{ {} }}", inner.join(", "))
        }
        other => other.to_string(),
    }
}

/// `?cfg`: the fragment is valid and `key` of its connection has `expected`.
fn cfg(text: &str, key: &str, expected: Value) {
    let pool = planned(text);
    assert_eq!(pool.get(key), Some(&expected), "{key} in\n{text}");
}

/// `?cfg` of a TLS key.
fn cfg_tls(text: &str, key: &str, expected: Value) {
    let pool = planned(text);
    let tls = pool.tls.expect("a tls section");
    let found = tls.settings.iter().find(|s| s.key == key).map(|s| &s.value);
    assert_eq!(found, Some(&expected), "tls {key} in\n{text}");
}

/// `?err`: the fragment is refused, and an error names `key`, in both forms.
fn err(text: &str, key: &str) {
    let errors = toml_errors(text);
    assert!(
        errors.iter().any(|e| e.contains(&format!("`{key}`"))),
        "an error naming `{key}` for\n{text}\ngot {errors:?}"
    );
    if let Some(attr) = to_attr(text) {
        let errors = match super::attr(&attr) {
            Ok(decl) => panic!("the attribute form {attr} was accepted: {decl:?}"),
            Err(errors) => errors.messages(),
        };
        assert!(
            errors.iter().any(|e| e.contains(key)),
            "an error naming `{key}` for the attribute form {attr}\ngot {errors:?}"
        );
    }
}

fn s(v: &str) -> Value {
    Value::Str(v.into())
}

const SQL: &str =
    "host = \"localhost\"\ndatabase = \"db\"\nusername = \"dbuser\"\npassword = \"secret\"";

fn sql(driver: &str) -> String {
    format!("driver = \"{driver}\"\n{SQL}")
}

#[test]
fn pool_basics_and_scope() {
    let http = "[outgoing_pools.http.default.connection]\nhost = \"http://localhost\"\n";
    let p = planned(http);
    assert_eq!((p.pool_type, p.tag.as_str()), (PoolType::Http, "default"));
    err(
        "[outgoing_pools.swimming_pool.default.connection]\nhost = \"http://localhost\"\n",
        "swimming_pool",
    );
    for scope in ["host", "host_type"] {
        let text = format!(
            "[general]\nhosts = [\"localhost\"]\n{}{http}",
            pool("http", &format!("scope = \"{scope}\""))
        );
        assert!(plan(&toml_ok(&text)).groups[0].is_per_host());
    }
    err(
        &format!("{}{http}", pool("http", "scope = \"whatever\"")),
        "whatever",
    );
    // No `scope` in a host's own section.
    err(
        "[general]\nhosts = [\"localhost\"]\n[[host_config]]\nhost = \"localhost\"\n\
         [host_config.outgoing_pools.http.default]\nscope = \"global\"\n\
         [host_config.outgoing_pools.http.default.connection]\nhost = \"http://localhost\"\n",
        "scope",
    );
}

/// `test_pool_opts`, for every type MongooseIM 6 has.
#[test]
fn pool_options_of_every_type() {
    for (ty, required) in [
        ("rdbms", sql("pgsql")),
        // `request_timeout = 0`: see the http difference below.
        (
            "http",
            "host = \"https://localhost:8443\"\nrequest_timeout = 0".to_owned(),
        ),
        ("redis", String::new()),
        ("cassandra", String::new()),
        ("elastic", String::new()),
        ("rabbit", String::new()),
        ("ldap", String::new()),
    ] {
        let text = |keys: &str| format!("{}{}", pool(ty, keys), conn(ty, &required));
        let p = planned(&text(
            "workers = 11\nstrategy = \"random_worker\"\ncall_timeout = 999",
        ));
        assert_eq!(
            (p.workers, p.strategy, p.call_timeout_ms),
            (11, Strategy::RandomWorker, 999),
            "{ty}"
        );
        let p = planned(&text(""));
        let (workers, call) = match ty {
            "cassandra" => (20, 5000),
            "rdbms" => (10, 60000),
            _ => (10, 5000),
        };
        assert_eq!((p.workers, p.call_timeout_ms), (workers, call), "{ty}");
        err(&text("workers = 0"), "workers");
        err(&text("strategy = \"worst_worker\""), "worst_worker");
        err(&text("call_timeout = 0"), "call_timeout");
    }
    // README difference: an http `call_timeout` shorter than its `request_timeout` (2000 by
    // default) is refused; MongooseIM only advises against it.
    err(
        &format!(
            "{}{}",
            pool("http", "call_timeout = 999"),
            conn("http", "host = \"https://localhost:8443\"")
        ),
        "call_timeout",
    );
}

/// `pool_rdbms_connection_{pgsql,cockroachdb,mysql}` and the common rdbms options.
#[test]
fn rdbms_connection() {
    for (driver, port) in [("pgsql", 5432), ("cockroachdb", 26257), ("mysql", 3306)] {
        let required = sql(driver);
        let t = |extra: &str| conn("rdbms", &format!("{required}\n{extra}"));
        cfg(&t(""), "port", Value::Int(port));
        cfg(&t(""), "host", s("localhost"));
        cfg(&t("port = 1234"), "port", Value::Int(1234));
        cfg(&t("query_timeout = 100"), "query_timeout", Value::Int(100));
        cfg(
            &t("keepalive_interval = 100"),
            "keepalive_interval",
            Value::Int(100),
        );
        cfg(
            &t("max_start_interval = 200"),
            "max_start_interval",
            Value::Int(200),
        );
        err(&t("query_timeout = -1"), "query_timeout");
        err(&t("keepalive_interval = 0"), "keepalive_interval");
        err(&t("max_start_interval = 0"), "max_start_interval");
        err(&t("port = -1"), "port");
        for key in ["host", "database", "username", "password"] {
            let empty = required.replace(
                &format!("{key} = \""),
                &format!("{key} = \"\"\nx{key} = \""),
            );
            let empty = empty
                .lines()
                .filter(|l| !l.starts_with('x'))
                .collect::<Vec<_>>()
                .join("\n");
            err(&conn("rdbms", &empty), key);
            let missing: Vec<&str> = required.lines().filter(|l| !l.starts_with(key)).collect();
            err(&conn("rdbms", &missing.join("\n")), key);
        }
        err(&conn("rdbms", SQL), "driver");
    }
    // ODBC: a connection string.
    let odbc = "driver = \"odbc\"\nsettings = \"DSN=mydb\"";
    cfg(&conn("rdbms", odbc), "settings", s("DSN=mydb"));
    err(
        &conn("rdbms", "driver = \"odbc\"\nsettings = true"),
        "settings",
    );
    err(&conn("rdbms", "driver = \"odbc\""), "settings");
}

/// `pool_rdbms_connection_tls_*`: `required` for pgsql and cockroachdb only.
#[test]
fn rdbms_connection_tls() {
    for driver in ["pgsql", "cockroachdb"] {
        let t = |keys: &str| {
            tls(
                "rdbms",
                &sql(driver),
                &format!("cacertfile = \"priv/ca.pem\"\n{keys}"),
            )
        };
        assert!(!planned(&t("")).tls.unwrap().required);
        assert!(planned(&t("required = true")).tls.unwrap().required);
        err(&t("required = \"maybe\""), "required");
        just_tls_client("rdbms", &sql(driver));
    }
    let t = |keys: &str| {
        tls(
            "rdbms",
            &sql("mysql"),
            &format!("cacertfile = \"priv/ca.pem\"\n{keys}"),
        )
    };
    err(&t("required = true"), "tls.required");
    cfg_tls(&t(""), "cacertfile", s("priv/ca.pem"));
}

/// `test_just_tls_client`: the TLS keys of every client, as MongooseIM's `just_tls` takes them.
fn just_tls_client(ty: &str, base: &str) {
    let t = |keys: &str| tls(ty, base, keys);
    let m = |keys: &str| t(&format!("cacertfile = \"priv/ca.pem\"\n{keys}"));
    cfg_tls(
        &t("verify_mode = \"none\""),
        "verify_mode",
        Value::Ident("none".into()),
    );
    cfg_tls(&m(""), "cacertfile", s("priv/ca.pem"));
    cfg_tls(
        &m("certfile = \"priv/cert.pem\"\nkeyfile = \"priv/dc1.pem\""),
        "certfile",
        s("priv/cert.pem"),
    );
    cfg_tls(
        &m("ciphers = \"TLS_AES_256_GCM_SHA384\""),
        "ciphers",
        s("TLS_AES_256_GCM_SHA384"),
    );
    cfg_tls(&m("password = \"secret\""), "password", s("secret"));
    cfg_tls(
        &m("versions = [\"tlsv1.2\", \"tlsv1.3\"]"),
        "versions",
        Value::List(vec!["tlsv1.2".into(), "tlsv1.3".into()]),
    );
    cfg_tls(
        &m("crl_files = [\"priv/crl.pem\"]"),
        "crl_files",
        Value::List(vec!["priv/crl.pem".into()]),
    );
    cfg_tls(
        &m("disconnect_on_failure = false"),
        "disconnect_on_failure",
        Value::Bool(false),
    );
    err(&t("verify_mode = \"whatever\""), "whatever");
    err(&m("ciphers = [\"TLS_AES_256_GCM_SHA384\"]"), "ciphers");
    err(&m("password = false"), "password");
    err(&m("versions = \"tlsv1.2\""), "versions");
    // Options of other TLS libraries or of servers.
    err(&m("protocol_options = [\"nosslv2\"]"), "protocol_options");
    err(&m("dhfile = \"priv/dh.pem\""), "dhfile");
    // Server name indication.
    let sni = |keys: &str| {
        m(&format!(
            "[outgoing_pools.{ty}.default.connection.tls.server_name_indication]\n{keys}"
        ))
    };
    cfg_tls(
        &sni("enabled = false"),
        "server_name_indication.enabled",
        Value::Bool(false),
    );
    cfg_tls(
        &sni("host = \"host.example.com\""),
        "server_name_indication.host",
        s("host.example.com"),
    );
    cfg_tls(
        &sni("protocol = \"https\""),
        "server_name_indication.protocol",
        Value::Ident("https".into()),
    );
    err(
        &sni("enabled = \"maybe\""),
        "server_name_indication.enabled",
    );
    err(&sni("host = \"\""), "server_name_indication.host");
    err(
        &sni("protocol = \"http\""),
        "server_name_indication.protocol",
    );
    // MongooseIM refuses a `tls` section with neither `cacertfile` nor `verify_mode = none`
    // (`missing_cacertfile`); here it verifies against the system's roots (a README difference).
    planned(&t(""));
}

#[test]
fn http_connection() {
    let required = "host = \"https://localhost:8443\"";
    let t = |extra: &str| conn("http", &format!("{required}\n{extra}"));
    cfg(&t(""), "host", s("https://localhost:8443"));
    cfg(
        &t("path_prefix = \"/my_path/\""),
        "path_prefix",
        s("/my_path/"),
    );
    cfg(
        &format!(
            "{}{}",
            pool("http", "call_timeout = 5000"),
            t("request_timeout = 999")
        ),
        "request_timeout",
        Value::Int(999),
    );
    err(&conn("http", ""), "host");
    err(&conn("http", "host = \"\""), "host");
    err(&t("path_prefix = \"\""), "path_prefix");
    err(&t("request_timeout = -1000"), "request_timeout");
    just_tls_client("http", "host = \"http://localhost\"");
}

#[test]
fn redis_connection() {
    cfg(&conn("redis", ""), "host", s("127.0.0.1"));
    cfg(&conn("redis", ""), "port", Value::Int(6379));
    cfg(&conn("redis", ""), "database", Value::Int(0));
    cfg(&conn("redis", "host = \"my_host\""), "host", s("my_host"));
    cfg(&conn("redis", "port = 9999"), "port", Value::Int(9999));
    cfg(&conn("redis", "database = 1"), "database", Value::Int(1));
    cfg(
        &conn("redis", "password = \"password1\""),
        "password",
        s("password1"),
    );
    err(&conn("redis", "host = 8443"), "host");
    err(&conn("redis", "port = 666666"), "port");
    err(&conn("redis", "database = -1"), "database");
    err(&conn("redis", "password = 0"), "password");
}

#[test]
fn cassandra_connection() {
    cfg(&conn("cassandra", ""), "keyspace", s("mongooseim"));
    cfg(
        &conn("cassandra", "keyspace = \"big_mongooseim\""),
        "keyspace",
        s("big_mongooseim"),
    );
    err(&conn("cassandra", "keyspace = \"\""), "keyspace");
    // auth.plain: both or neither.
    let auth = |keys: &str| {
        format!(
            "{}[outgoing_pools.cassandra.default.connection.auth.plain]\n{keys}\n",
            conn("cassandra", "")
        )
    };
    cfg(
        &auth("username = \"user\"\npassword = \"pass\""),
        "auth.plain.username",
        s("user"),
    );
    err(&auth("username = \"user\""), "auth.plain.password");
    err(&auth("password = \"pass\""), "auth.plain.username");
    err(
        &auth("username = false\npassword = \"pass\""),
        "auth.plain.username",
    );
    // Servers: a port defaults to 9042; no server twice, none missing its host, not empty.
    cfg(
        &conn(
            "cassandra",
            "servers = [{ host = \"example.com\" }, { host = \"example.com\", port = 9043 }]",
        ),
        "servers",
        Value::Servers(vec![
            Server {
                host: "example.com".into(),
                port: 9042,
            },
            Server {
                host: "example.com".into(),
                port: 9043,
            },
        ]),
    );
    err(
        &conn(
            "cassandra",
            "servers = [{ host = \"example.com\" }, { host = \"example.com\", port = 9042 }]",
        ),
        "servers",
    );
    err(&conn("cassandra", "servers = [{}]"), "host");
    err(&conn("cassandra", "servers = []"), "servers");
    just_tls_client("cassandra", "");
}

#[test]
fn elastic_connection() {
    cfg(&conn("elastic", ""), "host", s("localhost"));
    cfg(&conn("elastic", ""), "port", Value::Int(9200));
    cfg(&conn("elastic", "host = \"my_host\""), "host", s("my_host"));
    cfg(&conn("elastic", "port = 9999"), "port", Value::Int(9999));
    err(&conn("elastic", "host = \"\""), "host");
    err(&conn("elastic", "port = 123456"), "port");
}

#[test]
fn rabbit_connection() {
    for (key, value) in [
        ("host", s("localhost")),
        ("port", Value::Int(5672)),
        ("username", s("guest")),
        ("password", s("guest")),
        ("virtual_host", s("/")),
        ("confirms_enabled", Value::Bool(false)),
        ("max_worker_queue_len", Value::Int(1000)),
    ] {
        cfg(&conn("rabbit", ""), key, value);
    }
    cfg(&conn("rabbit", "host = \"my_host\""), "host", s("my_host"));
    cfg(&conn("rabbit", "port = 9999"), "port", Value::Int(9999));
    cfg(
        &conn("rabbit", "username = \"user\""),
        "username",
        s("user"),
    );
    cfg(
        &conn("rabbit", "password = \"pass\""),
        "password",
        s("pass"),
    );
    cfg(
        &conn("rabbit", "confirms_enabled = true"),
        "confirms_enabled",
        Value::Bool(true),
    );
    err(&conn("rabbit", "host = \"\""), "host");
    err(&conn("rabbit", "port = 123456"), "port");
    err(&conn("rabbit", "username = \"\""), "username");
    err(&conn("rabbit", "password = \"\""), "password");
    err(&conn("rabbit", "virtual_host = \"\""), "virtual_host");
    err(
        &conn("rabbit", "confirms_enabled = \"yes\""),
        "confirms_enabled",
    );
    cfg(
        &conn("rabbit", "max_worker_queue_len = 100"),
        "max_worker_queue_len",
        Value::Int(100),
    );
    cfg(
        &conn("rabbit", "max_worker_queue_len = \"infinity\""),
        "max_worker_queue_len",
        Value::Infinity,
    );
    err(
        &conn("rabbit", "max_worker_queue_len = -1"),
        "max_worker_queue_len",
    );
}

#[test]
fn ldap_connection() {
    cfg(
        &conn("ldap", ""),
        "servers",
        Value::List(vec!["localhost".into()]),
    );
    cfg(&conn("ldap", ""), "port", Value::Int(389));
    cfg(&conn("ldap", ""), "root_dn", s(""));
    cfg(&conn("ldap", ""), "password", s(""));
    cfg(&conn("ldap", ""), "connect_interval", Value::Int(10000));
    cfg(
        &conn(
            "ldap",
            "servers = [\"server1.example.com\", \"server2.example.com\"]",
        ),
        "servers",
        Value::List(vec![
            "server1.example.com".into(),
            "server2.example.com".into(),
        ]),
    );
    cfg(&conn("ldap", "port = 999"), "port", Value::Int(999));
    cfg(
        &conn("ldap", "root_dn = \"my_rootdn\""),
        "root_dn",
        s("my_rootdn"),
    );
    cfg(&conn("ldap", "password = \"pass\""), "password", s("pass"));
    cfg(
        &conn("ldap", "connect_interval = 5000"),
        "connect_interval",
        Value::Int(5000),
    );
    // The default port with TLS is LDAPS's.
    cfg(
        &tls("ldap", "", "cacertfile = \"priv/ca.pem\""),
        "port",
        Value::Int(636),
    );
    err(
        &conn(
            "ldap",
            "servers = [\"server1.example.com\", \"server1.example.com\"]",
        ),
        "servers",
    );
    err(&conn("ldap", "servers = []"), "servers");
    err(&conn("ldap", "port = 123456"), "port");
    err(&conn("ldap", "root_dn = 1"), "root_dn");
    err(&conn("ldap", "password = true"), "password");
    err(
        &conn("ldap", "connect_interval = \"infinity\""),
        "connect_interval",
    );
    just_tls_client("ldap", "");
}

/// A whole file in the shape of MongooseIM 6's parser test file (`outgoing_pools.toml`):
/// three hosts, global and per-host-type pools of every type, a host's own pool in its
/// `[[host_config]]` section, and the `[general]` keys that are not ours left alone.
#[test]
fn a_whole_mongooseim_file_plans_what_mongooseim_starts() {
    let text = r#"
[general]
  hosts = ["example.org", "anon.example.org", "second.example.org"]
  default_server_domain = "example.org"

[outgoing_pools.rdbms.default]
  scope = "global"
  workers = 4
  [outgoing_pools.rdbms.default.connection]
    driver = "pgsql"
    host = "db.example.org"
    database = "xmpp"
    username = "xmpp"
    password = "xmpp_password"
    keepalive_interval = 20
    tls.required = true
    tls.cacertfile = "certs/ca.pem"
    tls.server_name_indication.enabled = false

[outgoing_pools.http.push]
  scope = "global"
  workers = 30
  [outgoing_pools.http.push.connection]
    host = "https://push.example.org:8443"
    path_prefix = "/v3/"
    request_timeout = 1500

[outgoing_pools.cassandra.default]
  scope = "global"
  [outgoing_pools.cassandra.default.connection]
    servers = [{host = "c1.example.org", port = 9042}, {host = "c2.example.org"}]
    keyspace = "xmpp"

[outgoing_pools.elastic.default]
  scope = "global"
  connection.host = "search.example.org"

[outgoing_pools.rabbit.event_pusher]
  scope = "host_type"
  workers = 8
  [outgoing_pools.rabbit.event_pusher.connection]
    host = "mq.example.org"
    username = "pusher"
    password = "pusher_password"
    confirms_enabled = true
    max_worker_queue_len = 50

[outgoing_pools.ldap.default]
  scope = "host_type"
  workers = 3
  [outgoing_pools.ldap.default.connection]
    servers = ["ldap.example.org"]
    root_dn = "cn=admin,dc=example,dc=org"
    password = "ldap_password"

[[host_config]]
  host = "example.org"
  [host_config.outgoing_pools.redis.global_distrib]
    workers = 6
"#;
    let plan = plan(&toml_ok(text));
    let group = |ty: PoolType, tag: &str| {
        plan.groups
            .iter()
            .find(|g| g.pool_type == ty && g.tag == tag)
            .unwrap_or_else(|| panic!("{ty}.{tag}"))
    };
    let rdbms = group(PoolType::Rdbms, "default").global.as_ref().unwrap();
    assert_eq!((rdbms.workers, rdbms.call_timeout_ms), (4, 60000));
    assert_eq!(rdbms.get("port"), Some(&Value::Int(5432)));
    assert_eq!(rdbms.get("query_timeout"), Some(&Value::Int(5000)));
    assert!(rdbms.tls.as_ref().unwrap().required);
    let http = group(PoolType::Http, "push").global.as_ref().unwrap();
    assert_eq!((http.workers, http.call_timeout_ms), (30, 5000));
    let cassandra = group(PoolType::Cassandra, "default")
        .global
        .as_ref()
        .unwrap();
    assert_eq!(cassandra.workers, 20);
    assert_eq!(
        cassandra.get("servers"),
        Some(&Value::Servers(vec![
            Server {
                host: "c1.example.org".into(),
                port: 9042
            },
            Server {
                host: "c2.example.org".into(),
                port: 9042
            },
        ]))
    );
    let elastic = group(PoolType::Elastic, "default").global.as_ref().unwrap();
    assert_eq!(elastic.get("port"), Some(&Value::Int(9200)));
    // Host-type pools: one per host, MongooseIM's expansion.
    for (ty, tag, workers) in [
        (PoolType::Rabbit, "event_pusher", 8),
        (PoolType::Ldap, "default", 3),
    ] {
        let g = group(ty, tag);
        assert!(g.global.is_none());
        let hosts: Vec<&str> = g.per_host.iter().map(|(h, _)| h.as_str()).collect();
        assert_eq!(
            hosts,
            ["example.org", "anon.example.org", "second.example.org"]
        );
        assert!(g.per_host.iter().all(|(_, p)| p.workers == workers));
    }
    let rabbit = group(PoolType::Rabbit, "event_pusher");
    assert_eq!(rabbit.per_host[0].1.get("port"), Some(&Value::Int(5672)));
    assert_eq!(
        rabbit.per_host[0].1.get("max_worker_queue_len"),
        Some(&Value::Int(50))
    );
    // The pool's own queue limit is another key.
    assert_eq!(rabbit.per_host[0].1.max_worker_queue_len, None);
    // A host's own pool, with no global one to fall back to: the other hosts have none.
    let redis = group(PoolType::Redis, "global_distrib");
    assert_eq!(redis.resolve("example.org").map(|p| p.workers), Some(6));
    assert!(redis.resolve("anon.example.org").is_none());
    assert_eq!(
        redis.unserved_hosts,
        ["anon.example.org", "second.example.org"]
    );
}

/// The fragments are checked in the attribute form too: the translation is what a user would
/// write.
#[test]
fn fragments_translate_to_the_attribute_form() {
    let text = tls(
        "rdbms",
        &sql("pgsql"),
        "cacertfile = \"priv/ca.pem\"\nserver_name_indication.enabled = false",
    );
    assert_eq!(
        to_attr(&text).unwrap(),
        r#"rdbms(tag = default, connection(database = "db", driver = "pgsql", host = "localhost", password = "secret", tls(cacertfile = "priv/ca.pem", server_name_indication(enabled = false)), username = "dbuser"))"#
    );
    assert_eq!(
        to_attr(&format!(
            "{}{}",
            pool("ldap", "scope = \"host_type\""),
            conn("ldap", "")
        ))
        .unwrap(),
        "ldap(tag = default, connection(), scope = host)"
    );
}

/// A whole `mongooseim.toml` in the shape of MongooseIM's `mongooseim-pgsql.toml` test file: the
/// server's other sections (listeners, auth, modules, ACLs, s2s…) are left alone, and the pools
/// are those MongooseIM starts, including a host's own rdbms pool beside the global one.
#[test]
fn a_whole_server_config_keeps_only_its_pools() {
    let text = r#"
[general]
  loglevel = "warning"
  hosts = ["example.org", "anon.example.org"]
  default_server_domain = "example.org"
  registration_timeout = "infinity"

[internal_databases.mnesia]

[[listen.http]]
  port = 5280
  [[listen.http.handlers.mod_bosh]]
    host = "_"
    path = "/http-bind"

[[listen.c2s]]
  port = 5222
  tls.certfile = "priv/cert.pem"

[auth]
  password.format = "scram"
  [auth.rdbms]

[outgoing_pools.rdbms.default]
  scope = "global"
  workers = 5
  [outgoing_pools.rdbms.default.connection]
    driver = "pgsql"
    host = "db.example.org"
    database = "xmpp"
    username = "xmpp"
    password = "xmpp_password"
    tls.required = true
    tls.cacertfile = "certs/ca.pem"
    tls.server_name_indication.enabled = false

[services.service_mongoose_system_metrics]
  initial_report = 300_000

[modules.mod_last]
  backend = "rdbms"

[shaper.normal]
  max_rate = 1000

[acl]
  local = [{user_regexp = ""}]

[access]
  c2s = [{acl = "all", value = "allow"}]

[s2s]
  default_policy = "allow"

[[host_config]]
  host = "example.org"
  [host_config.outgoing_pools.redis.global_distrib]
    workers = 10

[[host_config]]
  host = "anon.example.org"
  [host_config.auth.anonymous]
    protocol = "both"
  [host_config.outgoing_pools.rdbms.special]
    workers = 5
    connection.driver = "pgsql"
    connection.host = "db.example.org"
    connection.database = "xmpp"
    connection.username = "xmpp"
    connection.password = "xmpp_password"
    connection.tls.required = true
"#;
    let plan = plan(&toml_ok(text));
    let names: Vec<String> = plan
        .groups
        .iter()
        .flat_map(|g| g.pools().map(PlannedPool::name))
        .collect();
    assert_eq!(
        names,
        [
            "rdbms.global.default",
            "redis.example.org.global_distrib",
            "rdbms.anon.example.org.special",
        ]
    );
    let special = &plan.groups[2].per_host[0].1;
    assert_eq!((special.workers, special.call_timeout_ms), (5, 60000));
    assert!(special.tls.as_ref().unwrap().required);
}

/// `mongoose_wpool_SUITE`'s expansion cases, on its hosts `a.com`, `b.com`, `c.eu`, in the
/// attribute form (its pools are 3.x tuples: `{generic, host, default, [], []}` is
/// `generic(scope = host)`).
#[test]
fn mongoose_wpool_expansion_cases() {
    const HOSTS: &str = r#"hosts = ["a.com", "b.com", "c.eu"]"#;
    let plan_of = |pools: &str| plan(&attr_ok(&format!("{HOSTS}, {pools}")));
    let names = |plan: &Plan| -> Vec<String> {
        plan.groups
            .iter()
            .flat_map(|g| g.pools().map(PlannedPool::name))
            .collect()
    };
    // generic_pools_are_started_for_all_vhosts
    assert_eq!(
        names(&plan_of("generic(scope = host)")),
        [
            "generic.a.com.default",
            "generic.b.com.default",
            "generic.c.eu.default"
        ]
    );
    // host_specific_pools_are_preseved
    let plan = plan_of(r#"generic(scope = host), generic(scope = "b.com", workers = 12)"#);
    let group = &plan.groups[0];
    let workers: Vec<(&str, u32)> = group
        .per_host
        .iter()
        .map(|(h, p)| (h.as_str(), p.workers))
        .collect();
    assert_eq!(workers, [("a.com", 10), ("b.com", 12), ("c.eu", 10)]);
    // pools_for_different_tag_are_expanded_with_host_specific_config_preserved
    let plan = plan_of(
        r#"generic(scope = host), generic(scope = "b.com", workers = 12),
           generic(scope = host, tag = other_tag)"#,
    );
    assert_eq!(plan.groups.len(), 2);
    assert_eq!(
        names(&plan)[3..],
        [
            "generic.a.com.other_tag",
            "generic.b.com.other_tag",
            "generic.c.eu.other_tag"
        ]
    );
    // global_pool_is_used_by_default
    let plan = plan_of(r#"generic, generic(scope = "a.com")"#);
    let group = &plan.groups[0];
    assert_eq!(
        group.resolve("a.com").unwrap().name(),
        "generic.a.com.default"
    );
    assert_eq!(
        group.resolve("b.com").unwrap().name(),
        "generic.global.default"
    );
    assert_eq!(
        group.global.as_ref().unwrap().name(),
        "generic.global.default"
    );
    // two_distinct_redis_pools_are_started
    let plan = plan_of(
        r#"redis(workers = 2, connection(host = "localhost", port = 1805)),
           redis(tag = global_dist, workers = 4, connection(host = "localhost2", port = 1806))"#,
    );
    let redis: Vec<(String, u32, Option<&Value>)> = plan
        .groups
        .iter()
        .map(|g| {
            let p = g.global.as_ref().unwrap();
            (p.name(), p.workers, p.get("port"))
        })
        .collect();
    assert_eq!(
        redis,
        [
            (
                "redis.global.default".to_owned(),
                2,
                Some(&Value::Int(1805))
            ),
            (
                "redis.global.global_dist".to_owned(),
                4,
                Some(&Value::Int(1806))
            ),
        ]
    );
    // a_global_riak_pool_is_started (3.x `address`)
    let plan = plan_of(r#"riak(workers = 12, connection(address = "localhost", port = 1805))"#);
    let riak = plan.groups[0].global.as_ref().unwrap();
    assert_eq!(
        (riak.workers, riak.get("host")),
        (12, Some(&s("localhost")))
    );
    // {redis,riak}_pool_cant_be_started_with_available_worker_strategy: they can here (a README
    // difference).
    for ty in ["redis", "riak"] {
        let plan = plan_of(&format!("{ty}(strategy = available_worker)"));
        assert_eq!(
            plan.groups[0].global.as_ref().unwrap().strategy,
            Strategy::AvailableWorker
        );
    }
}

/// The `outgoing_pools` of MongooseIM's big_tests CI presets (`big_tests/test.config`), with
/// `{{redis_database_number}}` filled in. Each plans; the mysql preset's `tls.versions` is the
/// one refusal, a README difference (mysql_async takes no version list).
#[test]
fn the_ci_presets_plan() {
    const REDIS_GD: &str = r#"[outgoing_pools.redis.global_distrib]
  scope = "global"
  workers = 10
  connection.tls.cacertfile = "priv/ssl/cacert.pem"
  connection.tls.versions = ["tlsv1.2", "tlsv1.3"]
"#;
    const REDIS: &str = r#"[outgoing_pools.redis.default]
  scope = "global"
  workers = 10
  strategy = "random_worker"
  connection.database = 1
  connection.username = "mongooseim"
  connection.password = "psswd"
  connection.tls.cacertfile = "priv/ssl/cacert.pem"
  connection.tls.versions = ["tlsv1.2", "tlsv1.3"]
"#;
    let sql = |driver: &str, extra: &str| {
        format!(
            r#"[outgoing_pools.rdbms.default]
  scope = "global"
  workers = 5
  connection.driver = "{driver}"
  connection.host = "localhost"
  connection.database = "mongooseim"
  connection.username = "mongooseim"
  connection.password = "mongooseim_secret"
  connection.tls.cacertfile = "priv/ssl/cacert.pem"
{extra}"#
        )
    };
    let pg_tls = "  connection.tls.required = true\n  connection.tls.server_name_indication.enabled = false\n";
    let ldap = r#"[outgoing_pools.ldap.default]
  scope = "global"
  workers = 5
  connection.port = 3636
  connection.root_dn = "cn=admin,dc=esl,dc=com"
  connection.password = "mongooseim_secret"
  connection.tls.versions = ["tlsv1.2", "tlsv1.3"]
  connection.tls.cacertfile = "priv/ssl/cacert.pem"
  connection.tls.certfile = "priv/ssl/fake_cert.pem"
  connection.tls.keyfile = "priv/ssl/fake_key.pem"
[outgoing_pools.ldap.bind]
  scope = "global"
  workers = 5
  connection.port = 3636
  connection.tls.versions = ["tlsv1.2", "tlsv1.3"]
  connection.tls.cacertfile = "priv/ssl/cacert.pem"
  connection.tls.certfile = "priv/ssl/fake_cert.pem"
  connection.tls.keyfile = "priv/ssl/fake_key.pem"
"#;
    let cassandra = r#"[outgoing_pools.cassandra.default]
  scope = "global"
  workers = 20
  connection.servers = [{host = "localhost", port = 9142}]
  connection.tls.cacertfile = "priv/ssl/cacert.pem"
[outgoing_pools.elastic.default]
  scope = "global"
"#;
    let presets = [
        ("internal_mnesia", REDIS_GD.to_owned(), 1),
        (
            "pgsql_cets",
            format!("{REDIS_GD}{}", sql("pgsql", pg_tls)),
            2,
        ),
        (
            "cockroachdb_cets",
            format!(
                "{REDIS_GD}{}",
                sql(
                    "cockroachdb",
                    &format!("  connection.port = 26257\n{pg_tls}")
                )
            ),
            2,
        ),
        (
            "pgsql_redis",
            format!("{REDIS_GD}{REDIS}{}", sql("pgsql", pg_tls)),
            3,
        ),
        ("ldap_mnesia", format!("{REDIS_GD}{ldap}"), 3),
        (
            "elasticsearch_and_cassandra_mnesia",
            format!("{REDIS_GD}{cassandra}"),
            3,
        ),
    ];
    for (name, text, pools) in presets {
        let plan = plan(&toml_ok(&text));
        assert_eq!(plan.groups.len(), pools, "{name}");
    }
    let ldap_plan = plan(&toml_ok(ldap));
    let ldap_pool = ldap_plan.groups[0].global.as_ref().unwrap();
    assert_eq!(ldap_pool.get("port"), Some(&Value::Int(3636)));
    // mysql_cets: the one refusal, at `versions`.
    let mysql = sql(
        "mysql",
        "  connection.tls.versions = [\"tlsv1.2\", \"tlsv1.3\"]\n",
    );
    err(&format!("{REDIS_GD}{REDIS}{mysql}"), "tls.versions");
    plan(&toml_ok(&format!("{REDIS_GD}{REDIS}{}", sql("mysql", ""))));
}

/// The examples of MongooseIM's `doc/configuration/outgoing-connections.md`, each in the
/// smallest fragment that makes it valid. Three of them have typos MongooseIM refuses too
/// (`driver = "psgql"`, `tls.server_name_indication_protocol`, and redis `username`'s
/// example, which sets `password`); here they are errors naming the key.
#[test]
fn the_docs_examples() {
    let rdbms =
        "driver = \"pgsql\"\nhost = \"h\"\ndatabase = \"d\"\nusername = \"u\"\npassword = \"p\"";
    // (type, where the example goes: pool keys or connection keys, the example, what else the
    // fragment needs)
    let examples: &[(&str, bool, &str, &str)] = &[
        (
            "http",
            true,
            "strategy = \"available_worker\"",
            "host = \"http://h\"",
        ),
        ("http", true, "workers = 100", "host = \"http://h\""),
        ("redis", true, "call_timeout = 3000", ""),
        ("redis", true, "max_worker_queue_len = 1000", ""),
        ("rdbms", false, "keepalive_interval = 30", rdbms),
        ("rdbms", false, "query_timeout = 5000", rdbms),
        ("rdbms", false, "max_start_interval = 30", rdbms),
        ("rdbms", false, "port = 5343", rdbms),
        ("rdbms", false, "tls.required = true", rdbms),
        ("http", false, "host = \"https://server.com:879\"", ""),
        (
            "http",
            false,
            "path_prefix = \"/api/auth/\"",
            "host = \"http://h\"",
        ),
        ("redis", false, "host = \"redis.local\"", ""),
        ("redis", false, "port = 9876", ""),
        ("redis", false, "database = 2", ""),
        ("redis", false, "password = \"topsecret\"", ""),
        (
            "cassandra",
            false,
            "servers = [{host = \"host_one\", port = 9042}, {host = \"host_two\", port = 9042}]",
            "",
        ),
        (
            "cassandra",
            false,
            "keyspace = \"big_mongooseim_database\"",
            "",
        ),
        (
            "cassandra",
            false,
            "auth.plain.username = \"auser\"",
            "auth.plain.password = \"somesecretpassword\"",
        ),
        ("elastic", false, "host = \"otherhost\"", ""),
        ("elastic", false, "port = 9211", ""),
        ("rabbit", false, "host = \"anotherhost\"", ""),
        ("rabbit", false, "port = 4561", ""),
        ("rabbit", false, "username = \"corpop\"", ""),
        ("rabbit", false, "password = \"guest\"", ""),
        ("rabbit", false, "virtual_host = \"host_example\"", ""),
        ("rabbit", false, "confirms_enabled = false", ""),
        ("rabbit", false, "reconnect.attempts = 5", ""),
        ("rabbit", false, "reconnect.delay = 5000", ""),
        ("ldap", false, "servers = [\"ldap_one\", \"ldap_two\"]", ""),
        ("ldap", false, "port = 800", ""),
        (
            "ldap",
            false,
            "root_dn = \"cn=admin,dc=example,dc=com\"",
            "",
        ),
        ("ldap", false, "password = \"topsecret\"", ""),
        ("ldap", false, "connect_interval = 20000", ""),
        ("redis", false, "tls.verify_mode = \"none\"", ""),
        (
            "redis",
            false,
            "tls.certfile = \"cert.pem\"",
            "tls.keyfile = \"key.pem\"",
        ),
        ("redis", false, "tls.cacertfile = \"ca.pem\"", ""),
        ("redis", false, "tls.password = \"secret\"", ""),
        (
            "redis",
            false,
            "tls.ciphers = \"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384\"",
            "",
        ),
        (
            "redis",
            false,
            "tls.versions = [\"tlsv1.2\", \"tlsv1.3\"]",
            "",
        ),
        (
            "redis",
            false,
            "tls.server_name_indication.enabled = false",
            "",
        ),
        (
            "redis",
            false,
            "tls.server_name_indication.host = \"domain.com\"",
            "",
        ),
    ];
    for &(ty, pool_key, example, extra) in examples {
        let text = match pool_key {
            true => format!("{}{}", pool(ty, example), conn(ty, extra)),
            false => conn(ty, &format!("{extra}\n{example}")),
        };
        planned(&text);
    }
    let per_host = plan(&toml_ok(&format!(
        "[general]\nhosts = [\"a.com\"]\n{}",
        pool("redis", "scope = \"host_type\"")
    )));
    assert!(per_host.groups[0].is_per_host());
    // The typos.
    err(&conn("rdbms", "driver = \"psgql\""), "psgql");
    err(
        &conn("redis", "tls.server_name_indication_protocol = \"https\""),
        "server_name_indication_protocol",
    );
    cfg(
        &conn("redis", "password = \"alice\""),
        "password",
        s("alice"),
    );
}
