//! What the benchmarks against a real server (`pgsql`, `redis`) share: contenders run like
//! with like in one process, interleaved round by round, the whole grid several times, each
//! run reported on its own.
//!
//! A round spawns `tasks` tasks, each running `ops` operations; its clock starts before the
//! spawns and stops when the last task ends. Within a cell (a task count) each round starts
//! with the next contender: the one that runs right after another's round finds the server
//! still tidying up after it (statements closing, sockets draining), so a fixed order would
//! favour the later ones. Figures are medians of round times; a ratio compares two
//! contenders' medians within one run, so the machine's drift between runs cancels out.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The task counts of every grid.
pub const TASKS: [usize; 4] = [4, 16, 64, 256];

/// A pool under test, cheap to clone into every task of a round.
pub trait Contender: Clone + Send + Sync + 'static {
    fn name(&self) -> String;

    /// Operation `i` of task `task` in a round; panics if the server's answer is wrong, so a
    /// smoke run proves every contender answers.
    fn op(&self, task: usize, i: usize) -> impl Future<Output = ()> + Send;
}

pub struct Settings {
    /// `--bench` was passed (a real run); otherwise a smoke run that writes nothing.
    pub full: bool,
    /// Times the whole grid runs, each reported on its own.
    pub runs: usize,
    pub rounds: usize,
    pub ops: usize,
    pub out: Option<PathBuf>,
    /// Only the contenders whose name contains this (and the baselines).
    pub only: Option<String>,
}

impl Settings {
    /// The command line (`--runs N --rounds N --ops N --only NAME --out DIR`); a real run
    /// defaults to 5 runs of `rounds` rounds of `ops` operations per task.
    pub fn from_args(rounds: usize, ops: usize) -> Result<Settings, String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let full = args.iter().any(|a| a == "--bench");
        let mut s = Settings {
            full,
            runs: if full { 5 } else { 1 },
            rounds: if full { rounds } else { 3 },
            ops: if full { ops } else { 2 },
            out: None,
            only: None,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().ok_or(format!("{a} takes a value"));
            match a.as_str() {
                "--rounds" => s.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?,
                "--runs" => s.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
                "--ops" => s.ops = value()?.parse().map_err(|e| format!("--ops: {e}"))?,
                "--out" => s.out = Some(PathBuf::from(value()?)),
                "--only" => s.only = Some(value()?.clone()),
                // `--bench`, and whatever else cargo and libtest pass along.
                _ => {}
            }
        }
        if s.rounds == 0 || s.ops == 0 || s.runs == 0 {
            return Err("--runs, --rounds and --ops must be positive".into());
        }
        Ok(s)
    }

    /// Keeps the contenders `--only` names, and those `keep` says every report needs.
    pub fn select<C: Contender>(&self, all: &mut Vec<C>, keep: impl Fn(&C) -> bool) {
        if let Some(only) = &self.only {
            all.retain(|c| c.name().contains(only.as_str()) || keep(c));
        }
    }
}

/// One round of `c`: `tasks` tasks, `ops` operations each; the time from before the spawns
/// to the end of the last task.
pub async fn round<C: Contender>(c: &C, tasks: usize, ops: usize) -> Duration {
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for task in 0..tasks {
        let me = c.clone();
        set.spawn(async move {
            for i in 0..ops {
                me.op(task, i).await;
            }
        });
    }
    while let Some(done) = set.join_next().await {
        done.expect("a bench task panicked");
    }
    started.elapsed()
}

/// Round times: `[run][cell][contender][round]`, cells in [`TASKS`] order.
pub struct Rounds(Vec<Vec<Vec<Vec<Duration>>>>);

/// Warms every contender up (full rounds at the largest task count), then runs the grid
/// `s.runs` times.
pub async fn run<C: Contender>(contenders: &[C], s: &Settings) -> Rounds {
    let warmup = if s.full { 5 } else { 1 };
    for c in contenders {
        for _ in 0..warmup {
            round(c, TASKS[TASKS.len() - 1], s.ops).await;
        }
    }
    let mut runs = Vec::with_capacity(s.runs);
    for _ in 0..s.runs {
        let mut cells = Vec::with_capacity(TASKS.len());
        for &tasks in &TASKS {
            let mut cell = vec![Vec::with_capacity(s.rounds); contenders.len()];
            for r in 0..s.rounds {
                for k in 0..contenders.len() {
                    let i = (r + k) % contenders.len();
                    cell[i].push(round(&contenders[i], tasks, s.ops).await);
                }
            }
            cells.push(cell);
        }
        runs.push(cells);
    }
    Rounds(runs)
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

impl Rounds {
    /// Contender `i`'s median round in cell `t` over every run's rounds.
    pub fn median(&self, t: usize, i: usize) -> Duration {
        let all: Vec<Duration> = self.0.iter().flat_map(|run| run[t][i].clone()).collect();
        median(&all)
    }

    /// Contender `i`'s median round in cell `t`, run by run.
    pub fn medians(&self, t: usize, i: usize) -> Vec<Duration> {
        self.0.iter().map(|run| median(&run[t][i])).collect()
    }

    /// Run by run, how many times faster contender `a` is than `b` in cell `t`: `b`'s median
    /// round over `a`'s.
    pub fn ratios(&self, t: usize, a: usize, b: usize) -> Vec<f64> {
        self.medians(t, b)
            .iter()
            .zip(self.medians(t, a))
            .map(|(b, a)| b.as_secs_f64() / a.as_secs_f64())
            .collect()
    }
}

/// The median of `v` (the upper one of an even count).
pub fn mid(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `1.02, 0.98, …`: a ratio per run.
pub fn list(v: &[f64]) -> String {
    v.iter()
        .map(|r| format!("{r:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Prints the summary, then, in a real run, writes `files` (name, contents) to the report
/// folder; a smoke run writes nothing.
pub fn finish(
    bench: &str,
    s: &Settings,
    started: Instant,
    summary: &[String],
    files: &[(&str, &str)],
) -> ExitCode {
    for line in summary {
        println!("  {line}");
    }
    if !s.full {
        println!(
            "{bench} bench: smoke run ok in {:.1} s (pass --bench for the real run)",
            started.elapsed().as_secs_f64()
        );
        return ExitCode::SUCCESS;
    }
    let dir = crate::out::bench_dir(s.out.as_deref());
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        files
            .iter()
            .try_for_each(|(name, text)| std::fs::write(dir.join(name), text))
    });
    match written {
        Ok(()) => {
            println!(
                "{bench} bench: wrote {} in {} in {:.1} s",
                files.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
                dir.display(),
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{bench} bench: cannot write to {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
