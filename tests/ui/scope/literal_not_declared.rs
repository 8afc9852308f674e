// A literal scope that is not a declared host, with a suggestion.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(hosts = ["a.com", "b.com"], redis(scope = "c.com"))]
struct Pools;

fn main() {}
