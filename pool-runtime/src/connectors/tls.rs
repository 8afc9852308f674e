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
//! | `tls.crl_files` | PEM revocation lists: a server certificate (or intermediate) they revoke fails verification |
//! | `tls.disconnect_on_failure` | `false`: a certificate that fails verification is logged (a warning naming the pool and the reason) and the connection goes on; default `true` |
//! | `tls.server_name_indication.enabled` | send SNI (default true) |
//! | `tls.server_name_indication.host` | the name to send and verify instead of the connected host |
//! | `tls.server_name_indication.protocol` | `https` or `default`: both accept wildcard certificates, as rustls always matches names the HTTPS way (RFC 6125) |
//!
//! Verification is on unless the declaration says `verify_mode = none`.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime,
};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::declared::StartError;
use crate::settings::{Settings, TlsOptions, VerifyMode, keys};

/// Installs ring as the process's default rustls provider, unless one is installed already.
///
/// This crate builds its own TLS configurations with ring explicitly; client crates that call
/// `rustls::ClientConfig::builder()` (redis-rs's cluster client, an application's HTTP client)
/// ask for the process default, and rustls panics when none is installed and it cannot tell
/// which of several compiled-in providers to use. Every connector with TLS calls this when it
/// is built, so after a pool of one has started, such calls work. Only ring is compiled into
/// this crate's dependency tree.
///
/// ```
/// pool_runtime::connectors::tls::install_ring_default();
/// let config = rustls::ClientConfig::builder()
///     .with_root_certificates(rustls::RootCertStore::empty())
///     .with_no_client_auth();
/// # let _ = config;
/// ```
pub fn install_ring_default() {
    // An error means a provider is installed already: the application chose; keep it.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

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
    /// The `tls` section of `settings`, or `None` if it has none.
    ///
    /// # Errors
    ///
    /// A file that cannot be read or holds no PEM certificate or key, an unknown cipher
    /// or version, each naming its key.
    pub fn from_settings(settings: &Settings) -> Result<Option<Tls>, StartError> {
        match TlsOptions::from_section(settings)? {
            Some(options) => Self::from_options(&options, settings).map(Some),
            None => Ok(None),
        }
    }

    /// Verification against the system's roots and nothing else: what `verify_mode = peer`
    /// means without a `cacertfile`.
    pub fn system() -> Tls {
        install_ring_default();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Tls {
            config: Arc::new(config),
            server_name: None,
        }
    }

    /// A checked `tls` section as a rustls configuration; `settings` names the pool in errors.
    ///
    /// # Errors
    ///
    /// See [`Tls::from_settings`].
    pub fn from_options(options: &TlsOptions, settings: &Settings) -> Result<Tls, StartError> {
        install_ring_default();
        let provider = Arc::new(provider(options, settings)?);
        let versions = versions(options, settings)?;
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| settings.error(format!("`{}`: {e}", keys::TLS_VERSIONS)))?;
        let roots = roots(options, settings)?;
        let builder = match options.verify_mode {
            mode @ (VerifyMode::Peer | VerifyMode::SelfsignedPeer) => {
                let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider.clone(),
                )
                .with_crls(crls(options, settings)?)
                .build()
                .map_err(|e| settings.error(format!("`{}`: {e}", keys::TLS_CACERTFILE)))?;
                let verifier: Arc<dyn ServerCertVerifier> = if mode == VerifyMode::Peer {
                    webpki
                } else {
                    let pinned = match &options.cacertfile {
                        Some(path) => read_certs(settings, keys::TLS_CACERTFILE, path)?,
                        None => Vec::new(),
                    };
                    Arc::new(Fallback::pinned(webpki, pinned))
                };
                let verifier = match options.disconnect_on_failure {
                    true => verifier,
                    false => Arc::new(Fallback::logged(verifier, settings.pool().to_string())),
                };
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(verifier)
            }
            VerifyMode::None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(
                    provider.signature_verification_algorithms,
                ))),
        };
        // The table pairs `certfile` with `keyfile`, so one without the other never gets here.
        let mut config = match (&options.certfile, &options.keyfile) {
            (Some(cert), Some(key)) => {
                let chain = read_certs(settings, keys::TLS_CERTFILE, cert)?;
                let key = read_key(options, settings, key)?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    settings.error(format!(
                        "`{}`/`{}`: {e}",
                        keys::TLS_CERTFILE,
                        keys::TLS_KEYFILE
                    ))
                })?
            }
            _ => builder.with_no_client_auth(),
        };
        config.enable_sni = options.server_name_indication_enabled;
        Ok(Tls {
            config: Arc::new(config),
            server_name: options.server_name_indication_host.clone(),
        })
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

/// The client key as PEM text, opened with `tls.password`: for a client crate that reads a
/// key but cannot decrypt one (mysql_async, redis-rs's cluster client). It stays in memory,
/// never on disk.
#[cfg(any(feature = "mysql", feature = "redis"))]
pub(crate) fn opened_key_pem(
    options: &TlsOptions,
    settings: &Settings,
    path: &str,
) -> Result<Vec<u8>, StartError> {
    let key = read_key(options, settings, path)?;
    let label = match &key {
        PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
        PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
        _ => "PRIVATE KEY",
    };
    pkcs8::der::pem::encode_string(label, pkcs8::der::pem::LineEnding::LF, key.secret_der())
        .map(String::into_bytes)
        .map_err(|e| settings.error(format!("`{}` {path:?}: {e}", keys::TLS_KEYFILE)))
}

/// The client key: plain PEM, or encrypted PKCS#8 opened with `tls.password`.
fn read_key(
    options: &TlsOptions,
    settings: &Settings,
    path: &str,
) -> Result<PrivateKeyDer<'static>, StartError> {
    let fail = |e: &dyn std::fmt::Display| {
        settings.error(format!("`{}` {path:?}: {e}", keys::TLS_KEYFILE))
    };
    let Some(password) = &options.password else {
        return PrivateKeyDer::from_pem_file(path).map_err(|e| {
            fail(&format!(
                "{e} (an encrypted key needs `{}`)",
                keys::TLS_PASSWORD
            ))
        });
    };
    let text = std::fs::read(path).map_err(|e| fail(&e))?;
    let (label, der) = pkcs8::der::pem::decode_vec(&text).map_err(|e| fail(&e))?;
    if label != "ENCRYPTED PRIVATE KEY" {
        return Err(fail(&format!(
            "`{}` is set but the file holds a `{label}`, not an encrypted PKCS#8 key",
            keys::TLS_PASSWORD
        )));
    }
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice()).map_err(|e| fail(&e))?;
    let key = info.decrypt(password.expose()).map_err(|e| {
        fail(&format!(
            "cannot decrypt with `{}`: {e}",
            keys::TLS_PASSWORD
        ))
    })?;
    Ok(PrivateKeyDer::Pkcs8(key.as_bytes().to_vec().into()))
}

/// `tls.crl_files`, each a PEM file of one or more revocation lists.
fn crls(
    options: &TlsOptions,
    settings: &Settings,
) -> Result<Vec<CertificateRevocationListDer<'static>>, StartError> {
    let mut all = Vec::new();
    for path in options.crl_files.iter().flatten() {
        let key = keys::TLS_CRL_FILES;
        let crls = CertificateRevocationListDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| settings.error(format!("`{key}` {path:?}: {e}")))?;
        if crls.is_empty() {
            return Err(settings.error(format!("`{key}` {path:?}: no PEM X509 CRL in it")));
        }
        all.extend(crls);
    }
    Ok(all)
}

fn roots(options: &TlsOptions, settings: &Settings) -> Result<RootCertStore, StartError> {
    let mut roots = RootCertStore::empty();
    match &options.cacertfile {
        Some(path) => {
            for cert in read_certs(settings, keys::TLS_CACERTFILE, path)? {
                roots.add(cert).map_err(|e| {
                    settings.error(format!("`{}` {path:?}: {e}", keys::TLS_CACERTFILE))
                })?;
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
    options: &TlsOptions,
    settings: &Settings,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, StartError> {
    let Some(list) = &options.versions else {
        return Ok(rustls::ALL_VERSIONS.to_vec());
    };
    list.iter()
        .map(
            |v| match v.to_ascii_lowercase().replace(['.', '_'], "").as_str() {
                "tlsv12" | "tls12" => Ok(&rustls::version::TLS12),
                "tlsv13" | "tls13" => Ok(&rustls::version::TLS13),
                _ => Err(settings.error(format!(
                    "`{}`: unsupported version {v:?}; expected `tlsv1.2` or `tlsv1.3`",
                    keys::TLS_VERSIONS
                ))),
            },
        )
        .collect()
}

/// The ring provider, narrowed to `tls.ciphers` when given.
fn provider(options: &TlsOptions, settings: &Settings) -> Result<CryptoProvider, StartError> {
    let mut provider = rustls::crypto::ring::default_provider();
    let Some(ciphers) = &options.ciphers else {
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
                    "`{}`: unknown or unsupported suite {wanted:?}; supported: {}",
                    keys::TLS_CIPHERS,
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

/// What a [`Fallback`] does with a refusal: `Ok` accepts the certificate after all.
type Rescue = dyn Fn(&CertificateDer<'_>, &ServerName<'_>, rustls::Error) -> Result<(), rustls::Error>
    + Send
    + Sync;

/// A verifier that gives a certificate `inner` refuses a second chance: `rescue` turns the
/// refusal into an acceptance, or keeps it. The handshake's signatures are `inner`'s to check.
struct Fallback {
    inner: Arc<dyn ServerCertVerifier>,
    rescue: Box<Rescue>,
}

impl Fallback {
    /// `verify_mode = selfsigned_peer`: the normal verification, or else a certificate that is
    /// exactly one of those in `cacertfile`.
    fn pinned(inner: Arc<dyn ServerCertVerifier>, pinned: Vec<CertificateDer<'static>>) -> Self {
        Fallback {
            inner,
            rescue: Box::new(move |end_entity, _, e| {
                match pinned.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
                    true => Ok(()),
                    false => Err(e),
                }
            }),
        }
    }

    /// `disconnect_on_failure = false`: a refusal is logged and the connection goes on, as
    /// MongooseIM's `just_tls` does.
    fn logged(inner: Arc<dyn ServerCertVerifier>, pool: String) -> Self {
        Fallback {
            inner,
            rescue: Box::new(move |_, server_name, e| {
                tracing::warn!(
                    pool = %pool,
                    server = ?server_name,
                    error = %e,
                    "the server's certificate failed verification; going on \
                     (tls.disconnect_on_failure = false)"
                );
                Ok(())
            }),
        }
    }
}

impl std::fmt::Debug for Fallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fallback")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for Fallback {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .or_else(|e| {
                (self.rescue)(end_entity, server_name, e).map(|()| ServerCertVerified::assertion())
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
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
    use crate::settings::{Driver, SettingsBuilder};

    /// Settings of a pgsql pool (the driver that honours every TLS key) from text values.
    fn settings(values: Vec<(&str, &str)>) -> Settings {
        try_settings(values).unwrap()
    }

    fn try_settings(values: Vec<(&str, &str)>) -> Result<Settings, StartError> {
        SettingsBuilder::sql_for_tests("t", Driver::Pgsql)
            .set_all(values)
            .build()
    }

    #[test]
    fn no_tls_section_means_no_tls() {
        assert!(Tls::from_settings(&settings(vec![])).unwrap().is_none());
    }

    #[test]
    fn options_are_read() {
        let s = settings(vec![
            (keys::TLS_VERIFY_MODE, "none"),
            (keys::TLS_SERVER_NAME_INDICATION_ENABLED, "false"),
            (keys::TLS_SERVER_NAME_INDICATION_HOST, "db.internal"),
            (keys::TLS_VERSIONS, "tlsv1.3"),
            (keys::TLS_CIPHERS, "TLS13_AES_128_GCM_SHA256"),
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
            err(keys::TLS_CACERTFILE, "/nonexistent.pem")
                .contains("`tls.cacertfile` \"/nonexistent.pem\"")
        );
        assert!(err(keys::TLS_VERSIONS, "sslv3").contains("unsupported version"));
        assert!(err(keys::TLS_CIPHERS, "RC4-MD5").contains("unknown or unsupported suite"));
        let unpaired = try_settings(vec![(keys::TLS_CERTFILE, "a.pem")])
            .err()
            .unwrap();
        assert!(
            unpaired
                .to_string()
                .contains("`tls.certfile` (from the builder) needs `tls.keyfile`"),
            "{unpaired}"
        );
    }

    #[test]
    fn an_encrypted_client_key_opens_with_its_password() {
        let tls = test_support::require(test_support::TLS);
        let dir = std::env::temp_dir().join(format!("op-tls-key-{}", std::process::id()));
        let (cert, key) = tls.encrypted_client_identity(&dir, "s3cret");
        let k = key.to_str().unwrap();
        let with = |password: Option<&str>| {
            let mut v = vec![
                (keys::TLS_VERIFY_MODE, "none"),
                (keys::TLS_CERTFILE, cert.to_str().unwrap()),
                (keys::TLS_KEYFILE, k),
            ];
            if let Some(p) = password {
                v.push((keys::TLS_PASSWORD, p));
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
            (keys::TLS_VERIFY_MODE, "none"),
            (
                "tls.ciphers",
                "ECDHE-ECDSA-AES256-GCM-SHA384:TLS13_AES_256_GCM_SHA384",
            ),
        ]);
        assert!(Tls::from_settings(&s).unwrap().is_some());
    }
}
