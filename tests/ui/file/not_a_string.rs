// `file` takes a string.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(file = pools)]
struct Pools;

fn main() {}
