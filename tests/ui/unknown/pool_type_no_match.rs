// An unknown pool type far from any known one lists them all.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(mongo())]
struct Pools;

fn main() {}
