//! What to run: defaults, `--quick`, the smoke run, and flags / `POOLS_BENCH_*` variables.

use std::path::PathBuf;
use std::time::Duration;

use crate::measure::FairnessCase;

pub const USAGE: &str = "\
pools benchmark: ours (best_worker, default options; and available_worker) beside bb8, deadpool,
mobc and the spawn/join floor, on a no-op connector.

  cargo bench -p pool-runtime --bench pools -- [flags]     (or: cargo xtask bench -- [flags])

Without --bench (cargo test --benches) only a few-second smoke run is made and nothing written.

  --rounds N         latency rounds per pool per cell per repeat   (default 1000; quick 200)
  --repeat N         times the whole latency grid is run           (default 3; quick 1)
  --blocks N         interleaving blocks per cell                  (default 10)
  --warmup N         unrecorded rounds per pool per cell           (default 20)
  --runs N           throughput runs per pool per config           (default 7; quick 3)
  --fairness-runs N  fairness runs per pool                        (default 5; quick 1)
  --alloc-ops N      get+drop counted per pool for allocations     (default 100000)
  --only LIST        sections, comma-separated: latency,throughput,fairness,alloc (default all)
  --quick            fewer rounds and runs: a rough picture in about a minute
  --out DIR          where to write the reports (default <target>/bench)
  --help             this text

Each flag can also be set as POOLS_BENCH_<FLAG> (e.g. POOLS_BENCH_ROUNDS=300,
POOLS_BENCH_QUICK=1); flags win.";

#[derive(Clone, Debug)]
pub struct Settings {
    /// Full run (`--bench` given) or smoke run.
    pub full: bool,
    pub quick: bool,
    pub latency_sizes: Vec<usize>,
    pub latency_tasks: Vec<usize>,
    pub rounds: usize,
    pub repeat: usize,
    pub blocks: usize,
    pub warmup: usize,
    pub throughput_configs: Vec<(usize, usize)>,
    pub throughput_ops: usize,
    pub throughput_limit: Duration,
    pub runs: usize,
    pub fairness: FairnessCase,
    pub fairness_runs: usize,
    pub alloc_ops: usize,
    pub sections: Sections,
    pub out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug)]
pub struct Sections {
    pub latency: bool,
    pub throughput: bool,
    pub fairness: bool,
    pub alloc: bool,
}

impl Settings {
    /// The full benchmark (the published methods' sizes).
    fn full() -> Self {
        Settings {
            full: true,
            quick: false,
            latency_sizes: vec![4, 8, 16],
            latency_tasks: vec![4, 16, 64, 256],
            rounds: 1000,
            repeat: 3,
            blocks: 10,
            warmup: 20,
            throughput_configs: vec![
                (2, 8),
                (4, 8),
                (8, 8),
                (4, 16),
                (8, 16),
                (16, 16),
                (8, 32),
                (16, 32),
                (32, 32),
            ],
            throughput_ops: 1 << 20,
            throughput_limit: Duration::from_secs(5),
            runs: 7,
            fairness: FairnessCase {
                size: 50,
                tasks: 1000,
                checkouts: 20,
                hold: Duration::from_millis(1),
                wait: Duration::from_secs(60),
                limit: Duration::from_secs(60),
            },
            fairness_runs: 5,
            alloc_ops: 100_000,
            sections: Sections {
                latency: true,
                throughput: true,
                fairness: true,
                alloc: true,
            },
            out: None,
        }
    }

    /// The smoke run made by `cargo test`: every benchmark and pool, tiny sizes (the test
    /// profile is unoptimised), a few seconds.
    fn smoke() -> Self {
        let full = Settings::full();
        Settings {
            full: false,
            latency_sizes: vec![4],
            latency_tasks: vec![4, 64],
            rounds: 3,
            repeat: 1,
            blocks: 1,
            warmup: 1,
            throughput_configs: vec![(4, 8)],
            throughput_ops: 1 << 13,
            runs: 1,
            fairness: FairnessCase {
                size: 5,
                tasks: 50,
                checkouts: 4,
                ..full.fairness
            },
            fairness_runs: 1,
            alloc_ops: 1000,
            ..full
        }
    }

    /// Reads `POOLS_BENCH_*` then the command line (cargo's `--bench` selects the full run;
    /// libtest flags such as `--nocapture` are ignored with a note).
    pub fn from_env_and_args() -> Result<Self, String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let full = args.iter().any(|a| a == "--bench");
        let mut given: Vec<(String, Option<String>)> = Vec::new();
        for (flag, takes_value) in FLAGS {
            let var = format!("POOLS_BENCH_{}", flag.to_uppercase().replace('-', "_"));
            if let Ok(v) = std::env::var(&var) {
                if *takes_value {
                    given.push((flag.to_string(), Some(v)));
                } else if !matches!(v.as_str(), "" | "0" | "false") {
                    given.push((flag.to_string(), None));
                }
            }
        }
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let Some(name) = arg.strip_prefix("--") else {
                eprintln!("pools bench: ignoring argument `{arg}` (filters are not supported)");
                continue;
            };
            let (name, inline) = match name.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (name.to_string(), None),
            };
            match FLAGS.iter().find(|(f, _)| *f == name) {
                Some((_, true)) => {
                    let value = inline
                        .or_else(|| it.next())
                        .ok_or(format!("--{name} needs a value"))?;
                    given.push((name, Some(value)));
                }
                Some((_, false)) => given.push((name, None)),
                None if name == "help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                None if name == "bench" => {}
                None => eprintln!("pools bench: ignoring unknown flag `{arg}`"),
            }
        }
        let mut s = if full {
            Settings::full()
        } else {
            Settings::smoke()
        };
        // `--quick` first, so explicit numbers override it whatever their order.
        if full && given.iter().any(|(f, _)| f == "quick") {
            s.quick = true;
            s.rounds = 200;
            s.repeat = 1;
            s.runs = 3;
            s.fairness_runs = 1;
        }
        for (flag, value) in given {
            let value = value.unwrap_or_default();
            let num = || -> Result<usize, String> {
                value
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or(format!(
                        "--{flag}: expected a positive number, got `{value}`"
                    ))
            };
            // The smoke run keeps its own sizes; only the section choice applies to it.
            match flag.as_str() {
                "only" => s.sections = parse_sections(&value)?,
                "out" => s.out = Some(PathBuf::from(&value)),
                _ if !full => {}
                "rounds" => s.rounds = num()?,
                "repeat" => s.repeat = num()?,
                "blocks" => s.blocks = num()?,
                "warmup" => s.warmup = value.parse().map_err(|_| format!("--warmup: `{value}`"))?,
                "runs" => s.runs = num()?,
                "fairness-runs" => s.fairness_runs = num()?,
                "alloc-ops" => s.alloc_ops = num()?,
                _ => {}
            }
        }
        Ok(s)
    }
}

/// Every flag, and whether it takes a value.
const FLAGS: &[(&str, bool)] = &[
    ("rounds", true),
    ("repeat", true),
    ("blocks", true),
    ("warmup", true),
    ("runs", true),
    ("fairness-runs", true),
    ("alloc-ops", true),
    ("only", true),
    ("out", true),
    ("quick", false),
];

fn parse_sections(list: &str) -> Result<Sections, String> {
    let mut s = Sections {
        latency: false,
        throughput: false,
        fairness: false,
        alloc: false,
    };
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "latency" => s.latency = true,
            "throughput" => s.throughput = true,
            "fairness" => s.fairness = true,
            "alloc" | "allocs" => s.alloc = true,
            other => {
                return Err(format!(
                    "--only: unknown section `{other}` (latency, throughput, fairness, alloc)"
                ));
            }
        }
    }
    Ok(s)
}
