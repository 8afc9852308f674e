// The driver selects the connector type at compile time.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(rdbms(connection(driver = env("DRIVER"), host = "h", database = "d", username = "u", password = "p")))]
struct Pools;

fn main() {}
