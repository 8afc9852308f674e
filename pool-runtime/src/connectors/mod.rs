//! The connectors: one module per backend, each behind a cargo feature named after it.
//!
//! Every pool type of a declaration has a connector type here, so the generated accessors
//! always name a concrete `Pool<Connector, Strategy>`. A backend that is not compiled in is a
//! placeholder: starting a pool of it fails with
//! [`StartError::ConnectorMissing`](crate::StartError::ConnectorMissing), naming the type.

pub mod generic;
#[cfg(feature = "tls")]
pub mod tls;

#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "odbc")]
pub mod odbc;
#[cfg(feature = "pgsql")]
pub mod pgsql;

#[cfg(feature = "mysql")]
pub use mysql::Mysql;
#[cfg(feature = "odbc")]
pub use odbc::Odbc;
#[cfg(feature = "pgsql")]
pub use pgsql::Pgsql;

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

feature_gate!($ __connector_pgsql, "pgsql", "`driver = pgsql`");
feature_gate!($ __connector_mysql, "mysql", "`driver = mysql`");
feature_gate!($ __connector_odbc, "odbc", "`driver = odbc`");

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
missing_connector!(
    /// `redis` (not in this build).
    Redis, "redis", "; this version of outgoing-pools has no Redis connector yet"
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
