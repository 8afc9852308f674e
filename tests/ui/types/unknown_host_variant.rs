// `Host` has exactly the declared hosts.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(hosts = ["a.com", "b.com"], generic(scope = host))]
pub struct Pools;

fn use_pools(pools: &Pools) {
    let _ = pools.generic(Host::CEu);
}

fn main() {
    let _ = use_pools;
}
