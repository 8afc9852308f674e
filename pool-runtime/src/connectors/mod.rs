//! The connectors: one module per backend, each behind a cargo feature named after it.
//!
//! Every pool type of a declaration has a connector type here, so the generated accessors
//! always name a concrete `Pool<Connector, Strategy>`. A backend that is not compiled in is a
//! placeholder: starting a pool of it fails with
//! [`StartError::ConnectorMissing`](crate::StartError::ConnectorMissing), naming the type.
//!
//! # Adding a connector
//!
//! A connector is its module, its feature lines, its rows in the option table, and its tests;
//! nothing else spells its keys, defaults or rules, and nothing re-implements what the core
//! does (timeouts, reconnection, keepalive, metrics, shared use).
//!
//! 1. **Table rows** (`pool-spec/src/options.rs`): every key of the type with its kind,
//!    default, range, enum, secrecy, need (required, paired); a key of the type the client
//!    cannot honour (a TLS cipher list, an encrypted key) leaves the connector out of its row's
//!    `connectors`, which makes it a compile error at its token; `cargo xtask codegen` then
//!    writes the typed settings
//!    struct (`settings::<Type>Settings`, with `tls: Option<TlsOptions>`) and `docs/options.md`.
//!    A wrong value is now a compile error in a declaration and a typed start error from the
//!    environment or the builder, with no code of the connector's own.
//! 2. **Feature lines**: a feature named after the type in `pool-runtime/Cargo.toml` (pulling
//!    in only its client crate, with rustls on ring) and the facade's `Cargo.toml`; a
//!    `feature_gate!` line here and the placeholder's `missing_connector!` for the build
//!    without it. The type keeps the placeholder's name, which `declared::BUILT_IN` lists
//!    so debug builds of applications link its `Pool<C, S>`s instead of compiling them.
//! 3. **The module** (`connectors/<type>.rs`, a folder once it grows): the `bb8`
//!    `ManageConnection` (`connect`, `is_valid` for the idle check, a cheap synchronous
//!    `has_broken` so no dead connection is lent), `FromSettings` reading
//!    `<Type>Settings::from_settings` (and [`tls::Tls::from_options`] for rustls clients),
//!    `Multiplexed` when the connection pipelines, and an error type whose `Display` is its own
//!    part and whose `source()` is the client crate's error.
//! 4. **Tests**, against the real server `cargo xtask services up` starts: settings from
//!    `test_support::kit`, and the fault scenarios every connector passes (wrong password
//!    fails `start()` fast with the server's message, `call_timeout` replaces the connection,
//!    keepalive notices a killed session, recovery after kill / restart / outage with no call
//!    hanging past `call_timeout`).
//! 5. The README's connector table, and the closing note of the issue listing the files
//!    touched.

pub mod generic;
#[cfg(feature = "tls")]
pub mod tls;

#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "odbc")]
pub mod odbc;
#[cfg(feature = "pgsql")]
pub mod pgsql;
#[cfg(feature = "redis")]
pub mod redis;

#[cfg(feature = "mysql")]
pub use mysql::Mysql;
#[cfg(feature = "odbc")]
pub use odbc::Odbc;
#[cfg(feature = "pgsql")]
pub use pgsql::Pgsql;
#[cfg(feature = "redis")]
pub use redis::Redis;

use crate::declared::missing_connector;

/// Declares, for a connector behind a cargo feature, the macro `#[outgoing_pools]` invokes
/// for the first declared pool of it (`(where, pool)`, `where` being `"file:line:col: "` for
/// a TOML file, else empty): nothing with the feature on, else a compile error at the
/// declaration naming the feature (rather than a failure when the pools start).
macro_rules! feature_gate {
    ($d:tt $name:ident, $feature:literal, $what:literal) => {
        #[cfg(feature = $feature)]
        #[doc(hidden)]
        #[macro_export]
        macro_rules! $name {
            ($d at:literal, $d pool:literal) => {};
        }

        #[cfg(not(feature = $feature))]
        #[doc(hidden)]
        #[macro_export]
        macro_rules! $name {
                    ($d at:literal, $d pool:literal) => {
                        ::core::compile_error!(::core::concat!(
                            $d at, "pool `", $d pool, "`: ", $what, " needs the `", $feature,
                            "` cargo feature of `outgoing-pools`; enable it with `features = [\"",
                            $feature, "\"]` on the dependency"
                        ));
                    };
                }
    };
}

feature_gate!($ __connector_pgsql, "pgsql", "`driver = pgsql` (or `cockroachdb`)");
feature_gate!($ __connector_mysql, "mysql", "`driver = mysql`");
feature_gate!($ __connector_odbc, "odbc", "`driver = odbc`");
feature_gate!($ __connector_redis, "redis", "a `redis` pool");

#[cfg(not(feature = "pgsql"))]
missing_connector!(
    /// `rdbms` with `driver = pgsql` (not in this build: enable the `pgsql` feature).
    Pgsql, "rdbms pgsql", "; enable the `pgsql` feature of outgoing-pools"
);
#[cfg(not(feature = "mysql"))]
missing_connector!(
    /// `rdbms` with `driver = mysql` (not in this build: enable the `mysql` feature).
    Mysql, "rdbms mysql", "; enable the `mysql` feature of outgoing-pools"
);
#[cfg(not(feature = "odbc"))]
missing_connector!(
    /// `rdbms` with `driver = odbc` (not in this build: enable the `odbc` feature).
    Odbc, "rdbms odbc", "; enable the `odbc` feature of outgoing-pools"
);
#[cfg(not(feature = "redis"))]
missing_connector!(
    /// `redis` (not in this build: enable the `redis` feature).
    Redis, "redis", "; enable the `redis` feature of outgoing-pools"
);
missing_connector!(
    /// `http` (not in this build).
    Http, "http", "; this version of outgoing-pools has no HTTP connector yet"
);
missing_connector!(
    /// `elastic` (not in this build).
    Elastic, "elastic", "; this version of outgoing-pools has no Elasticsearch connector yet"
);
missing_connector!(
    /// `rabbit` (not in this build).
    Rabbit, "rabbit", "; this version of outgoing-pools has no RabbitMQ connector yet"
);
missing_connector!(
    /// `ldap` (not in this build).
    Ldap, "ldap", "; this version of outgoing-pools has no LDAP connector yet"
);
missing_connector!(
    /// `cassandra` (not in this build).
    Cassandra, "cassandra", "; this version of outgoing-pools has no Cassandra connector yet"
);
missing_connector!(
    /// `riak` (not in this build).
    Riak, "riak", "; this version of outgoing-pools has no Riak connector yet"
);
