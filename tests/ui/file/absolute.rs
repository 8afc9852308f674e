// Absolute paths only work on one machine.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(file = "/etc/pools.toml")]
struct Pools;

fn main() {}
