// ldap `encrypt = none` contradicts a tls section.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(ldap(connection(encrypt = none, tls())))]
struct Pools;

fn main() {}
