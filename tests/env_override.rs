//! The `OUTGOING_POOLS__<TYPE>__<HOST>__<TAG>__<KEY>` override convention of the generated
//! pools. One test in its own binary, because it sets environment variables.

use outgoing_pools::{StartError, outgoing_pools};

#[outgoing_pools(redis(
    tag = envtest,
    connection(host = env("OP_ENVTEST_UNSET_HOST"), password = env("OP_ENVTEST_UNSET_PASSWORD")),
))]
struct Pools;

/// The key and variable of a `MissingEnv`, or the key and source of an `InvalidValue`.
fn what(err: &StartError) -> (String, String) {
    match err {
        StartError::MissingEnv { key, var, .. } => ((*key).to_owned(), var.clone()),
        StartError::InvalidValue {
            key, source_name, ..
        } => (key.clone(), source_name.clone()),
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
}
