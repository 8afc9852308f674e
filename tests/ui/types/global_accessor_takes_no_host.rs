// A group with only a global pool has an accessor without a host parameter.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(hosts = ["a.com"], generic(tag = push))]
pub struct Pools;

fn use_pools(pools: &Pools) {
    let _ = pools.generic_push(Host::ACom);
}

fn main() {
    let _ = use_pools;
}
