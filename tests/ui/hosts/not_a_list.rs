// `hosts` takes a list.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(hosts = "a.com")]
struct Pools;

fn main() {}
