//! A declared pgsql pool: its typed settings turned into a [`Pgsql`].

use tokio_postgres::Config;
use tokio_postgres::config::SslMode;

use crate::connectors::tls::Tls;
use crate::declared::{FromSettings, StartError};
use crate::settings::{PgsqlSettings, Settings};

use super::Pgsql;

impl FromSettings for Pgsql {
    fn from_settings(s: &Settings) -> Result<Self, StartError> {
        let settings = PgsqlSettings::from_settings(s)?;
        let tls = match &settings.tls {
            Some(options) => Some(Tls::from_options(options, s)?),
            None => None,
        };
        let required = settings
            .tls
            .as_ref()
            .and_then(|t| t.required)
            .unwrap_or(false);
        let mode = match (&tls, required) {
            (None, _) => SslMode::Disable,
            (Some(_), false) => SslMode::Prefer,
            (Some(_), true) => SslMode::Require,
        };
        let mut config = Config::new();
        config
            .host(&settings.host)
            .port(settings.port)
            .dbname(&settings.database)
            .user(&settings.username)
            .password(settings.password.expose())
            .application_name(s.pool().as_str())
            .ssl_mode(mode);
        let mut pgsql = Pgsql::new(config);
        if let Some(tls) = tls {
            pgsql = pgsql.with_tls(tls);
        }
        Ok(pgsql
            .query_timeout(settings.query_timeout)
            .statement_cache(settings.statement_cache as usize))
    }

    /// Declared pgsql pools are shared-capable: `call_shared`/`get_shared` pipeline on a
    /// worker's `Client`, while `get()` still takes a worker alone (transactions).
    fn tune<S: crate::Strategy>(
        builder: crate::PoolBuilder<Self, S>,
    ) -> crate::PoolBuilder<Self, S> {
        builder.multiplexed()
    }
}
