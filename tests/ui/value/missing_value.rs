// A key without a value.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic(workers = ))]
struct Pools;

fn main() {}
