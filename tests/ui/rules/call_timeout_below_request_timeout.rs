// An http call_timeout shorter than its request_timeout.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(http(call_timeout = 1000, connection(host = "https://auth.example.com", request_timeout = 2000)))]
struct Pools;

fn main() {}
