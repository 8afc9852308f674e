// A path in the host URL belongs in `path_prefix`.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(http(connection(host = "https://auth.example.com/api")))]
struct Pools;

fn main() {}
