// A negative timeout.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic(call_timeout = -5))]
struct Pools;

fn main() {}
