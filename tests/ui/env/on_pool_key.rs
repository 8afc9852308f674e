// Pool keys are fixed at compile time.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic(workers = env("WORKERS")))]
struct Pools;

fn main() {}
