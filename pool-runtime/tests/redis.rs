//! The redis connector beside other client crates in one process: one rustls provider.
#![cfg(feature = "redis")]

use pool_runtime::connectors::Redis;

/// Building a redis connector installs ring as the process's default provider (unless one is
/// installed), so a client crate that calls `rustls::ClientConfig::builder()` — redis-rs's
/// cluster client does — cannot panic for want of one; and it is ring, the one provider
/// compiled in.
#[test]
fn building_a_connector_installs_ring_as_the_default_provider() {
    let _ = Redis::new("127.0.0.1", 6379);
    let installed = rustls::crypto::CryptoProvider::get_default().expect("a default provider");
    let ring = rustls::crypto::ring::default_provider();
    let names = |p: &rustls::crypto::CryptoProvider| -> Vec<String> {
        p.cipher_suites
            .iter()
            .map(|s| format!("{:?}", s.suite()))
            .collect()
    };
    assert_eq!(names(installed), names(&ring));
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    assert!(config.enable_sni);
}
