// An unknown connection key.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(connection(hots = "x")))]
struct Pools;

fn main() {}
