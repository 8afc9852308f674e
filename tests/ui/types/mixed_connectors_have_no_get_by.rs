// Pools of one group with different connectors (pgsql and mysql) share no connection type:
// the enum has `name()` and `status()` but no `get_by`.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(
    hosts = ["a.com", "b.com"],
    rdbms(scope = "a.com", connection(driver = pgsql, host = "h", database = "d", username = "u", password = "p")),
    rdbms(scope = "b.com", connection(driver = mysql, host = "h", database = "d", username = "u", password = "p")),
)]
pub struct Pools;

fn use_pools(pools: &Pools) {
    let _ok = pools.rdbms(Host::ACom).status();
    let _no = pools.rdbms(Host::BCom).get_by("k");
}

fn main() {
    let _ = use_pools;
}
