//! The four benchmarks, each written once over [`BenchPool`], and the loops that interleave
//! the pools.

use std::time::{Duration, Instant};

use crate::alloc::{self, Count};
use crate::contenders::{BenchPool, Contender};
use crate::settings::Settings;
use crate::stats::{Percentiles, Quartiles};

/// Checkouts per task in one latency round (Astro36's `worker_iters`).
const OPS_PER_TASK: usize = 10;

/// Checks out `size` connections at once and gives them back: pools that connect lazily
/// (bb8, deadpool, mobc) are then full, so no round pays for connecting.
pub async fn prereserve<P: BenchPool>(pool: &P, size: usize) {
    let mut held = Vec::with_capacity(size);
    for _ in 0..size {
        held.push(pool.get().await);
    }
}

async fn bump<P: BenchPool>(pool: &P, times: usize) {
    for _ in 0..times {
        let mut conn = pool.get().await;
        *conn += 1;
    }
}

/// One Astro36 round. The timer starts before spawning (their fix 310d51b: it used to start
/// after, which hid the spawning cost that a slow pool makes queue up).
pub async fn latency_round<P: BenchPool>(pool: &P, tasks: usize) -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { bump(&pool, OPS_PER_TASK).await })
        })
        .collect();
    for handle in handles {
        handle.await.expect("a latency task panicked");
    }
    start.elapsed()
}

/// One latency cell's result: per pool, one entry per repeat of the grid.
pub struct LatencyCell {
    pub size: usize,
    pub tasks: usize,
    /// `[pool][repeat]`, µs per round.
    pub runs: Vec<Vec<Quartiles>>,
}

/// The Astro36 grid. Within a cell the pools take turns in blocks (each block starting with
/// the next pool), so slow drift of the machine (other tenants, frequency) hits all of them
/// alike; the whole grid is repeated and each pool's figure is the median over repeats.
pub async fn latency(pools: &[Contender], s: &Settings) -> Vec<LatencyCell> {
    let grid: Vec<(usize, usize)> = s
        .latency_sizes
        .iter()
        .flat_map(|&size| s.latency_tasks.iter().map(move |&tasks| (size, tasks)))
        .collect();
    let mut cells: Vec<LatencyCell> = grid
        .iter()
        .map(|&(size, tasks)| LatencyCell {
            size,
            tasks,
            runs: vec![Vec::new(); pools.len()],
        })
        .collect();
    for repeat in 0..s.repeat {
        for cell in &mut cells {
            let mut built = Vec::with_capacity(pools.len());
            for pool in pools {
                built.push((pool.latency_pool)(cell.size).await);
            }
            for pool in &built {
                for _ in 0..s.warmup {
                    pool.round(cell.tasks).await;
                }
            }
            let mut samples = vec![Vec::with_capacity(s.rounds); pools.len()];
            let blocks = s.blocks.clamp(1, s.rounds.max(1));
            for block in 0..blocks {
                let share = s.rounds * (block + 1) / blocks - s.rounds * block / blocks;
                for k in 0..pools.len() {
                    let i = (block + k) % pools.len();
                    for _ in 0..share {
                        samples[i].push(built[i].round(cell.tasks).await);
                    }
                }
            }
            drop(built);
            let line: Vec<String> = pools
                .iter()
                .zip(&mut samples)
                .zip(&mut cell.runs)
                .map(|((pool, samples), runs)| {
                    let q = Quartiles::of_durations_us(samples);
                    runs.push(q);
                    format!("{} {:.1}", pool.name, q.median)
                })
                .collect();
            eprintln!(
                "latency  [{}/{}] pool {:>2} tasks {:>3}: median µs {}",
                repeat + 1,
                s.repeat,
                cell.size,
                cell.tasks,
                line.join(", ")
            );
        }
    }
    cells
}

#[derive(Clone, Copy, Debug)]
pub struct ThroughputCase {
    pub size: usize,
    pub tasks: usize,
    /// Total `get()`s, split evenly over the tasks.
    pub ops: usize,
    pub limit: Duration,
}

/// One bikeshedder run: the timer starts before the pool is built (so building and spawning
/// count, as in the original), and the run is abandoned at `limit`.
pub async fn throughput_run<P: BenchPool>(case: ThroughputCase) -> Option<Duration> {
    let start = Instant::now();
    let deadline = tokio::time::Instant::from_std(start + case.limit);
    let pool = P::build(case.size, None).await;
    let per_task = case.ops / case.tasks;
    let mut handles: Vec<_> = (0..case.tasks)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                for _ in 0..per_task {
                    let _ = pool.get().await;
                }
            })
        })
        .collect();
    let joined = tokio::time::timeout_at(deadline, async {
        for handle in &mut handles {
            handle.await.expect("a throughput task panicked");
        }
    })
    .await;
    let elapsed = start.elapsed();
    if joined.is_err() {
        handles.iter().for_each(|h| h.abort());
        return None;
    }
    Some(elapsed)
}

pub struct ThroughputCell {
    pub size: usize,
    pub tasks: usize,
    /// `[pool][run]`: M ops/s, `None` for a run that timed out.
    pub runs: Vec<Vec<Option<f64>>>,
}

/// The bikeshedder configurations; runs of the pools are interleaved as in [`latency`].
pub async fn throughput(pools: &[Contender], s: &Settings) -> Vec<ThroughputCell> {
    let mut cells = Vec::new();
    for &(size, tasks) in &s.throughput_configs {
        let case = ThroughputCase {
            size,
            tasks,
            ops: s.throughput_ops,
            limit: s.throughput_limit,
        };
        let mut runs = vec![Vec::with_capacity(s.runs); pools.len()];
        for run in 0..s.runs {
            for k in 0..pools.len() {
                let i = (run + k) % pools.len();
                let elapsed = (pools[i].throughput_run)(case).await;
                let done = (case.ops / tasks * tasks) as f64;
                runs[i].push(elapsed.map(|e| done / e.as_secs_f64() / 1e6));
            }
        }
        let line: Vec<String> = pools
            .iter()
            .zip(&runs)
            .map(|(pool, runs)| match crate::stats::median_ops(runs) {
                Some(m) => format!("{} {m:.2}", pool.name),
                None => format!("{} timeout", pool.name),
            })
            .collect();
        eprintln!(
            "throughput pool {size:>2} tasks {tasks:>2}: median M ops/s {}",
            line.join(", ")
        );
        cells.push(ThroughputCell { size, tasks, runs });
    }
    cells
}

#[derive(Clone, Copy, Debug)]
pub struct FairnessCase {
    pub size: usize,
    pub tasks: usize,
    pub checkouts: usize,
    /// How long each checkout holds its connection (across an await, unlike the other two).
    pub hold: Duration,
    /// The pool's own wait bound: long enough that nobody times out.
    pub wait: Duration,
    /// The whole run is abandoned (a hang) after this.
    pub limit: Duration,
}

/// Many more tasks than connections, each holding its connection for `hold`: a FIFO pool
/// makes every wait about the same, a pool that lets newcomers barge starves some callers
/// (djc/bb8#243). Returns every `get()` wait, or `None` if the run hung.
pub async fn fairness_run<P: BenchPool>(case: FairnessCase) -> Option<Vec<Duration>> {
    let pool = P::build(case.size, Some(case.wait)).await;
    prereserve(&pool, case.size).await;
    let mut handles: Vec<_> = (0..case.tasks)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut waits = Vec::with_capacity(case.checkouts);
                for _ in 0..case.checkouts {
                    let asked = Instant::now();
                    let conn = pool.get().await;
                    waits.push(asked.elapsed());
                    tokio::time::sleep(case.hold).await;
                    drop(conn);
                }
                waits
            })
        })
        .collect();
    let joined = tokio::time::timeout(case.limit, async {
        let mut all = Vec::with_capacity(case.tasks * case.checkouts);
        for handle in &mut handles {
            all.extend(handle.await.expect("a fairness task panicked"));
        }
        all
    })
    .await;
    if joined.is_err() {
        handles.iter().for_each(|h| h.abort());
    }
    joined.ok()
}

/// How many blocks each fairness run is split into. Within a run the pools take turns
/// block by block (each block starting with the next pool), so a pause of the machine (other
/// tenants, the timer wheel) lands on a share of each pool's waits rather than on one pool's
/// whole run: a single run per pool measures the machine's hiccups more than the pool.
const FAIRNESS_BLOCKS: usize = 4;

/// What the fairness section measured.
pub struct Fairness {
    /// `[pool][run]` percentiles of the waits in ms, `None` for a run that hung.
    pub runs: Vec<Vec<Option<Percentiles>>>,
    /// `[pool][run * blocks + block]`: the tail of one block's waits, p99 − p50 in ms (`NaN`
    /// for a block that hung). A pause of the machine lengthens the wait of everyone queued
    /// during it, so a run's p99 is set by its worst pause; blocks of the pools that ran side by
    /// side in time compare the pools with the machine's state held as still as it gets.
    pub block_tails: Vec<Vec<f64>>,
}

pub async fn fairness(pools: &[Contender], s: &Settings) -> Fairness {
    let mut out = vec![Vec::with_capacity(s.fairness_runs); pools.len()];
    let blocks = FAIRNESS_BLOCKS.min(s.fairness.checkouts).max(1);
    let mut block_tails = vec![Vec::with_capacity(s.fairness_runs * blocks); pools.len()];
    for run in 0..s.fairness_runs {
        let mut waits: Vec<Option<Vec<Duration>>> = vec![Some(Vec::new()); pools.len()];
        for block in 0..blocks {
            let checkouts =
                s.fairness.checkouts * (block + 1) / blocks - s.fairness.checkouts * block / blocks;
            let case = FairnessCase {
                checkouts,
                ..s.fairness
            };
            for k in 0..pools.len() {
                let i = (run + block + k) % pools.len();
                let mut got = (pools[i].fairness_run)(case).await;
                block_tails[i].push(got.as_mut().map_or(f64::NAN, |w| {
                    let p = Percentiles::of_durations_ms(w);
                    p.p99 - p.p50
                }));
                waits[i] = match (waits[i].take(), got) {
                    (Some(mut all), Some(w)) => {
                        all.extend(w);
                        Some(all)
                    }
                    _ => None,
                };
            }
        }
        for (i, w) in waits.into_iter().enumerate() {
            let p = w.map(|mut w| Percentiles::of_durations_ms(&mut w));
            match &p {
                Some(p) => eprintln!(
                    "fairness [{}/{}] {}: p50 {:.1} p99 {:.1} p99.9 {:.1} max {:.1} ms",
                    run + 1,
                    s.fairness_runs,
                    pools[i].name,
                    p.p50,
                    p.p99,
                    p.p999,
                    p.max
                ),
                None => eprintln!(
                    "fairness [{}/{}] {}: HUNG",
                    run + 1,
                    s.fairness_runs,
                    pools[i].name
                ),
            }
            out[i].push(p);
        }
    }
    Fairness {
        runs: out,
        block_tails,
    }
}

/// Allocations over `ops` uncontended get+bump+drop on one task, after a warm-up. Runs on
/// its own current-thread runtime, so whatever the pool does for a checkout (a task mobc
/// spawns per return, say) runs on this thread inside the measurement, and nothing else
/// does. Must be called outside any runtime.
pub fn allocs<P: BenchPool>(ops: usize) -> Count {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    rt.block_on(async {
        let size = 4;
        let pool = P::build(size, None).await;
        prereserve(&pool, size).await;
        // Warm-up: lazily grown buffers and first-use paths are not per-get costs.
        bump(&pool, 1000).await;
        let meter = alloc::start();
        bump(&pool, ops).await;
        meter.stop(ops)
    })
}
