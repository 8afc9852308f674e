// A file that is not valid TOML gives its syntax error alone: what the parser recovered
// still names the pools, so the code using them shows no follow-on error.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(file = "tests/ui/file/fixtures/syntax_pools.toml")]
pub struct Pools;

async fn use_pools() -> Result<(), Box<dyn std::error::Error>> {
    let pools = Pools::start().await?;
    let _ = pools.redis(Host::ACom);
    let _ = pools.generic_push().call_by(&42, async |()| 1).await?;
    let _: Host = "b.com".parse()?;
    Ok(())
}

fn main() {
    let _ = use_pools();
}
