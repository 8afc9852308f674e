// `sentinels` and `master_name` go together.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(
    redis(connection(sentinels = ["s1"])),
    redis(tag = other, connection(master_name = "mymaster")),
)]
struct Pools;

fn main() {}
