// A URL with a scheme other than http(s).
use outgoing_pools::outgoing_pools;

#[outgoing_pools(http(connection(host = "ftp://auth.example.com")))]
struct Pools;

fn main() {}
