//! The `metrics` this crate records, per pool (label `pool`).
//!
//! | name | kind | what |
//! | --- | --- | --- |
//! | `outgoing_pools_wait_seconds` | histogram | time a caller waited for a worker (recorded only when it had to wait) |
//! | `outgoing_pools_call_seconds` | histogram | time a [`crate::Pool::call`] took, waiting included |
//! | `outgoing_pools_timeouts_total` | counter | calls and waits that hit `call_timeout` |
//! | `outgoing_pools_overruns_total` | counter | overrun warnings raised |
//! | `outgoing_pools_queue_full_total` | counter | callers refused by `max_worker_queue_len` or `next_available_worker` |
//! | `outgoing_pools_reconnects_total` | counter | connections re-established after a failure |
//! | `outgoing_pools_connect_errors_total` | counter | failed connection attempts |
//! | `outgoing_pools_waiting` | gauge | callers waiting for a worker now |
//! | `outgoing_pools_workers_up` | gauge | workers that have a connection now |
//!
//! Nothing is recorded on the uncontended path of [`crate::Pool::get`]: an idle worker is
//! handed out without reading the clock.

use metrics::{Counter, Gauge, Histogram};

use crate::PoolName;

/// The metric names, for dashboards and tests.
pub mod names {
    /// Histogram: seconds a caller waited for a worker.
    pub const WAIT_SECONDS: &str = "outgoing_pools_wait_seconds";
    /// Histogram: seconds a call took, waiting included.
    pub const CALL_SECONDS: &str = "outgoing_pools_call_seconds";
    /// Counter: `call_timeout` expiries.
    pub const TIMEOUTS: &str = "outgoing_pools_timeouts_total";
    /// Counter: overrun warnings.
    pub const OVERRUNS: &str = "outgoing_pools_overruns_total";
    /// Counter: callers refused because a queue was full or no worker was idle.
    pub const QUEUE_FULL: &str = "outgoing_pools_queue_full_total";
    /// Counter: connections re-established.
    pub const RECONNECTS: &str = "outgoing_pools_reconnects_total";
    /// Counter: failed connection attempts.
    pub const CONNECT_ERRORS: &str = "outgoing_pools_connect_errors_total";
    /// Gauge: callers waiting now.
    pub const WAITING: &str = "outgoing_pools_waiting";
    /// Gauge: connected workers now.
    pub const WORKERS_UP: &str = "outgoing_pools_workers_up";
}

pub(crate) struct PoolMetrics {
    pub wait: Histogram,
    pub call: Histogram,
    pub timeouts: Counter,
    pub overruns: Counter,
    pub queue_full: Counter,
    pub reconnects: Counter,
    pub connect_errors: Counter,
    pub waiting: Gauge,
    pub workers_up: Gauge,
}

impl PoolMetrics {
    /// Registers the handles once, so recording never looks a name up.
    pub(crate) fn new(pool: &PoolName) -> Self {
        let p = pool.to_string();
        PoolMetrics {
            wait: metrics::histogram!(names::WAIT_SECONDS, "pool" => p.clone()),
            call: metrics::histogram!(names::CALL_SECONDS, "pool" => p.clone()),
            timeouts: metrics::counter!(names::TIMEOUTS, "pool" => p.clone()),
            overruns: metrics::counter!(names::OVERRUNS, "pool" => p.clone()),
            queue_full: metrics::counter!(names::QUEUE_FULL, "pool" => p.clone()),
            reconnects: metrics::counter!(names::RECONNECTS, "pool" => p.clone()),
            connect_errors: metrics::counter!(names::CONNECT_ERRORS, "pool" => p.clone()),
            waiting: metrics::gauge!(names::WAITING, "pool" => p.clone()),
            workers_up: metrics::gauge!(names::WORKERS_UP, "pool" => p),
        }
    }
}
