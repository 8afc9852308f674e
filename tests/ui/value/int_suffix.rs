// A suffixed integer literal.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic(workers = 5u32))]
struct Pools;

fn main() {}
