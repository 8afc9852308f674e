// An unknown TLS key lists the valid ones.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(connection(tls(cafile = "ca.pem"))))]
struct Pools;

fn main() {}
