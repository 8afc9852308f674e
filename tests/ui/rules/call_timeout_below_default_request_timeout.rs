// The default request_timeout (2000 ms) counts too.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(http(call_timeout = 500, connection(host = "https://auth.example.com")))]
struct Pools;

fn main() {}
