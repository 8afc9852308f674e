// A host name with a space.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(hosts = ["a com"])]
struct Pools;

fn main() {}
