// A Redis Cluster serves database 0 only: another number is an error on the value.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(connection(cluster = true, database = 2)))]
struct Pools;

fn main() {}
