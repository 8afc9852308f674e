// An integer where a boolean is expected.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(rabbit(connection(confirms_enabled = 1)))]
struct Pools;

fn main() {}
