// A connection key written twice.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(connection(host = "a", host = "b")))]
struct Pools;

fn main() {}
