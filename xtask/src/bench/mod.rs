//! `cargo xtask bench [pools|pgsql|redis|all|build] [--] [flags]`: run the pool benchmarks
//! and show their summary (default `all`: `pools`, then `pgsql`, then `redis`).
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
//! writing `pgsql.md`. `redis` brings the services up and runs
//! `cargo bench -p pool-runtime --features redis --bench redis` (Redis `SET`/`GET`, pool 16,
//! 4/16/64/256 tasks, five runs: ours shared and exclusive, `best_worker` and
//! `available_worker`, beside deadpool-redis, bb8-redis and fred's pool), prints the summary
//! (the targets, PASS or MISS), writes `redis.md` and `redis.svg`, and puts the results in
//! the README between the `bench redis` markers, the chart in `docs/redis.svg`.
//! The flags below are the `pools` ones; `pgsql` and `redis` take `--runs N`, `--rounds N`,
//! `--ops N`, `--only NAME` and `--out DIR` (run each alone to pass them).
//! Reports go to `<target>/bench/` (`CARGO_TARGET_DIR` if set, else `target/`):
//! `pools.md` (tables, ratios vs deadpool, geomeans), `pools.json` (raw figures),
//! `latency.svg` and `fairness.svg`; `pgsql.md`; `redis.md`, `redis.svg` and
//! `redis-readme.md` (the README's section).
//!
//! The default run takes several minutes on 2 CPUs (`redis` alone up to ten); run nothing
//! else heavy meanwhile.
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
        Some(w @ ("pools" | "pgsql" | "redis" | "all" | "build")) => (w, &args[1..]),
        _ => ("all", args),
    };
    let flags: &[String] = match args.first().map(String::as_str) {
        Some("--") => &args[1..],
        _ => args,
    };
    if which == "build" {
        return build::run(flags);
    }
    // The flags are the `pools` ones, unless another benchmark runs alone.
    let alone = |name: &str| if which == name { flags } else { &[] };
    if matches!(which, "pools" | "all") {
        run_pools(flags)?;
    }
    if matches!(which, "pgsql" | "all") {
        run_pgsql(alone("pgsql"))?;
    }
    if matches!(which, "redis" | "all") {
        run_redis(alone("redis"))?;
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

/// The README's Redis results sit between these lines.
const REDIS_BEGIN: &str = "<!-- bench redis: generated by `cargo xtask bench redis` -->";
const REDIS_END: &str = "<!-- /bench redis -->";

/// The Redis `SET`/`GET` comparison, against the server `services up` provides; its results
/// go to the README and its chart to `docs/redis.svg`.
fn run_redis(flags: &[String]) -> Result<(), String> {
    let root = crate::project_root();
    let vars = crate::services::up().map_err(|e| format!("services up failed:\n{e}"))?;
    let (out, flags) = take_out(flags);
    let out = out.map_or_else(|| out_dir(&root), |dir| root.join(dir));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let bench = [
        "bench",
        "-p",
        "pool-runtime",
        "--features",
        "redis",
        "--bench",
        "redis",
        "--",
    ];
    eprintln!("xtask bench: cargo {} {}", bench.join(" "), flags.join(" "));
    let started = SystemTime::now();
    let status = Command::new(&cargo)
        .args(bench)
        .arg("--out")
        .arg(&out)
        .args(&flags)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run `{cargo}`: {e}"))?;
    if !status.success() {
        return Err(format!("the Redis benchmark failed: {status}"));
    }
    let read = |name: &str| {
        let path = out.join(name);
        let fresh = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= started);
        if !fresh {
            return Err(format!(
                "the Redis benchmark did not write {}",
                path.display()
            ));
        }
        std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let (md, section) = (read("redis.md")?, read("redis-readme.md")?);
    let chart = root.join("docs/redis.svg");
    std::fs::copy(out.join("redis.svg"), &chart)
        .map_err(|e| format!("cannot copy the chart to {}: {e}", chart.display()))?;
    splice_readme(&root, REDIS_BEGIN, REDIS_END, &section)?;
    println!("\n{}", out.join("redis.md").display());
    for line in summary(&md) {
        println!("  {line}");
    }
    println!("README.md and {} updated", chart.display());
    Ok(())
}

/// Replaces what the README holds between the lines `begin` and `end` with `body`.
pub fn splice_readme(root: &Path, begin: &str, end: &str, body: &str) -> Result<(), String> {
    let readme = root.join("README.md");
    let text = std::fs::read_to_string(&readme).map_err(|e| format!("README.md: {e}"))?;
    let (Some(b), Some(e)) = (text.find(begin), text.find(end)) else {
        return Err(format!("README.md has no `{begin}` … `{end}` section"));
    };
    let updated = format!("{}{begin}\n{body}{}", &text[..b], &text[e..]);
    if updated != text {
        std::fs::write(&readme, updated).map_err(|e| format!("README.md: {e}"))?;
    }
    Ok(())
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
