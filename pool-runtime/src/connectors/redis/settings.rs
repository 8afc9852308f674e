//! A declared redis pool: its typed settings turned into a [`Redis`].

use redis::cluster::ClusterClientBuilder;
use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo, TlsCertificates};

use crate::connectors::tls::{self, Tls};
use crate::declared::{FromSettings, StartError};
use crate::settings::{RedisSettings, Settings, TlsOptions, VerifyMode, keys};

use super::Redis;

impl FromSettings for Redis {
    fn from_settings(s: &Settings) -> Result<Self, StartError> {
        let settings = RedisSettings::from_settings(s)?;
        if settings.cluster {
            return cluster(&settings, s);
        }
        let mut redis = match (&settings.sentinels, &settings.master_name) {
            (Some(sentinels), Some(master)) => Redis::sentinel(
                sentinels.iter().map(|s| (s.host.clone(), s.port)),
                master.clone(),
            ),
            // The table pairs `sentinels` with `master_name`: one alone never gets here.
            _ => Redis::new(settings.host.clone(), settings.port),
        };
        redis = redis
            .database(settings.database)
            .client_name(s.pool().as_str());
        if let Some(username) = &settings.username {
            redis = redis.username(username);
        }
        if let Some(password) = &settings.password {
            redis = redis.password(password.expose());
        }
        if let Some(options) = &settings.tls {
            redis = redis.with_tls(Tls::from_options(options, s)?);
        }
        Ok(redis)
    }

    /// Declared redis pools are shared-capable: `call_shared`/`get_shared` pipeline on a
    /// worker's connection, while `get()` still takes a worker alone.
    fn tune<S: crate::Strategy>(
        builder: crate::PoolBuilder<Self, S>,
    ) -> crate::PoolBuilder<Self, S> {
        builder.multiplexed()
    }
}

/// `cluster = true`: redis-rs's cluster client, seeded by `servers` or by `host`/`port`. The
/// table refuses what it cannot take (a database other than 0, the TLS keys it has no
/// setting for), so every key that reaches here is honoured.
fn cluster(settings: &RedisSettings, s: &Settings) -> Result<Redis, StartError> {
    let seeds: Vec<(String, u16)> = match &settings.servers {
        Some(servers) => servers.iter().map(|s| (s.host.clone(), s.port)).collect(),
        None => vec![(settings.host.clone(), settings.port)],
    };
    let tls = settings.tls.as_ref();
    let nodes = seeds
        .iter()
        .map(|(host, port)| node(host, *port, tls))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| s.error(format!("`{}`: {e}", keys::SERVERS)))?;
    let mut builder = ClusterClientBuilder::new(nodes)
        .use_protocol(redis::ProtocolVersion::RESP3)
        // As for one server: `call_timeout` bounds a call, a `BLPOP` may wait as long.
        .overall_response_timeout(None);
    if let Some(username) = &settings.username {
        builder = builder.username(username);
    }
    if let Some(password) = &settings.password {
        builder = builder.password(password.expose());
    }
    if let Some(options) = tls {
        // Checked here too, so a bad file fails `start()` naming its key, as for one server.
        Tls::from_options(options, s)?;
        builder = builder
            .tls(match options.verify_mode {
                VerifyMode::None => redis::TlsMode::Insecure,
                _ => redis::TlsMode::Secure,
            })
            .certs(certificates(options, s)?);
    }
    let client = builder
        .build()
        .map_err(|e| s.error(format!("the cluster client refused the settings: {e}")))?;
    Ok(Redis::cluster(client))
}

/// A seed node's address, over TLS when the pool has a `tls` section.
fn node(host: &str, port: u16, tls: Option<&TlsOptions>) -> redis::RedisResult<ConnectionInfo> {
    let addr = match tls {
        None => ConnectionAddr::Tcp(host.to_owned(), port),
        Some(options) => ConnectionAddr::TcpTls {
            host: host.to_owned(),
            port,
            insecure: options.verify_mode == VerifyMode::None,
            tls_params: None,
        },
    };
    addr.into_connection_info()
}

/// The CA and client identity as the cluster client takes them: PEM bytes (an encrypted key
/// opened with `tls.password`, in memory).
fn certificates(options: &TlsOptions, s: &Settings) -> Result<TlsCertificates, StartError> {
    let read = |key: &str, path: &str| {
        std::fs::read(path).map_err(|e| s.error(format!("`{key}` {path:?}: {e}")))
    };
    let root_cert = match &options.cacertfile {
        Some(path) => Some(read(keys::TLS_CACERTFILE, path)?),
        None => None,
    };
    let client_tls = match (&options.certfile, &options.keyfile) {
        (Some(cert), Some(key)) => Some(redis::ClientTlsConfig {
            client_cert: read(keys::TLS_CERTFILE, cert)?,
            client_key: tls::opened_key_pem(options, s, key)?,
        }),
        _ => None,
    };
    Ok(TlsCertificates {
        client_tls,
        root_cert,
    })
}
