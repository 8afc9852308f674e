// `scope = host` with no declared hosts.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(scope = host))]
struct Pools;

fn main() {}
