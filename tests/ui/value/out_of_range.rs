// A number out of its range.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(workers = 0))]
struct Pools;

fn main() {}
