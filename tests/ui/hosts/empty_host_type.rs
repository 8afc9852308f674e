// MongooseIM 6's host types are names, not domains: spaces are fine, an empty one is not.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(
    hosts = ["localhost"],
    host_types = ["test type", " "],
    redis(scope = host),
)]
struct Pools;

fn main() {}
