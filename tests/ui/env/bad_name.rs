// An invalid environment variable name.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(connection(password = env("1PASSWORD"))))]
struct Pools;

fn main() {}
