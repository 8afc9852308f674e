// odbc does not take host and port.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(rdbms(connection(driver = odbc, settings = "DSN=mydb", host = "db", port = 5432)))]
struct Pools;

fn main() {}
