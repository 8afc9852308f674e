//! One test per rule: the exact message, on the declaration that breaks only that rule.

use super::*;

const PG: &str = r#"host = "h", database = "d", username = "u", password = "p""#;

fn one(src: &str) -> String {
    attr_error(src).0
}

#[test]
fn unknown_type() {
    assert_eq!(
        one("rediss(workers = 1)"),
        "unknown pool type `rediss`; did you mean `redis`?"
    );
    assert_eq!(
        one("mongo()"),
        "unknown pool type `mongo`; expected one of `cassandra`, `riak`, `redis`, `http`, `elastic`, `rdbms`, `rabbit`, `ldap` or `generic`"
    );
}

#[test]
fn unknown_top_level_key() {
    assert_eq!(
        one(r#"host = ["a.com"]"#),
        "unknown key `host`; did you mean `hosts`?"
    );
    assert_eq!(one(r#"hosts("a.com")"#), "expected `hosts = ...`");
    assert_eq!(
        one("whatever = 1"),
        "unknown key `whatever`; expected `hosts`, `host_types`, `crate`, `file` or a pool type"
    );
}

#[test]
fn unknown_key() {
    assert_eq!(
        one("redis(wrokers = 5)"),
        "unknown key `wrokers` in `redis` pool; did you mean `workers`?"
    );
    assert_eq!(
        one("redis(connection(hots = \"x\"))"),
        "unknown key `hots` in `redis` connection; did you mean `host`?"
    );
    assert_eq!(
        one("rabbit(connection(reconnect(attmpts = 1)))"),
        "unknown key `reconnect.attmpts` in `rabbit` connection; did you mean `reconnect.attempts`?"
    );
    assert_eq!(
        one("redis(connection(tls(cafile = \"x\")))"),
        "unknown key `cafile` in `redis` tls; expected one of `verify_mode`, `certfile`, `cacertfile`, `keyfile`, `password`, `ciphers`, `versions`, `crl_files`, `disconnect_on_failure` or `server_name_indication`"
    );
    assert_eq!(
        one("redis(zzz = 1)"),
        "unknown key `zzz` in `redis` pool; expected one of `scope`, `tag`, `workers`, `strategy`, `call_timeout`, `max_worker_queue_len`, `overrun_warning`, `max_overrun_warnings`, `queue_type`, `connect_timeout`, `shared_depth` or `connection`"
    );
}

#[test]
fn key_in_the_wrong_section() {
    assert_eq!(
        one("redis(port = 1)"),
        "unknown key `port` in `redis` pool; `port` belongs in `connection`"
    );
    assert_eq!(
        one("redis(tls())"),
        "unknown key `tls` in `redis` pool; `tls` belongs in `connection`"
    );
    assert_eq!(
        one("redis(connection(call_timeout = 1))"),
        "unknown key `call_timeout` in `redis` connection; `call_timeout` is a pool key, it belongs outside `connection`"
    );
    assert_eq!(
        one("redis(connection(cacertfile = \"ca.pem\"))"),
        "unknown key `cacertfile` in `redis` connection; `cacertfile` belongs in `tls`"
    );
    assert_eq!(
        one("generic(connection(host = \"x\"))"),
        "unknown key `host` in `generic` connection; `generic` pools take no connection keys"
    );
}

#[test]
fn unknown_strategy() {
    assert_eq!(
        one("redis(strategy = best_wroker)"),
        "unknown strategy `best_wroker`; did you mean `best_worker`?"
    );
    assert_eq!(
        one("redis(strategy = fastest)"),
        "unknown strategy `fastest`; expected one of `best_worker`, `random_worker`, `next_worker`, `available_worker`, `next_available_worker` or `hash_worker`"
    );
}

#[test]
fn unknown_enum_value() {
    assert_eq!(
        one("redis(queue_type = fifa)"),
        "unknown value `fifa` for `queue_type`; did you mean `fifo`?"
    );
    assert_eq!(
        one("redis(connection(tls(verify_mode = always)))"),
        "unknown value `always` for `verify_mode`; expected one of `peer`, `selfsigned_peer` or `none`"
    );
    assert_eq!(
        one("rdbms(connection(driver = postgres))"),
        "unknown driver `postgres`; expected one of `pgsql`, `mysql`, `odbc` or `cockroachdb`"
    );
}

#[test]
fn unknown_scope() {
    assert_eq!(
        one("redis(scope = hots)"),
        "unknown scope `hots`; did you mean `host`?"
    );
    assert_eq!(
        one("redis(scope = everywhere)"),
        "unknown scope `everywhere`; expected `global`, `host` or a host string such as \"a.com\""
    );
}

#[test]
fn wrong_value_type() {
    assert_eq!(
        one("redis(workers = \"5\")"),
        "expected an integer for `workers`, found \"5\""
    );
    assert_eq!(
        one("redis(connection(host = localhost))"),
        "expected a string for `host`, found `localhost`"
    );
    assert_eq!(
        one("rabbit(connection(confirms_enabled = 1))"),
        "expected `true` or `false` for `confirms_enabled`, found `1`"
    );
    assert_eq!(
        one("ldap(connection(servers = \"a\"))"),
        "expected a list of strings for `servers`, found \"a\""
    );
    assert_eq!(
        one("ldap(connection(servers = [\"a\", 1]))"),
        "expected a list of strings for `servers`, found `1` in the list"
    );
    assert_eq!(
        one("redis(workers = 1.5)"),
        "expected an integer for `workers`, found a float `1.5`"
    );
    assert_eq!(
        one("redis(workers())"),
        "expected an integer for `workers`, found `workers(...)`"
    );
    assert_eq!(
        one("rabbit(connection(reconnect = 5))"),
        "expected `reconnect(...)` for `reconnect`, found `5`"
    );
    assert_eq!(
        one("redis(connection = 5)"),
        "expected `connection(...)` for `connection`, found `5`"
    );
    assert_eq!(
        one("redis(overrun_warning = never)"),
        "expected an integer or `infinity` for `overrun_warning`, found `never`"
    );
    assert_eq!(
        one(r#"hosts = "a.com""#),
        "expected a list of host strings such as `[\"a.com\"]` for `hosts`, found \"a.com\""
    );
    assert_eq!(
        one("redis(tag = 5)"),
        "expected a tag of lowercase letters, digits and `_` for `tag`, found `5`"
    );
}

#[test]
fn out_of_range_numbers() {
    assert_eq!(
        one("redis(workers = 0)"),
        "`workers` must be at least 1, got 0"
    );
    assert_eq!(
        one("redis(workers = -3)"),
        "`workers` must be at least 1, got -3"
    );
    assert_eq!(
        one("redis(connection(port = 70000))"),
        "`port` must be between 1 and 65535, got 70000"
    );
    assert_eq!(
        one("redis(call_timeout = 0)"),
        "`call_timeout` must be at least 1, got 0"
    );
    assert_eq!(
        one("redis(max_worker_queue_len = -1)"),
        "`max_worker_queue_len` must be at least 0, got -1"
    );
    assert_eq!(
        one("cassandra(connection(servers = [{ host = \"a\", port = 0 }]))"),
        "`port` must be between 1 and 65535, got 0"
    );
    assert_eq!(
        one("redis(workers = 99999999999999999999999999999999999999999)"),
        "integer `99999999999999999999999999999999999999999` is too large"
    );
    assert_eq!(
        one("redis(workers = 5u32)"),
        "unexpected suffix `u32` on `5u32`; write a plain integer"
    );
}

#[test]
fn missing_required_key() {
    assert_eq!(
        one("http()"),
        "missing required key `host` in `http` connection"
    );
    assert_eq!(
        one("rdbms(connection())"),
        "missing required key `driver` in `rdbms` connection; expected one of `pgsql`, `mysql`, `odbc` or `cockroachdb`"
    );
    assert_eq!(
        one(r#"rdbms(connection(driver = pgsql, host = "h", database = "d", username = "u"))"#),
        "missing required key `password` in `rdbms` connection (needed by driver `pgsql`)"
    );
    assert_eq!(
        one("rdbms(connection(driver = odbc))"),
        "missing required key `settings` in `rdbms` connection (needed by driver `odbc`)"
    );
}

#[test]
fn paired_keys() {
    assert_eq!(
        one("cassandra(connection(auth(plain(username = \"u\"))))"),
        "`auth.plain.username` needs `auth.plain.password` in `cassandra` connection"
    );
    assert_eq!(
        one("riak(connection(password = \"p\"))"),
        "`password` needs `username` in `riak` connection"
    );
}

#[test]
fn duplicate_key() {
    assert_eq!(
        one("redis(workers = 5, workers = 6)"),
        "duplicate key `workers` in `redis` pool"
    );
    assert_eq!(
        one(r#"riak(connection(host = "a", address = "b"))"#),
        "duplicate key `address` in `riak` connection"
    );
    assert_eq!(
        one("redis(connection(), connection())"),
        "duplicate key `connection` in `redis` pool"
    );
    assert_eq!(
        one(r#"hosts = ["a"], hosts = ["b"]"#),
        "duplicate key `hosts` in `outgoing_pools`"
    );
}

#[test]
fn duplicate_pool() {
    assert_eq!(
        one(r#"hosts = ["a.com"], redis(scope = "a.com"), redis(scope = "a.com", workers = 2)"#),
        "duplicate `redis` pool with tag `default` for host `a.com`"
    );
    assert_eq!(
        one(r#"hosts = ["a.com"], redis(scope = host), redis(scope = host)"#),
        "duplicate `redis` pool with tag `default` for scope `host`"
    );
    // Different tags or scopes are different pools.
    attr_ok(r#"hosts = ["a.com"], redis(), redis(scope = host), redis(tag = other)"#);
}

#[test]
fn literal_scope_must_be_declared() {
    assert_eq!(
        one(r#"hosts = ["a.com", "b.com"], redis(scope = "a.cmo")"#),
        "scope `a.cmo` is not a declared host; did you mean `a.com`?"
    );
    assert_eq!(
        one(r#"hosts = ["a.com", "b.com"], redis(scope = "zzz.org")"#),
        "scope `zzz.org` is not a declared host; declared hosts are `a.com` and `b.com`"
    );
    assert_eq!(
        one(r#"hosts = ["a.com"], redis(scope = "host")"#),
        "scope `host` is not a declared host; for the `host` scope write `scope = host`, without quotes"
    );
    assert_eq!(
        one(r#"redis(scope = "a.com")"#),
        "scope `a.com` is not a declared host; no hosts are declared: add it to `hosts`"
    );
}

#[test]
fn host_scope_needs_hosts() {
    assert_eq!(
        one("redis(scope = host)"),
        "scope `host` needs declared hosts; add `hosts = [...]`"
    );
}

#[test]
fn unparseable_url() {
    let cases = [
        (
            "ftp://x",
            "the scheme must be `http` or `https`; expected `http[s]://host[:port]`",
        ),
        ("https://", "missing host; expected `http[s]://host[:port]`"),
        (
            "http://h:99999",
            "invalid port `99999`; expected 1 to 65535",
        ),
        ("http://h:", "invalid port ``; expected 1 to 65535"),
        (
            "http://h/api",
            "a path belongs in `path_prefix`, not in `host`",
        ),
        ("http://h h", "invalid character ` ` in the host"),
        (
            "http://u:p@h",
            "credentials are not allowed in the URL; expected `http[s]://host[:port]`",
        ),
    ];
    for (url, problem) in cases {
        assert_eq!(
            one(&format!(r#"http(connection(host = "{url}"))"#)),
            format!("invalid URL `{url}` for `host`: {problem}")
        );
    }
    for url in [
        "http://h",
        "https://h:8443",
        "http://[::1]:80",
        "http://10.0.0.1/",
    ] {
        attr_ok(&format!(r#"http(connection(host = "{url}"))"#));
    }
}

#[test]
fn tls_where_the_type_has_none() {
    assert_eq!(
        one("elastic(connection(tls(verify_mode = none)))"),
        "`elastic` pools do not support TLS"
    );
    assert_eq!(
        one("generic(connection(tls()))"),
        "`generic` pools do not support TLS"
    );
}

#[test]
fn max_worker_queue_len_needs_best_worker() {
    assert_eq!(
        one("redis(strategy = random_worker, max_worker_queue_len = 10)"),
        "`max_worker_queue_len` requires `strategy = best_worker`, not `random_worker`"
    );
    attr_ok("redis(strategy = best_worker, max_worker_queue_len = 10)");
    attr_ok("redis(max_worker_queue_len = 10)");
}

#[test]
fn key_unsupported_by_driver() {
    assert_eq!(
        one(&format!(
            "rdbms(connection(driver = mysql, {PG}, tls(required = true)))"
        )),
        "key `tls.required` is not supported by driver `mysql`; it is for `pgsql` and `cockroachdb`"
    );
    assert_eq!(
        one(r#"rdbms(connection(driver = odbc, settings = "DSN=x", host = "h"))"#),
        "key `host` is not supported by driver `odbc`; it is for `pgsql`, `mysql` and `cockroachdb`; with odbc, use `settings` (an ODBC connection string)"
    );
    assert_eq!(
        one(&format!(
            r#"rdbms(connection(driver = pgsql, {PG}, settings = "DSN=x"))"#
        )),
        "key `settings` is not supported by driver `pgsql`; it is for `odbc`"
    );
    assert_eq!(
        one(&format!(
            r#"rdbms(connection(driver = mysql, {PG}, tls(versions = ["tlsv1.3"])))"#
        )),
        "key `tls.versions` is not supported by driver `mysql`; it is for `pgsql` and `cockroachdb`"
    );
    attr_ok(&format!(
        r#"rdbms(connection(driver = pgsql, {PG}, tls(versions = ["tlsv1.3"], ciphers = "TLS13_AES_128_GCM_SHA256")))"#
    ));
    attr_ok(r#"redis(connection(tls(versions = ["tlsv1.3"])))"#);
    assert_eq!(
        one(r#"rdbms(connection(driver = odbc, settings = "DSN=x", tls()))"#),
        "TLS is not supported by driver `odbc`; put the SSL options in the ODBC data source"
    );
}

/// The rule is the table's, for every pool type: each key a row restricts to some connectors
/// is refused, at its key, for each other connector of its types (a connector with no TLS key
/// has its whole `tls` section refused instead).
#[test]
fn every_key_a_connector_cannot_honour_is_refused() {
    use crate::options::{Kind, Level, OPTIONS};
    let mut checked = 0;
    for desc in OPTIONS.iter().filter(|d| !d.connectors.is_empty()) {
        for connector in ConnectorKind::ALL
            .iter()
            .copied()
            .filter(|c| desc.types.contains(&c.pool_type()) && !desc.connectors.contains(c))
        {
            let pool_type = connector.pool_type();
            let driver = connector.driver();
            let has_tls = OPTIONS
                .iter()
                .any(|d| d.level == Level::Tls && d.honoured_by(pool_type, driver));
            if desc.level == Level::Tls && !has_tls {
                continue;
            }
            let connection = match connector {
                ConnectorKind::Pgsql | ConnectorKind::Mysql => format!(
                    "driver = \"{connector}\"\nhost = \"h\"\ndatabase = \"d\"\nusername = \"u\"\npassword = \"p\"\n"
                ),
                ConnectorKind::Odbc => "driver = \"odbc\"\nsettings = \"DSN=x\"\n".to_owned(),
                ConnectorKind::Http => "host = \"http://h\"\n".to_owned(),
                _ => String::new(),
            };
            let value = match desc.kind {
                Kind::Int | Kind::IntOrInfinity => desc.range.map_or(1, |r| r.min).to_string(),
                Kind::Bool => "true".to_owned(),
                Kind::Enum(names) => format!("\"{}\"", names[0]),
                Kind::StrList | Kind::Servers(_) => "[\"x\"]".to_owned(),
                Kind::Url => "\"http://h\"".to_owned(),
                Kind::Str | Kind::Scope | Kind::Tag => "\"x\"".to_owned(),
            };
            let section = match desc.level {
                Level::Tls => "\n[outgoing_pools.t.default.connection.tls]\n",
                _ => "",
            };
            let text = format!(
                "[outgoing_pools.{pool_type}.default.connection]\n{connection}{section}{} = {value}\n",
                desc.name
            )
            .replace("outgoing_pools.t.", &format!("outgoing_pools.{pool_type}."));
            let errors = toml_errors(&text);
            let key = desc.key();
            let expected = format!("key `{key}` is not supported by {}", connector.described());
            assert!(
                errors.iter().any(|e| e.contains(&expected)),
                "{text}\nexpected `{expected}`, got {errors:?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} restrictions checked");
}

/// MongooseIM's `non_empty` and `unique_non_empty`, for every row that has them: an empty
/// string, an empty list and a list repeating an item are errors naming the key.
#[test]
fn empty_strings_and_lists_are_refused() {
    use crate::options::{Kind, Level, OPTIONS};
    let mut checked = 0;
    for desc in OPTIONS.iter().filter(|d| d.non_empty) {
        let pool_type = desc.types[0];
        let connection = match pool_type {
            PoolType::Rdbms => {
                let mut pairs = vec![
                    ("driver", "\"pgsql\""),
                    ("host", "\"h\""),
                    ("database", "\"d\""),
                ];
                pairs.extend([("username", "\"u\""), ("password", "\"p\"")]);
                pairs
                    .into_iter()
                    .filter(|(k, _)| *k != desc.name || desc.level != Level::Connection)
                    .map(|(k, v)| format!("{k} = {v}\n"))
                    .collect()
            }
            PoolType::Http => "host = \"http://h\"\n".to_owned(),
            _ => String::new(),
        };
        let section = match desc.level {
            Level::Tls => format!("\n[outgoing_pools.{pool_type}.default.connection.tls]\n"),
            _ => String::new(),
        };
        // Keys read inside `tls` are named as written there, as every value error names them.
        let key = desc.name;
        let empty = ("[]".to_owned(), "must not be empty".to_owned());
        let cases: Vec<(String, String)> = match desc.kind {
            Kind::Str => vec![("\"\"".into(), "must not be empty".into())],
            Kind::StrList => vec![empty, ("[\"a\", \"a\"]".into(), "lists `a` twice".into())],
            // `"a"` takes the option's own default port.
            Kind::Servers(port) => vec![
                empty,
                (
                    format!("[\"a\", {{ host = \"a\", port = {port} }}]"),
                    format!("lists `a:{port}` twice"),
                ),
            ],
            other => panic!("`{key}`: no empty value of {other:?}"),
        };
        for (value, problem) in &cases {
            let text = format!(
                "[outgoing_pools.{pool_type}.default.connection]\n{connection}{section}{} = {value}\n",
                desc.name
            );
            let errors = toml_errors(&text);
            let expected = format!("`{key}` {problem}");
            assert!(
                errors.iter().any(|e| e.ends_with(&expected)),
                "{text}\nexpected `{expected}`, got {errors:?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} cases");
    // The attribute form reports the same, at the value.
    let (message, line, column) = attr_error(
        "rdbms(connection(driver = pgsql, host = \"h\", database = \"\", username = \"u\", password = \"p\"))",
    );
    assert_eq!(message, "`database` must not be empty");
    assert_eq!((line, column), (1, 56));
    assert_eq!(
        one(r#"ldap(connection(servers = ["a", "b", "a"]))"#),
        "`servers` lists `a` twice"
    );
    assert_eq!(
        one(r#"rabbit(connection(tls(server_name_indication(host = ""))))"#),
        "`server_name_indication.host` must not be empty"
    );
    // A non-empty value and the optional keys without the rule stay valid.
    attr_ok(r#"ldap(connection(servers = ["a", "b"], root_dn = "", password = ""))"#);
    attr_ok(r#"redis(connection(password = ""))"#);
}

/// `driver = cockroachdb` takes pgsql's keys (with `tls.required`) and CockroachDB's port.
#[test]
fn cockroachdb_is_a_driver_of_the_pgsql_connector() {
    let pool = only_pool(&format!(
        "rdbms(connection(driver = cockroachdb, {PG}, tls(required = true)))"
    ));
    assert_eq!(pool.connector, ConnectorKind::Pgsql);
    assert_eq!(pool.get("port"), Some(&Value::Int(26257)));
    assert_eq!(
        one(&format!(
            r#"rdbms(connection(driver = cockroachdb, {PG}, settings = "DSN=x"))"#
        )),
        "key `settings` is not supported by driver `cockroachdb`; it is for `odbc`"
    );
    let missing = attr_errors("rdbms(connection(driver = cockroachdb))");
    assert!(
        missing.contains(
            &"missing required key `host` in `rdbms` connection (needed by driver `cockroachdb`)"
                .to_owned()
        ),
        "{missing:?}"
    );
}

#[test]
fn call_timeout_shorter_than_request_timeout() {
    assert_eq!(
        one(r#"http(call_timeout = 1000, connection(host = "http://h"))"#),
        "`call_timeout` (1000 ms) is shorter than `request_timeout` (2000 ms); calls would time out before their requests"
    );
    assert_eq!(
        one(r#"http(connection(host = "http://h", request_timeout = 9000))"#),
        "`call_timeout` (5000 ms) is shorter than `request_timeout` (9000 ms); calls would time out before their requests"
    );
    attr_ok(r#"http(call_timeout = 2000, connection(host = "http://h"))"#);
    // Read at start: nothing to compare at compile time.
    attr_ok(
        r#"http(call_timeout = 10, connection(host = "http://h", request_timeout = env("T")))"#,
    );
    // `request_timeout = 0` sets no limit of its own (MongooseIM takes it).
    attr_ok(r#"http(call_timeout = 1000, connection(host = "http://h", request_timeout = 0))"#);
    attr_ok(
        r#"rdbms(connection(driver = pgsql, host = "h", database = "d", username = "u", password = "p", query_timeout = 0))"#,
    );
}

#[test]
fn ldap_encrypt_none_with_tls() {
    assert_eq!(
        one("ldap(connection(encrypt = none, tls()))"),
        "`encrypt = none` contradicts the `tls` section; remove one of them"
    );
}

#[test]
fn env_rules() {
    assert_eq!(
        one(r#"redis(workers = env("WORKERS"))"#),
        "`workers` cannot be read from the environment; pool keys are fixed at compile time"
    );
    assert_eq!(
        one(r#"rdbms(connection(driver = env("DRIVER")))"#),
        "`driver` cannot be read from the environment; it selects code at compile time"
    );
    assert_eq!(
        one(r#"redis(connection(host = env("1HOST")))"#),
        "invalid environment variable name `1HOST`; use letters, digits and `_`, not starting with a digit"
    );
    assert_eq!(
        one(r#"redis(connection(port = env("PORT", default = "http")))"#),
        "invalid default for `port`: expected an integer, found `http`"
    );
    assert_eq!(
        one(r#"redis(connection(port = env("PORT", default = 0)))"#),
        "invalid default for `port`: must be between 1 and 65535, got 0"
    );
}

#[test]
fn invalid_tag() {
    assert_eq!(
        one(r#"redis(tag = "Http-Auth")"#),
        "invalid tag `Http-Auth`; a tag is lowercase letters, digits and `_`, as it names the accessor"
    );
}

#[test]
fn host_rules() {
    assert_eq!(
        one(r#"hosts = ["a.com", "a-com"]"#),
        "hosts `a.com` and `a-com` both map to the `Host` variant `ACom`"
    );
    assert_eq!(
        one(r#"hosts = ["a.com", "a.com"]"#),
        "duplicate host `a.com`"
    );
    assert_eq!(
        one(r#"hosts = ["a com"]"#),
        "invalid host `a com`; a host is a non-empty name without spaces"
    );
    assert_eq!(
        one(r#"hosts = ["..."]"#),
        "host `...` has no ASCII letter or digit to name its `Host` variant"
    );
}

#[test]
fn file_is_the_whole_declaration() {
    assert_eq!(
        one(r#"file = "pools.toml", redis()"#),
        "`file` cannot be combined with `hosts` or pool entries; declare them in the file"
    );
}

#[test]
fn all_errors_are_collected() {
    let messages = attr_errors(
        r#"
        hosts = ["a.com"],
        rediss(),
        redis(wrokers = 5, strategy = best_wroker, scope = "b.com",
              connection(port = 0, tls(verify_mode = maybe))),
        http(call_timeout = 10, connection(host = "ftp://x")),
        elastic(connection(tls())),
        rdbms(connection(driver = mysql, tls(required = true))),
        "#,
    );
    assert_eq!(
        messages,
        [
            "unknown pool type `rediss`; did you mean `redis`?",
            "unknown key `wrokers` in `redis` pool; did you mean `workers`?",
            "unknown strategy `best_wroker`; did you mean `best_worker`?",
            "`port` must be between 1 and 65535, got 0",
            "unknown value `maybe` for `verify_mode`; expected one of `peer`, `selfsigned_peer` or `none`",
            "invalid URL `ftp://x` for `host`: the scheme must be `http` or `https`; expected `http[s]://host[:port]`",
            "`elastic` pools do not support TLS",
            "scope `b.com` is not a declared host; did you mean `a.com`?",
            "`call_timeout` (10 ms) is shorter than `request_timeout` (2000 ms); calls would time out before their requests",
            "missing required key `host` in `rdbms` connection (needed by driver `mysql`)",
            "missing required key `database` in `rdbms` connection (needed by driver `mysql`)",
            "missing required key `username` in `rdbms` connection (needed by driver `mysql`)",
            "missing required key `password` in `rdbms` connection (needed by driver `mysql`)",
            "key `tls.required` is not supported by driver `mysql`; it is for `pgsql` and `cockroachdb`",
        ]
    );
}

#[test]
fn syn_error_combines_everything() {
    let errors = attr("redis(wrokers = 1, strategy = x)").unwrap_err();
    let combined = errors.to_syn_error();
    assert_eq!(combined.into_iter().count(), 2);
    let tokens = errors.to_compile_error().to_string();
    assert_eq!(tokens.matches("compile_error").count(), 2);
}

/// The single error of the one-line `src`, asserted to sit on the token right after `before`.
fn error_after(src: &str, before: &str) -> String {
    let (message, line, column) = attr_error(src);
    let at = src.find(before).expect("`before` is in `src`") + before.len();
    assert_eq!(
        (line, column),
        (1, at),
        "{message}\n{src}\n{}^",
        " ".repeat(at)
    );
    message
}

const NEEDS_CLUSTER: &str = "`servers` lists the seed nodes of a Redis Cluster and needs `cluster = true`; a single server goes in `host` and `port`";
const CLUSTER_TLS: &str = "is not supported with `cluster = true`; the Redis Cluster client takes only `tls.cacertfile`, `tls.certfile`, `tls.keyfile`, `tls.password` and `tls.verify_mode` (`peer` or `none`)";

#[test]
fn redis_servers_need_cluster() {
    let src = r#"redis(connection(servers = ["a", "b:7000"]))"#;
    assert_eq!(error_after(src, "connection("), NEEDS_CLUSTER);
    let src = r#"redis(connection(cluster = false, servers = ["a"]))"#;
    assert_eq!(error_after(src, "false, "), NEEDS_CLUSTER);
    // Whether the pool is a cluster is known at start: the runtime applies the rule then.
    attr_ok(r#"redis(connection(servers = ["a"], cluster = env("REDIS_CLUSTER")))"#);
    // A `cluster` value already refused draws no second error.
    assert_eq!(
        one(r#"redis(connection(servers = ["a"], cluster = 1))"#),
        "expected `true` or `false` for `cluster`, found `1`"
    );
}

#[test]
fn redis_cluster_without_sentinels() {
    let src = r#"redis(connection(cluster = true, sentinels = ["s"], master_name = "m"))"#;
    assert_eq!(
        error_after(src, "true, "),
        "`sentinels` cannot be combined with `cluster = true`; a pool follows a Redis Cluster or a master named by Sentinels, not both"
    );
    attr_ok(r#"redis(connection(cluster = false, sentinels = ["s"], master_name = "m"))"#);
}

#[test]
fn redis_cluster_serves_database_0() {
    let src = r#"redis(connection(cluster = true, database = 3))"#;
    assert_eq!(
        error_after(src, "database = "),
        "`database` must be 0 with `cluster = true`, got 3; a Redis Cluster serves database 0 only"
    );
    attr_ok(r#"redis(connection(cluster = true, database = 0))"#);
    attr_ok(r#"redis(connection(cluster = true, database = env("REDIS_DB")))"#);
    attr_ok(r#"redis(connection(database = 3))"#);
}

#[test]
fn redis_sentinels_name_the_master_address() {
    let with =
        |key: &str| format!(r#"redis(connection(sentinels = ["s"], master_name = "m", {key}))"#);
    let host = with(r#"host = "10.0.0.1""#);
    assert_eq!(
        error_after(&host, "\"m\", "),
        "`host` cannot be combined with `sentinels`; the master's address comes from the Sentinels"
    );
    let port = with("port = 6380");
    assert_eq!(
        error_after(&port, "\"m\", "),
        "`port` cannot be combined with `sentinels`; the master's address comes from the Sentinels"
    );
    // Paired: the one needs the other.
    assert_eq!(
        error_after(r#"redis(connection(sentinels = ["s"]))"#, "connection("),
        "`sentinels` needs `master_name` in `redis` connection"
    );
    assert_eq!(
        error_after(r#"redis(connection(master_name = "m"))"#, "connection("),
        "`master_name` needs `sentinels` in `redis` connection"
    );
}

#[test]
fn redis_cluster_seeds_in_servers_or_host() {
    let with = |key: &str| format!(r#"redis(connection(cluster = true, servers = ["a"], {key}))"#);
    let message = |key: &str| {
        format!(
            "`{key}` cannot be combined with `servers`; a Redis Cluster's seed nodes go in `servers`, or a single seed in `host` and `port`"
        )
    };
    assert_eq!(error_after(&with(r#"host = "h""#), "], "), message("host"));
    assert_eq!(error_after(&with("port = 7000"), "], "), message("port"));
    // Without `servers`, `host` and `port` name the one seed node.
    attr_ok(r#"redis(connection(cluster = true, host = "h", port = 7000))"#);
}

#[test]
fn redis_cluster_tls_keys() {
    for key in [
        r#"versions = ["tlsv1.3"]"#,
        r#"ciphers = "HIGH""#,
        r#"crl_files = ["crl.pem"]"#,
        "disconnect_on_failure = false",
    ] {
        let src = format!("redis(connection(cluster = true, tls({key})))");
        let name = key.split(' ').next().unwrap();
        assert_eq!(
            error_after(&src, "tls("),
            format!("`tls.{name}` {CLUSTER_TLS}")
        );
    }
    // Every key of the `server_name_indication` group, at its own token.
    for key in ["enabled = true", r#"host = "sni""#, "protocol = https"] {
        let src = format!("redis(connection(cluster = true, tls(server_name_indication({key}))))");
        let name = key.split(' ').next().unwrap();
        assert_eq!(
            error_after(&src, "server_name_indication("),
            format!("`tls.server_name_indication.{name}` {CLUSTER_TLS}")
        );
    }
    let src = "redis(connection(cluster = true, tls(verify_mode = selfsigned_peer)))";
    assert_eq!(
        error_after(src, "verify_mode = "),
        "`tls.verify_mode` cannot be `selfsigned_peer` with `cluster = true`; the Redis Cluster client takes `peer` or `none`"
    );
    // What the cluster client takes, and the same keys without a cluster.
    attr_ok(
        r#"redis(connection(cluster = true, servers = ["a", "b"], tls(cacertfile = "ca.pem",
            certfile = "c.pem", keyfile = "k.pem", password = "pw", verify_mode = none)))"#,
    );
    attr_ok(r#"redis(connection(cluster = true, tls(verify_mode = peer)))"#);
    attr_ok(r#"redis(connection(cluster = true, tls()))"#);
    attr_ok(
        r#"redis(connection(tls(verify_mode = selfsigned_peer, versions = ["tlsv1.3"],
            server_name_indication(enabled = false))))"#,
    );
}

/// Every topology rule broken at once: each is reported, at its token.
#[test]
fn redis_topology_errors_are_collected() {
    let messages = attr_errors(
        r#"redis(connection(cluster = true, servers = ["a"], sentinels = ["s"], master_name = "m",
                            host = "h", database = 2, tls(ciphers = "HIGH", verify_mode = selfsigned_peer)))"#,
    );
    assert_eq!(
        messages,
        [
            "`sentinels` cannot be combined with `cluster = true`; a pool follows a Redis Cluster or a master named by Sentinels, not both",
            "`host` cannot be combined with `sentinels`; the master's address comes from the Sentinels",
            "`database` must be 0 with `cluster = true`, got 2; a Redis Cluster serves database 0 only",
            &format!("`tls.ciphers` {CLUSTER_TLS}"),
            "`tls.verify_mode` cannot be `selfsigned_peer` with `cluster = true`; the Redis Cluster client takes `peer` or `none`",
        ]
    );
}

/// A single server, a cluster and Sentinels each plan as written.
#[test]
fn redis_topologies_plan() {
    let cluster = only_pool(r#"redis(connection(cluster = true, servers = ["a", "b:7001"]))"#);
    assert_eq!(cluster.get("cluster"), Some(&Value::Bool(true)));
    assert_eq!(
        cluster.get("servers"),
        Some(&Value::Servers(vec![
            Server {
                host: "a".into(),
                port: 6379
            },
            Server {
                host: "b".into(),
                port: 7001
            },
        ]))
    );
    let seed = only_pool(r#"redis(connection(cluster = true, host = "seed"))"#);
    assert_eq!(seed.get("host"), Some(&Value::Str("seed".into())));
    assert_eq!(seed.get("servers"), None);
    let sentinels = only_pool(
        r#"redis(connection(sentinels = ["s1", { host = "s2", port = 5000 }], master_name = "mymaster"))"#,
    );
    assert_eq!(
        sentinels.get("sentinels"),
        Some(&Value::Servers(vec![
            Server {
                host: "s1".into(),
                port: 26379
            },
            Server {
                host: "s2".into(),
                port: 5000
            },
        ]))
    );
    assert_eq!(
        sentinels.get("master_name"),
        Some(&Value::Str("mymaster".into()))
    );
    assert_eq!(sentinels.get("cluster"), Some(&Value::Bool(false)));
}
