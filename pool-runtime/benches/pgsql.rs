//! PostgreSQL `SELECT 1` through this project's pool — exclusive (`get()` + `query_one`, with
//! `best_worker`, the rdbms default, and with `available_worker`, a checkout pool's shape) and
//! shared (`get_shared()` + `query_one`, pipelined) — beside deadpool-postgres and
//! bb8-postgres, in one process, on one server.
//!
//! Pool size 16; 4, 16, 64 and 256 tasks, each running `--ops` queries (default 10) per
//! round; the timer starts before the tasks are spawned and stops when the last one ends. The
//! pools are interleaved round by round (warm-up rounds first), `--rounds` rounds per cell
//! (default 100). Every pool uses its defaults otherwise: deadpool-postgres recycles with
//! `RecyclingMethod::Fast` (an `is_closed` check), bb8 tests every connection on checkout
//! (an empty query), ours validates only connections idle for a maintenance tick.
//!
//! `cargo bench -p pool-runtime --bench pgsql --features pgsql [-- --rounds N --ops N
//! --only NAME --out DIR]` (`--only`: the pools whose name contains NAME, and
//! deadpool-postgres) writes `<target>/bench/pgsql.md` (`CARGO_TARGET_DIR` if set). Without
//! `--bench` (as `cargo test --benches` runs it) it makes a smoke run of a few rounds, checks
//! every pool answers, and writes nothing. The server is the shared PostgreSQL of
//! `cargo xtask services up` (`OP_PG_URL`), plain TCP on 127.0.0.1:5432.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bb8_postgres::PostgresConnectionManager;
use deadpool_postgres::{ManagerConfig, RecyclingMethod};
use pool_runtime::connectors::Pgsql;
use pool_runtime::{AvailableWorker, BestWorker, Pool};
use tokio_postgres::NoTls;

const POOL_SIZE: usize = 16;
const TASKS: [usize; 4] = [4, 16, 64, 256];
const QUERY: &str = "SELECT 1";

#[derive(Clone)]
enum Contender {
    Exclusive(Pool<Pgsql, BestWorker>),
    ExclusiveAvailable(Pool<Pgsql, AvailableWorker>),
    Shared(Pool<Pgsql, BestWorker>),
    SharedAvailable(Pool<Pgsql, AvailableWorker>),
    Deadpool(deadpool_postgres::Pool),
    Bb8(bb8::Pool<PostgresConnectionManager<NoTls>>),
}

impl Contender {
    fn name(&self) -> &'static str {
        match self {
            Contender::Exclusive(_) => "outgoing-pools exclusive (get)",
            Contender::ExclusiveAvailable(_) => "outgoing-pools exclusive, available_worker",
            Contender::Shared(_) => "outgoing-pools shared (get_shared)",
            Contender::SharedAvailable(_) => "outgoing-pools shared, available_worker",
            Contender::Deadpool(_) => "deadpool-postgres 0.14",
            Contender::Bb8(_) => "bb8-postgres 0.9",
        }
    }

    async fn select_one(&self) {
        let row = match self {
            Contender::Exclusive(p) => p.get().await.unwrap().query_one(QUERY, &[]).await,
            Contender::ExclusiveAvailable(p) => p.get().await.unwrap().query_one(QUERY, &[]).await,
            Contender::Shared(p) => p.get_shared().await.unwrap().query_one(QUERY, &[]).await,
            Contender::SharedAvailable(p) => {
                p.get_shared().await.unwrap().query_one(QUERY, &[]).await
            }
            Contender::Deadpool(p) => p.get().await.unwrap().query_one(QUERY, &[]).await,
            Contender::Bb8(p) => p.get().await.unwrap().query_one(QUERY, &[]).await,
        };
        assert_eq!(row.unwrap().get::<_, i32>(0), 1);
    }

    /// One round: `tasks` tasks, `ops` queries each; the clock runs from before the spawns.
    async fn round(&self, tasks: usize, ops: usize) -> Duration {
        let started = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..tasks {
            let me = self.clone();
            set.spawn(async move {
                for _ in 0..ops {
                    me.select_one().await;
                }
            });
        }
        while let Some(done) = set.join_next().await {
            done.expect("a bench task panicked");
        }
        started.elapsed()
    }
}

async fn contenders(url: &str) -> Vec<Contender> {
    let config: tokio_postgres::Config = url.parse().expect("OP_PG_URL parses");
    let ours = || async {
        Pool::<Pgsql, BestWorker>::builder(Pgsql::new(config.clone()))
            .name("bench")
            .workers(POOL_SIZE)
            .multiplexed()
            .build()
            .await
            .expect("our pool starts")
    };
    let available = Pool::<Pgsql, AvailableWorker>::builder(Pgsql::new(config.clone()))
        .name("bench.available")
        .workers(POOL_SIZE)
        .build()
        .await
        .expect("our pool starts");
    let shared_available = Pool::<Pgsql, AvailableWorker>::builder(Pgsql::new(config.clone()))
        .name("bench.shared.available")
        .workers(POOL_SIZE)
        .multiplexed()
        .build()
        .await
        .expect("our pool starts");
    let deadpool = deadpool_postgres::Pool::builder(deadpool_postgres::Manager::from_config(
        config.clone(),
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    ))
    .max_size(POOL_SIZE)
    .build()
    .expect("deadpool builds");
    let bb8 = bb8::Pool::builder()
        .max_size(POOL_SIZE as u32)
        .build(PostgresConnectionManager::new(config.clone(), NoTls))
        .await
        .expect("bb8 starts");
    vec![
        Contender::Exclusive(ours().await),
        Contender::ExclusiveAvailable(available),
        Contender::Shared(ours().await),
        Contender::SharedAvailable(shared_available),
        Contender::Deadpool(deadpool),
        Contender::Bb8(bb8),
    ]
}

struct Settings {
    full: bool,
    rounds: usize,
    ops: usize,
    out: Option<PathBuf>,
    /// Only the pools whose name contains this.
    only: Option<String>,
}

impl Settings {
    fn from_args() -> Result<Settings, String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let full = args.iter().any(|a| a == "--bench");
        let mut s = Settings {
            full,
            rounds: if full { 100 } else { 3 },
            ops: if full { 10 } else { 2 },
            out: None,
            only: None,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().ok_or(format!("{a} takes a value"));
            match a.as_str() {
                "--rounds" => s.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?,
                "--ops" => s.ops = value()?.parse().map_err(|e| format!("--ops: {e}"))?,
                "--out" => s.out = Some(PathBuf::from(value()?)),
                "--only" => s.only = Some(value()?.clone()),
                "--bench" => {}
                // What cargo and libtest may pass along.
                f if f.starts_with("--") => {}
                _ => {}
            }
        }
        if s.rounds == 0 || s.ops == 0 {
            return Err("--rounds and --ops must be positive".into());
        }
        Ok(s)
    }

    fn out_dir(&self) -> PathBuf {
        if let Some(out) = &self.out {
            return out.clone();
        }
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => workspace.join(dir),
            None => std::env::current_exe()
                .ok()
                .and_then(|exe| {
                    exe.ancestors()
                        .find(|d| d.join("CACHEDIR.TAG").is_file())
                        .map(Path::to_path_buf)
                })
                .unwrap_or_else(|| workspace.join("target")),
        };
        target.join("bench")
    }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn percentile(v: &[Duration], p: f64) -> Duration {
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() -> ExitCode {
    let s = match Settings::from_args() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pgsql bench: {e}");
            return ExitCode::from(2);
        }
    };
    let pg = test_support::require(test_support::PG);
    let url = pg.url();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a multi-thread runtime");
    let started = Instant::now();
    // results[task count][contender] = round times
    let (names, results): (Vec<&str>, Vec<Vec<Vec<Duration>>>) = rt.block_on(async {
        let mut pools = contenders(&url).await;
        if let Some(only) = &s.only {
            pools.retain(|p| p.name().contains(only.as_str()) || p.name().starts_with("deadpool"));
        }
        let warmup = if s.full { 5 } else { 1 };
        for p in &pools {
            for _ in 0..warmup {
                p.round(256, s.ops).await;
            }
        }
        let mut results = Vec::new();
        for &tasks in &TASKS {
            let mut cell = vec![Vec::with_capacity(s.rounds); pools.len()];
            for _ in 0..s.rounds {
                for (i, p) in pools.iter().enumerate() {
                    cell[i].push(p.round(tasks, s.ops).await);
                }
            }
            results.push(cell);
        }
        (pools.iter().map(Contender::name).collect(), results)
    });
    drop(rt);

    let deadpool = names
        .iter()
        .position(|n| n.starts_with("deadpool"))
        .expect("deadpool-postgres is a contender");
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# PostgreSQL `SELECT 1`: outgoing-pools vs deadpool-postgres and bb8-postgres\n\n\
         Pool size {POOL_SIZE}; each round spawns the tasks, each running {} `query_one(\"{QUERY}\")` \
         after a checkout; timer started before spawning; pools interleaved round by round; {} \
         rounds per cell; plain TCP to {}:{} ({} CPUs, server on the same machine). \
         Throughput ratio = deadpool-postgres's median round time / the pool's (higher is \
         better).\n",
        s.ops,
        s.rounds,
        pg.host,
        pg.port,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let _ = writeln!(
        md,
        "| tasks | pool | median round | p10 | p90 | queries/s | vs deadpool-postgres |\n\
         | ---: | --- | ---: | ---: | ---: | ---: | ---: |"
    );
    let mut summary = Vec::new();
    for (t, cell) in results.into_iter().enumerate() {
        let tasks = TASKS[t];
        let mut medians = Vec::new();
        let mut rows = Vec::new();
        for mut rounds in cell {
            let m = median(&mut rounds);
            medians.push(m);
            rows.push((m, percentile(&rounds, 0.1), percentile(&rounds, 0.9)));
        }
        for (i, (m, p10, p90)) in rows.into_iter().enumerate() {
            let qps = (tasks * s.ops) as f64 / m.as_secs_f64();
            let ratio = medians[deadpool].as_secs_f64() / m.as_secs_f64();
            let _ = writeln!(
                md,
                "| {tasks} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {qps:.0} | {ratio:.2}× |",
                names[i],
                m.as_secs_f64() * 1e3,
                p10.as_secs_f64() * 1e3,
                p90.as_secs_f64() * 1e3,
            );
            summary.push(format!(
                "{tasks:>3} tasks  {:<36} median {:>8.2} ms  {qps:>8.0} q/s  {ratio:.2}x deadpool",
                names[i],
                m.as_secs_f64() * 1e3
            ));
        }
    }
    for line in &summary {
        println!("  {line}");
    }
    if !s.full {
        println!(
            "pgsql bench: smoke run ok in {:.1} s (pass --bench for the real run)",
            started.elapsed().as_secs_f64()
        );
        return ExitCode::SUCCESS;
    }
    let dir = s.out_dir();
    let path = dir.join("pgsql.md");
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, md)) {
        Ok(()) => {
            println!(
                "pgsql bench: wrote {} in {:.1} s",
                path.display(),
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pgsql bench: cannot write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
