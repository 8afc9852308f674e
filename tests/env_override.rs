//! The `OUTGOING_POOLS__<TYPE>__<HOST>__<TAG>__<KEY>` override convention of the generated
//! pools, checked as strictly as the declaration. One test in its own binary, because it sets
//! environment variables.

use outgoing_pools::{StartError, outgoing_pools};

#[outgoing_pools(redis(
    tag = envtest,
    connection(host = env("OP_ENVTEST_UNSET_HOST"), password = env("OP_ENVTEST_UNSET_PASSWORD")),
))]
struct Pools;

/// A second declaration in the process: each checks the variables of its own pools.
mod jobs {
    use outgoing_pools::outgoing_pools;

    #[outgoing_pools(generic(tag = envjobs, workers = 2))]
    pub struct Pools;
}

/// The key and variable of a `MissingEnv`, or the key and source of an `InvalidValue`.
fn what(err: &StartError) -> (String, String) {
    match err {
        StartError::MissingEnv { key, var, .. } => (key.clone(), var.clone()),
        StartError::InvalidValue {
            key, source_name, ..
        } => (key.clone(), source_name.clone()),
        StartError::UnknownOverride { target, problem } => (target.clone(), problem.clone()),
        other => panic!("unexpected {other:?}"),
    }
}

async fn start_error(builder: PoolsBuilder) -> (String, String) {
    match builder.start().await {
        Ok(_) => panic!("OP_ENVTEST_UNSET_PASSWORD is never set"),
        Err(err) => what(&err),
    }
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_owned(), b.to_owned())
}

#[tokio::test(flavor = "current_thread")]
async fn override_variables_sit_between_the_builder_and_the_declaration() {
    let host = "OUTGOING_POOLS__REDIS__GLOBAL__ENVTEST__HOST";
    let port = "OUTGOING_POOLS__REDIS__GLOBAL__ENVTEST__PORT";
    assert_eq!(Pools::plan().pools()[0].override_var("host"), host);

    assert_eq!(
        start_error(Pools::builder()).await,
        pair("host", "OP_ENVTEST_UNSET_HOST")
    );

    // SAFETY: this binary runs this one test on one thread; nothing else reads the
    // environment meanwhile.
    unsafe { std::env::set_var(host, "10.0.0.7") };
    assert_eq!(
        start_error(Pools::builder()).await,
        pair("password", "OP_ENVTEST_UNSET_PASSWORD")
    );

    // SAFETY: as above.
    unsafe { std::env::set_var(port, "not-a-port") };
    assert_eq!(
        start_error(Pools::builder()).await,
        pair("port", &format!("the variable `{port}`"))
    );

    // The builder wins over the variable.
    assert_eq!(
        start_error(Pools::builder().set("redis.global.envtest", "port", "6380")).await,
        pair("password", "OP_ENVTEST_UNSET_PASSWORD")
    );

    // A value from the environment meets the table's range, and the error says what is valid.
    // SAFETY: as above.
    unsafe { std::env::set_var(port, "70000") };
    let err = Pools::builder()
        .set("redis.global.envtest", "password", "pw")
        .start()
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "pool `redis.global.envtest`: `port` from the variable `{port}`: must be between 1 \
             and 65535, got 70000"
        )
    );
    // SAFETY: as above.
    unsafe { std::env::remove_var(port) };

    // A key the declaration left to its default is overridden like any other; the redis
    // variables above are not this declaration's business.
    let workers = "OUTGOING_POOLS__GENERIC__GLOBAL__ENVJOBS__WORKERS";
    // SAFETY: as above.
    unsafe { std::env::set_var(workers, "3") };
    let started = jobs::Pools::start().await.unwrap();
    assert_eq!(started.generic_envjobs().status().workers, 3);
    started.shutdown().await;
    // SAFETY: as above.
    unsafe { std::env::remove_var(workers) };

    // A typo in a key, and a key that shapes the generated types, fail the start.
    for (var, problem) in [
        (
            "OUTGOING_POOLS__GENERIC__GLOBAL__ENVJOBS__WROKERS",
            "pool `generic.global.envjobs` has no such key; did you mean \
             `OUTGOING_POOLS__GENERIC__GLOBAL__ENVJOBS__WORKERS`?",
        ),
        (
            "OUTGOING_POOLS__GENERIC__GLOBAL__ENVJOBS__STRATEGY",
            "`strategy` cannot be set at start: it is the pool's type parameter, chosen at \
             compile time",
        ),
    ] {
        // SAFETY: as above.
        unsafe { std::env::set_var(var, "3") };
        let err = jobs::Pools::start().await.err().unwrap();
        assert_eq!(
            what(&err),
            pair(&format!("the variable `{var}`"), problem),
            "{err}"
        );
        // SAFETY: as above.
        unsafe { std::env::remove_var(var) };
    }
}
