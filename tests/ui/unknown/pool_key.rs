// An unknown pool key.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(wrokers = 5))]
struct Pools;

fn main() {}
