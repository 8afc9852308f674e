// The attribute goes on a unit struct only.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic)]
enum Pools {
    A,
}

fn main() {}
