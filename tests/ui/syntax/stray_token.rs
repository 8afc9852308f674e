// Something that is neither a key nor an entry.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(42)]
struct Pools;

fn main() {}
