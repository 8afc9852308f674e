// A host with nothing to name its variant.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(hosts = ["..."])]
struct Pools;

fn main() {}
