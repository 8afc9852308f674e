// A pool follows a Redis Cluster or a master named by Sentinels, not both: the error is on
// `sentinels`.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(connection(cluster = true, sentinels = ["s1"], master_name = "mymaster")))]
struct Pools;

fn main() {}
