// An http pool needs its host URL.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(http(tag = auth))]
struct Pools;

fn main() {}
