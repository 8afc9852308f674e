// MongooseIM's `non_empty` and `unique_non_empty`: an empty string where a name or a login is
// needed, and an empty or repeating server list, are errors at the value.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(
    rdbms(connection(driver = pgsql, host = "db", database = "", username = "u", password = "p")),
    ldap(connection(servers = ["a.example", "a.example"])),
    cassandra(connection(servers = [])),
    http(connection(host = "http://h", path_prefix = "")),
)]
struct Pools;

fn main() {}
