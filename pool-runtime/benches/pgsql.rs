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
//! A third deadpool-postgres row bounds each checkout by a 5 s wait timeout (`timeout_get`),
//! as ours always is by `call_timeout`: what that timer costs shows beside the others.
//!
//! The server allows 100 connections: deadpool-postgres serves all its rows from one pool,
//! and ours has one pool per strategy, multiplexed, for exclusive and shared rounds in both
//! modes (80 connections in all).
//!
//! Pool size 16; 4, 16, 64 and 256 tasks, each running `--ops` queries (default 10) per
//! round; the timer starts before the tasks are spawned and stops when the last one ends. The
//! pools are interleaved round by round, each round starting with the next contender
//! (warm-up rounds first), `--rounds` rounds per cell
//! (default 40), and the whole grid runs `--runs` times (default 5), each run reported. Every pool uses its defaults otherwise: deadpool-postgres recycles with
//! `RecyclingMethod::Fast` (an `is_closed` check), bb8 tests every connection on checkout
//! (an empty query), ours validates only connections idle for a maintenance tick. The
//! hand-shared clients send each query on the client with the fewest in flight.
//!
//! `cargo bench -p pool-runtime --bench pgsql --features pgsql [-- --runs N --rounds N --ops N
//! --only NAME --out DIR]` (`--only`: the pools whose name contains NAME, and
//! deadpool-postgres) writes `<target>/bench/pgsql.md` (`CARGO_TARGET_DIR` if set). Without
//! `--bench` (as `cargo test --benches` runs it) it makes a smoke run of a few rounds, checks
//! every pool answers, and writes nothing. The server is the shared PostgreSQL of
//! `cargo xtask services up` (`OP_PG_URL`), plain TCP on 127.0.0.1:5432.

#[path = "common/out.rs"]
mod out;
#[path = "common/side_by_side.rs"]
mod side_by_side;

use std::fmt::Write as _;
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

use side_by_side::{Contender as _, Settings, TASKS, list, mid};

const POOL_SIZE: usize = 16;
const QUERY: &str = "SELECT 1";
/// What ours always has (`call_timeout`), for the deadpool-postgres row that has it too.
const WAIT_5S: deadpool_postgres::Timeouts = deadpool_postgres::Timeouts {
    wait: Some(Duration::from_secs(5)),
    create: None,
    recycle: None,
};

#[derive(Clone)]
enum Kind {
    Exclusive(Pool<Pgsql, BestWorker>),
    ExclusiveAvailable(Pool<Pgsql, AvailableWorker>),
    Shared(Pool<Pgsql, BestWorker>),
    SharedAvailable(Pool<Pgsql, AvailableWorker>),
    Deadpool(deadpool_postgres::Pool),
    /// The same pool, each checkout bounded by a wait timeout as ours is by `call_timeout`.
    DeadpoolTimed(deadpool_postgres::Pool),
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

impl side_by_side::Contender for Contender {
    fn name(&self) -> String {
        let pool = match self.kind {
            Kind::Exclusive(_) => "outgoing-pools exclusive (get)",
            Kind::ExclusiveAvailable(_) => "outgoing-pools exclusive, available_worker",
            Kind::Shared(_) => "outgoing-pools shared (get_shared)",
            Kind::SharedAvailable(_) => "outgoing-pools shared, available_worker",
            Kind::Deadpool(_) => "deadpool-postgres 0.14",
            Kind::DeadpoolTimed(_) => "deadpool-postgres 0.14 with a 5 s wait timeout",
            Kind::Bb8(_) => "bb8-postgres 0.9",
            Kind::HandShared(_) => "16 hand-shared Clients",
        };
        let mode = match (&self.kind, self.prepared) {
            (Kind::Deadpool(_) | Kind::DeadpoolTimed(_), true) => "prepare_cached",
            (_, true) => "prepared",
            (_, false) => "unprepared",
        };
        format!("{pool}, {mode}")
    }

    async fn op(&self, _task: usize, _i: usize) {
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
            Kind::DeadpoolTimed(p) => {
                let c = p.timeout_get(&WAIT_5S).await.unwrap();
                let st = c.prepare_cached(QUERY).await.unwrap();
                c.query_one(&st, &[]).await
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
    // Only the timed row sets a timeout; the runtime is what applies it.
    .runtime(deadpool_postgres::Runtime::Tokio1)
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
        c(Kind::Deadpool(deadpool.clone()), false),
        c(Kind::DeadpoolTimed(deadpool), true),
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

fn main() -> ExitCode {
    let s = match Settings::from_args(40, 10) {
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
    let (contenders, results) = rt.block_on(async {
        let mut pools = contenders(&url).await;
        s.select(&mut pools, |p| p.name().starts_with("deadpool"));
        let results = side_by_side::run(&pools, &s).await;
        (pools, results)
    });
    let names: Vec<String> = contenders.iter().map(|c| c.name()).collect();
    // The deadpool-postgres row in each mode: prepared rows compare with `prepare_cached`,
    // unprepared ones with plain `query_one`.
    let position = |f: &dyn Fn(&Contender) -> bool| contenders.iter().position(f);
    let deadpool = position(&|c| matches!(c.kind, Kind::Deadpool(_)) && c.prepared)
        .expect("deadpool-postgres prepare_cached runs");
    let deadpool_plain = position(&|c| matches!(c.kind, Kind::Deadpool(_)) && !c.prepared)
        .expect("deadpool-postgres unprepared runs");
    let hand = position(&|c| matches!(c.kind, Kind::HandShared(_)));
    let same_mode: Vec<usize> = contenders
        .iter()
        .map(|c| if c.prepared { deadpool } else { deadpool_plain })
        .collect();
    let kinds: Vec<(bool, bool)> = contenders
        .iter()
        .map(|c| {
            let shared = matches!(c.kind, Kind::Shared(_) | Kind::SharedAvailable(_));
            let exclusive = matches!(c.kind, Kind::Exclusive(_) | Kind::ExclusiveAvailable(_));
            (shared && c.prepared, exclusive)
        })
        .collect();
    drop(contenders);
    drop(rt);

    let ratios = |t: usize, a: usize, b: usize| results.ratios(t, a, b);

    let mut md = String::new();
    let _ = writeln!(
        md,
        "# PostgreSQL `SELECT 1`: outgoing-pools vs deadpool-postgres, bb8-postgres and \
         hand-shared clients\n\n\
         Pool size {POOL_SIZE}; each round spawns the tasks, each running {} `SELECT 1` queries \
         after a checkout; timer started before spawning; pools interleaved round by round; {} \
         runs of {} rounds per cell; plain TCP to {}:{} ({} CPUs, server on the same machine). \
         Throughput ratio = deadpool-postgres's median round time / the pool's (higher is \
         better), against deadpool-postgres with `prepare_cached`, and against \
         deadpool-postgres in the same mode (prepared rows against `prepare_cached`, unprepared \
         rows against plain `query_one`): the median of the runs' ratios, then each run's.\n",
        s.ops,
        s.runs,
        s.rounds,
        pg.host,
        pg.port,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let _ = writeln!(
        md,
        "| tasks | pool | median round | queries/s | vs deadpool `prepare_cached` | vs deadpool, same mode | same mode, per run |\n\
         | ---: | --- | ---: | ---: | ---: | ---: | --- |"
    );
    let mut summary = Vec::new();
    for (t, &tasks) in TASKS.iter().enumerate() {
        for (i, name) in names.iter().enumerate() {
            let m = results.median(t, i);
            let qps = (tasks * s.ops) as f64 / m.as_secs_f64();
            let ratio = mid(&ratios(t, i, deadpool));
            let same = ratios(t, i, same_mode[i]);
            let _ = writeln!(
                md,
                "| {tasks} | {name} | {:.2} ms | {qps:.0} | {ratio:.2}× | {:.2}× | {} |",
                m.as_secs_f64() * 1e3,
                mid(&same),
                list(&same),
            );
            summary.push(format!(
                "{tasks:>3} tasks  {name:<58} {qps:>8.0} q/s  {ratio:.2}x deadpool prepare_cached  {:.2}x same mode",
                mid(&same),
            ));
        }
    }

    // The targets of the PostgreSQL issue, run by run.
    let _ = writeln!(md, "\n## Targets\n");
    let mut targets = Vec::new();
    for (t, &tasks) in TASKS.iter().enumerate() {
        for (i, name) in names.iter().enumerate() {
            let (shared_prepared, exclusive) = kinds[i];
            let goal = match tasks {
                64 => Some(1.3),
                256 => Some(2.0),
                _ => None,
            };
            if let (true, Some(goal)) = (shared_prepared, goal) {
                let r = ratios(t, i, deadpool);
                targets.push(format!(
                    "{tasks} tasks, {name} ≥ {goal}× deadpool `prepare_cached`: {} (median {:.2}; runs {})",
                    if mid(&r) >= goal { "PASS" } else { "MISS" },
                    mid(&r),
                    list(&r)
                ));
                if let Some(hand) = hand {
                    let r = ratios(t, i, hand);
                    targets.push(format!(
                        "{tasks} tasks, {name} within 10% of the hand-shared clients: {} (median {:.2}; runs {})",
                        if mid(&r) >= 0.9 { "PASS" } else { "MISS" },
                        mid(&r),
                        list(&r)
                    ));
                }
            }
            if exclusive && tasks >= 16 {
                let r = ratios(t, i, same_mode[i]);
                targets.push(format!(
                    "{tasks} tasks, {name} ≥ 1.0× deadpool in the same mode: {} (median {:.2}; runs {})",
                    if mid(&r) >= 1.0 { "PASS" } else { "MISS" },
                    mid(&r),
                    list(&r)
                ));
            }
        }
    }
    for line in &targets {
        let _ = writeln!(md, "- {line}");
    }
    summary.extend(targets);
    side_by_side::finish("pgsql", &s, started, &summary, &[("pgsql.md", &md)])
}
