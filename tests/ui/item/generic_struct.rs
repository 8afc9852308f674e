// The pools struct takes no generics.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic)]
struct Pools<T>;

fn main() {}
