// A connection key written at the pool level.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(host = "10.0.0.1"))]
struct Pools;

fn main() {}
