// `file` is the whole declaration.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(file = "tests/ui/file/fixtures/valid.toml", generic)]
struct Pools;

fn main() {}
