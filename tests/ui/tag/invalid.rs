// A tag names the accessor: lowercase letters, digits and `_`.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic(tag = "Push"))]
struct Pools;

fn main() {}
