// Two values where one is expected (a missing comma).
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic(workers = 5 6))]
struct Pools;

fn main() {}
