// A `hash_worker` pool takes only keyed calls: `call(...)` and `cast(...)` do not compile.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic(tag = users, strategy = hash_worker))]
pub struct Pools;

fn use_pools(pools: &Pools) {
    let _no = pools.generic_users().call(async |()| 1);
    let _no = pools.generic_users().cast(async {});
}

fn main() {
    let _ = use_pools;
}
