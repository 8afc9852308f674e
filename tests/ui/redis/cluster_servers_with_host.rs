// A cluster's seeds go in `servers` or, one seed, in `host` and `port`: not both.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(connection(cluster = true, servers = ["10.0.0.1"], host = "10.0.0.2")))]
struct Pools;

fn main() {}
