// An env default that is not a valid value.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(connection(port = env("REDIS_PORT", default = "six"))))]
struct Pools;

fn main() {}
