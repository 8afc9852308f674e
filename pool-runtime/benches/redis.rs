//! Redis `SET`/`GET` through this project's pool — shared (`call_shared`: callers pipeline on
//! a worker's multiplexed connection) and exclusive (`get()`, then the command on the
//! worker's connection), each with `best_worker` and with `available_worker` — beside
//! deadpool-redis, bb8-redis and fred's `Pool`, in one process, on one server. Each peer is
//! used the way its documentation shows:
//!
//! - deadpool-redis: `Config::from_url(..).create_pool(Some(Runtime::Tokio1))`, then
//!   `pool.get()` and the command on the connection; every checkout recycles the connection
//!   first (`UNWATCH` + `PING`, pipelined: one round trip);
//! - bb8-redis: `bb8::Pool::builder().build(RedisConnectionManager::new(url))`, then
//!   `pool.get()` and the command; every checkout tests the connection first (`PING`, bb8's
//!   `test_on_check_out`);
//! - fred: `Builder::from_config(Config::from_url(url)).build_pool(16)` and `init()`,
//!   commands on the pool (round robin over its clients); fred 10 pipelines every client's
//!   commands across tasks and has no switch for it (`auto_pipeline` went in 10.0.0). Its
//!   sockets get `TCP_NODELAY`, as fred's examples set it; ours sets it too, while redis-rs
//!   leaves it off for deadpool-redis and bb8-redis, which send one request at a time.
//!
//! deadpool-redis, bb8-redis and ours send the same redis-rs commands (`AsyncCommands::set`
//! and `get`); ours speaks RESP3 (its connector's choice), the others RESP2.
//!
//! Pool size 16; 4, 16, 64 and 256 tasks, each running `--ops` operations per round
//! (default 20) on a key of its own, alternating `SET key value` and `GET key` (checked).
//! Ours has one pool per strategy (multiplexed, so exclusive and shared rounds use the same
//! pool; the rounds run one at a time, so they never mix). The timing, the interleaving and
//! the five runs are those of `common/side_by_side.rs`.
//!
//! `cargo bench -p pool-runtime --bench redis --features redis [-- --runs N --rounds N --ops N
//! --only NAME --out DIR]` (`--only`: the pools whose name contains NAME, and the two
//! baselines) writes `redis.md` (the report), `redis.svg` (the chart) and `redis-readme.md`
//! (the README's section, which `cargo xtask bench redis` puts in place) to `<target>/bench/`.
//! Without `--bench` (as `cargo test --benches` runs it) it makes a smoke run of a few
//! rounds, checks every pool answers, and writes nothing. The server is the shared Redis of
//! `cargo xtask services up` (`OP_REDIS_URL`), plain TCP on 127.0.0.1:6379.

#[path = "common/chart.rs"]
mod chart;
#[path = "common/machine.rs"]
mod machine;
#[path = "common/out.rs"]
mod out;
#[path = "common/side_by_side.rs"]
mod side_by_side;

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bb8_redis::RedisConnectionManager;
use fred::prelude::{ClientLike, KeysInterface, TcpConfig};
use pool_runtime::connectors::Redis;
use pool_runtime::connectors::redis::redis::{self, AsyncCommands, aio::ConnectionLike};
use pool_runtime::{AvailableWorker, BestWorker, Pool};

use chart::{Bar, Chart, Group, Scale};
use machine::Machine;
use side_by_side::{Contender, Rounds, Settings, TASKS, list, mid};

const POOL_SIZE: usize = 16;
const VALUE: &str = "value";

#[derive(Clone)]
enum Kind {
    Shared(Pool<Redis, BestWorker>),
    SharedAvailable(Pool<Redis, AvailableWorker>),
    Exclusive(Pool<Redis, BestWorker>),
    ExclusiveAvailable(Pool<Redis, AvailableWorker>),
    Deadpool(deadpool_redis::Pool),
    Bb8(bb8::Pool<RedisConnectionManager>),
    Fred(fred::clients::Pool),
}

#[derive(Clone)]
struct Pooled {
    kind: Kind,
    /// Each task's key.
    keys: Arc<[String]>,
}

impl Kind {
    /// The name in the chart's legend.
    fn short(&self) -> &'static str {
        match self {
            Kind::Shared(_) => "ours shared",
            Kind::SharedAvailable(_) => "ours shared, available",
            Kind::Exclusive(_) => "ours exclusive",
            Kind::ExclusiveAvailable(_) => "ours exclusive, available",
            Kind::Deadpool(_) => "deadpool-redis",
            Kind::Bb8(_) => "bb8-redis",
            Kind::Fred(_) => "fred",
        }
    }

    fn is_shared(&self) -> bool {
        matches!(self, Kind::Shared(_) | Kind::SharedAvailable(_))
    }

    fn is_exclusive(&self) -> bool {
        matches!(self, Kind::Exclusive(_) | Kind::ExclusiveAvailable(_))
    }
}

/// `SET key VALUE` or `GET key` (which must find `VALUE`) on any redis-rs connection.
async fn command(c: &mut (impl ConnectionLike + Send + Sync), key: &str, set: bool) {
    if set {
        let () = c.set(key, VALUE).await.expect("SET");
    } else {
        let v: Option<String> = c.get(key).await.expect("GET");
        assert_eq!(v.as_deref(), Some(VALUE), "GET {key}");
    }
}

impl Contender for Pooled {
    fn name(&self) -> String {
        match self.kind {
            Kind::Shared(_) => "outgoing-pools shared (call_shared), best_worker",
            Kind::SharedAvailable(_) => "outgoing-pools shared (call_shared), available_worker",
            Kind::Exclusive(_) => "outgoing-pools exclusive (get), best_worker",
            Kind::ExclusiveAvailable(_) => "outgoing-pools exclusive (get), available_worker",
            Kind::Deadpool(_) => "deadpool-redis 0.23",
            Kind::Bb8(_) => "bb8-redis 0.26",
            Kind::Fred(_) => "fred 10.1 Pool",
        }
        .into()
    }

    /// A task's operations alternate, starting with `SET`, so every `GET` finds the value.
    async fn op(&self, task: usize, i: usize) {
        let key = self.keys[task].as_str();
        let set = i.is_multiple_of(2);
        match &self.kind {
            Kind::Shared(p) => p
                .call_shared(async |c| command(&mut c.clone(), key, set).await)
                .await
                .expect("a shared call"),
            Kind::SharedAvailable(p) => p
                .call_shared(async |c| command(&mut c.clone(), key, set).await)
                .await
                .expect("a shared call"),
            Kind::Exclusive(p) => command(&mut *p.get().await.expect("get"), key, set).await,
            Kind::ExclusiveAvailable(p) => {
                command(&mut *p.get().await.expect("get"), key, set).await;
            }
            Kind::Deadpool(p) => command(&mut p.get().await.expect("get"), key, set).await,
            Kind::Bb8(p) => command(&mut *p.get().await.expect("get"), key, set).await,
            Kind::Fred(p) => {
                if set {
                    let () = p.set(key, VALUE, None, None, false).await.expect("SET");
                } else {
                    let v: Option<String> = p.get(key).await.expect("GET");
                    assert_eq!(v.as_deref(), Some(VALUE), "GET {key}");
                }
            }
        }
    }
}

/// `Redis 7.0.15`, from the server's `INFO`.
async fn server_version(server: &test_support::Redis) -> String {
    let client = redis::Client::open(server.url()).expect("the URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("a connection for INFO");
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut conn)
        .await
        .expect("INFO");
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("?");
    format!("Redis {}", version.trim())
}

/// Our pool, multiplexed: exclusive rounds take its workers with `get()`, shared ones
/// pipeline through `call_shared`.
async fn ours<S: pool_runtime::Strategy>(host: &str, port: u16) -> Pool<Redis, S> {
    Pool::<Redis, S>::builder(Redis::new(host, port))
        .workers(POOL_SIZE)
        .multiplexed()
        .build()
        .await
        .expect("our pool starts")
}

async fn contenders(server: &test_support::Redis) -> Vec<Pooled> {
    let url = server.url();
    let deadpool = deadpool_redis::Config {
        pool: Some(deadpool_redis::PoolConfig::new(POOL_SIZE)),
        ..deadpool_redis::Config::from_url(url.clone())
    }
    .create_pool(Some(deadpool_redis::Runtime::Tokio1))
    .expect("deadpool-redis builds");
    let bb8 = bb8::Pool::builder()
        .max_size(POOL_SIZE as u32)
        .build(RedisConnectionManager::new(url.as_str()).expect("bb8-redis: the URL"))
        .await
        .expect("bb8-redis starts");
    let mut fred = fred::types::Builder::from_config(
        fred::types::config::Config::from_url(&url).expect("fred: the URL"),
    );
    fred.with_connection_config(|c| {
        c.tcp = TcpConfig {
            nodelay: Some(true),
            ..TcpConfig::default()
        };
    });
    let fred = fred.build_pool(POOL_SIZE).expect("fred builds");
    // Dropping the handle detaches the task that drives fred's connections: it runs on.
    drop(fred.init().await.expect("fred connects"));
    let best = ours::<BestWorker>(&server.host, server.port).await;
    let available = ours::<AvailableWorker>(&server.host, server.port).await;
    let keys: Arc<[String]> = (0..TASKS[TASKS.len() - 1])
        .map(|t| format!("outgoing-pools:bench:{t}"))
        .collect();
    [
        Kind::Shared(best.clone()),
        Kind::SharedAvailable(available.clone()),
        Kind::Exclusive(best),
        Kind::ExclusiveAvailable(available),
        Kind::Deadpool(deadpool),
        Kind::Bb8(bb8),
        Kind::Fred(fred),
    ]
    .into_iter()
    .map(|kind| Pooled {
        kind,
        keys: keys.clone(),
    })
    .collect()
}

#[derive(Clone, Copy)]
enum Against {
    Deadpool,
    Fred,
}

/// What the issue asks of contender `kind` at `tasks` tasks: at least `goal` times the
/// throughput of the other.
fn goals(kind: &Kind, tasks: usize) -> Vec<(Against, f64)> {
    match (kind.is_shared(), kind.is_exclusive(), tasks) {
        (true, _, 64) => vec![(Against::Deadpool, 4.0), (Against::Fred, 1.0)],
        (true, _, 256) => vec![(Against::Deadpool, 6.0), (Against::Fred, 1.0)],
        (_, true, _) => vec![(Against::Deadpool, 1.0)],
        _ => Vec::new(),
    }
}

/// One target, measured.
struct Target {
    tasks: usize,
    pool: String,
    exclusive: bool,
    against: &'static str,
    goal: f64,
    /// The runs' throughput ratios to `against`.
    ratios: Vec<f64>,
}

impl Target {
    fn median(&self) -> f64 {
        mid(&self.ratios)
    }

    fn passed(&self) -> bool {
        self.median() >= self.goal
    }

    /// `64 tasks, … ≥ 4× deadpool-redis: MISS by 30% (median 2.80×; runs …)`.
    fn line(&self) -> String {
        let m = self.median();
        let verdict = if self.passed() {
            "PASS".to_string()
        } else {
            format!("MISS by {:.0}%", (1.0 - m / self.goal) * 100.0)
        };
        format!(
            "{} tasks, {} ≥ {}× {}: {verdict} (median {m:.2}×; runs {})",
            self.tasks,
            self.pool,
            self.goal,
            self.against,
            list(&self.ratios)
        )
    }
}

fn kqps(qps: f64) -> String {
    if qps == 0.0 {
        "0".into()
    } else if qps >= 10_000.0 {
        format!("{:.0}k", qps / 1e3)
    } else {
        format!("{:.1}k", qps / 1e3)
    }
}

struct Report<'a> {
    pools: &'a [Pooled],
    rounds: &'a Rounds,
    s: &'a Settings,
    deadpool: usize,
    fred: usize,
    /// `Redis 7.0.15`.
    server: String,
}

impl Report<'_> {
    /// Queries per second in cell `t` at a round time of `round`.
    fn qps(&self, t: usize, round: Duration) -> f64 {
        (TASKS[t] * self.s.ops) as f64 / round.as_secs_f64()
    }

    fn against(&self, a: &Against) -> (usize, &'static str) {
        match a {
            Against::Deadpool => (self.deadpool, "deadpool-redis"),
            Against::Fred => (self.fred, "fred"),
        }
    }

    fn targets(&self) -> Vec<Target> {
        let mut all = Vec::new();
        for (t, &tasks) in TASKS.iter().enumerate() {
            for (i, p) in self.pools.iter().enumerate() {
                for (against, goal) in goals(&p.kind, tasks) {
                    let (b, name) = self.against(&against);
                    all.push(Target {
                        tasks,
                        pool: p.name(),
                        exclusive: p.kind.is_exclusive(),
                        against: name,
                        goal,
                        ratios: self.rounds.ratios(t, i, b),
                    });
                }
            }
        }
        all
    }

    fn markdown(&self, m: &Machine, targets: &[Target]) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "# Redis `SET`/`GET`: outgoing-pools vs deadpool-redis, bb8-redis and fred\n\n\
             {} · {} CPUs ({}) · Linux {} · {} · tokio multi-thread runtime · {}\n\n\
             Pool size {POOL_SIZE}; each round spawns the tasks, each running {} operations on \
             a key of its own, alternating `SET` and `GET`; timer started before spawning; pools \
             interleaved round by round, each round starting with the next; {} runs of {} \
             rounds per cell; plain TCP to {} on this machine. Queries per second at \
             the median round of all runs; a ratio is the other pool's median round time over \
             this one's within one run (higher: this one is faster), given as the median of \
             the runs' ratios, then run by run.\n",
            m.date,
            m.cpus,
            m.cpu_model,
            m.kernel,
            m.rustc,
            m.versions
                .iter()
                .map(|(n, v)| format!("{n} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            self.s.ops,
            self.s.runs,
            self.s.rounds,
            self.server,
        );
        let _ = writeln!(md, "## Summary\n");
        for target in targets {
            let _ = writeln!(md, "- {}", target.line());
        }
        let _ = writeln!(
            md,
            "\n## Queries per second\n\n\
             | tasks | pool | median round | queries/s | vs deadpool-redis | vs fred | vs deadpool-redis, per run | vs fred, per run |\n\
             | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |"
        );
        for (t, &tasks) in TASKS.iter().enumerate() {
            for (i, p) in self.pools.iter().enumerate() {
                let round = self.rounds.median(t, i);
                let dp = self.rounds.ratios(t, i, self.deadpool);
                let fr = self.rounds.ratios(t, i, self.fred);
                let _ = writeln!(
                    md,
                    "| {tasks} | {} | {:.2} ms | {:.0} | {:.2}× | {:.2}× | {} | {} |",
                    p.name(),
                    round.as_secs_f64() * 1e3,
                    self.qps(t, round),
                    mid(&dp),
                    mid(&fr),
                    list(&dp),
                    list(&fr),
                );
            }
        }
        let _ = writeln!(md, "\n![redis](redis.svg)");
        md
    }

    /// The README's section: queries per second and both ratios per cell, the targets (the
    /// exclusive ones, one per cell, in a line unless one misses).
    fn readme(&self, m: &Machine, targets: &[Target]) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "Run of {} on {} CPUs, {} on the same machine: pool {POOL_SIZE}, {} runs of {} \
             rounds, {} operations per task per round. Each cell: queries per second at the \
             median round, then the median of the runs' throughput ratios to deadpool-redis \
             and to fred (per-run figures in `target/bench/redis.md`).\n",
            m.date.split(' ').next().unwrap_or(&m.date),
            m.cpus,
            self.server,
            self.s.runs,
            self.s.rounds,
            self.s.ops,
        );
        let _ = write!(md, "| pool |");
        for tasks in TASKS {
            let _ = write!(md, " {tasks} tasks |");
        }
        let _ = writeln!(md, "\n| --- |{}", " ---: |".repeat(TASKS.len()));
        for (i, p) in self.pools.iter().enumerate() {
            let _ = write!(md, "| {} |", p.name());
            for t in 0..TASKS.len() {
                let qps = self.qps(t, self.rounds.median(t, i));
                let dp = mid(&self.rounds.ratios(t, i, self.deadpool));
                let fr = mid(&self.rounds.ratios(t, i, self.fred));
                let _ = write!(md, " {} · {dp:.2}× · {fr:.2}× |", kqps(qps));
            }
            let _ = writeln!(md);
        }
        let _ = writeln!(md);
        let (exclusive, others): (Vec<&Target>, Vec<&Target>) =
            targets.iter().partition(|t| t.exclusive);
        for target in &others {
            let _ = writeln!(md, "- {}", target.line());
        }
        if exclusive.iter().all(|t| t.passed()) {
            let lowest = exclusive
                .iter()
                .min_by(|a, b| a.median().total_cmp(&b.median()));
            if let Some(lowest) = lowest {
                let _ = writeln!(
                    md,
                    "- exclusive (`get`) ≥ 1× deadpool-redis in all {} cells: PASS (lowest \
                     median {:.2}×, {} at {} tasks)",
                    exclusive.len(),
                    lowest.median(),
                    lowest.pool,
                    lowest.tasks
                );
            }
        } else {
            for target in &exclusive {
                let _ = writeln!(md, "- {}", target.line());
            }
        }
        let _ = writeln!(md, "\n![redis](docs/redis.svg)");
        md
    }

    /// Queries per second per cell, whiskers from the slowest run's median to the fastest's.
    fn svg(&self) -> String {
        let series: Vec<&str> = self.pools.iter().map(|p| p.kind.short()).collect();
        let groups = TASKS
            .iter()
            .enumerate()
            .map(|(t, &tasks)| Group {
                label: format!("{tasks} tasks"),
                bars: self
                    .pools
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let runs: Vec<f64> = self
                            .rounds
                            .medians(t, i)
                            .iter()
                            .map(|d| self.qps(t, *d))
                            .collect();
                        let lo = runs.iter().copied().fold(f64::MAX, f64::min);
                        let hi = runs.iter().copied().fold(0.0, f64::max);
                        let qps = self.qps(t, self.rounds.median(t, i));
                        Some(Bar {
                            value: qps,
                            whisker: Some((lo, hi)),
                            tooltip: format!("{} at {tasks} tasks: {qps:.0} queries/s", p.name()),
                            label: Some(kqps(qps)),
                        })
                    })
                    .collect(),
            })
            .collect();
        Chart {
            title: "Redis SET/GET, pool 16: queries per second (whiskers: slowest and fastest run)",
            series: &series,
            groups,
            scale: Scale::Linear,
            tick: kqps,
            missing: "",
            footer: None,
            bar_width: 22.0,
            bar_gap: 3.0,
            group_gap: 30.0,
            plot_height: 300.0,
        }
        .svg()
    }
}

fn main() -> ExitCode {
    let s = match Settings::from_args(40, 20) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("redis bench: {e}");
            return ExitCode::from(2);
        }
    };
    let server = test_support::require(test_support::REDIS);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a multi-thread runtime");
    let started = Instant::now();
    let (pools, rounds, version) = rt.block_on(async {
        let mut pools = contenders(&server).await;
        s.select(&mut pools, |p| {
            matches!(p.kind, Kind::Deadpool(_) | Kind::Fred(_))
        });
        let version = server_version(&server).await;
        let rounds = side_by_side::run(&pools, &s).await;
        (pools, rounds, version)
    });
    let position = |f: fn(&Kind) -> bool| pools.iter().position(|p| f(&p.kind));
    let report = Report {
        pools: &pools,
        rounds: &rounds,
        s: &s,
        deadpool: position(|k| matches!(k, Kind::Deadpool(_))).expect("deadpool-redis runs"),
        fred: position(|k| matches!(k, Kind::Fred(_))).expect("fred runs"),
        server: version,
    };
    let machine = Machine::probe(&["redis", "deadpool-redis", "bb8-redis", "fred", "tokio"]);
    let targets = report.targets();
    let mut summary = Vec::new();
    for (t, &tasks) in TASKS.iter().enumerate() {
        for (i, p) in pools.iter().enumerate() {
            summary.push(format!(
                "{tasks:>3} tasks  {:<56} {:>8.0} q/s  {:.2}x deadpool-redis  {:.2}x fred",
                p.name(),
                report.qps(t, rounds.median(t, i)),
                mid(&rounds.ratios(t, i, report.deadpool)),
                mid(&rounds.ratios(t, i, report.fred)),
            ));
        }
    }
    summary.extend(targets.iter().map(Target::line));
    let files = [
        ("redis.md", report.markdown(&machine, &targets)),
        ("redis.svg", report.svg()),
        ("redis-readme.md", report.readme(&machine, &targets)),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(n, f)| (*n, f.as_str())).collect();
    let code = side_by_side::finish("redis", &s, started, &summary, &files);
    drop(pools);
    drop(rt);
    code
}
