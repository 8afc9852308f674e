//! Fault scenarios the connector tests share, so every connector is held to the same rules.

use std::time::Duration;

/// Makes `count` calls one after the other, starting one every `every`, and returns the
/// ones that failed as `(index, error)`. Used after a fault that the pool should have noticed
/// already (every session killed, and the server saying so): none may fail.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut n = 0;
/// let failed = test_support::faults::steady_calls(3, std::time::Duration::from_millis(1), async || {
///     n += 1;
///     if n == 2 { Err("boom".to_string()) } else { Ok(()) }
/// })
/// .await;
/// assert_eq!(failed, [(1, "boom".to_string())]);
/// # }
/// ```
pub async fn steady_calls<F>(count: usize, every: Duration, mut call: F) -> Vec<(usize, String)>
where
    F: AsyncFnMut() -> Result<(), String>,
{
    let mut ticks = tokio::time::interval(every);
    let mut failed = Vec::new();
    for i in 0..count {
        ticks.tick().await;
        if let Err(e) = call().await {
            failed.push((i, e));
        }
    }
    failed
}
