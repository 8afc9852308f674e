//! The reports: `pools.md` (tables, ratios vs deadpool, summary), `pools.json` (the raw
//! figures), `latency.svg` and `fairness.svg` (hand-written SVG, no plotting crate).

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::alloc::Count;
use crate::chart::{Bar, Chart, Group, Scale};
use crate::contenders::{BASELINE, OURS};
use crate::machine::Machine;
use crate::measure::{LatencyCell, ThroughputCell};
use crate::settings::Settings;
use crate::stats::{Percentiles, Quartiles, geomean, median_ops, spread};

/// Ours must be at most this fraction of deadpool's median latency in every cell with
/// ≥ [`GATE_TASKS`] tasks (the 4-task column is at the spawn/join noise floor).
const GATE_RATIO: f64 = 0.7;
const GATE_TASKS: usize = 16;
/// Ours' latency geomean over the whole grid must be at most this fraction of deadpool's.
const GEOMEAN_GATE: f64 = 0.5;
/// Ours' fairness p99 must be at or below deadpool's in this share of the runs (each run
/// pairs the two on the same machine state; one run alone is at the mercy of timer jitter
/// and the other tenants).
const FAIRNESS_SHARE: f64 = 0.8;

pub struct Results {
    /// The pools of the throughput, fairness and allocation sections.
    pub pools: Vec<&'static str>,
    /// The latency columns: the pools, then the no-pool floor.
    pub latency_names: Vec<&'static str>,
    pub latency: Option<Vec<LatencyCell>>,
    pub throughput: Option<Vec<ThroughputCell>>,
    /// `[pool][run]`.
    pub fairness: Option<Vec<Vec<Option<Percentiles>>>>,
    /// `[pool][block]`: p99 − p50 of each fairness block's waits in ms.
    pub fairness_blocks: Option<Vec<Vec<f64>>>,
    pub allocs: Option<Vec<Count>>,
    pub elapsed_s: f64,
}

/// Where the reports go: `--out`, else `<target>/bench`.
pub fn out_dir(s: &Settings) -> PathBuf {
    crate::out::bench_dir(s.out.as_deref())
}

/// Derived figures shared by the Markdown, the JSON and the summary.
struct Derived {
    /// `[cell][pool]`: the median over repeats.
    latency: Vec<Vec<Quartiles>>,
    /// `[cell][pool]`: median / deadpool's median.
    latency_ratio: Vec<Vec<f64>>,
    /// `[pool]`: geomean over all cells, over cells with tasks ≥ 16, and per repeat.
    latency_geo: Vec<f64>,
    latency_geo_16: Vec<f64>,
    /// `[pool]`: geomean over cells with tasks ≥ 16 of (pool − floor) / (deadpool − floor):
    /// the pool's own cost, without the spawning and joining every round pays. A harness
    /// with more fixed cost per round (more spawns per `get()`, a clock read per `get()`)
    /// pushes every plain ratio toward 1; this one stays.
    latency_net_16: Vec<f64>,
    latency_geo_by_repeat: Vec<Vec<f64>>,
    /// `[cell][pool]`: M ops/s (None: a run timed out) and the ratio to deadpool.
    throughput: Vec<Vec<Option<f64>>>,
    throughput_ratio: Vec<Vec<Option<f64>>>,
    throughput_geo: Vec<f64>,
    /// `[pool]`.
    fairness: Vec<Option<Percentiles>>,
}

fn derive(r: &Results) -> Derived {
    let lat_base = r.latency_names.iter().position(|n| *n == BASELINE);
    let cells = r.latency.as_deref().unwrap_or_default();
    let latency: Vec<Vec<Quartiles>> = cells
        .iter()
        .map(|c| {
            c.runs
                .iter()
                .map(|runs| Quartiles::median_of(runs))
                .collect()
        })
        .collect();
    let latency_ratio: Vec<Vec<f64>> = latency
        .iter()
        .map(|row| {
            let base = lat_base.map_or(f64::NAN, |b| row[b].median);
            row.iter().map(|q| q.median / base).collect()
        })
        .collect();
    let geo_where = |keep: &dyn Fn(&LatencyCell) -> bool| -> Vec<f64> {
        (0..r.latency_names.len())
            .map(|p| {
                geomean(
                    cells
                        .iter()
                        .zip(&latency_ratio)
                        .filter(|(c, _)| keep(c))
                        .map(|(_, row)| row[p]),
                )
            })
            .collect()
    };
    let latency_geo = geo_where(&|_| true);
    let latency_geo_16 = geo_where(&|c| c.tasks >= GATE_TASKS);
    let floor = r.latency_names.iter().position(|n| *n == "floor");
    let latency_net_16 = (0..r.latency_names.len())
        .map(|p| {
            geomean(
                cells
                    .iter()
                    .zip(&latency)
                    .filter(|(c, _)| c.tasks >= GATE_TASKS)
                    .filter_map(|(_, row)| {
                        let f = row[floor?].median;
                        let base = row[lat_base?].median - f;
                        let own = row[p].median - f;
                        (base > 0.0 && own > 0.0).then(|| own / base)
                    }),
            )
        })
        .collect();
    let repeats = cells.first().map_or(0, |c| c.runs[0].len());
    let latency_geo_by_repeat = (0..r.latency_names.len())
        .map(|p| {
            (0..repeats)
                .map(|k| {
                    geomean(cells.iter().map(|c| {
                        let base = lat_base.map_or(f64::NAN, |b| c.runs[b][k].median);
                        c.runs[p][k].median / base
                    }))
                })
                .collect()
        })
        .collect();

    let base = r.pools.iter().position(|n| *n == BASELINE);
    let tcells = r.throughput.as_deref().unwrap_or_default();
    let throughput: Vec<Vec<Option<f64>>> = tcells
        .iter()
        .map(|c| c.runs.iter().map(|runs| median_ops(runs)).collect())
        .collect();
    let throughput_ratio: Vec<Vec<Option<f64>>> = throughput
        .iter()
        .map(|row| {
            let b = base.and_then(|b| row[b]);
            row.iter().map(|v| Some((*v)? / b?)).collect()
        })
        .collect();
    let throughput_geo = (0..r.pools.len())
        .map(|p| {
            let ratios: Option<Vec<f64>> = throughput_ratio.iter().map(|row| row[p]).collect();
            ratios.map_or(f64::NAN, |v| geomean(v.into_iter()))
        })
        .collect();
    let fairness = r
        .fairness
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|runs| {
            let done: Option<Vec<Percentiles>> = runs.iter().copied().collect();
            done.map(|d| Percentiles::median_of(&d))
        })
        .collect();
    Derived {
        latency,
        latency_ratio,
        latency_geo,
        latency_geo_16,
        latency_net_16,
        latency_geo_by_repeat,
        throughput,
        throughput_ratio,
        throughput_geo,
        fairness,
    }
}

/// Each pool's fairness block tails (median, p90, max of p99 − p50 in ms), and in how many
/// of the blocks ours and deadpool ran side by side (same run, same turn) ours' tail was at or
/// below deadpool's: `(per pool, won, paired)`.
type BlockTails = (Vec<Option<(f64, f64, f64)>>, Option<(usize, usize)>);

fn block_tails(r: &Results) -> Option<BlockTails> {
    let blocks = r.fairness_blocks.as_ref()?;
    let each = blocks.iter().map(|b| spread(b)).collect();
    let paired = pool_of(&r.pools, OURS)
        .zip(pool_of(&r.pools, BASELINE))
        .map(|(o, b)| {
            let pairs = blocks[o]
                .iter()
                .zip(&blocks[b])
                .filter(|(o, b)| !o.is_nan() && !b.is_nan());
            let won = pairs.clone().filter(|(o, b)| o <= b).count();
            (won, pairs.count())
        });
    Some((each, paired))
}

fn us(v: f64) -> String {
    if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

fn x(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else {
        format!("{v:.2}")
    }
}

fn pool_of(names: &[&str], name: &str) -> Option<usize> {
    names.iter().position(|n| *n == name)
}

/// The summary: the lines `cargo xtask bench` prints.
fn summary(r: &Results, d: &Derived) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(cells) = &r.latency {
        let each = |v: &[f64]| -> String {
            r.latency_names
                .iter()
                .zip(v)
                .filter(|(n, _)| **n != BASELINE)
                .map(|(n, g)| format!("{n} {}", x(*g)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        lines.push(format!(
            "Latency vs deadpool, geomean of median ratios (lower is better): {}",
            each(&d.latency_geo)
        ));
        lines.push(format!(
            "Latency vs deadpool, geomean over tasks ≥ {GATE_TASKS}: {}",
            each(&d.latency_geo_16)
        ));
        lines.push(format!(
            "Latency vs deadpool net of the spawn/join floor, geomean over tasks ≥ {GATE_TASKS}: {}",
            each(&d.latency_net_16)
        ));
        if let Some(o) = pool_of(&r.latency_names, OURS) {
            let geo = d.latency_geo[o];
            lines.push(format!(
                "Latency geomean gate (ours ≤ {GEOMEAN_GATE}× deadpool over the grid): {} ({})",
                if geo <= GEOMEAN_GATE { "PASS" } else { "FAIL" },
                x(geo)
            ));
            let gated: Vec<(&LatencyCell, f64)> = cells
                .iter()
                .zip(&d.latency_ratio)
                .filter(|(c, _)| c.tasks >= GATE_TASKS)
                .map(|(c, row)| (c, row[o]))
                .collect();
            let failed: Vec<String> = gated
                .iter()
                .filter(|(_, v)| v.is_nan() || *v > GATE_RATIO)
                .map(|(c, v)| format!("{}/{} {}", c.size, c.tasks, x(*v)))
                .collect();
            let worst = gated.iter().map(|(_, v)| *v).fold(f64::NAN, f64::max);
            lines.push(if failed.is_empty() {
                format!(
                    "Latency gate (ours ≤ {GATE_RATIO}× deadpool in every cell with tasks ≥ {GATE_TASKS}): PASS (worst {})",
                    x(worst)
                )
            } else {
                format!(
                    "Latency gate (ours ≤ {GATE_RATIO}× deadpool in every cell with tasks ≥ {GATE_TASKS}): FAIL in {}",
                    failed.join(", ")
                )
            });
        }
    }
    if r.throughput.is_some() {
        let each: Vec<String> = r
            .pools
            .iter()
            .zip(&d.throughput_geo)
            .filter(|(n, _)| **n != BASELINE)
            .map(|(n, g)| format!("{n} {}", x(*g)))
            .collect();
        lines.push(format!(
            "Throughput vs deadpool, geomean of median ratios (higher is better; noisy): {}",
            each.join(", ")
        ));
    }
    if r.fairness.is_some() {
        let each: Vec<String> = r
            .pools
            .iter()
            .zip(&d.fairness)
            .map(|(n, p)| match p {
                Some(p) => format!("{n} {:.1}/{:.1}/{:.1}", p.p50, p.p99, p.max),
                None => format!("{n} HUNG"),
            })
            .collect();
        lines.push(format!(
            "Fairness get() wait p50/p99/max ms: {}",
            each.join(", ")
        ));
        if let (Some(o), Some(b), Some(runs)) = (
            pool_of(&r.pools, OURS),
            pool_of(&r.pools, BASELINE),
            r.fairness.as_ref(),
        ) {
            let pairs: Vec<(Option<f64>, Option<f64>)> = runs[o]
                .iter()
                .zip(&runs[b])
                .map(|(o, b)| (o.map(|p| p.p99), b.map(|p| p.p99)))
                .collect();
            let won = pairs
                .iter()
                .filter(|(o, b)| match (o, b) {
                    (Some(o), Some(b)) => o <= b,
                    (Some(_), None) => true,
                    (None, _) => false,
                })
                .count();
            let shown: Vec<String> = pairs
                .iter()
                .map(|(o, b)| {
                    let ms = |v: &Option<f64>| v.map_or("hung".into(), |v| format!("{v:.1}"));
                    format!("{} vs {}", ms(o), ms(b))
                })
                .collect();
            let need = (pairs.len() as f64 * FAIRNESS_SHARE).ceil() as usize;
            lines.push(format!(
                "Fairness gate (ours p99 ≤ deadpool p99 in {need} of {} runs): {} — ours vs deadpool p99 ms per run: {}",
                pairs.len(),
                if won >= need { format!("PASS ({won} of {})", pairs.len()) } else { format!("FAIL ({won} of {})", pairs.len()) },
                shown.join(", ")
            ));
        }
        if let Some((each, paired)) = block_tails(r) {
            let shown: Vec<String> = r
                .pools
                .iter()
                .zip(&each)
                .map(|(n, t)| match t {
                    Some((m, p90, max)) => format!("{n} {m:.1}/{p90:.1}/{max:.1}"),
                    None => format!("{n} HUNG"),
                })
                .collect();
            let blocks = r.fairness_blocks.as_ref().map_or(0, |b| b[0].len());
            let mut line = format!(
                "Fairness tail within each block (p99 − p50 ms, median/p90/max over {blocks} blocks): {}",
                shown.join(", ")
            );
            if let Some((won, n)) = paired {
                let _ = write!(
                    line,
                    "; ours at or below deadpool in {won} of {n} blocks run side by side"
                );
            }
            lines.push(line);
        }
    }
    if let Some(allocs) = &r.allocs {
        let each: Vec<String> = r
            .pools
            .iter()
            .zip(allocs)
            .map(|(n, c)| format!("{n} {:.3}", c.per_op()))
            .collect();
        lines.push(format!("Allocations per get+drop: {}", each.join(", ")));
        if let Some(o) = pool_of(&r.pools, OURS) {
            let n = allocs[o].allocs;
            lines.push(format!(
                "Allocation gate (ours 0 per get): {}",
                if n == 0 {
                    "PASS".to_string()
                } else {
                    format!("FAIL ({n} in {} ops)", allocs[o].ops)
                }
            ));
        }
    }
    lines
}

fn markdown(r: &Results, s: &Settings, m: &Machine, d: &Derived) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(
        w,
        "# Pool benchmarks: ours (best_worker, defaults; and available_worker) beside bb8, deadpool and mobc\n"
    );
    let _ = writeln!(
        w,
        "{} · {} CPUs ({}) · Linux {} · {} · tokio multi-thread runtime, {} workers · `bench` profile · {}",
        m.date,
        m.cpus,
        m.cpu_model,
        m.kernel,
        m.rustc,
        m.cpus,
        m.versions
            .iter()
            .map(|(n, v)| format!("{n} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        w,
        "\nNo-op connector (connection = `u64`, connect/check succeed at once); no check on checkout \
         (bb8/mobc `test_on_check_out(false)`, deadpool's recycle is a no-op; ours keeps its default idle validation, which checks only a connection idle for a whole 500 ms tick); \
         mobc `max_idle = max_open`. Latency and throughput keep each pool's default wait bound (deadpool none, \
         bb8 and mobc 30 s, ours 5 s; ours reads no clock unless it has to wait). Total run time {:.0} s{}.\n",
        r.elapsed_s,
        if s.quick {
            " (**--quick**: rough figures)"
        } else {
            ""
        }
    );
    let _ = writeln!(w, "## Summary\n");
    for line in summary(r, d) {
        let _ = writeln!(w, "- {line}");
    }
    let _ = writeln!(w);

    if let Some(cells) = &r.latency {
        let _ = writeln!(
            w,
            "## Acquisition latency (Astro36 method, timer started before spawning)\n"
        );
        let _ = writeln!(
            w,
            "Per round: spawn *tasks* tasks × 10 × (`get`, `*c += 1`, drop), join all. Pool pre-reserved. \
             µs per round: median [Q1, Q3] (ratio of medians to deadpool; lower is better). \
             {} rounds per pool per cell, pools interleaved in {} blocks, after {} warm-up rounds; \
             grid repeated {}×, figures are medians over the repeats. `floor` = the same tasks with no pool \
             (spawn + join only). Rows marked † (4 tasks) sit at that noise floor: judge by the geomeans.\n",
            s.rounds, s.blocks, s.warmup, s.repeat
        );
        let _ = writeln!(w, "| pool/tasks | {} |", r.latency_names.join(" | "));
        let _ = writeln!(w, "|---|{}", "---|".repeat(r.latency_names.len()));
        for ((c, row), ratios) in cells.iter().zip(&d.latency).zip(&d.latency_ratio) {
            let mark = if c.tasks < GATE_TASKS { " †" } else { "" };
            let cols: Vec<String> = row
                .iter()
                .zip(ratios)
                .map(|(q, ratio)| {
                    format!(
                        "{} [{}, {}] ({})",
                        us(q.median),
                        us(q.q1),
                        us(q.q3),
                        x(*ratio)
                    )
                })
                .collect();
            let _ = writeln!(w, "| {}/{}{mark} | {} |", c.size, c.tasks, cols.join(" | "));
        }
        let geo = |v: &[f64]| {
            v.iter()
                .map(|g| format!("**{}**", x(*g)))
                .collect::<Vec<_>>()
                .join(" | ")
        };
        let _ = writeln!(w, "| geomean ratio, all cells | {} |", geo(&d.latency_geo));
        let _ = writeln!(
            w,
            "| geomean ratio, tasks ≥ {GATE_TASKS} | {} |",
            geo(&d.latency_geo_16)
        );
        let by_repeat: Vec<String> = d
            .latency_geo_by_repeat
            .iter()
            .map(|v| v.iter().map(|g| x(*g)).collect::<Vec<_>>().join(", "))
            .collect();
        let _ = writeln!(
            w,
            "| geomean ratio per repeat | {} |",
            by_repeat.join(" | ")
        );
        let _ = writeln!(w, "\n![latency](latency.svg)\n");
    }

    if let Some(cells) = &r.throughput {
        let _ = writeln!(w, "## Throughput (bikeshedder method)\n");
        let _ = writeln!(
            w,
            "{} `let _ = pool.get().await` split over *tasks* tasks; a new pool per run, timer started before \
             building it; {} s limit per run (a pool with a timed-out run shows `timeout`). Median of {} runs, \
             pools interleaved, M ops/s (ratio to deadpool; higher is better). On 2 CPUs run-to-run spread is large.\n",
            s.throughput_ops,
            s.throughput_limit.as_secs(),
            s.runs
        );
        let _ = writeln!(w, "| pool/tasks | {} |", r.pools.join(" | "));
        let _ = writeln!(w, "|---|{}", "---|".repeat(r.pools.len()));
        for ((c, row), ratios) in cells.iter().zip(&d.throughput).zip(&d.throughput_ratio) {
            let cols: Vec<String> = row
                .iter()
                .zip(ratios)
                .zip(&c.runs)
                .map(|((v, ratio), runs)| match v {
                    Some(v) => format!("{v:.2} ({})", x(ratio.unwrap_or(f64::NAN))),
                    None => format!(
                        "timeout ({}/{} runs)",
                        runs.iter().filter(|r| r.is_none()).count(),
                        runs.len()
                    ),
                })
                .collect();
            let _ = writeln!(w, "| {}/{} | {} |", c.size, c.tasks, cols.join(" | "));
        }
        let geo: Vec<String> = d
            .throughput_geo
            .iter()
            .map(|g| format!("**{}**", x(*g)))
            .collect();
        let _ = writeln!(w, "| geomean ratio | {} |\n", geo.join(" | "));
    }

    if r.fairness.is_some() {
        let f = s.fairness;
        let _ = writeln!(w, "## Fairness / tail latency (models djc/bb8#243)\n");
        let _ = writeln!(
            w,
            "Pool {}, {} tasks × {} checkouts, each holding its connection {} ms (`tokio::time::sleep`); \
             every `get()` wait recorded. Wait bound {} s for every pool. ms; each figure is the median over {} run(s); \
             within a run the pools take turns in blocks (a new pool per block), so a pause of the machine falls \
             on a share of every pool's waits. A FIFO pool gives everyone about the same wait; a barging pool \
             starves some. The p99 of ours and deadpool per run:\n",
            f.size,
            f.tasks,
            f.checkouts,
            f.hold.as_millis(),
            f.wait.as_secs(),
            s.fairness_runs
        );
        let _ = writeln!(
            w,
            "| pool | p50 | p99 | p99.9 | max | waits |\n|---|---|---|---|---|---|"
        );
        for (name, p) in r.pools.iter().zip(&d.fairness) {
            match p {
                Some(p) => {
                    let _ = writeln!(
                        w,
                        "| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
                        p.p50, p.p99, p.p999, p.max, p.n
                    );
                }
                None => {
                    let _ = writeln!(w, "| {name} | hung | | | | |");
                }
            }
        }
        if let (Some(o), Some(b), Some(runs)) = (
            pool_of(&r.pools, OURS),
            pool_of(&r.pools, BASELINE),
            r.fairness.as_ref(),
        ) {
            let _ = writeln!(w, "\n| run | ours p99 | deadpool p99 |\n|---|---|---|");
            for (k, (ours, base)) in runs[o].iter().zip(&runs[b]).enumerate() {
                let ms =
                    |p: &Option<Percentiles>| p.map_or("hung".into(), |p| format!("{:.1}", p.p99));
                let _ = writeln!(w, "| {} | {} | {} |", k + 1, ms(ours), ms(base));
            }
        }
        if let Some((each, paired)) = block_tails(r) {
            let _ = writeln!(
                w,
                "\nThe tail within each block: p99 − p50 of one block's waits, ms. A pause of the \
                 machine lengthens the wait of everyone queued during it by its length, so a run's p99 \
                 is mostly its worst pause; the blocks compare the pools on nearly the same machine \
                 state (each block runs every pool once, one after another).\n\n\
                 | pool | median | p90 | max |\n|---|---|---|---|"
            );
            for (name, t) in r.pools.iter().zip(&each) {
                match t {
                    Some((m, p90, max)) => {
                        let _ = writeln!(w, "| {name} | {m:.2} | {p90:.2} | {max:.2} |");
                    }
                    None => {
                        let _ = writeln!(w, "| {name} | hung | | |");
                    }
                }
            }
            if let Some((won, n)) = paired {
                let _ = writeln!(
                    w,
                    "\nOurs' tail was at or below deadpool's in {won} of {n} blocks run side by side."
                );
            }
        }
        let _ = writeln!(w, "\n![fairness](fairness.svg)\n");
    }

    if let Some(allocs) = &r.allocs {
        let _ = writeln!(w, "## Allocations per get()\n");
        let _ = writeln!(
            w,
            "{} uncontended get + `*c += 1` + drop on one task (pool of 4, after warm-up), on a current-thread \
             runtime so any work a checkout causes elsewhere (e.g. a spawned return task) is counted too; \
             counted by a wrapper around the system allocator.\n",
            s.alloc_ops
        );
        let _ = writeln!(w, "| pool | allocs/op | bytes/op |\n|---|---|---|");
        for (name, c) in r.pools.iter().zip(allocs) {
            let _ = writeln!(
                w,
                "| {name} | {:.3} | {:.1} |",
                c.per_op(),
                c.bytes_per_op()
            );
        }
        let _ = writeln!(w);
    }
    md
}

/// A minimal JSON value, enough for the raw figures (NaN and missing become `null`).
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(&'static str, Json)>),
}

impl Json {
    fn num(v: impl Into<f64>) -> Json {
        Json::Num(v.into())
    }

    fn opt(v: Option<f64>) -> Json {
        v.map_or(Json::Null, Json::Num)
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Json::Num(v) if v.is_finite() => {
                let _ = write!(out, "{v}");
            }
            Json::Num(_) => out.push_str("null"),
            Json::Str(s) => {
                out.push('"');
                for ch in s.chars() {
                    match ch {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        c if (c as u32) < 0x20 => {
                            let _ = write!(out, "\\u{:04x}", c as u32);
                        }
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "\"{k}\":");
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

fn quartiles_json(q: &Quartiles) -> Json {
    Json::Obj(vec![
        ("q1_us", Json::num(q.q1)),
        ("median_us", Json::num(q.median)),
        ("q3_us", Json::num(q.q3)),
    ])
}

fn percentiles_json(p: &Option<Percentiles>) -> Json {
    match p {
        None => Json::Null,
        Some(p) => Json::Obj(vec![
            ("p50_ms", Json::num(p.p50)),
            ("p99_ms", Json::num(p.p99)),
            ("p999_ms", Json::num(p.p999)),
            ("max_ms", Json::num(p.max)),
            ("waits", Json::num(p.n as f64)),
        ]),
    }
}

/// `{pool: f(i)}` for each name.
fn per_pool(names: &[&'static str], f: impl Fn(usize) -> Json) -> Json {
    Json::Obj(names.iter().enumerate().map(|(i, n)| (*n, f(i))).collect())
}

fn json(r: &Results, s: &Settings, m: &Machine, d: &Derived) -> String {
    let mut root = vec![
        (
            "machine",
            Json::Obj(vec![
                ("date", Json::Str(m.date.clone())),
                ("cpus", Json::num(m.cpus as f64)),
                ("cpu_model", Json::Str(m.cpu_model.clone())),
                ("kernel", Json::Str(m.kernel.clone())),
                ("rustc", Json::Str(m.rustc.clone())),
                (
                    "versions",
                    Json::Obj(
                        m.versions
                            .iter()
                            .map(|(n, v)| (*n, Json::Str(v.clone())))
                            .collect(),
                    ),
                ),
            ]),
        ),
        (
            "settings",
            Json::Obj(vec![
                ("quick", Json::Bool(s.quick)),
                ("rounds", Json::num(s.rounds as f64)),
                ("repeat", Json::num(s.repeat as f64)),
                ("blocks", Json::num(s.blocks as f64)),
                ("warmup", Json::num(s.warmup as f64)),
                ("throughput_ops", Json::num(s.throughput_ops as f64)),
                ("throughput_runs", Json::num(s.runs as f64)),
                ("fairness_runs", Json::num(s.fairness_runs as f64)),
                ("alloc_ops", Json::num(s.alloc_ops as f64)),
            ]),
        ),
        ("baseline", Json::Str(BASELINE.into())),
        ("elapsed_s", Json::num(r.elapsed_s)),
    ];
    if let Some(cells) = &r.latency {
        let names = &r.latency_names;
        let cells_json = cells
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                Json::Obj(vec![
                    ("pool_size", Json::num(c.size as f64)),
                    ("tasks", Json::num(c.tasks as f64)),
                    (
                        "median_of_repeats",
                        per_pool(names, |p| quartiles_json(&d.latency[ci][p])),
                    ),
                    (
                        "ratio_to_baseline",
                        per_pool(names, |p| Json::num(d.latency_ratio[ci][p])),
                    ),
                    (
                        "repeats",
                        per_pool(names, |p| {
                            Json::Arr(c.runs[p].iter().map(quartiles_json).collect())
                        }),
                    ),
                ])
            })
            .collect();
        root.push((
            "latency",
            Json::Obj(vec![
                ("unit", Json::Str("microseconds per round".into())),
                ("cells", Json::Arr(cells_json)),
                (
                    "geomean_ratio",
                    per_pool(names, |p| Json::num(d.latency_geo[p])),
                ),
                (
                    "geomean_ratio_tasks_ge_16",
                    per_pool(names, |p| Json::num(d.latency_geo_16[p])),
                ),
                (
                    "geomean_ratio_per_repeat",
                    per_pool(names, |p| {
                        Json::Arr(
                            d.latency_geo_by_repeat[p]
                                .iter()
                                .map(|g| Json::num(*g))
                                .collect(),
                        )
                    }),
                ),
            ]),
        ));
    }
    if let Some(cells) = &r.throughput {
        let names = &r.pools;
        let cells_json = cells
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                Json::Obj(vec![
                    ("pool_size", Json::num(c.size as f64)),
                    ("tasks", Json::num(c.tasks as f64)),
                    (
                        "median_mops",
                        per_pool(names, |p| Json::opt(d.throughput[ci][p])),
                    ),
                    (
                        "ratio_to_baseline",
                        per_pool(names, |p| Json::opt(d.throughput_ratio[ci][p])),
                    ),
                    (
                        "runs_mops",
                        per_pool(names, |p| {
                            Json::Arr(c.runs[p].iter().map(|v| Json::opt(*v)).collect())
                        }),
                    ),
                ])
            })
            .collect();
        root.push((
            "throughput",
            Json::Obj(vec![
                (
                    "unit",
                    Json::Str("million get() per second; null = timed out".into()),
                ),
                ("cells", Json::Arr(cells_json)),
                (
                    "geomean_ratio",
                    per_pool(names, |p| Json::num(d.throughput_geo[p])),
                ),
            ]),
        ));
    }
    if let Some(runs) = &r.fairness {
        root.push((
            "fairness",
            Json::Obj(vec![
                (
                    "median_of_runs",
                    per_pool(&r.pools, |p| percentiles_json(&d.fairness[p])),
                ),
                (
                    "runs",
                    per_pool(&r.pools, |p| {
                        Json::Arr(runs[p].iter().map(percentiles_json).collect())
                    }),
                ),
                (
                    "block_tails_ms",
                    per_pool(&r.pools, |p| {
                        let blocks = r.fairness_blocks.as_ref().map(|b| b[p].as_slice());
                        Json::Arr(
                            blocks
                                .unwrap_or_default()
                                .iter()
                                .map(|&t| Json::num(t))
                                .collect(),
                        )
                    }),
                ),
            ]),
        ));
    }
    if let Some(allocs) = &r.allocs {
        root.push((
            "allocations",
            per_pool(&r.pools, |p| {
                let c = allocs[p];
                Json::Obj(vec![
                    ("ops", Json::num(c.ops as f64)),
                    ("allocs", Json::num(c.allocs as f64)),
                    ("bytes", Json::num(c.bytes as f64)),
                    ("allocs_per_op", Json::num(c.per_op())),
                ])
            }),
        ));
    }
    let mut out = String::new();
    Json::Obj(root).write(&mut out);
    out.push('\n');
    out
}

/// Grouped bars of the median per cell, log scale, with Q1–Q3 whiskers.
fn latency_svg(r: &Results, d: &Derived) -> String {
    let cells = r.latency.as_deref().unwrap_or_default();
    let groups = cells
        .iter()
        .zip(&d.latency)
        .map(|(c, row)| Group {
            label: format!(
                "{}/{}{}",
                c.size,
                c.tasks,
                if c.tasks < GATE_TASKS { "†" } else { "" }
            ),
            bars: row
                .iter()
                .zip(&r.latency_names)
                .map(|(q, name)| {
                    Some(Bar {
                        value: q.median,
                        whisker: Some((q.q1, q.q3)),
                        tooltip: format!("{name} {}/{}: {} µs", c.size, c.tasks, us(q.median)),
                        label: None,
                    })
                })
                .collect(),
        })
        .collect();
    Chart {
        title: "Acquisition latency: median µs per round (log scale), whiskers Q1–Q3",
        series: &r.latency_names,
        groups,
        scale: Scale::Log,
        tick: |v| format!("{v}"),
        missing: "",
        footer: Some("pool size / tasks († = at the spawn/join noise floor)".into()),
        bar_width: 10.0,
        bar_gap: 2.0,
        group_gap: 18.0,
        plot_height: 320.0,
    }
    .svg()
}

/// Grouped bars per statistic (p50, p99, p99.9, max), one bar per pool, linear scale.
fn fairness_svg(r: &Results, s: &Settings, d: &Derived) -> String {
    let stats_of = |p: &Percentiles| [p.p50, p.p99, p.p999, p.max];
    let groups = ["p50", "p99", "p99.9", "max"]
        .iter()
        .enumerate()
        .map(|(si, label)| Group {
            label: (*label).into(),
            bars: d
                .fairness
                .iter()
                .zip(&r.pools)
                .map(|(stats, name)| {
                    let v = stats_of(stats.as_ref()?)[si];
                    Some(Bar {
                        value: v,
                        whisker: None,
                        tooltip: format!("{name} {label}: {v:.1} ms"),
                        label: Some(format!("{v:.0}")),
                    })
                })
                .collect(),
        })
        .collect();
    let f = s.fairness;
    let title = format!(
        "Fairness: get() wait, ms (pool {}, {} tasks × {}, hold {} ms)",
        f.size,
        f.tasks,
        f.checkouts,
        f.hold.as_millis()
    );
    Chart {
        title: &title,
        series: &r.pools,
        groups,
        scale: Scale::Linear,
        tick: |v| format!("{v}"),
        missing: "hung",
        footer: None,
        bar_width: 26.0,
        bar_gap: 4.0,
        group_gap: 40.0,
        plot_height: 300.0,
    }
    .svg()
}

/// Writes the four files; returns the Markdown's path and the summary lines.
pub fn write(r: &Results, s: &Settings) -> std::io::Result<(PathBuf, Vec<String>)> {
    let dir = out_dir(s);
    std::fs::create_dir_all(&dir)?;
    let m = Machine::probe(&["tokio", "bb8", "deadpool", "mobc"]);
    let d = derive(r);
    let md_path = dir.join("pools.md");
    std::fs::write(&md_path, markdown(r, s, &m, &d))?;
    std::fs::write(dir.join("pools.json"), json(r, s, &m, &d))?;
    if r.latency.is_some() {
        std::fs::write(dir.join("latency.svg"), latency_svg(r, &d))?;
    }
    if r.fairness.is_some() {
        std::fs::write(dir.join("fairness.svg"), fairness_svg(r, s, &d))?;
    }
    Ok((md_path, summary(r, &d)))
}

/// The smoke run's checks: everything completed, and ours allocates nothing per get.
pub fn smoke_check(r: &Results) -> Result<Vec<String>, String> {
    let d = derive(r);
    for (cell, row) in r.throughput.iter().flatten().zip(&d.throughput) {
        for (name, v) in r.pools.iter().zip(row) {
            if v.is_none() {
                return Err(format!(
                    "throughput {}/{}: {name} timed out",
                    cell.size, cell.tasks
                ));
            }
        }
    }
    for (name, p) in r.pools.iter().zip(&d.fairness) {
        if p.is_none() {
            return Err(format!("fairness: {name} hung"));
        }
    }
    if let (Some(allocs), Some(o)) = (&r.allocs, pool_of(&r.pools, OURS))
        && allocs[o].allocs != 0
    {
        return Err(format!(
            "ours allocated {} times in {} get()s",
            allocs[o].allocs, allocs[o].ops
        ));
    }
    Ok(summary(r, &d))
}
