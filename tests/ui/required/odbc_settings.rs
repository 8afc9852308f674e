// odbc needs its connection string.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(rdbms(connection(driver = odbc)))]
struct Pools;

fn main() {}
