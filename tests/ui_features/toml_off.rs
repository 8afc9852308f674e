// The same from a TOML file: the error names the file's pool and the feature, at `file`.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(file = "tests/ui/file/fixtures/odbc.toml")]
pub struct Pools;

fn main() {
    let _ = Pools::start();
}
