//! Our pool (as a declaration makes it: `best_worker`, default options; and with
//! `available_worker`) beside bb8, deadpool and mobc, in one process, on a no-op
//! connector: what the pool itself costs.
//!
//! 1. Acquisition latency: the Astro36/rust-pool-benchmark grid (pool 4/8/16 × 4/16/64/256
//!    tasks × 10 checkouts per round) with its timer fix, pools interleaved, grid repeated.
//! 2. Throughput: bikeshedder/async-pool-benchmark (2^20 `get()`s, new pool per run).
//! 3. Fairness: the distribution of `get()` waits when 1000 tasks share 50 connections
//!    (djc/bb8#243).
//! 4. Allocations per uncontended `get()`, counted by the global allocator below.
//!
//! `cargo bench -p pool-runtime --bench pools [-- flags]` (or `cargo xtask bench`) runs all of
//! it and writes `<target>/bench/{pools.md,pools.json,latency.svg,fairness.svg}`; `--help`
//! lists the flags. Run without `--bench` (as `cargo test --benches` does) it makes a smoke
//! run of a few seconds that checks every pool completes every benchmark and that ours
//! allocates nothing per `get()`, and writes nothing.

// The crate root is this file, so submodules would resolve next to it, in `benches/`, where
// cargo would take each for a bench target of its own: they live in `benches/pools/`, and
// what other benchmarks use too in `benches/common/`.
#[path = "pools/alloc.rs"]
mod alloc;
#[path = "common/chart.rs"]
mod chart;
#[path = "pools/contenders.rs"]
mod contenders;
#[path = "common/machine.rs"]
mod machine;
#[path = "pools/measure.rs"]
mod measure;
#[path = "common/out.rs"]
mod out;
#[path = "pools/report.rs"]
mod report;
#[path = "pools/settings.rs"]
mod settings;
#[path = "pools/stats.rs"]
mod stats;

use std::process::ExitCode;
use std::time::Instant;

use contenders::{Contender, Floor};
use settings::Settings;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

fn main() -> ExitCode {
    let s = match Settings::from_env_and_args() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pools bench: {e}\n\n{}", settings::USAGE);
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let pools = contenders::pools();
    let mut latency_pools = pools.clone();
    latency_pools.push(Contender::of::<Floor>());

    // First, before the multi-thread runtime exists: each pool on its own current-thread
    // runtime, so nothing but the measured checkouts can allocate.
    let allocs = s.sections.alloc.then(|| {
        pools
            .iter()
            .map(|p| {
                let count = (p.allocs)(s.alloc_ops);
                eprintln!("allocs   {}: {:.3} per get", p.name, count.per_op());
                count
            })
            .collect()
    });

    // The runtime the published benchmarks use: `#[tokio::main]`'s, one worker per CPU.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a multi-thread runtime");
    let (latency, throughput, fairness) = rt.block_on(async {
        let latency = match s.sections.latency {
            true => Some(measure::latency(&latency_pools, &s).await),
            false => None,
        };
        let throughput = match s.sections.throughput {
            true => Some(measure::throughput(&pools, &s).await),
            false => None,
        };
        let fairness = match s.sections.fairness {
            true => Some(measure::fairness(&pools, &s).await),
            false => None,
        };
        (latency, throughput, fairness)
    });
    drop(rt);
    let (fairness, fairness_blocks) = match fairness {
        Some(f) => (Some(f.runs), Some(f.block_tails)),
        None => (None, None),
    };

    let results = report::Results {
        pools: pools.iter().map(|p| p.name).collect(),
        latency_names: latency_pools.iter().map(|p| p.name).collect(),
        latency,
        throughput,
        fairness_blocks,
        fairness,
        allocs,
        elapsed_s: started.elapsed().as_secs_f64(),
    };
    let outcome = if s.full {
        report::write(&results, &s)
            .map(|(path, summary)| (format!("wrote {}", path.display()), summary))
            .map_err(|e| format!("cannot write the reports: {e}"))
    } else {
        report::smoke_check(&results).map(|summary| {
            (
                "smoke run ok (pass --bench for the real run)".into(),
                summary,
            )
        })
    };
    match outcome {
        Ok((done, summary)) => {
            for line in summary {
                println!("  {line}");
            }
            println!(
                "pools bench: {done} in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pools bench: {e}");
            ExitCode::FAILURE
        }
    }
}
