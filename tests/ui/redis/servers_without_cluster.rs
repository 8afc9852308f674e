// `servers` lists a Redis Cluster's seed nodes: without `cluster = true` it is an error on the
// key.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(connection(servers = ["10.0.0.1", "10.0.0.2:7001"])))]
struct Pools;

fn main() {}
