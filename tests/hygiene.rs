//! The expansion compiles under strict lints and whatever the user's module shadows: every
//! path it writes goes through `::outgoing_pools::__private` (or the `crate = path` override).

#![deny(warnings, missing_docs, unused_qualifications)]
#![deny(clippy::pedantic)]

/// A module that shadows the prelude's names, as serde's `test_gen.rs` does, to trip up any
/// generated path that is not fully qualified.
pub mod shadowed {
    #![allow(
        dead_code,
        non_camel_case_types,
        unused_macros,
        reason = "only here to shadow the prelude"
    )]

    use outgoing_pools::outgoing_pools;

    struct Result;
    struct Ok;
    struct Err;
    struct Option;
    struct Some;
    struct None;
    struct Box;
    struct String;
    struct Vec;
    struct str;
    struct usize;
    trait Clone {}
    trait Copy {}
    trait Default {}
    trait Into {}
    trait Hash {}
    trait Future {}
    trait FromStr {}
    macro_rules! vec {
        ($($t:tt)*) => {
            compile_error!("the expansion must not use the caller's `vec!`")
        };
    }
    macro_rules! unreachable {
        ($($t:tt)*) => {
            compile_error!("the expansion must not use the caller's `unreachable!`")
        };
    }

    /// The application's pools.
    #[outgoing_pools(
        hosts = ["a.com", "b.com", "c.eu"],
        redis(scope = "a.com", workers = 5, connection(host = "10.0.0.1")),
        redis(scope = host, strategy = random_worker, connection(host = "10.0.0.2")),
        rdbms(connection(driver = pgsql, host = "db", database = "d", username = "u",
                         password = env("OP_HYGIENE_PASSWORD", default = "x"), tls(required = true))),
        generic(tag = push, strategy = available_worker, workers = 2),
        generic(tag = jobs, scope = "a.com", strategy = hash_worker),
        generic(tag = jobs, scope = "b.com"),
    )]
    pub struct Pools;
}

/// The runtime reached through another path (`crate = ...`), as a crate re-exporting
/// outgoing-pools would do.
pub mod reexport {
    pub use ::outgoing_pools as pools;
}

/// A declaration naming its runtime through `crate = path`.
pub mod overridden {
    /// Pools found through `crate::reexport::pools`.
    #[::outgoing_pools::outgoing_pools(crate = crate::reexport::pools, generic(workers = 1))]
    pub struct Pools;
}

#[tokio::test]
async fn the_shadowed_expansion_works() {
    use shadowed::{Host, Pools};

    assert_eq!(Pools::plan().pools().len(), 7);
    assert_eq!("c.eu".parse::<Host>(), Ok(Host::CEu));
    // An override of a key the pool does not have is refused before anything connects.
    let pools = Pools::builder()
        .set("redis.a.com.default", "hots", "10.0.0.3")
        .start()
        .await;
    assert!(matches!(
        pools,
        Err(outgoing_pools::StartError::UnknownOverride { .. })
    ));
}

#[tokio::test]
async fn the_crate_override_is_honoured() {
    let pools = overridden::Pools::start()
        .await
        .expect("a generic pool starts");
    assert_eq!(pools.generic().call(async |()| 7).await.unwrap(), 7);
    assert_eq!(pools.status().0.len(), 1);
    pools.shutdown().await;
}
