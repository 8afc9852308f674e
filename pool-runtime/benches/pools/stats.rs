//! Order statistics and the geometric mean.

use std::time::Duration;

/// Q1, median and Q3 of a sample (µs for latency).
#[derive(Clone, Copy, Debug, Default)]
pub struct Quartiles {
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
}

impl Quartiles {
    pub fn of_durations_us(samples: &mut [Duration]) -> Self {
        samples.sort_unstable();
        let us = |q: f64| quantile(samples, q).as_secs_f64() * 1e6;
        Quartiles {
            q1: us(0.25),
            median: us(0.5),
            q3: us(0.75),
        }
    }

    /// The median, over repeats, of each of the three (each repeat's figure is already a
    /// median of many rounds; the median over repeats shrugs off one disturbed repeat).
    pub fn median_of(runs: &[Quartiles]) -> Self {
        Quartiles {
            q1: median(runs.iter().map(|q| q.q1)),
            median: median(runs.iter().map(|q| q.median)),
            q3: median(runs.iter().map(|q| q.q3)),
        }
    }
}

/// p50/p99/p99.9/max of a sample, in ms.
#[derive(Clone, Copy, Debug, Default)]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub n: usize,
}

impl Percentiles {
    pub fn of_durations_ms(samples: &mut [Duration]) -> Self {
        samples.sort_unstable();
        let ms = |q: f64| quantile(samples, q).as_secs_f64() * 1e3;
        Percentiles {
            p50: ms(0.5),
            p99: ms(0.99),
            p999: ms(0.999),
            max: ms(1.0),
            n: samples.len(),
        }
    }

    /// Each statistic's median over runs (the max too: one run's hiccup is not the pool's).
    pub fn median_of(runs: &[Percentiles]) -> Self {
        Percentiles {
            p50: median(runs.iter().map(|p| p.p50)),
            p99: median(runs.iter().map(|p| p.p99)),
            p999: median(runs.iter().map(|p| p.p999)),
            max: median(runs.iter().map(|p| p.max)),
            n: runs.iter().map(|p| p.n).sum(),
        }
    }
}

/// Nearest-rank quantile of a sorted, non-empty sample.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median of some numbers (the mean of the middle two for an even count); NaN if none.
pub fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The median, 90th percentile (nearest rank) and maximum of some numbers, NaNs left out;
/// `None` if nothing is left.
pub fn spread(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_unstable_by(f64::total_cmp);
    let rank = (0.9 * v.len() as f64).ceil() as usize;
    Some((
        median(v.iter().copied()),
        v[rank.clamp(1, v.len()) - 1],
        v[v.len() - 1],
    ))
}

/// A throughput cell's median, or `None` if any run timed out (bikeshedder's rule: a pool
/// that can hang has no throughput figure).
pub fn median_ops(runs: &[Option<f64>]) -> Option<f64> {
    runs.iter()
        .copied()
        .collect::<Option<Vec<f64>>>()
        .filter(|v| !v.is_empty())
        .map(|v| median(v.into_iter()))
}

/// The geometric mean, the right average for ratios; NaN if there are none.
pub fn geomean(ratios: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = ratios.fold((0.0, 0usize), |(s, n), r| (s + r.ln(), n + 1));
    if n == 0 {
        f64::NAN
    } else {
        (sum / n as f64).exp()
    }
}
