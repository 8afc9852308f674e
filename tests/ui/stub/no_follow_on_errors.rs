// A broken declaration still expands to the struct, `Host` and every accessor (with stub
// bodies), so code using them shows no error: only the declaration's own error appears.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(
    hosts = ["a.com", "b.com"],
    redis(scope = host, wrokers = 5),
    generic(tag = push, strategy = hash_worker),
    generic(tag = jobs, scope = "a.com"),
)]
pub struct Pools;

async fn use_pools() -> Result<(), Box<dyn std::error::Error>> {
    let pools = Pools::builder().set("redis.a.com.default", "host", "10.0.0.1").start().await?;
    let _ = pools.redis(Host::ACom);
    let _ = pools.generic_push().call_by(&42, async |()| 1).await?;
    if let Some(jobs) = pools.generic_jobs(Host::BCom) {
        jobs.cast(async {})?;
    }
    println!("{}\n{}", Pools::plan(), pools.status());
    let _: Host = "a.com".parse()?;
    assert_eq!(Host::ALL.len(), 2);
    pools.shutdown().await;
    Ok(())
}

fn main() {
    let _ = use_pools();
}
