// `settings` is odbc only.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(rdbms(connection(driver = pgsql, host = "h", database = "d", username = "u", password = "p", settings = "DSN=x")))]
struct Pools;

fn main() {}
