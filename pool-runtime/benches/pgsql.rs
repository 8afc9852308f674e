//! PostgreSQL `SELECT 1` through this project's pool — exclusive (`get()` + `query_one`, with
//! `best_worker`, the rdbms default, and with `available_worker`, a checkout pool's shape) and
//! shared (`get_shared()` + `query_one`, pipelined) — beside deadpool-postgres, bb8-postgres
//! and 16 `tokio_postgres::Client`s shared by hand (the pipelining limit), in one process, on
//! one server, like with like:
//!
//! - prepared: ours with its statement cache (the default: query text runs as a cached
//!   statement), deadpool-postgres with `prepare_cached` (its documented way), the hand-shared
//!   clients with a statement prepared once per client;
//! - unprepared: ours through the native `Client::query_one("SELECT 1")` (what
//!   `statement_cache = 0` runs), deadpool-postgres and bb8-postgres the same (a Parse round
//!   trip, then Bind/Execute).
//!
//! The server allows 100 connections: deadpool-postgres serves both its modes from one pool,
//! and ours has one pool per strategy, multiplexed, for exclusive and shared rounds in both
//! modes (80 connections in all).
//!
//! Pool size 16; 4, 16, 64 and 256 tasks, each running `--ops` queries (default 10) per
//! round; the timer starts before the tasks are spawned and stops when the last one ends. The
//! pools are interleaved round by round (warm-up rounds first), `--rounds` rounds per cell
//! (default 100). Every pool uses its defaults otherwise: deadpool-postgres recycles with
//! `RecyclingMethod::Fast` (an `is_closed` check), bb8 tests every connection on checkout
//! (an empty query), ours validates only connections idle for a maintenance tick. The
//! hand-shared clients send each query on the client with the fewest in flight.
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
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bb8_postgres::PostgresConnectionManager;
use deadpool_postgres::{ManagerConfig, RecyclingMethod};
use pool_runtime::connectors::Pgsql;
use pool_runtime::connectors::pgsql::PgClient;
use pool_runtime::{AvailableWorker, BestWorker, Pool};
use tokio_postgres::{NoTls, Statement};

const POOL_SIZE: usize = 16;
const TASKS: [usize; 4] = [4, 16, 64, 256];
const QUERY: &str = "SELECT 1";

#[derive(Clone)]
enum Kind {
    Exclusive(Pool<Pgsql, BestWorker>),
    ExclusiveAvailable(Pool<Pgsql, AvailableWorker>),
    Shared(Pool<Pgsql, BestWorker>),
    SharedAvailable(Pool<Pgsql, AvailableWorker>),
    Deadpool(deadpool_postgres::Pool),
    Bb8(bb8::Pool<PostgresConnectionManager<NoTls>>),
    HandShared(Arc<HandShared>),
}

/// Clients shared by hand, each with the statement prepared on it and a count of queries in
/// flight.
struct HandShared(Vec<(tokio_postgres::Client, Statement, AtomicUsize)>);

#[derive(Clone)]
struct Contender {
    kind: Kind,
    /// Prepared statements (see the module docs).
    prepared: bool,
}

impl Contender {
    fn name(&self) -> String {
        let pool = match self.kind {
            Kind::Exclusive(_) => "outgoing-pools exclusive (get)",
            Kind::ExclusiveAvailable(_) => "outgoing-pools exclusive, available_worker",
            Kind::Shared(_) => "outgoing-pools shared (get_shared)",
            Kind::SharedAvailable(_) => "outgoing-pools shared, available_worker",
            Kind::Deadpool(_) => "deadpool-postgres 0.14",
            Kind::Bb8(_) => "bb8-postgres 0.9",
            Kind::HandShared(_) => "16 hand-shared Clients",
        };
        let mode = match (&self.kind, self.prepared) {
            (Kind::Deadpool(_), true) => "prepare_cached",
            (_, true) => "prepared",
            (_, false) => "unprepared",
        };
        format!("{pool}, {mode}")
    }

    async fn select_one(&self) {
        // Ours unprepared runs the native `Client::query_one` (it derefs to one): a Parse
        // round trip each time, what `statement_cache = 0` does.
        async fn ours(
            c: &PgClient,
            prepared: bool,
        ) -> Result<tokio_postgres::Row, tokio_postgres::Error> {
            if prepared {
                c.query_one(QUERY, &[]).await
            } else {
                let native: &tokio_postgres::Client = c;
                native.query_one(QUERY, &[]).await
            }
        }
        let prepared = self.prepared;
        let row = match &self.kind {
            Kind::Exclusive(p) => ours(&p.get().await.unwrap(), prepared).await,
            Kind::ExclusiveAvailable(p) => ours(&p.get().await.unwrap(), prepared).await,
            Kind::Shared(p) => ours(&p.get_shared().await.unwrap(), prepared).await,
            Kind::SharedAvailable(p) => ours(&p.get_shared().await.unwrap(), prepared).await,
            Kind::Deadpool(p) => {
                let c = p.get().await.unwrap();
                if prepared {
                    let st = c.prepare_cached(QUERY).await.unwrap();
                    c.query_one(&st, &[]).await
                } else {
                    c.query_one(QUERY, &[]).await
                }
            }
            Kind::Bb8(p) => p.get().await.unwrap().query_one(QUERY, &[]).await,
            Kind::HandShared(h) => {
                let (c, st, n) =
                    h.0.iter()
                        .min_by_key(|(_, _, n)| n.load(Ordering::Relaxed))
                        .expect("clients");
                n.fetch_add(1, Ordering::Relaxed);
                let row = c.query_one(st, &[]).await;
                n.fetch_sub(1, Ordering::Relaxed);
                row
            }
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

/// Our pool on `config`, multiplexed: exclusive rounds take its workers with `get()`, shared
/// ones pipeline with `get_shared()` (the rounds run one at a time, so they never mix).
async fn ours<S: pool_runtime::Strategy>(
    config: &tokio_postgres::Config,
    name: &str,
) -> Pool<Pgsql, S> {
    Pool::<Pgsql, S>::builder(Pgsql::new(config.clone()))
        .name(name)
        .workers(POOL_SIZE)
        .multiplexed()
        .build()
        .await
        .expect("our pool starts")
}

async fn contenders(url: &str) -> Vec<Contender> {
    let config: tokio_postgres::Config = url.parse().expect("OP_PG_URL parses");
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
    let mut clients = Vec::new();
    for _ in 0..POOL_SIZE {
        let (client, conn) = config.connect(NoTls).await.expect("a client connects");
        tokio::spawn(conn);
        let st = client.prepare(QUERY).await.expect("SELECT 1 prepares");
        clients.push((client, st, AtomicUsize::new(0)));
    }
    let c = |kind, prepared| Contender { kind, prepared };
    let mut all = vec![
        c(Kind::Deadpool(deadpool.clone()), true),
        c(Kind::Deadpool(deadpool), false),
        c(Kind::Bb8(bb8), false),
        c(Kind::HandShared(Arc::new(HandShared(clients))), true),
    ];
    // One pool per strategy for both modes and both uses: the server allows 100 connections.
    let best = ours::<BestWorker>(&config, "bench").await;
    let available = ours::<AvailableWorker>(&config, "bench.available").await;
    for prepared in [true, false] {
        all.extend([
            c(Kind::Exclusive(best.clone()), prepared),
            c(Kind::ExclusiveAvailable(available.clone()), prepared),
            c(Kind::Shared(best.clone()), prepared),
            c(Kind::SharedAvailable(available.clone()), prepared),
        ]);
    }
    all
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
    let (contenders, results): (Vec<Contender>, Vec<Vec<Vec<Duration>>>) = rt.block_on(async {
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
        (pools, results)
    });
    let names: Vec<String> = contenders.iter().map(Contender::name).collect();
    // The deadpool-postgres row in each mode: prepared rows compare with `prepare_cached`,
    // unprepared ones with plain `query_one`.
    let deadpool_in = |prepared: bool| {
        contenders
            .iter()
            .position(|c| matches!(c.kind, Kind::Deadpool(_)) && c.prepared == prepared)
            .expect("deadpool-postgres runs in both modes")
    };
    let (deadpool, deadpool_plain) = (deadpool_in(true), deadpool_in(false));
    drop(contenders);
    drop(rt);
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# PostgreSQL `SELECT 1`: outgoing-pools vs deadpool-postgres and bb8-postgres\n\n\
         Pool size {POOL_SIZE}; each round spawns the tasks, each running {} `query_one(\"{QUERY}\")` \
         after a checkout; timer started before spawning; pools interleaved round by round; {} \
         rounds per cell; plain TCP to {}:{} ({} CPUs, server on the same machine). \
         Throughput ratio = deadpool-postgres's median round time / the pool's (higher is \
         better), against deadpool-postgres with `prepare_cached`, and against \
         deadpool-postgres in the same mode (prepared rows against `prepare_cached`, unprepared \
         rows against plain `query_one`).\n",
        s.ops,
        s.rounds,
        pg.host,
        pg.port,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let _ = writeln!(
        md,
        "| tasks | pool | median round | p10 | p90 | queries/s | vs deadpool `prepare_cached` | vs deadpool, same mode |\n\
         | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
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
            let same = if names[i].ends_with("unprepared") {
                deadpool_plain
            } else {
                deadpool
            };
            let same = medians[same].as_secs_f64() / m.as_secs_f64();
            let _ = writeln!(
                md,
                "| {tasks} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {qps:.0} | {ratio:.2}× | {same:.2}× |",
                names[i],
                m.as_secs_f64() * 1e3,
                p10.as_secs_f64() * 1e3,
                p90.as_secs_f64() * 1e3,
            );
            summary.push(format!(
                "{tasks:>3} tasks  {:<58} {qps:>8.0} q/s  {ratio:.2}x deadpool prepare_cached  {same:.2}x same mode",
                names[i],
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
