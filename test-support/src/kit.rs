//! The connector test kit: settings for a pool on one of the test servers, built through the
//! same checked path as a declaration's ([`pool_runtime::settings::Settings::builder`]), so a
//! test cannot hand a connector a value the table would refuse.
//!
//! ```no_run
//! use pool_runtime::settings::keys;
//! use test_support::{PG, kit, require};
//!
//! let pg = require(PG);
//! let settings = kit::sql(&pg)
//!     .set(keys::QUERY_TIMEOUT, 2000)
//!     .build()
//!     .expect("valid settings");
//! # let _ = settings;
//! ```

use pool_runtime::settings::{Driver, PoolType, Settings, SettingsBuilder, keys};

use crate::{Redis, Sql};

/// The pool name the kit's settings use unless a test names its own.
pub const POOL: &str = "rdbms.global.default";

/// An `rdbms` pool on `sql` (pgsql or mysql, by its scheme), named [`POOL`]: host, port,
/// database, user and password set; add more with `.set(key, value)`.
pub fn sql(sql: &Sql) -> SettingsBuilder {
    sql_named(POOL, sql)
}

/// [`sql`], for a pool named `name`.
pub fn sql_named(name: &str, sql: &Sql) -> SettingsBuilder {
    let driver = match sql.scheme {
        "postgres" => Driver::Pgsql,
        _ => Driver::Mysql,
    };
    Settings::builder(name, PoolType::Rdbms, Some(driver))
        .set(keys::HOST, &sql.host)
        .set(keys::PORT, sql.port)
        .set(keys::DATABASE, &sql.db)
        .set(keys::USERNAME, &sql.user)
        .set(keys::PASSWORD, &sql.password)
}

/// An `rdbms` pool with `driver = odbc` on the connection string `settings`.
pub fn odbc(settings: &str) -> SettingsBuilder {
    Settings::builder(POOL, PoolType::Rdbms, Some(Driver::Odbc)).set(keys::SETTINGS, settings)
}

/// A `redis` pool on `redis`, named `name`: host and port set, and the password where the
/// server has one; TLS trusting the test CA on the TLS server. Add more with `.set(key, value)`.
pub fn redis(name: &str, redis: &Redis) -> SettingsBuilder {
    let mut settings = Settings::builder(name, PoolType::Redis, None)
        .set(keys::HOST, &redis.host)
        .set(keys::PORT, redis.port);
    if let Some(password) = &redis.password {
        settings = settings.set(keys::PASSWORD, password);
    }
    if redis.tls {
        let certs = crate::require(crate::TLS);
        settings = settings.set(keys::TLS_CACERTFILE, certs.ca.display());
    }
    settings
}

/// Whether a connection of `db` runs over TLS, as the PostgreSQL server sees it
/// (`pg_stat_ssl`).
#[cfg(feature = "pgsql")]
pub async fn uses_tls<S: pool_runtime::Keyless>(
    db: &pool_runtime::Pool<pool_runtime::connectors::Pgsql, S>,
) -> bool {
    db.call(async |c| {
        c.query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map(|row| row.get(0))
    })
    .await
    .expect("a call within call_timeout")
    .expect("pg_stat_ssl answers")
}

/// A run-time parameter of a connection of `db` (`SHOW name`: `statement_timeout`,
/// `application_name`, …).
#[cfg(feature = "pgsql")]
pub async fn pg_setting<S: pool_runtime::Keyless>(
    db: &pool_runtime::Pool<pool_runtime::connectors::Pgsql, S>,
    name: &str,
) -> String {
    let show = format!("SHOW {name}");
    db.call(async |c| c.query_one(&show, &[]).await.map(|row| row.get(0)))
        .await
        .expect("a call within call_timeout")
        .expect("SHOW answers")
}
