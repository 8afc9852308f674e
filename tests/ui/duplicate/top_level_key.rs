// `hosts` written twice.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(hosts = ["a.com"], hosts = ["b.com"])]
struct Pools;

fn main() {}
