// A client certificate needs its key, and the key its certificate: each half alone is an error
// on the key that is written.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(
    rdbms(connection(
        driver = pgsql, host = "db", database = "d", username = "u", password = "p",
        tls(certfile = "client.pem"),
    )),
    redis(tag = cache, connection(tls(keyfile = "client.key"))),
)]
struct Pools;

fn main() {}
