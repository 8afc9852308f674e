// A group that some host has no pool for (no own pool, no global one) returns an `Option`.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(hosts = ["a.com", "b.com"], generic(tag = jobs, scope = "a.com"))]
pub struct Pools;

fn use_pools(pools: &Pools) -> usize {
    pools.generic_jobs(Host::BCom).status().workers
}

fn main() {
    let _ = use_pools;
}
