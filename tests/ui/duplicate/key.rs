// A key written twice: the second one is reported.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(workers = 5, workers = 6))]
struct Pools;

fn main() {}
