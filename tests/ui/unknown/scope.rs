// An unknown scope keyword.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(hosts = ["a.com"], redis(scope = hots))]
struct Pools;

fn main() {}
