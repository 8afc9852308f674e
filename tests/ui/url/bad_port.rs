// A URL with an invalid port.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(http(connection(host = "http://auth.example.com:99999")))]
struct Pools;

fn main() {}
