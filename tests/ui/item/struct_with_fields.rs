// The macro generates the fields; a stub keeps `Pools` usable.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic)]
struct Pools {
    extra: u8,
}

fn main() {
    let _ = Pools::plan();
}
