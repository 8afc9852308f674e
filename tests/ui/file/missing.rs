// A missing file is an error naming the path.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(file = "tests/ui/file/fixtures/does_not_exist.toml")]
struct Pools;

fn main() {}
