// `scope = "host"` (quoted) is a host name, not the keyword.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(hosts = ["a.com"], redis(scope = "host"))]
struct Pools;

fn main() {}
