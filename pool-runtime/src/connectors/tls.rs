//! Client TLS for every connector, with rustls: one reading of a declared `tls(...)` section
//! (MongooseIM's `connection.tls.*` keys) into a `rustls::ClientConfig`.
//!
//! | key | meaning |
//! | --- | --- |
//! | `tls.verify_mode` | `peer` (default): verify the chain and the name; `selfsigned_peer`: also accept a certificate that is itself in `cacertfile`; `none`: accept anything (testing only) |
//! | `tls.cacertfile` | PEM CA certificates; without it the system's roots |
//! | `tls.certfile`, `tls.keyfile` | a client certificate and its PEM key |
//! | `tls.password` | the password of an encrypted (PKCS#8) `keyfile` |
//! | `tls.versions` | `["tlsv1.2", "tlsv1.3"]` (default both) |
//! | `tls.ciphers` | `:`-separated suite names, IANA (`TLS_AES_128_GCM_SHA256`) or OpenSSL (`ECDHE-RSA-AES128-GCM-SHA256`) |
//! | `tls.server_name_indication.enabled` | send SNI (default true) |
//! | `tls.server_name_indication.host` | the name to send and verify instead of the connected host |
//! | `tls.server_name_indication.protocol` | `https` or `default`: both accept wildcard certificates, as rustls always matches names the HTTPS way (RFC 6125) |
//!
//! Verification is on unless the declaration says `verify_mode = none`.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::declared::{Settings, StartError};

/// A declared `tls(...)` section, ready for a connector.
#[derive(Clone)]
pub struct Tls {
    /// The rustls configuration.
    pub config: Arc<ClientConfig>,
    /// The name to verify (and send as SNI) instead of the connected host.
    pub server_name: Option<String>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("server_name", &self.server_name)
            .field("sni", &self.config.enable_sni)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// The `tls(...)` section of `settings`, or `None` if it has none.
    pub fn from_settings(settings: &Settings) -> Result<Option<Tls>, StartError> {
        if !settings.has_tls() {
            return Ok(None);
        }
        let provider = Arc::new(provider(settings)?);
        let versions = versions(settings)?;
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| settings.error(format!("`tls.versions`: {e}")))?;
        let roots = roots(settings)?;
        let mode = settings.str("tls.verify_mode").unwrap_or("peer");
        let builder = match mode {
            "peer" | "selfsigned_peer" => {
                let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider.clone(),
                )
                .build()
                .map_err(|e| settings.error(format!("`tls.cacertfile`: {e}")))?;
                if mode == "peer" {
                    builder.with_webpki_verifier(webpki)
                } else {
                    let pinned = match settings.str("tls.cacertfile") {
                        Some(path) => read_certs(settings, "tls.cacertfile", path)?,
                        None => Vec::new(),
                    };
                    builder
                        .dangerous()
                        .with_custom_certificate_verifier(Arc::new(SelfSignedOk { webpki, pinned }))
                }
            }
            "none" => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(
                    provider.signature_verification_algorithms,
                ))),
            other => {
                return Err(settings.error(format!(
                    "`tls.verify_mode` = {other:?}; expected `peer`, `selfsigned_peer` or `none`"
                )));
            }
        };
        let mut config = match (settings.str("tls.certfile"), settings.str("tls.keyfile")) {
            (Some(cert), Some(key)) => {
                let chain = read_certs(settings, "tls.certfile", cert)?;
                let key = read_key(settings, key)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| settings.error(format!("`tls.certfile`/`tls.keyfile`: {e}")))?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => {
                return Err(settings.error("`tls.certfile` and `tls.keyfile` go together"));
            }
        };
        config.enable_sni = settings
            .bool("tls.server_name_indication.enabled")
            .unwrap_or(true);
        Ok(Some(Tls {
            config: Arc::new(config),
            server_name: settings
                .str("tls.server_name_indication.host")
                .map(String::from),
        }))
    }

    /// The name to verify for a connection to `host`.
    pub fn name_for<'a>(&'a self, host: &'a str) -> &'a str {
        self.server_name.as_deref().unwrap_or(host)
    }
}

fn read_certs(
    settings: &Settings,
    key: &str,
    path: &str,
) -> Result<Vec<CertificateDer<'static>>, StartError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| settings.error(format!("`{key}` {path:?}: {e}")))?;
    if certs.is_empty() {
        return Err(settings.error(format!("`{key}` {path:?}: no PEM certificate in it")));
    }
    Ok(certs)
}

/// The client key: plain PEM, or encrypted PKCS#8 opened with `tls.password`.
fn read_key(settings: &Settings, path: &str) -> Result<PrivateKeyDer<'static>, StartError> {
    let fail = |e: &dyn std::fmt::Display| settings.error(format!("`tls.keyfile` {path:?}: {e}"));
    let Some(password) = settings.str("tls.password") else {
        return PrivateKeyDer::from_pem_file(path)
            .map_err(|e| fail(&format!("{e} (an encrypted key needs `tls.password`)")));
    };
    let text = std::fs::read(path).map_err(|e| fail(&e))?;
    let (label, der) = pkcs8::der::pem::decode_vec(&text).map_err(|e| fail(&e))?;
    if label != "ENCRYPTED PRIVATE KEY" {
        return Err(fail(&format!(
            "`tls.password` is set but the file holds a `{label}`, not an encrypted PKCS#8 key"
        )));
    }
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice()).map_err(|e| fail(&e))?;
    let key = info
        .decrypt(password)
        .map_err(|e| fail(&format!("cannot decrypt with `tls.password`: {e}")))?;
    Ok(PrivateKeyDer::Pkcs8(key.as_bytes().to_vec().into()))
}

fn roots(settings: &Settings) -> Result<RootCertStore, StartError> {
    let mut roots = RootCertStore::empty();
    match settings.str("tls.cacertfile") {
        Some(path) => {
            for cert in read_certs(settings, "tls.cacertfile", path)? {
                roots
                    .add(cert)
                    .map_err(|e| settings.error(format!("`tls.cacertfile` {path:?}: {e}")))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
    }
    Ok(roots)
}

fn versions(
    settings: &Settings,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, StartError> {
    let Some(list) = settings.list("tls.versions") else {
        return Ok(rustls::ALL_VERSIONS.to_vec());
    };
    list.iter()
        .map(
            |v| match v.to_ascii_lowercase().replace(['.', '_'], "").as_str() {
                "tlsv12" | "tls12" => Ok(&rustls::version::TLS12),
                "tlsv13" | "tls13" => Ok(&rustls::version::TLS13),
                _ => Err(settings.error(format!(
                    "`tls.versions`: unsupported version {v:?}; expected `tlsv1.2` or `tlsv1.3`"
                ))),
            },
        )
        .collect()
}

/// The ring provider, narrowed to `tls.ciphers` when given.
fn provider(settings: &Settings) -> Result<CryptoProvider, StartError> {
    let mut provider = rustls::crypto::ring::default_provider();
    let Some(ciphers) = settings.str("tls.ciphers") else {
        return Ok(provider);
    };
    let all = provider.cipher_suites.clone();
    let name_of = |s: &rustls::SupportedCipherSuite| format!("{:?}", s.suite());
    let mut chosen = Vec::new();
    for wanted in ciphers
        .split([':', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let iana = openssl_to_iana(wanted);
        match all
            .iter()
            .find(|s| name_of(s) == iana || name_of(s) == wanted)
        {
            Some(s) => chosen.push(*s),
            None => {
                let known: Vec<_> = all.iter().map(name_of).collect();
                return Err(settings.error(format!(
                    "`tls.ciphers`: unknown or unsupported suite {wanted:?}; supported: {}",
                    known.join(", ")
                )));
            }
        }
    }
    provider.cipher_suites = chosen;
    Ok(provider)
}

/// `ECDHE-RSA-AES128-GCM-SHA256` → `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`, the names
/// rustls uses; TLS 1.3 names are the same in both.
fn openssl_to_iana(name: &str) -> String {
    let parts: Vec<&str> = name.split('-').collect();
    let (kx, rest) = match parts.as_slice() {
        ["ECDHE", "RSA", rest @ ..] => ("ECDHE_RSA", rest),
        ["ECDHE", "ECDSA", rest @ ..] => ("ECDHE_ECDSA", rest),
        _ => return name.to_string(),
    };
    let cipher = match rest {
        ["AES128", "GCM", "SHA256"] => "AES_128_GCM_SHA256",
        ["AES256", "GCM", "SHA384"] => "AES_256_GCM_SHA384",
        ["CHACHA20", "POLY1305"] => "CHACHA20_POLY1305_SHA256",
        _ => return name.to_string(),
    };
    format!("TLS_{kx}_WITH_{cipher}")
}

/// `verify_mode = selfsigned_peer`: the normal verification, or else a certificate that is
/// exactly one of those in `cacertfile`.
#[derive(Debug)]
struct SelfSignedOk {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for SelfSignedOk {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Ok(ok) => Ok(ok),
            Err(_)
                if self
                    .pinned
                    .iter()
                    .any(|c| c.as_ref() == end_entity.as_ref()) =>
            {
                Ok(ServerCertVerified::assertion())
            }
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// `verify_mode = none`: signatures are still checked (the handshake needs them), the
/// certificate is not.
#[derive(Debug)]
struct NoVerification(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::declared::Value;

    fn settings(values: Vec<(&'static str, Value)>) -> Settings {
        Settings::new("t", values)
    }

    #[test]
    fn no_tls_section_means_no_tls() {
        assert!(Tls::from_settings(&settings(vec![])).unwrap().is_none());
    }

    #[test]
    fn options_are_read() {
        let s = settings(vec![
            ("tls.verify_mode", Value::Str("none".into())),
            ("tls.server_name_indication.enabled", Value::Bool(false)),
            (
                "tls.server_name_indication.host",
                Value::Str("db.internal".into()),
            ),
            ("tls.versions", Value::List(vec!["tlsv1.3".into()])),
            ("tls.ciphers", Value::Str("TLS13_AES_128_GCM_SHA256".into())),
        ]);
        let tls = Tls::from_settings(&s).unwrap().unwrap();
        assert!(!tls.config.enable_sni);
        assert_eq!(tls.name_for("10.0.0.1"), "db.internal");
    }

    #[test]
    fn bad_values_are_start_errors() {
        let err = |k, v| {
            Tls::from_settings(&settings(vec![(k, v)]))
                .unwrap_err()
                .to_string()
        };
        assert!(
            err("tls.cacertfile", Value::Str("/nonexistent.pem".into()))
                .contains("`tls.cacertfile` \"/nonexistent.pem\"")
        );
        assert!(
            err("tls.versions", Value::List(vec!["sslv3".into()])).contains("unsupported version")
        );
        assert!(
            err("tls.ciphers", Value::Str("RC4-MD5".into()))
                .contains("unknown or unsupported suite")
        );
        assert!(err("tls.certfile", Value::Str("a.pem".into())).contains("go together"));
    }

    #[test]
    fn an_encrypted_client_key_opens_with_its_password() {
        let dir = std::env::temp_dir().join(format!("op-tls-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
        let openssl = |args: &[&str]| {
            let ok = std::process::Command::new("openssl")
                .args(args)
                .status()
                .unwrap()
                .success();
            assert!(ok, "openssl {args:?}");
        };
        let k = key.to_str().unwrap();
        openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-aes-256-cbc",
            "-pass",
            "pass:s3cret",
            "-out",
            k,
        ]);
        openssl(&[
            "req",
            "-x509",
            "-key",
            k,
            "-passin",
            "pass:s3cret",
            "-subj",
            "/CN=client",
            "-days",
            "1",
            "-out",
            cert.to_str().unwrap(),
        ]);
        let with = |password: Option<&str>| {
            let mut v = vec![
                ("tls.verify_mode", Value::Str("none".into())),
                ("tls.certfile", Value::Str(cert.to_str().unwrap().into())),
                ("tls.keyfile", Value::Str(k.into())),
            ];
            if let Some(p) = password {
                v.push(("tls.password", Value::Str(p.into())));
            }
            Tls::from_settings(&settings(v)).map(|t| t.is_some())
        };
        assert!(with(Some("s3cret")).unwrap());
        let wrong = with(Some("nope")).unwrap_err().to_string();
        assert!(
            wrong.contains("cannot decrypt with `tls.password`"),
            "{wrong}"
        );
        assert!(
            !wrong.contains("nope"),
            "the password is not echoed: {wrong}"
        );
        let missing = with(None).unwrap_err().to_string();
        assert!(missing.contains("needs `tls.password`"), "{missing}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn openssl_names_map_to_rustls_names() {
        assert_eq!(
            openssl_to_iana("ECDHE-RSA-AES128-GCM-SHA256"),
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        );
        let s = settings(vec![
            ("tls.verify_mode", Value::Str("none".into())),
            (
                "tls.ciphers",
                Value::Str("ECDHE-ECDSA-AES256-GCM-SHA384:TLS13_AES_256_GCM_SHA384".into()),
            ),
        ]);
        assert!(Tls::from_settings(&s).unwrap().is_some());
    }
}
