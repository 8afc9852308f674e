// A pool type used as a key.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic = 5)]
struct Pools;

fn main() {}
