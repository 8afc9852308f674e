//! The `#[outgoing_pools]` attribute: a thin shell over `pool-spec`.
//!
//! Everything happens on `proc_macro2` types in `expand`, so it can be unit-tested; this file
//! only converts the token streams.

mod codegen;
mod expand;
mod file;
mod item;
mod model;

use proc_macro::TokenStream;

/// Declares an application's outgoing pools on a unit struct; the compiler checks the
/// declaration and generates the typed pools.
///
/// ```rust,ignore
/// use outgoing_pools::outgoing_pools;
///
/// #[outgoing_pools(
///     hosts = ["a.com", "b.com"],
///     redis(scope = host, connection(host = "10.0.0.2", password = env("REDIS_PASSWORD"))),
///     rdbms(workers = 5, connection(driver = pgsql, host = "localhost", database = "mydb",
///                                   username = "mim", password = env("DB_PASSWORD"))),
///     generic(tag = push, strategy = available_worker, workers = 20),
/// )]
/// pub struct Pools;
/// ```
///
/// generates, next to the struct (which gets one private field per pool):
///
/// - `enum Host { ACom, BCom }` when hosts are declared, with `ALL`, `as_str`, `FromStr`
///   (an unknown host is an `UnknownHost` error) and `Display`. It is named `Host` whatever the
///   struct's name, so declare one `#[outgoing_pools]` struct per module.
/// - `Pools::start()`, `Pools::builder()` (a `PoolsBuilder`, named after the struct, whose
///   `set(pool, key, value)` overrides a connection value at start), `Pools::plan()`,
///   `status()`, `shutdown()` and `shutdown_within(grace)`.
/// - One accessor per (type, tag), named `type` or `type_tag`: `pools.rdbms()` returns
///   `&Pool<Pgsql, BestWorker>`, `pools.redis(Host::ACom)` the pool of that host (or the global
///   one of the same type and tag). If a host has no pool at all, a host accessor returns an
///   `Option`; if the pools of a (type, tag) differ in connector or strategy, it returns a
///   generated enum of references (`RedisPool<'_>`) whose methods `match`.
///
/// `#[outgoing_pools(file = "pools.toml")]` reads the same declaration from a MongooseIM-style
/// TOML file relative to the crate's `Cargo.toml`; cargo rebuilds when it changes.
/// `crate = path` names the `outgoing_pools` crate when it is re-exported elsewhere.
///
/// Every mistake is a compile error on the offending token (for a file: `file:line:col`), all at
/// once, and the items above are still generated (with bodies that never run) so the code using
/// them shows no follow-on errors.
#[proc_macro_attribute]
pub fn outgoing_pools(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::outgoing_pools(args.into(), item.into()).into()
}
