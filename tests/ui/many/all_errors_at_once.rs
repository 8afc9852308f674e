// Every mistake of a declaration is reported in one compile, each under its own token.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(
    hosts = ["a.com", "b.com"],
    rediss(workers = 1),
    redis(wrokers = 5, strategy = best_wroker, connection(port = 70000)),
    redis(scope = "c.com"),
    http(call_timeout = 1000, connection(host = "ftp://auth.example.com")),
    elastic(connection(tls())),
    generic(tag = "Push", max_worker_queue_len = 5, strategy = next_worker),
)]
struct Pools;

fn main() {}
