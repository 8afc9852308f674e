// generic has no TLS (and no connection keys).
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic(connection(tls())))]
struct Pools;

fn main() {}
