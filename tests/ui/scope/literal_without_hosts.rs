// A literal scope when no hosts are declared.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(scope = "a.com"))]
struct Pools;

fn main() {}
