// A `"host:port"` item needs a port between 1 and 65535.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(connection(cluster = true, servers = ["10.0.0.1:0"])))]
struct Pools;

fn main() {}
