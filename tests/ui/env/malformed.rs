// `env` takes a string.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(connection(password = env(PASSWORD))))]
struct Pools;

fn main() {}
