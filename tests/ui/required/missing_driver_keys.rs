// mysql needs database, username and password.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(rdbms(connection(driver = mysql, host = "db")))]
struct Pools;

fn main() {}
