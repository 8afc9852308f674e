// An unknown top-level key.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(host = ["a.com"])]
struct Pools;

fn main() {}
