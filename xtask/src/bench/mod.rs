//! `cargo xtask bench [pools|pgsql|all|build] [--] [flags]`: run the pool benchmarks and show
//! their summary (default `all`: `pools` then `pgsql`).
//!
//! `build` times what a declaration of 1 to 400 pools costs its crate's build, debug and
//! release, and writes the table to the README (see [`build`]; it takes `--repeat N`).
//!
//! `pools` runs `cargo bench -p pool-runtime --bench pools -- <flags>` (the `pools` bench target
//! of `pool-runtime/benches/pools.rs`): our pool (`best_worker` with the default options, and `available_worker`) beside bb8, deadpool and
//! mobc in one process on a no-op connector, then prints where `pools.md` is and its summary
//! lines. `pgsql` brings the test services up (`cargo xtask services up`) and runs
//! `cargo bench -p pool-runtime --features pgsql --bench pgsql` (PostgreSQL `SELECT 1`, pool 16,
//! 4/16/64/256 tasks, five runs: ours exclusive and shared, prepared and not, beside
//! deadpool-postgres with and without `prepare_cached`, bb8-postgres and 16 hand-shared clients),
//! writing `pgsql.md`; the flags below are the `pools` ones (`pgsql` takes `--runs N`,
//! `--rounds N`, `--ops N`, `--only NAME`: run it alone to pass them).
//! Reports go to `<target>/bench/` (`CARGO_TARGET_DIR` if set, else `target/`):
//! `pools.md` (tables, ratios vs deadpool, geomeans), `pools.json` (raw figures),
//! `latency.svg` and `fairness.svg`.
//!
//! The default run takes several minutes on 2 CPUs; run nothing else heavy meanwhile.
//!
//! Flags (each also settable as `POOLS_BENCH_<FLAG>`, e.g. `POOLS_BENCH_ROUNDS=300`; flags win):
//!
//! | flag | meaning | default (`--quick`) |
//! | --- | --- | --- |
//! | `--rounds N` | latency rounds per pool per cell per repeat | 1000 (200) |
//! | `--repeat N` | times the whole latency grid runs; figures are medians over repeats | 3 (1) |
//! | `--blocks N` | blocks the pools take turns in, per cell | 10 |
//! | `--warmup N` | unrecorded latency rounds per pool per cell | 20 |
//! | `--runs N` | throughput runs per pool per configuration | 7 (3) |
//! | `--fairness-runs N` | fairness runs per pool | 5 (1) |
//! | `--alloc-ops N` | get+drop counted per pool for allocations | 100000 |
//! | `--only LIST` | sections: `latency,throughput,fairness,alloc` | all |
//! | `--quick` | fewer rounds and runs: a rough picture in about a minute | |
//! | `--out DIR` | where the reports go | `<target>/bench` |
//! | `--help` | the bench binary's usage | |
//!
//! e.g. `cargo xtask bench -- --quick --only latency,alloc`.

pub mod build;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

pub fn run(args: &[String]) -> Result<(), String> {
    let (which, args) = match args.first().map(String::as_str) {
        Some(w @ ("pools" | "pgsql" | "all" | "build")) => (w, &args[1..]),
        _ => ("all", args),
    };
    let flags: &[String] = match args.first().map(String::as_str) {
        Some("--") => &args[1..],
        _ => args,
    };
    if which == "build" {
        return build::run(flags);
    }
    if which != "pgsql" {
        run_pools(flags)?;
    }
    if which != "pools" {
        let flags = if which == "pgsql" { flags } else { &[] };
        run_pgsql(flags)?;
    }
    Ok(())
}

/// The PostgreSQL `SELECT 1` comparison, against the server `services up` provides.
fn run_pgsql(flags: &[String]) -> Result<(), String> {
    let root = crate::project_root();
    let vars = crate::services::up().map_err(|e| format!("services up failed:\n{e}"))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let bench = [
        "bench",
        "-p",
        "pool-runtime",
        "--features",
        "pgsql",
        "--bench",
        "pgsql",
        "--",
    ];
    eprintln!("xtask bench: cargo {} {}", bench.join(" "), flags.join(" "));
    let status = Command::new(&cargo)
        .args(bench)
        .args(flags)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run `{cargo}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the PostgreSQL benchmark failed: {status}"))
    }
}

fn run_pools(flags: &[String]) -> Result<(), String> {
    let root = crate::project_root();
    // We tell the bench where to write (so we know where to read), as an absolute path: the
    // bench runs in `pool-runtime/`, while a relative `--out` means the workspace root here.
    let (out, flags) = take_out(flags);
    let out = out.map_or_else(|| out_dir(&root), |dir| root.join(dir));
    let md = out.join("pools.md");

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let bench = ["bench", "-p", "pool-runtime", "--bench", "pools", "--"];
    eprintln!("xtask bench: cargo {} {}", bench.join(" "), flags.join(" "));
    let started = SystemTime::now();
    let status = Command::new(&cargo)
        .args(bench)
        .args(&flags)
        .env("POOLS_BENCH_OUT", &out)
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run `{cargo}`: {e}"))?;
    if !status.success() {
        return Err(format!("the benchmark failed: {status}"));
    }
    if flags.iter().any(|f| f == "--help" || f == "-h") {
        return Ok(());
    }

    let fresh = std::fs::metadata(&md)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t >= started);
    if !fresh {
        return Err(format!("the benchmark did not write {}", md.display()));
    }
    let text =
        std::fs::read_to_string(&md).map_err(|e| format!("cannot read {}: {e}", md.display()))?;
    println!("\n{}", md.display());
    for line in summary(&text) {
        println!("  {line}");
    }
    Ok(())
}

/// `<target>/bench`: `CARGO_TARGET_DIR` if set, else `target/`.
fn out_dir(root: &Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|d| root.join(d)) // an absolute path replaces `root`
        .unwrap_or_else(|| root.join("target"));
    target.join("bench")
}

/// Splits off `--out DIR` / `--out=DIR`: the directory, and the other flags.
fn take_out(flags: &[String]) -> (Option<PathBuf>, Vec<String>) {
    let (mut out, mut rest) = (None, Vec::new());
    let mut it = flags.iter();
    while let Some(f) = it.next() {
        if f == "--out" {
            out = it.next().map(PathBuf::from);
        } else if let Some(dir) = f.strip_prefix("--out=") {
            out = Some(PathBuf::from(dir));
        } else {
            rest.push(f.clone());
        }
    }
    (out, rest)
}

/// The bullet lines of the `## Summary` section.
fn summary(md: &str) -> Vec<&str> {
    md.lines()
        .skip_while(|l| l.trim() != "## Summary")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("- "))
        .collect()
}
