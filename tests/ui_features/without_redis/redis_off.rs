// Built without the `redis` feature: a declared redis pool is a compile error at its type,
// naming the feature, and nothing else in the crate errors.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(
    generic(workers = 2),
    redis(tag = sessions, connection(host = "127.0.0.1")),
)]
pub struct Pools;

async fn use_pools() -> Result<(), outgoing_pools::StartError> {
    let pools = Pools::start().await?;
    let _ = pools.redis_sessions();
    Ok(())
}

fn main() {
    let _ = use_pools();
}
