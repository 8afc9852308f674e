// `tls.required` is pgsql only.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(rdbms(connection(driver = mysql, host = "h", database = "d", username = "u", password = "p", tls(required = true))))]
struct Pools;

fn main() {}
