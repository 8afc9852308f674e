// An empty entry between two commas.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic(workers = 1,, strategy = next_worker))]
struct Pools;

fn main() {}
