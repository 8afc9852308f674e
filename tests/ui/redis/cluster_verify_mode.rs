// The cluster client verifies or does not: `selfsigned_peer` is an error on the value.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(connection(cluster = true, tls(verify_mode = selfsigned_peer))))]
struct Pools;

fn main() {}
