// A string where a list is expected.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(ldap(connection(servers = "ldap.example.com")))]
struct Pools;

fn main() {}
