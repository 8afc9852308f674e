// A string where an integer is expected.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(workers = "5"))]
struct Pools;

fn main() {}
