// With Sentinels the master's address comes from them: `host` and `port` are errors, each on its
// key.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(connection(
    sentinels = ["s1", "s2:26380"],
    master_name = "mymaster",
    host = "10.0.0.1",
    port = 6380,
)))]
struct Pools;

fn main() {}
