//! A declared redis pool: its typed settings turned into a [`Redis`].

use crate::connectors::tls::Tls;
use crate::declared::{FromSettings, StartError};
use crate::settings::{RedisSettings, Settings};

use super::Redis;

impl FromSettings for Redis {
    fn from_settings(s: &Settings) -> Result<Self, StartError> {
        let settings = RedisSettings::from_settings(s)?;
        let mut redis = Redis::new(settings.host, settings.port)
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
