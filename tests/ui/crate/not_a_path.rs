// `crate` takes a path.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(crate = 5, generic)]
struct Pools;

fn main() {}
