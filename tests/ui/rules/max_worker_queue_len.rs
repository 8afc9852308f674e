// `max_worker_queue_len` needs best_worker.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(generic(strategy = available_worker, max_worker_queue_len = 10))]
struct Pools;

fn main() {}
