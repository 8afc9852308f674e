// Hosts are strings.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(hosts = [a_com])]
struct Pools;

fn main() {}
