//! The two charts of the Scalability page as standalone SVG documents (the
//! same string is shown inline and downloaded):
//!
//! - [`rounds_svg`]: rounds to convergence against network size (log x):
//!   measured mean with min–max whiskers, the exact one-rumour expectation,
//!   the all-rumours estimate inside its rigorous bounds, and the asymptotic
//!   formula — all from `lab-core`'s [`ScalePoint`]s;
//! - [`costs_svg`]: log–log messages, metadata bytes and this browser's time
//!   per size, each with its fitted slope written on the chart.
//!
//! Geometry is presentation only: no result is computed here (the time
//! slope is `lab-core`'s own `loglog_slope`, applied by the caller).

use crate::chart::esc;
use lab_core::experiment::scale::{ScalePoint, Slope};
use std::fmt::Write;

const WIDTH: f64 = 640.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 18.0;
/// Height of the plotting area.
const PLOT_HEIGHT: f64 = 260.0;
/// Space under the plot for tick labels and the axis title.
const AXIS_SPACE: f64 = 58.0;
/// One legend row (sized for the phone font).
const LEGEND_ROW: f64 = 24.0;
/// Most legend rows (bounds the SVG height).
const LEGEND_ROWS_MAX: usize = 8;

/// Okabe–Ito colours per role.
const MEASURED: &str = "#d55e00";
const EXACT: &str = "#009e73";
const ESTIMATE: &str = "#0072b2";
const BAND: &str = "#56b4e9";
const ASYMPTOTIC: &str = "#cc79a7";
const MESSAGES: &str = "#0072b2";
const BYTES: &str = "#e69f00";
const TIME: &str = "#009e73";

/// The charts' style: readable on phones (the SVG scales down with the
/// page, so its text grows), dark-mode aware.
const STYLE: &str = "<style>.sc-chart text{font:13px system-ui,sans-serif;fill:#444}\
.sc-chart .grid{stroke:#8883;stroke-width:1}.sc-chart .axis{stroke:#888;stroke-width:1}\
.sc-chart .line{fill:none;stroke-width:2.2;stroke-linejoin:round}\
.sc-chart .guide{fill:none;stroke:#8888;stroke-width:1.2;stroke-dasharray:4 4}\
.sc-chart .note{font-style:italic}\
@media (max-width:480px){.sc-chart text{font-size:19px}.sc-chart .tick{font-size:17px}}\
@media (prefers-color-scheme: dark){.sc-chart text{fill:#ccc}}</style>";

/// A horizontal axis over network sizes, logarithmic.
#[derive(Clone, Copy)]
struct LogAxis {
    lo: f64,
    hi: f64,
    px_lo: f64,
    px_hi: f64,
}

impl LogAxis {
    /// An axis spanning `values` (positive), padded so one value or equal
    /// values still get a span.
    fn over(values: impl Iterator<Item = f64>, px_lo: f64, px_hi: f64, pad: f64) -> LogAxis {
        let (mut lo, mut hi) = values
            .filter(|v| v.is_finite() && *v > 0.0)
            .fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
        if !lo.is_finite() {
            (lo, hi) = (1.0, 10.0);
        }
        if hi / lo < 2.0 {
            (lo, hi) = (lo / 2.0, hi * 2.0);
        }
        let pad = (hi / lo).powf(pad);
        LogAxis {
            lo: lo / pad,
            hi: hi * pad,
            px_lo,
            px_hi,
        }
    }

    fn px(&self, v: f64) -> f64 {
        let t = (v.max(self.lo * 1e-3) / self.lo).ln() / (self.hi / self.lo).ln();
        self.px_lo + (self.px_hi - self.px_lo) * t
    }

    /// Ticks at 1, 2 and 5 × 10^k inside the span (only powers of ten when
    /// 1-2-5 ticks would crowd: fewer than `gap_px` apart).
    fn ticks(&self, gap_px: f64) -> Vec<f64> {
        let first = self.lo.log10().floor() as i32;
        let last = self.hi.log10().ceil() as i32;
        let decades: Vec<f64> = (first..=last).map(|e| 10f64.powi(e)).collect();
        let fine = (self.px(5.0) - self.px(2.0)).abs() >= gap_px
            && (self.px(2.0) - self.px(1.0)).abs() >= gap_px;
        let mut out = Vec::new();
        for d in decades {
            let steps: &[f64] = if fine { &[1.0, 2.0, 5.0] } else { &[1.0] };
            for m in steps {
                let v = d * m;
                if v >= self.lo && v <= self.hi {
                    out.push(v);
                }
            }
        }
        out
    }
}

/// A linear vertical axis from 0.
#[derive(Clone, Copy)]
struct LinAxis {
    hi: f64,
    step: f64,
}

impl LinAxis {
    /// From 0 to a round number at or above `max`.
    fn to(max: f64) -> LinAxis {
        let max = if max.is_finite() && max > 0.0 {
            max
        } else {
            1.0
        };
        let raw = max / 5.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * mag);
        LinAxis {
            hi: (max / step).ceil() * step,
            step,
        }
    }

    fn px(&self, v: f64) -> f64 {
        TOP + PLOT_HEIGHT * (1.0 - v / self.hi)
    }
}

/// `1`, `20`, `500`, `1k`, `20k`, `1M`, `5G` — compact tick labels.
fn compact(v: f64) -> String {
    let units = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    for (scale, unit) in units {
        if v >= scale {
            return format!("{}{unit}", trim(v / scale));
        }
    }
    trim(v)
}

/// A number with at most two decimals and no trailing zeros.
fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

fn open(s: &mut String, id: &str, height: f64, title: &str) {
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-labelledby="{id}-title" class="sc-chart"><title id="{id}-title">{}</title>{STYLE}"#,
        esc(title)
    );
}

/// Vertical grid and labels of a log x axis, and its title.
fn x_axis(s: &mut String, x: &LogAxis, title: &str) {
    let bottom = TOP + PLOT_HEIGHT;
    for v in x.ticks(34.0) {
        let px = x.px(v);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{px:.1}" x2="{px:.1}" y1="{TOP}" y2="{bottom}"/><text class="tick" x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            bottom + 20.0,
            compact(v)
        );
    }
    let _ = write!(
        s,
        r#"<line class="axis" x1="{LEFT}" x2="{:.1}" y1="{bottom}" y2="{bottom}"/><line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{bottom}"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        WIDTH - RIGHT,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        bottom + 46.0,
        esc(title)
    );
}

/// A y-axis title, rotated, left of the tick labels.
fn y_title(s: &mut String, title: &str) {
    let y = TOP + PLOT_HEIGHT / 2.0;
    let _ = write!(
        s,
        r#"<text x="16" y="{y:.1}" text-anchor="middle" transform="rotate(-90 16 {y:.1})">{}</text>"#,
        esc(title)
    );
}

/// A polyline through `points` (pixels); a single point becomes a short
/// horizontal dash so it stays visible.
fn polyline(s: &mut String, points: &[(f64, f64)], colour: &str, dash: &str, tip: &str) {
    let pts: Vec<(f64, f64)> = match points {
        [] => return,
        [(x, y)] => vec![(x - 10.0, *y), (x + 10.0, *y)],
        _ => points.to_vec(),
    };
    let path: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
    let dash = if dash.is_empty() {
        String::new()
    } else {
        format!(r#" stroke-dasharray="{dash}""#)
    };
    let _ = write!(
        s,
        r#"<polyline class="line" stroke="{colour}"{dash} points="{}"><title>{}</title></polyline>"#,
        path.join(" "),
        esc(tip)
    );
}

/// One legend row: a swatch (`line`, `band` or `dot`) and a label.
fn legend_row(s: &mut String, row: usize, swatch: &str, colour: &str, dash: &str, label: &str) {
    if row >= LEGEND_ROWS_MAX {
        return;
    }
    let y = TOP + PLOT_HEIGHT + AXIS_SPACE + 14.0 + row as f64 * LEGEND_ROW;
    let x = LEFT;
    match swatch {
        "band" => {
            let _ = write!(
                s,
                r#"<rect x="{x}" y="{:.1}" width="26" height="12" fill="{colour}" fill-opacity="0.3"/>"#,
                y - 6.0
            );
        }
        "dot" => {
            let _ = write!(
                s,
                r#"<line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"/><circle cx="{:.1}" cy="{y:.1}" r="4.5" fill="{colour}"/>"#,
                x + 13.0,
                x + 13.0,
                y - 8.0,
                y + 8.0,
                x + 13.0
            );
        }
        _ => {
            let dash = if dash.is_empty() {
                String::new()
            } else {
                format!(r#" stroke-dasharray="{dash}""#)
            };
            let _ = write!(
                s,
                r#"<line x1="{x}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="3"{dash}/>"#,
                x + 26.0
            );
        }
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
        x + 36.0,
        y + 5.0,
        esc(label)
    );
}

fn height_with_legend(rows: usize) -> f64 {
    TOP + PLOT_HEIGHT + AXIS_SPACE + rows.min(LEGEND_ROWS_MAX) as f64 * LEGEND_ROW + 8.0
}

/// Rounds to convergence against network size (log x). `protocol` and
/// `fanout` name the schedule in the title.
pub fn rounds_svg(points: &[ScalePoint], protocol: &str, fanout: u32) -> String {
    let theory: Vec<_> = points
        .iter()
        .filter_map(|p| p.theory.as_ref().map(|t| (p.nodes as f64, t)))
        .collect();
    let rows = if theory.is_empty() { 1 } else { 5 };
    let height = height_with_legend(rows);
    let mut s = String::new();
    open(
        &mut s,
        "sc-rounds",
        height,
        &format!(
            "Rounds to convergence against network size, {protocol} with fan-out {fanout}: measured and gossip theory"
        ),
    );
    let x = LogAxis::over(
        points.iter().map(|p| p.nodes as f64),
        LEFT + 12.0,
        WIDTH - RIGHT - 12.0,
        0.0,
    );
    let y_max = points
        .iter()
        .map(|p| p.rounds_max as f64)
        .chain(
            theory
                .iter()
                .flat_map(|(_, t)| [t.all_rumours_upper, t.one_rumour_mean, t.asymptotic]),
        )
        .fold(1.0, f64::max);
    // Rounds are whole numbers: at least 0…5, so the grid steps by one.
    let y = LinAxis::to((y_max * 1.05).max(5.0));
    y_grid_linear(&mut s, &y);
    x_axis(&mut s, &x, "network size n (nodes, log scale)");
    y_title(&mut s, "rounds");
    if theory.is_empty() {
        let _ = write!(
            s,
            r#"<text class="note" x="{:.1}" y="{:.1}">No gossip theory for this schedule (all-pairs: one sequential pass).</text>"#,
            LEFT + 10.0,
            TOP + 18.0
        );
    } else {
        theory_layers(&mut s, &theory, &x, &y);
    }
    measured_rounds(&mut s, points, &x, &y);
    let mut row = 0;
    legend_row(
        &mut s,
        row,
        "dot",
        MEASURED,
        "",
        "measured: mean, whiskers min–max",
    );
    if !theory.is_empty() {
        for (swatch, colour, dash, label) in [
            ("line", EXACT, "", "one rumour: exact expectation"),
            ("line", ESTIMATE, "7 4", "all rumours (CRDT case): estimate"),
            ("band", BAND, "", "all rumours: rigorous lower–upper bounds"),
            ("line", ASYMPTOTIC, "2 4", "one rumour: asymptotic formula"),
        ] {
            row += 1;
            legend_row(&mut s, row, swatch, colour, dash, label);
        }
    }
    s.push_str("</svg>");
    s
}

fn y_grid_linear(s: &mut String, y: &LinAxis) {
    let steps = (y.hi / y.step).round() as u32;
    for i in 0..=steps.min(20) {
        let v = i as f64 * y.step;
        let py = y.px(v);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT}" x2="{:.1}" y1="{py:.1}" y2="{py:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            py + 4.0,
            trim(v)
        );
    }
}

/// The bounds band, the estimate, the exact one-rumour expectation and the
/// asymptotic line.
fn theory_layers(
    s: &mut String,
    theory: &[(f64, &lab_core::experiment::scale::Theory)],
    x: &LogAxis,
    y: &LinAxis,
) {
    // The band: upper bounds left to right, then lower bounds back (a single
    // size gets a small box).
    let half = if theory.len() == 1 { 10.0 } else { 0.0 };
    let mut band: Vec<String> = Vec::new();
    for (n, t) in theory {
        band.push(format!(
            "{:.1},{:.1}",
            x.px(*n) - half,
            y.px(t.all_rumours_upper)
        ));
        if half > 0.0 {
            band.push(format!(
                "{:.1},{:.1}",
                x.px(*n) + half,
                y.px(t.all_rumours_upper)
            ));
        }
    }
    for (n, t) in theory.iter().rev() {
        if half > 0.0 {
            band.push(format!(
                "{:.1},{:.1}",
                x.px(*n) + half,
                y.px(t.all_rumours_lower)
            ));
        }
        band.push(format!(
            "{:.1},{:.1}",
            x.px(*n) - half,
            y.px(t.all_rumours_lower)
        ));
    }
    let _ = write!(
        s,
        r#"<polygon points="{}" fill="{BAND}" fill-opacity="0.28" stroke="none"><title>all rumours: rigorous bounds</title></polygon>"#,
        band.join(" ")
    );
    let line = |f: &dyn Fn(&lab_core::experiment::scale::Theory) -> f64| -> Vec<(f64, f64)> {
        theory.iter().map(|(n, t)| (x.px(*n), y.px(f(t)))).collect()
    };
    polyline(
        s,
        &line(&|t| t.asymptotic),
        ASYMPTOTIC,
        "2 4",
        "one rumour: asymptotic formula",
    );
    polyline(
        s,
        &line(&|t| t.one_rumour_mean),
        EXACT,
        "",
        "one rumour: exact expectation",
    );
    polyline(
        s,
        &line(&|t| t.all_rumours_estimate),
        ESTIMATE,
        "7 4",
        "all rumours: estimate",
    );
}

/// Measured means with min–max whiskers, joined by a thin line.
fn measured_rounds(s: &mut String, points: &[ScalePoint], x: &LogAxis, y: &LinAxis) {
    if points.len() > 1 {
        let path: Vec<String> = points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x.px(p.nodes as f64), y.px(p.rounds_mean)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{MEASURED}" stroke-width="1.2" stroke-opacity="0.7" points="{}"><title>measured mean rounds</title></polyline>"#,
            path.join(" ")
        );
    }
    for p in points {
        let px = x.px(p.nodes as f64);
        let (lo, hi) = (y.px(p.rounds_min as f64), y.px(p.rounds_max as f64));
        let _ = write!(
            s,
            r#"<g><title>n = {}: mean {} rounds (min {}, max {}){}</title><line x1="{px:.1}" x2="{px:.1}" y1="{lo:.1}" y2="{hi:.1}" stroke="{MEASURED}" stroke-width="2"/><line x1="{:.1}" x2="{:.1}" y1="{lo:.1}" y2="{lo:.1}" stroke="{MEASURED}" stroke-width="2"/><line x1="{:.1}" x2="{:.1}" y1="{hi:.1}" y2="{hi:.1}" stroke="{MEASURED}" stroke-width="2"/><circle cx="{px:.1}" cy="{:.1}" r="4.5" fill="{MEASURED}"/></g>"#,
            p.nodes,
            trim(p.rounds_mean),
            p.rounds_min,
            p.rounds_max,
            if p.converged {
                ""
            } else {
                " — did not converge"
            },
            px - 5.0,
            px + 5.0,
            px - 5.0,
            px + 5.0,
            y.px(p.rounds_mean)
        );
    }
}

/// One series of the cost chart: its values per size and its fitted slope.
pub struct CostSeries<'a> {
    pub label: &'a str,
    /// `(nodes, value)`; non-positive values are skipped (log scale).
    pub values: Vec<(f64, f64)>,
    pub slope: Option<f64>,
    /// Which sizes the slope was fitted over, when not all of them.
    pub fit_note: Option<&'a str>,
}

/// The cost series of a run: messages and metadata bytes (slopes from the
/// report) and browser time per size (`times_ms[i]` for `points[i]`, slope
/// fitted by the caller with `lab-core`'s `loglog_slope` over the sizes
/// `time_fit_note` describes).
pub fn cost_series<'a>(
    points: &[ScalePoint],
    slopes: &[Slope],
    times_ms: &[Option<f64>],
    time_slope: Option<f64>,
    time_fit_note: &'a str,
) -> Vec<CostSeries<'a>> {
    let slope_of = |q: &str| slopes.iter().find(|s| s.quantity == q).map(|s| s.slope);
    let n = |p: &ScalePoint| p.nodes as f64;
    vec![
        CostSeries {
            label: "messages per run",
            values: points.iter().map(|p| (n(p), p.messages_mean)).collect(),
            slope: slope_of("messages"),
            fit_note: None,
        },
        CostSeries {
            label: "metadata bytes per run",
            values: points
                .iter()
                .map(|p| (n(p), p.metadata_bytes_mean))
                .collect(),
            slope: slope_of("metadata bytes"),
            fit_note: None,
        },
        CostSeries {
            label: "browser ms per size",
            values: points
                .iter()
                .zip(times_ms)
                .filter_map(|(p, t)| t.map(|t| (n(p), t)))
                .collect(),
            slope: time_slope,
            fit_note: Some(time_fit_note),
        },
    ]
}

/// Log–log messages, metadata bytes and browser time against network size,
/// with the fitted slopes and grey reference slopes 1 and 2.
pub fn costs_svg(series: &[CostSeries]) -> String {
    let rows = series.len() + 1;
    let height = height_with_legend(rows);
    let mut s = String::new();
    open(
        &mut s,
        "sc-costs",
        height,
        "Messages, metadata bytes and time per size against network size, log–log, with fitted slopes",
    );
    let positive = |v: &(f64, f64)| v.0 > 0.0 && v.1 > 0.0 && v.1.is_finite();
    let x = LogAxis::over(
        series.iter().flat_map(|c| c.values.iter().map(|v| v.0)),
        LEFT + 12.0,
        WIDTH - RIGHT - 12.0,
        0.0,
    );
    let ys: Vec<f64> = series
        .iter()
        .flat_map(|c| c.values.iter().filter(|v| positive(v)).map(|v| v.1))
        .collect();
    let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ys.iter().copied().fold(0.0, f64::max);
    let (lo, hi) = if lo.is_finite() {
        (
            10f64.powf(lo.log10().floor()),
            10f64.powf(hi.log10().ceil().max(lo.log10().floor() + 1.0)),
        )
    } else {
        (1.0, 10.0)
    };
    let y = LogAxis {
        lo,
        hi,
        px_lo: TOP + PLOT_HEIGHT,
        px_hi: TOP,
    };
    for v in y.ticks(18.0) {
        let py = y.px(v);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT}" x2="{:.1}" y1="{py:.1}" y2="{py:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            py + 4.0,
            compact(v)
        );
    }
    x_axis(&mut s, &x, "network size n (nodes, log scale)");
    y_title(&mut s, "per size (log scale)");
    if let Some(first) = series.first() {
        reference_slopes(&mut s, first, &x, &y);
    }
    let colours = [MESSAGES, BYTES, TIME];
    let dashes = ["", "7 4", "2 3"];
    for (i, c) in series.iter().enumerate() {
        let colour = colours[i % colours.len()];
        let pts: Vec<(f64, f64)> = c
            .values
            .iter()
            .filter(|v| positive(v))
            .map(|(n, v)| (x.px(*n), y.px(*v)))
            .collect();
        if pts.len() > 1 {
            polyline(&mut s, &pts, colour, dashes[i % dashes.len()], c.label);
        }
        for ((n, v), (px, py)) in c.values.iter().filter(|v| positive(v)).zip(&pts) {
            let _ = write!(
                s,
                r#"<circle cx="{px:.1}" cy="{py:.1}" r="4" fill="{colour}"><title>n = {n}: {} {}</title></circle>"#,
                trim(*v),
                esc(c.label)
            );
        }
        let note = c.fit_note.map_or_else(String::new, |n| format!(" ({n})"));
        let label = match c.slope {
            Some(k) => format!("{} — slope {k:.2}{note}", c.label),
            None => format!("{} — no slope{note}", c.label),
        };
        legend_row(&mut s, i, "line", colour, dashes[i % dashes.len()], &label);
    }
    legend_row(
        &mut s,
        series.len(),
        "line",
        "#8888",
        "4 4",
        "reference slopes 1 (∝ n) and 2 (∝ n²)",
    );
    s.push_str("</svg>");
    s
}

/// Grey guides of slope 1 and 2 through the first series' first point.
fn reference_slopes(s: &mut String, c: &CostSeries, x: &LogAxis, y: &LogAxis) {
    let Some(&(n0, v0)) = c.values.iter().find(|v| v.0 > 0.0 && v.1 > 0.0) else {
        return;
    };
    let n1 = x.hi;
    for (k, label) in [(1.0, "slope 1"), (2.0, "slope 2")] {
        let mut v1 = v0 * (n1 / n0).powf(k);
        let mut end = n1;
        if v1 > y.hi {
            // Stop where the guide leaves the plot.
            end = n0 * (y.hi / v0).powf(1.0 / k);
            v1 = y.hi;
        }
        let _ = write!(
            s,
            r#"<line class="guide" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"><title>{label}</title></line><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end" fill-opacity="0.8">{label}</text>"#,
            x.px(n0),
            y.px(v0),
            x.px(end),
            y.px(v1),
            x.px(end) - 4.0,
            y.px(v1) - 6.0
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_core::experiment::scale::{run, ScaleConfig};
    use lab_core::sim::Protocol;

    /// Well-formed enough for an SVG viewer: one root, balanced tags, no
    /// `NaN` or infinite coordinates.
    fn check_svg(svg: &str) {
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<svg").count(), 1);
        for tag in ["g", "title", "polyline", "polygon", "text", "style"] {
            let opened =
                svg.matches(&format!("<{tag}>")).count() + svg.matches(&format!("<{tag} ")).count();
            let closed = svg.matches(&format!("</{tag}>")).count();
            assert_eq!(opened, closed, "<{tag}> balanced in {svg}");
        }
        for bad in ["NaN", "inf,", "inf ", "inf\""] {
            assert!(!svg.contains(bad), "{bad} in {svg}");
        }
    }

    fn config(sizes: Vec<u32>, protocol: Protocol) -> ScaleConfig {
        ScaleConfig {
            sizes,
            dim: 2,
            orderings: 2,
            protocol,
            ..ScaleConfig::default()
        }
    }

    #[test]
    fn one_point_draws_both_charts() {
        let report = run(&config(vec![8], Protocol::PushPull)).unwrap();
        let r = &report.results;
        let svg = rounds_svg(&r.points, "push-pull", 1);
        check_svg(&svg);
        assert!(svg.contains("<polygon"), "the bounds band is drawn");
        assert_eq!(svg.matches("<circle").count(), 2, "one point + legend");
        let series = cost_series(&r.points, &r.slopes, &[Some(3.0)], None, "sizes ≥ 50 ms");
        let svg = costs_svg(&series);
        check_svg(&svg);
        assert!(svg.contains("no slope"));
    }

    #[test]
    fn all_pairs_draws_without_theory() {
        let report = run(&config(vec![2, 4, 8], Protocol::AllPairs)).unwrap();
        let r = &report.results;
        assert!(r.points.iter().all(|p| p.theory.is_none()));
        let svg = rounds_svg(&r.points, "all-pairs", 1);
        check_svg(&svg);
        assert!(!svg.contains("<polygon"));
        assert!(svg.contains("No gossip theory"));
        let series = cost_series(&r.points, &r.slopes, &[None, None, None], None, "x");
        let svg = costs_svg(&series);
        check_svg(&svg);
        assert!(svg.contains("— slope "));
    }

    #[test]
    fn gossip_points_draw_theory_and_slopes() {
        let report = run(&config(vec![2, 4, 8, 16], Protocol::Push)).unwrap();
        let r = &report.results;
        let svg = rounds_svg(&r.points, "push", 1);
        check_svg(&svg);
        assert!(svg.contains("exact expectation"));
        let times = [Some(1.0), Some(2.0), Some(4.0), Some(9.0)];
        let series = cost_series(&r.points, &r.slopes, &times, Some(1.1), "sizes ≥ 50 ms");
        let svg = costs_svg(&series);
        check_svg(&svg);
        assert!(svg.contains("slope 1.10 (sizes ≥ 50 ms)"));
    }

    #[test]
    fn tick_labels_are_compact() {
        assert_eq!(compact(1000.0), "1k");
        assert_eq!(compact(2_500_000.0), "2.5M");
        assert_eq!(compact(50.0), "50");
        assert_eq!(trim(12.50), "12.5");
    }
}
