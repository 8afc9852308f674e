// A `hash_worker` pool takes only keyed calls: `get()` does not compile, `get_by(&key)` does.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic(tag = users, strategy = hash_worker))]
pub struct Pools;

fn use_pools(pools: &Pools) {
    let _ok = pools.generic_users().get_by("alice");
    let _no = pools.generic_users().get();
}

fn main() {
    let _ = use_pools;
}
