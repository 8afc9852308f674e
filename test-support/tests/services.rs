//! Every service of the contract answers where the variables say (run under `cargo xtask test`,
//! or after `cargo xtask services up`). Only connects and asks `ctl status`: other tests may be
//! using the servers at the same time.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;
use test_support::*;

fn answers(host: &str, port: u16) {
    let addr = (host, port)
        .to_socket_addrs()
        .expect("resolvable address")
        .next()
        .expect("an address");
    TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{host}:{port} does not answer: {e}"));
}

fn host_port(url: &str) -> (String, u16) {
    let rest = url.split_once("://").expect("a URL").1;
    let authority = rest.split('/').next().unwrap();
    let hostport = authority.rsplit('@').next().unwrap();
    let (h, p) = hostport.rsplit_once(':').expect("a port in the URL");
    (h.to_string(), p.parse().expect("a numeric port"))
}

#[test]
fn sql_servers_answer() {
    for service in [PG, PG_TLS, MYSQL, MYSQL_TLS] {
        let Some(s) = require_or_skip(service) else {
            continue;
        };
        answers(&s.host, s.port);
        assert_eq!(s.user, "pool");
        if let Some(data) = &s.data {
            assert!(data.is_absolute(), "{}", data.display());
        }
    }
}

#[test]
fn throwaway_servers_have_working_control_scripts() {
    for service in [PG_TLS, MYSQL_TLS] {
        if require_or_skip(service).is_some() {
            ctl(service, "status");
        }
    }
    if require_or_skip(REDIS_TLS).is_some() {
        ctl(REDIS_TLS, "status");
    }
    for cluster in [REDIS_CLUSTER, REDIS_CLUSTER_TLS] {
        if let Some(c) = require_or_skip(cluster) {
            c.ctl("status");
        }
    }
    if let Some(s) = require_or_skip(REDIS_SENTINEL) {
        s.ctl("status");
    }
    if let Some(l) = require_or_skip(LDAP) {
        l.ctl("status");
    }
}

#[test]
fn redis_amqp_and_ldap_answer() {
    for service in [REDIS, REDIS_TLS] {
        if let Some(r) = require_or_skip(service) {
            answers(&r.host, r.port);
            assert_eq!(host_port(&r.url()), (r.host.clone(), r.port));
        }
    }
    for (cluster, nodes) in [(REDIS_CLUSTER, 6), (REDIS_CLUSTER_TLS, 3)] {
        if let Some(c) = require_or_skip(cluster) {
            assert_eq!(c.nodes.len(), nodes);
            for (h, p) in &c.nodes {
                answers(h, *p);
            }
        }
    }
    if let Some(s) = require_or_skip(REDIS_SENTINEL) {
        answers(&s.sentinel.0, s.sentinel.1);
        for (h, p) in &s.nodes {
            answers(h, *p);
        }
    }
    if let Some(r) = require_or_skip(REDIS_TLS) {
        assert!(r.user.is_some(), "the TLS server has an ACL user");
    }
    if let Some(a) = require_or_skip(AMQP) {
        answers(&a.host, a.port);
    }
    if let Some(l) = require_or_skip(LDAP) {
        for url in [&l.url, &l.tls_url] {
            let (h, p) = host_port(url);
            answers(&h, p);
        }
    }
}

#[test]
fn tls_files_and_odbc_dsn_exist() {
    if let Some(t) = require_or_skip(TLS) {
        for f in [&t.ca, &t.wrong_ca, &t.cert, &t.key] {
            let pem = std::fs::read_to_string(f).unwrap();
            assert!(pem.contains("-----BEGIN"), "{} is not PEM", f.display());
        }
    }
    if let Some(o) = require_or_skip(ODBC) {
        let ini = std::fs::read_to_string("/etc/odbc.ini").unwrap_or_default();
        assert!(
            ini.contains(&format!("[{}]", o.dsn)),
            "DSN {} not in /etc/odbc.ini",
            o.dsn
        );
    }
}

#[test]
fn service_locks_share_and_exclude() {
    // Two users at once, then a restarter alone: would hang if shared locks excluded each other.
    let a = lock_shared(REDIS_TLS);
    let b = lock_shared(REDIS_TLS);
    drop((a, b));
    let alone = lock_exclusive(REDIS_TLS);
    drop(alone);
}
