// rdbms needs a driver.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(rdbms(connection(host = "db")))]
struct Pools;

fn main() {}
