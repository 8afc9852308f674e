// A float where an integer is expected.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic(workers = 2.5))]
struct Pools;

fn main() {}
