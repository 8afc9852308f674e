use super::attr_form::DESIGN_EXAMPLE;
use super::*;

pub(super) const DESIGN_EXAMPLE_TOML: &str = r#"
[general]
  hosts = ["a.com", "b.com", "c.eu", "d.eu"]
  loglevel = "warning"

[outgoing_pools.redis.default]
  scope = "host"
  strategy = "random_worker"
  connection.host = "10.0.0.2"

[outgoing_pools.rdbms.default]
  workers = 5
  [outgoing_pools.rdbms.default.connection]
    driver = "pgsql"
    host = "localhost"
    database = "mydb"
    username = "mim"
    password = { env = "DB_PASSWORD" }
    keepalive_interval = 30
    tls.required = true
    tls.cacertfile = "certs/ca.pem"

[outgoing_pools.http.http_auth]
  strategy = "available_worker"
  call_timeout = 5000
  connection = { host = "https://auth.example.com:8080", path_prefix = "/api", request_timeout = 2000 }

[outgoing_pools.generic.push]
  workers = 20

[modules.mod_ping]
  send_pings = true

[[host_config]]
  host = "a.com"
  [host_config.outgoing_pools.redis.default]
    workers = 5
    connection.host = "10.0.0.1"
"#;

#[test]
fn both_forms_give_the_same_plan() {
    let from_attr = plan(&attr_ok(DESIGN_EXAMPLE));
    let from_toml = plan(&toml_ok(DESIGN_EXAMPLE_TOML));
    assert_eq!(from_attr, from_toml);
    assert_eq!(from_toml.groups.len(), 4);
}

#[test]
fn single_host_scope_and_top_level_hosts() {
    let text = r#"
hosts = ["a.com", "b.com", "c.eu", "d.eu"]

[outgoing_pools.redis.default]
  scope = "single_host"
  host = "a.com"
  workers = 5
  connection.host = "10.0.0.1"
"#;
    let attr_form = r#"hosts = ["a.com", "b.com", "c.eu", "d.eu"],
        redis(scope = "a.com", workers = 5, connection(host = "10.0.0.1"))"#;
    assert_eq!(plan(&toml_ok(text)), plan(&attr_ok(attr_form)));
}

#[test]
fn host_type_scope_and_tls_table() {
    let decl = toml_ok(
        r#"
[general]
  hosts = ["a.com"]
[outgoing_pools.ldap.auth]
  scope = "host_type"
  [outgoing_pools.ldap.auth.connection]
    servers = ["l1", "l2"]
    password = { env = "LDAP_PASSWORD", default = "secret" }
    port = { env = "LDAP_PORT", default = 1636 }
    [outgoing_pools.ldap.auth.connection.tls]
      verify_mode = "none"
      server_name_indication.enabled = false
[outgoing_pools.cassandra.default.connection]
  servers = [{ host = "c1" }, { host = "c2", port = 9043 }, "c3"]
  auth.plain.username = "u"
  auth.plain.password = "p"
[outgoing_pools.generic.default]
  overrun_warning = "infinity"
"#,
    );
    let ldap = &decl.pools[0];
    assert_eq!(ldap.scope.value, Scope::Host);
    assert_eq!(ldap.tag.value, "auth");
    assert_eq!(
        ldap.get(Level::Connection, "port").unwrap().value.value,
        Value::Env {
            name: "LDAP_PORT".into(),
            default: Some("1636".into())
        }
    );
    assert_eq!(
        ldap.get(Level::Tls, "server_name_indication.enabled")
            .unwrap()
            .value
            .value,
        Value::Bool(false)
    );
    let cassandra = &decl.pools[1];
    assert_eq!(
        cassandra
            .get(Level::Connection, "servers")
            .unwrap()
            .value
            .value
            .to_string(),
        r#"[{ host = "c1", port = 9042 }, { host = "c2", port = 9043 }, { host = "c3", port = 9042 }]"#
    );
    let plan = plan(&decl);
    assert_eq!(
        plan.group(PoolType::Ldap, "auth").unwrap().per_host[0].0,
        "a.com"
    );
}

#[test]
fn errors_name_file_line_column_and_key() {
    let text = r#"[general]
  hosts = ["a.com"]

[outgoing_pools.redis.default]
  wrokers = 5
  strategy = "best_wroker"
  connection.port = "6379"

[outgoing_pools.rediss.default]

[outgoing_pools.http.default]
  scope = "single_host"
  host = "a.cmo"
  [outgoing_pools.http.default.connection]
    host = "ftp://x"
    tls.verify_mode = "sometimes"
"#;
    assert_eq!(
        toml_errors(text),
        [
            "pools.toml:5:3: unknown key `wrokers` in `[outgoing_pools.redis.default]`; did you mean `workers`?",
            "pools.toml:6:14: unknown strategy `best_wroker`; did you mean `best_worker`?",
            "pools.toml:7:21: expected an integer for `port`, found \"6379\"",
            "pools.toml:9:17: unknown pool type `rediss`; did you mean `redis`?",
            "pools.toml:15:12: invalid URL `ftp://x` for `host`: the scheme must be `http` or `https`; expected `http[s]://host[:port]`",
            "pools.toml:16:23: unknown value `sometimes` for `verify_mode`; expected one of `peer`, `selfsigned_peer` or `none`",
            "pools.toml:13:10: scope `a.cmo` is not a declared host; did you mean `a.com`?",
        ]
    );
}

#[test]
fn scope_strings_are_keywords_in_toml() {
    assert_eq!(
        toml_errors("[outgoing_pools.redis.default]\nscope = \"a.com\"\n"),
        [
            "pools.toml:2:9: unknown scope `a.com`; expected one of `global`, `host`, `host_type` or `single_host` (one host takes `scope = \"single_host\"` and `host = \"...\"`)"
        ]
    );
}

#[test]
fn missing_key_points_at_the_section() {
    assert_eq!(
        toml_errors("\n[outgoing_pools.http.default]\n  workers = 2\n"),
        [
            "pools.toml:2:22: missing required key `host` in `[outgoing_pools.http.default.connection]`"
        ]
    );
}

#[test]
fn syntax_errors() {
    let errors = toml_errors("[outgoing_pools.redis.default]\nworkers = = 5\n");
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("pools.toml:2:11: invalid TOML: "),
        "{errors:?}"
    );
    let errors = toml_errors("[a]\nx = 1\n[a]\n");
    assert!(errors[0].starts_with("pools.toml:3:"), "{errors:?}");
    // Every broken line is reported, once, and nothing that only follows from them.
    let errors = toml_errors(
        "[outgoing_pools.redis.default]\nworkers = = 5\nconnection.host = 10.0.0.1\n\
         [outgoing_pools.http.default]\n",
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("pools.toml:2:11: invalid TOML: "),
        "{errors:?}"
    );
    assert!(errors[1].starts_with("pools.toml:3:"), "{errors:?}");
}

#[test]
fn toml_structure_rules() {
    assert_eq!(
        toml_errors("[outgoing_pool.redis.default]\n"),
        ["pools.toml:1:2: unknown top-level key `outgoing_pool`; did you mean `outgoing_pools`?"]
    );
    assert_eq!(
        toml_errors(
            "hosts = [\"a.com\"]\n[outgoing_pools.redis.default]\nscope = \"single_host\"\n"
        ),
        [
            "pools.toml:3:9: missing required key `host` in `[outgoing_pools.redis.default]`: `scope = \"single_host\"` needs it"
        ]
    );
    assert_eq!(
        toml_errors("[outgoing_pools.redis.default]\nhost = \"a.com\"\n"),
        [
            "pools.toml:2:1: `host` is only allowed with `scope = \"single_host\"`; connection hosts belong in `connection`"
        ]
    );
    assert_eq!(
        toml_errors(
            "hosts = [\"a.com\"]\n[[host_config]]\nhost = \"a.com\"\n[host_config.outgoing_pools.redis.default]\nscope = \"global\"\n"
        ),
        [
            "pools.toml:5:1: `scope` is not allowed in a `host_config` pool; the pool is for host `a.com`"
        ]
    );
    assert_eq!(
        toml_errors("[outgoing_pools.redis.default]\ntag = \"x\"\n"),
        ["pools.toml:2:1: `tag` is not allowed here; the tag is the section name (`default`)"]
    );
    assert_eq!(
        toml_errors("[outgoing_pools.redis.Main]\n"),
        [
            "pools.toml:1:23: invalid tag `Main`; a tag is lowercase letters, digits and `_`, as it names the accessor"
        ]
    );
    assert_eq!(
        toml_errors("[[host_config]]\n[host_config.outgoing_pools.redis.default]\n"),
        ["pools.toml:1:1: missing required key `host` in `[[host_config]]`"]
    );
    assert_eq!(
        toml_errors("[outgoing_pools.redis.default]\nscope = \"hots\"\n"),
        ["pools.toml:2:9: unknown scope `hots`; did you mean `host`?"]
    );
    assert_eq!(
        toml_errors("[outgoing_pools.redis.default.connection]\nhost = { env = 5 }\n"),
        [
            "pools.toml:2:10: expected `{ env = \"NAME\" }` or `{ env = \"NAME\", default = \"...\" }`"
        ]
    );
    assert_eq!(
        toml_errors(
            "[general]\nhosts = [\"a\"]\n[outgoing_pools.redis.default]\nscope = \"single_host\"\nhost = \"a\"\n[[host_config]]\nhost = \"a\"\n[host_config.outgoing_pools.redis.default]\n"
        ),
        ["pools.toml:8:35: duplicate `redis` pool with tag `default` for host `a`"]
    );
}

#[test]
fn file_errors_become_syn_errors_with_location() {
    let errors = parse_toml("[outgoing_pools.redis.default]\nwrokers = 1\n", "p.toml").unwrap_err();
    let error = errors.to_syn_error();
    assert_eq!(
        error.to_string(),
        "p.toml:2:1: unknown key `wrokers` in `[outgoing_pools.redis.default]`; did you mean `workers`?"
    );
    let loc = errors.iter().next().unwrap().loc().file().unwrap().clone();
    assert_eq!((loc.line, loc.column), (2, 1));
}

/// MongooseIM 6's dynamic domains: `host_types` beside `hosts`, `scope = "host_type"` pools
/// expanded over both, and `[[host_config]]` sections keyed by `host_type` (the form of
/// MongooseIM's `mongooseim-pgsql.toml` and `config_parser_SUITE`); the attribute form says
/// the same with `host_types = [...]` and `scope = "type1"`.
#[test]
fn host_types_are_served_like_hosts() {
    let text = r#"
[general]
  hosts = ["localhost"]
  host_types = ["type1", "type2"]
[outgoing_pools.redis.default]
  scope = "host_type"
  connection.host = "10.0.0.2"
[[host_config]]
  host_type = "type1"
  [host_config.outgoing_pools.redis.default.connection]
    host = "10.0.0.1"
"#;
    let from_toml = plan(&toml_ok(text));
    let hosts: Vec<&str> = from_toml.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(hosts, ["localhost", "type1", "type2"]);
    let group = &from_toml.groups[0];
    let host_of = |h: &str| {
        group
            .resolve(h)
            .and_then(|p| p.get("host"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    assert_eq!(host_of("type1").as_deref(), Some("10.0.0.1"));
    assert_eq!(host_of("type2").as_deref(), Some("10.0.0.2"));
    assert_eq!(host_of("localhost").as_deref(), Some("10.0.0.2"));

    let from_attr = plan(&attr_ok(
        r#"hosts = ["localhost"], host_types = ["type1", "type2"],
           redis(scope = host, connection(host = "10.0.0.2")),
           redis(scope = "type1", connection(host = "10.0.0.1"))"#,
    ));
    assert_eq!(from_toml, from_attr);

    // Each list once; a host type is a host name, so the two lists may not repeat one.
    let errors = toml_errors(
        "[general]\nhost_types = [\"t\"]\nhosts = [\"t\"]\n[outgoing_pools.redis.default]\n",
    );
    assert!(errors.iter().any(|e| e.contains("`t`")), "{errors:?}");
    let errors = toml_errors("host_types = [\"t\"]\n[general]\nhost_types = [\"u\"]\n");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("duplicate key `host_types`")),
        "{errors:?}"
    );
}

/// The redis topology rules in a file: each error names the file, the line and column of its
/// token, and the key.
#[test]
fn redis_topology_rules() {
    let text = r#"[outgoing_pools.redis.plain.connection]
  servers = ["a", "b:7000"]
[outgoing_pools.redis.sentinel.connection]
  cluster = true
  sentinels = [{ host = "s" }]
  master_name = "m"
  port = 6380
  database = 1
[outgoing_pools.redis.seeds.connection]
  cluster = true
  servers = ["a"]
  host = "h"
  [outgoing_pools.redis.seeds.connection.tls]
    crl_files = ["crl.pem"]
    server_name_indication.enabled = false
    verify_mode = "selfsigned_peer"
"#;
    let cluster_tls = "is not supported with `cluster = true`; the Redis Cluster client takes only `tls.cacertfile`, `tls.certfile`, `tls.keyfile`, `tls.password` and `tls.verify_mode` (`peer` or `none`)";
    assert_eq!(
        toml_errors(text),
        [
            "pools.toml:2:3: `servers` lists the seed nodes of a Redis Cluster and needs `cluster = true`; a single server goes in `host` and `port`".to_owned(),
            "pools.toml:5:3: `sentinels` cannot be combined with `cluster = true`; a pool follows a Redis Cluster or a master named by Sentinels, not both".to_owned(),
            "pools.toml:7:3: `port` cannot be combined with `sentinels`; the master's address comes from the Sentinels".to_owned(),
            "pools.toml:8:14: `database` must be 0 with `cluster = true`, got 1; a Redis Cluster serves database 0 only".to_owned(),
            "pools.toml:12:3: `host` cannot be combined with `servers`; a Redis Cluster's seed nodes go in `servers`, or a single seed in `host` and `port`".to_owned(),
            format!("pools.toml:14:5: `tls.crl_files` {cluster_tls}"),
            format!("pools.toml:15:28: `tls.server_name_indication.enabled` {cluster_tls}"),
            "pools.toml:16:19: `tls.verify_mode` cannot be `selfsigned_peer` with `cluster = true`; the Redis Cluster client takes `peer` or `none`".to_owned(),
        ]
    );
}

/// The valid topologies read from a file as from the attribute.
#[test]
fn redis_topologies_in_toml() {
    let text = r#"[outgoing_pools.redis.cluster.connection]
  cluster = true
  servers = ["a", { host = "b", port = 7001 }]
  [outgoing_pools.redis.cluster.connection.tls]
    cacertfile = "ca.pem"
    verify_mode = "none"
[outgoing_pools.redis.seed.connection]
  cluster = true
  host = "seed"
[outgoing_pools.redis.sentinel.connection]
  sentinels = ["s1", "s2:5000"]
  master_name = "mymaster"
"#;
    let attr_form = r#"
        redis(tag = cluster, connection(cluster = true, servers = ["a", { host = "b", port = 7001 }],
                                        tls(cacertfile = "ca.pem", verify_mode = none))),
        redis(tag = seed, connection(cluster = true, host = "seed")),
        redis(tag = sentinel, connection(sentinels = ["s1", "s2:5000"], master_name = "mymaster")),
    "#;
    assert_eq!(plan(&toml_ok(text)), plan(&attr_ok(attr_form)));
    let sentinel = toml_ok(text).pools[2].clone();
    assert_eq!(
        sentinel
            .get(Level::Connection, "sentinels")
            .unwrap()
            .value
            .to_string(),
        r#"[{ host = "s1", port = 26379 }, { host = "s2", port = 5000 }]"#
    );
}
