// An unknown value of a name-valued option.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic(queue_type = fofo))]
struct Pools;

fn main() {}
