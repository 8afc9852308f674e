// A host declared twice.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(hosts = ["a.com", "a.com"])]
struct Pools;

fn main() {}
