// `infinity` where only an integer is allowed.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic(workers = infinity))]
struct Pools;

fn main() {}
