// A TOML syntax error names file:line:col.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(file = "tests/ui/file/fixtures/syntax.toml")]
struct Pools;

fn main() {}
