// odbc takes its SSL options from the data source.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(rdbms(connection(driver = odbc, settings = "DSN=mydb", tls())))]
struct Pools;

fn main() {}
