// A file with errors also gets a stub expansion from what could be read of it.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(file = "tests/ui/file/fixtures/errors.toml")]
pub struct Pools;

fn main() {
    let _ = |pools: &Pools| {
        let _ = pools.generic_push();
        let _ = pools.redis();
        Host::ACom
    };
}
