// Errors in the file name file:line:col and point at the `file` literal; all are reported.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(file = "tests/ui/file/fixtures/errors.toml")]
struct Pools;

fn main() {}
