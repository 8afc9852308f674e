// A port out of range.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(connection(port = 70000)))]
struct Pools;

fn main() {}
