// The same rules in a file: each error names file, line, column and key.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(file = "tests/ui/file/fixtures/redis.toml")]
struct Pools;

fn main() {}
