use super::*;

/// The seed's example: redis for a.com, for `host` and for c.eu over a.com, b.com, c.eu, d.eu.
#[test]
fn seed_expansion() {
    let plan = plan(&attr_ok(
        r#"
        hosts = ["a.com", "b.com", "c.eu", "d.eu"],
        redis(scope = "a.com", connection(host = "domain1")),
        redis(scope = host, connection(host = "shared")),
        redis(scope = "c.eu", connection(host = "domain2")),
        "#,
    ));
    assert_eq!(plan.groups.len(), 1);
    let group = &plan.groups[0];
    assert_eq!(group.accessor_name, "redis");
    assert!(group.global.is_none());
    assert!(group.uniform);
    assert!(group.unserved_hosts.is_empty());
    let expanded: Vec<(&str, PoolOrigin, &Value)> = group
        .per_host
        .iter()
        .map(|(h, p)| (h.as_str(), p.origin, p.get("host").unwrap()))
        .collect();
    let s = |v: &str| Value::Str(v.into());
    assert_eq!(
        expanded,
        [
            ("a.com", PoolOrigin::Literal, &s("domain1")),
            ("b.com", PoolOrigin::Expanded, &s("shared")),
            ("c.eu", PoolOrigin::Literal, &s("domain2")),
            ("d.eu", PoolOrigin::Expanded, &s("shared")),
        ]
    );
    for (host, pool) in &group.per_host {
        assert_eq!(pool.host.as_deref(), Some(host.as_str()));
    }
}

#[test]
fn host_lookup_falls_back_to_global() {
    let plan = plan(&attr_ok(
        r#"
        hosts = ["a.com", "b.com"],
        rdbms(connection(driver = odbc, settings = "DSN=global")),
        rdbms(scope = "a.com", connection(driver = odbc, settings = "DSN=a")),
        http(tag = auth, scope = "a.com", connection(host = "http://a")),
        "#,
    ));
    let rdbms = plan.group(PoolType::Rdbms, "default").unwrap();
    assert!(rdbms.is_per_host());
    assert_eq!(
        rdbms.resolve("a.com").unwrap().get("settings"),
        Some(&Value::Str("DSN=a".into()))
    );
    let fallback = rdbms.resolve("b.com").unwrap();
    assert_eq!(fallback.host, None);
    assert_eq!(fallback.origin, PoolOrigin::Global);
    assert!(rdbms.unserved_hosts.is_empty());

    let http = plan.group(PoolType::Http, "auth").unwrap();
    assert_eq!(http.accessor_name, "http_auth");
    assert!(http.resolve("a.com").is_some());
    assert!(http.resolve("b.com").is_none());
    assert_eq!(http.unserved_hosts, ["b.com"]);
}

#[test]
fn uniformity() {
    let plan = plan(&attr_ok(
        r#"
        hosts = ["a.com", "b.com"],
        redis(scope = "a.com", strategy = random_worker),
        redis(scope = host),
        rdbms(connection(driver = odbc, settings = "x")),
        rdbms(scope = "b.com", connection(driver = mysql, host = "h", database = "d", username = "u", password = "p")),
        generic(scope = host, strategy = next_worker),
        "#,
    ));
    assert!(!plan.group(PoolType::Redis, "default").unwrap().uniform);
    let rdbms = plan.group(PoolType::Rdbms, "default").unwrap();
    assert!(!rdbms.uniform);
    let connectors: Vec<ConnectorKind> = rdbms.pools().map(|p| p.connector).collect();
    assert_eq!(connectors, [ConnectorKind::Odbc, ConnectorKind::Mysql]);
    assert!(plan.group(PoolType::Generic, "default").unwrap().uniform);
}

#[test]
fn accessor_names() {
    assert_eq!(accessor_name(PoolType::Redis, "default"), "redis");
    assert_eq!(accessor_name(PoolType::Http, "http_auth"), "http_http_auth");
    assert_eq!(accessor_name(PoolType::Generic, "push"), "generic_push");
}

#[test]
fn host_variants() {
    assert_eq!(host_variant("a.com").as_deref(), Some("ACom"));
    assert_eq!(host_variant("c.eu").as_deref(), Some("CEu"));
    assert_eq!(
        host_variant("xmpp.my-server.org").as_deref(),
        Some("XmppMyServerOrg")
    );
    assert_eq!(host_variant("1.example").as_deref(), Some("H1Example"));
    assert_eq!(host_variant("self").as_deref(), Some("SelfHost"));
    assert_eq!(host_variant("..."), None);
    let plan = plan(&attr_ok(r#"hosts = ["a.com", "c.eu"]"#));
    assert_eq!(
        plan.hosts,
        [
            PlannedHost {
                name: "a.com".into(),
                variant: "ACom".into()
            },
            PlannedHost {
                name: "c.eu".into(),
                variant: "CEu".into()
            }
        ]
    );
}

#[test]
fn plan_display() {
    let plan = plan(&attr_ok(
        r#"hosts = ["a.com"], redis(scope = host, connection(password = "pw")), generic(tag = push)"#,
    ));
    assert_eq!(
        plan.to_string(),
        "hosts: a.com (ACom)\n\
         redis tag default -> `redis`\n  \
         a.com: Redis workers=10 strategy=best_worker call_timeout=5000ms queue_type=fifo host = \"127.0.0.1\" port = 6379 database = 0 password = \"***\" cluster = false\n\
         generic tag push -> `generic_push`\n  \
         global: Generic workers=10 strategy=best_worker call_timeout=5000ms queue_type=fifo"
    );
}

#[test]
fn recovered_declarations_still_plan() {
    let tokens: proc_macro2::TokenStream =
        r#"hosts = ["a.com"], redis(wrokers = 1), http(), rdbms(connection(driver = nope))"#
            .parse()
            .unwrap();
    let (decl, errors) = parse_attr_recover(tokens);
    assert_eq!(errors.len(), 3, "{errors}");
    let plan = plan(&decl);
    assert_eq!(plan.groups.len(), 3);
}

#[test]
fn validate_hand_built_declaration() {
    let mut decl = attr_ok(r#"hosts = ["a.com"], redis(scope = "a.com")"#);
    assert!(validate(&decl).is_ok());
    decl.hosts.clear();
    assert_eq!(
        validate(&decl).unwrap_err().messages(),
        ["scope `a.com` is not a declared host; no hosts are declared: add it to `hosts`"]
    );
}
