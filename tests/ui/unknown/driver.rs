// An unknown rdbms driver.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(rdbms(connection(driver = pgsq, host = "h", database = "d", username = "u", password = "p")))]
struct Pools;

fn main() {}
