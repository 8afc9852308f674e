// A tuple struct is not a unit struct.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic)]
struct Pools(u8);

fn main() {}
