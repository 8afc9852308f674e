// Two hosts that would name the same `Host` variant.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(hosts = ["a.com", "a-com"])]
struct Pools;

fn main() {}
