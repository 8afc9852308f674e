// An unknown strategy.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(redis(strategy = best_wroker))]
struct Pools;

fn main() {}
