// Two pools with the same type, tag and scope.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic(tag = push), generic(tag = push, workers = 3))]
struct Pools;

fn main() {}
