// elastic has no TLS.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(elastic(connection(tls(verify_mode = none))))]
struct Pools;

fn main() {}
