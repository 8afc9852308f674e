// riak credentials go in pairs.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(riak(connection(username = "u")))]
struct Pools;

fn main() {}
