//! outgoing-pools: declare an application's outgoing connection pools once; the compiler
//! checks the declaration and generates a typed `Pools` value; the runtime runs each pool as
//! workers chosen by worker_pool's strategies.
//!
//! This crate re-exports the [`outgoing_pools`] attribute and the runtime ([`Pool`], the
//! strategies, the connectors, the errors).
//!
//! ```
//! use outgoing_pools::{AvailableWorker, Generic, Pool};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = Pool::<Generic, AvailableWorker>::builder(Generic).workers(4).build().await?;
//! assert_eq!(pool.call(async |()| 1 + 1).await?, 2);
//! # Ok(())
//! # }
//! ```

pub use pool_macros::outgoing_pools;
pub use pool_runtime::*;

/// The README's examples, compiled as doc tests so they cannot drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// What generated code names; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use ::core;
    pub use ::std;
    pub use pool_runtime::connectors::{
        Cassandra, Elastic, Http, Ldap, Mysql, Odbc, Pgsql, Rabbit, Redis, Riak,
    };
    pub use pool_runtime::declared::{
        AnyPool, FromSettings, Overrides, Plan, PoolSpec, Prepare, SettingSpec, Source,
        StatusTable, UnknownHost, prepare, shutdown_all, start_all,
    };
    pub use pool_runtime::settings::{Driver, PoolType, Settings};
    pub use pool_runtime::{
        __connector_mysql, __connector_odbc, __connector_pgsql, __connector_redis,
    };
    pub use pool_runtime::{
        AvailableWorker, BestWorker, Conn, Error, Generic, HashWorker, ManageConnection,
        NextAvailableWorker, NextWorker, Pool, PoolName, PoolStatus, QueueType, RandomWorker,
        StartError,
    };
}
