//! Grouped bar charts as hand-written SVG (no plotting crate): one group per cell of a grid,
//! one bar per contender, with an optional whisker and a value label on each bar.

use std::fmt::Write as _;

const COLORS: &[&str] = &[
    "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#7f7f7f", "#9467bd", "#8c564b", "#17becf",
];

#[allow(dead_code, reason = "a benchmark may draw with one scale only")]
pub enum Scale {
    /// Decades from the smallest value's to the largest's.
    Log,
    /// From 0 to a round maximum (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × a power of ten), in five
    /// steps.
    Linear,
}

/// One bar; `None` in [`Group::bars`] draws `missing` in its place.
pub struct Bar {
    pub value: f64,
    /// Low and high ends of a whisker.
    pub whisker: Option<(f64, f64)>,
    /// Shown on hover.
    pub tooltip: String,
    /// Written above the bar.
    pub label: Option<String>,
}

pub struct Group {
    pub label: String,
    /// One per series, in the legend's order.
    pub bars: Vec<Option<Bar>>,
}

pub struct Chart<'a> {
    pub title: &'a str,
    pub series: &'a [&'a str],
    pub groups: Vec<Group>,
    pub scale: Scale,
    /// How an axis value is written.
    pub tick: fn(f64) -> String,
    /// Written in place of a missing bar.
    pub missing: &'a str,
    /// A line under the group labels.
    pub footer: Option<String>,
    pub bar_width: f64,
    pub bar_gap: f64,
    pub group_gap: f64,
    pub plot_height: f64,
}

const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const LEGEND_ROW: f64 = 16.0;

impl Chart<'_> {
    pub fn svg(&self) -> String {
        let n = self.series.len();
        let group_w = n as f64 * (self.bar_width + self.bar_gap) + self.group_gap;
        let width = LEFT + self.groups.len() as f64 * group_w + RIGHT;
        let legend = legend(self.series, width - RIGHT);
        // The legend takes a row under the title, and more rows when its names do not fit.
        let top = 50.0 + LEGEND_ROW * (legend.rows - 1) as f64;
        let plot_h = self.plot_height;
        let height = top + plot_h + if self.footer.is_some() { 50.0 } else { 40.0 };
        let values = self
            .groups
            .iter()
            .flat_map(|g| g.bars.iter().flatten())
            .flat_map(|b| {
                let (lo, hi) = b.whisker.unwrap_or((b.value, b.value));
                [b.value, lo, hi]
            })
            .filter(|v| v.is_finite() && *v > 0.0);
        let (lo, hi) = values.fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let axis = Axis::new(&self.scale, lo, hi);
        let y = |v: f64| top + plot_h * (1.0 - axis.at(v));

        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
             <text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n",
            width / 2.0,
            self.title
        );
        for v in axis.ticks() {
            let _ = writeln!(
                svg,
                "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y0:.1}\" y2=\"{y0:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                width - RIGHT,
                LEFT - 4.0,
                y(v) + 4.0,
                (self.tick)(v),
                y0 = y(v)
            );
        }
        for (gi, group) in self.groups.iter().enumerate() {
            let gx = LEFT + gi as f64 * group_w + self.group_gap / 2.0;
            for (p, bar) in group.bars.iter().enumerate() {
                let bx = gx + p as f64 * (self.bar_width + self.bar_gap);
                let mx = bx + self.bar_width / 2.0;
                let Some(bar) = bar else {
                    let _ = writeln!(
                        svg,
                        "<text x=\"{mx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                        top + plot_h - 3.0,
                        self.missing
                    );
                    continue;
                };
                let _ = writeln!(
                    svg,
                    "<rect x=\"{bx:.1}\" y=\"{:.1}\" width=\"{}\" height=\"{:.1}\" fill=\"{}\"><title>{}</title></rect>",
                    y(bar.value),
                    self.bar_width,
                    top + plot_h - y(bar.value),
                    COLORS[p % COLORS.len()],
                    bar.tooltip
                );
                if let Some((lo, hi)) = bar.whisker {
                    let _ = writeln!(
                        svg,
                        "<line x1=\"{mx:.1}\" x2=\"{mx:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"black\" stroke-width=\"1\"/>",
                        y(lo),
                        y(hi)
                    );
                }
                if let Some(label) = &bar.label {
                    let _ = writeln!(
                        svg,
                        "<text x=\"{mx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"9\">{label}</text>",
                        y(bar.value) - 3.0
                    );
                }
            }
            let _ = writeln!(
                svg,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                gx + (group_w - self.group_gap) / 2.0,
                top + plot_h + 16.0,
                group.label
            );
        }
        if let Some(footer) = &self.footer {
            let _ = writeln!(
                svg,
                "<text x=\"{LEFT}\" y=\"{}\">{footer}</text>",
                top + plot_h + 32.0
            );
        }
        svg.push_str(&legend.svg);
        svg.push_str("</svg>\n");
        svg
    }
}

struct Legend {
    svg: String,
    rows: usize,
}

/// A colour swatch and a name per series, in rows that end before `right`.
fn legend(names: &[&str], right: f64) -> Legend {
    let (mut x, mut y, mut rows) = (LEFT, 38.0, 1);
    let mut svg = String::new();
    for (i, name) in names.iter().enumerate() {
        // About 6.5 px per character at font size 11, then a gap.
        let w = (name.chars().count() as f64 * 6.5 + 24.0).max(90.0);
        if x > LEFT && x + w > right {
            (x, y, rows) = (LEFT, y + LEGEND_ROW, rows + 1);
        }
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"{y}\">{name}</text>",
            y - 9.0,
            COLORS[i % COLORS.len()],
            x + 14.0
        );
        x += w;
    }
    Legend { svg, rows }
}

/// Maps values to the plot's height, 0 at the bottom and 1 at the top.
enum Axis {
    /// Powers of ten, from 10^lo to 10^hi.
    Log {
        lo: f64,
        hi: f64,
    },
    Linear {
        hi: f64,
    },
}

impl Axis {
    fn new(scale: &Scale, lo: f64, hi: f64) -> Axis {
        match scale {
            Scale::Log => {
                let lo = lo.max(1e-3).log10().floor();
                Axis::Log {
                    lo,
                    hi: hi.max(1e-3).log10().ceil().max(lo + 1.0),
                }
            }
            Scale::Linear => {
                let hi = hi.max(1.0);
                let mag = 10f64.powf(hi.log10().floor());
                // Maxima whose fifths read well (0.3, 0.5, 1.2, …), close enough above the
                // largest value that the bars use most of the height.
                let round = [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
                    .iter()
                    .map(|m| m * mag)
                    .find(|v| *v >= hi)
                    .unwrap_or(hi);
                Axis::Linear { hi: round }
            }
        }
    }

    fn at(&self, v: f64) -> f64 {
        match *self {
            Axis::Log { lo, hi } => ((v.max(1e-3).log10() - lo) / (hi - lo)).clamp(0.0, 1.0),
            Axis::Linear { hi } => (v / hi).clamp(0.0, 1.0),
        }
    }

    fn ticks(&self) -> Vec<f64> {
        match *self {
            Axis::Log { lo, hi } => ((lo as i32)..=(hi as i32)).map(|e| 10f64.powi(e)).collect(),
            Axis::Linear { hi } => (0..=5).map(|k| hi * f64::from(k) / 5.0).collect(),
        }
    }
}
