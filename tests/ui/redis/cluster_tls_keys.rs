// The cluster client makes its own TLS connections from a CA file, a client certificate and key
// and a verification switch: every other `tls` key is an error on its key.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(connection(
    cluster = true,
    tls(
        cacertfile = "ca.pem",
        versions = ["tlsv1.3"],
        ciphers = "HIGH",
        crl_files = ["crl.pem"],
        disconnect_on_failure = false,
        server_name_indication(enabled = true, host = "redis.example"),
    ),
)))]
struct Pools;

fn main() {}
