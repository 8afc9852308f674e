// A group whose pools differ in strategy returns an enum; with a `hash_worker` pool among them
// it has no keyless `get()`, `call()` or `cast()`, only the keyed ones.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(
    hosts = ["a.com", "b.com"],
    generic(scope = "a.com", strategy = hash_worker),
    generic(scope = host),
)]
pub struct Pools;

fn use_pools(pools: &Pools) {
    let _ok = pools.generic(Host::ACom).call_by(&7, async |()| 1);
    let _no = pools.generic(Host::BCom).cast(async {});
}

fn main() {
    let _ = use_pools;
}
