// An unknown pool type, with a suggestion.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(rediss(workers = 1))]
struct Pools;

fn main() {}
