//! The sweep's two charts as standalone SVG documents (one string serves the
//! page, inline, and the "SVG" download): per strategy, horizontal bars of
//! the negative control's divergence, and of the time each strategy's job
//! took in this browser. Rows are grouped so a literature strategy sits
//! under its reference counterpart (`ties` then `ties:paper`), coloured by
//! family. Geometry only: every plotted number comes from the report.

use crate::chart::esc;
use lab_core::experiment::sweep::StrategyRow;
use lab_core::strategy::{self, Family};
use std::fmt::Write;

const WIDTH: f64 = 460.0;
/// Right edge of the strategy names.
const LABEL_RIGHT: f64 = 152.0;
/// Left edge of the bars.
const BAR_LEFT: f64 = 158.0;
/// Room for the value printed after the plot area.
const VALUE_WIDTH: f64 = 70.0;
const BAR_RIGHT: f64 = WIDTH - VALUE_WIDTH;
const TOP: f64 = 42.0;
const ROW_HEIGHT: f64 = 17.0;
const GROUP_GAP: f64 = 5.0;
const BAR_HEIGHT: f64 = 10.0;
const BOTTOM: f64 = 44.0;
/// A scale spanning more than this ratio (max / min) is drawn in log10.
const LOG_RATIO_MIN: f64 = 30.0;
/// Most tick labels on the value axis.
const TICKS_MAX: i32 = 6;
/// Family colours (Okabe–Ito blue and orange).
const REFERENCE_COLOUR: &str = "#0072b2";
const LITERATURE_COLOUR: &str = "#e69f00";

const STYLE: &str = "<style>.sw-chart text{font:12px system-ui,sans-serif;fill:#333}\
.sw-chart .value{font-size:10.5px}.sw-chart .muted{fill:#666}\
.sw-chart .grid{stroke:#8884;stroke-width:1}.sw-chart .axis{stroke:#888;stroke-width:1}\
.sw-chart .band{fill:#8881}.sw-chart .marker{fill:none;stroke:#222;stroke-width:1.4}\
@media (prefers-color-scheme: dark){.sw-chart text{fill:#ddd}.sw-chart .muted{fill:#999}\
.sw-chart .marker{stroke:#eee}}</style>";

/// One bar: a strategy, its value (None: not applicable, with the reason
/// shown in its place) and an optional second value drawn as a ring.
struct Bar<'a> {
    row: &'a StrategyRow,
    value: Option<f64>,
    marker: Option<f64>,
    missing: &'static str,
    tooltip: String,
}

/// The chart of the negative control: the largest relative difference
/// between two nodes' models after pairwise merging (bar) and from the
/// Layer-2 result (ring), per strategy.
pub fn divergence_svg(rows: &[StrategyRow]) -> String {
    let bars: Vec<Bar> = rows
        .iter()
        .map(|r| match &r.negative_control {
            Some(n) => Bar {
                row: r,
                value: Some(n.max_deviation_between_nodes),
                marker: Some(n.max_deviation_from_layer2),
                missing: "",
                tooltip: format!(
                    "{}: {} distinct models after {} pairwise merges; largest difference between two nodes {}, from the Layer-2 result {} (relative)",
                    r.strategy,
                    n.distinct_models,
                    n.merges,
                    number(n.max_deviation_between_nodes),
                    number(n.max_deviation_from_layer2)
                ),
            },
            None => Bar {
                row: r,
                value: None,
                marker: None,
                missing: if r.problem.is_some() {
                    "n/a: rejects this input"
                } else {
                    "n/a: no pairwise form"
                },
                tooltip: format!(
                    "{}: {}",
                    r.strategy,
                    r.problem
                        .as_deref()
                        .unwrap_or("not defined for two inputs, so there is no pairwise merge")
                ),
            },
        })
        .collect();
    let title = format!(
        "Negative control for {} strategies: how far apart pairwise merging in gossip order leaves the nodes' models",
        rows.len()
    );
    let legend = [
        ("bar", "between two nodes"),
        ("ring", "from the Layer-2 result"),
    ];
    bars_svg(
        &title,
        &bars,
        "largest relative difference (0 = nodes agree)",
        &legend,
        number,
    )
}

/// The chart of each strategy's job time in this browser (`times_ms` holds
/// `(strategy, ms)`, the report's `execution.phases_ms`).
pub fn time_svg(rows: &[StrategyRow], times_ms: &[(String, f64)]) -> String {
    let bars: Vec<Bar> = rows
        .iter()
        .map(|r| {
            let ms = times_ms
                .iter()
                .find(|(k, _)| *k == r.strategy)
                .map(|(_, v)| *v)
                .filter(|v| v.is_finite());
            Bar {
                row: r,
                value: ms,
                marker: None,
                missing: "not timed",
                tooltip: format!(
                    "{}: {} (Layer-1 runs, resolve and negative control, in one web worker)",
                    r.strategy,
                    ms.map_or("not timed".to_string(), duration)
                ),
            }
        })
        .collect();
    let title = format!(
        "Time per strategy in this browser, {} strategies (a timing, not part of the fingerprint)",
        rows.len()
    );
    bars_svg(
        &title,
        &bars,
        "job time in this browser (ms)",
        &[("bar", "wall time of the strategy's job")],
        duration,
    )
}

/// The horizontal bar chart shared by both charts.
fn bars_svg(
    title: &str,
    bars: &[Bar],
    axis_name: &str,
    legend: &[(&str, &str)],
    format: fn(f64) -> String,
) -> String {
    let order = paired_order(&bars.iter().map(|b| b.row).collect::<Vec<_>>());
    let plotted: Vec<f64> = bars
        .iter()
        .flat_map(|b| [b.value, b.marker])
        .flatten()
        .filter(|v| v.is_finite())
        .collect();
    let scale = Scale::fit(&plotted);
    let groups = order.len();
    let rows_height = ROW_HEIGHT * bars.len() as f64 + GROUP_GAP * groups.saturating_sub(1) as f64;
    let height = TOP + rows_height + BOTTOM;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0}" width="100%" role="img" class="sw-chart"><title>{}</title>{STYLE}"#,
        esc(title)
    );
    legend_svg(&mut s, legend);
    let plot_bottom = TOP + rows_height;
    grid(&mut s, &scale, plot_bottom, axis_name, format);
    let mut y = TOP;
    for group in &order {
        if group.len() > 1 {
            let _ = write!(
                s,
                r#"<rect class="band" x="2" y="{:.1}" width="{:.1}" height="{:.1}" rx="3"/>"#,
                y - 1.0,
                WIDTH - 4.0,
                ROW_HEIGHT * group.len() as f64 + 2.0
            );
        }
        for &i in group {
            bar_svg(&mut s, &bars[i], &scale, y, format);
            y += ROW_HEIGHT;
        }
        y += GROUP_GAP;
    }
    s.push_str("</svg>");
    s
}

fn legend_svg(s: &mut String, legend: &[(&str, &str)]) {
    let mut x = 4.0;
    for (colour, family) in [
        (REFERENCE_COLOUR, "reference"),
        (LITERATURE_COLOUR, "literature"),
    ] {
        let _ = write!(
            s,
            r#"<rect x="{x:.1}" y="5" width="12" height="10" fill="{colour}"/><text x="{:.1}" y="14">{family}</text>"#,
            x + 16.0
        );
        x += 92.0;
    }
    let _ = write!(
        s,
        r#"<rect class="band" x="{x:.1}" y="3" width="18" height="14" rx="3"/><text x="{:.1}" y="14" class="muted">a strategy and its literature version</text>"#,
        x + 22.0
    );
    let mut x = 4.0;
    for (kind, text) in legend {
        if *kind == "ring" {
            let _ = write!(
                s,
                r#"<circle class="marker" cx="{:.1}" cy="27" r="4"/><text x="{:.1}" y="31">{}</text>"#,
                x + 5.0,
                x + 13.0,
                esc(text)
            );
        } else {
            let _ = write!(
                s,
                r#"<text x="{x:.1}" y="31" class="muted">bar: {}</text>"#,
                esc(text)
            );
            // Room for "bar: " and the text at about 6.6 px per character.
            x += 24.0 + 6.6 * (5 + text.chars().count()) as f64;
        }
    }
}

fn bar_svg(s: &mut String, bar: &Bar, scale: &Scale, y: f64, format: fn(f64) -> String) {
    let colour = match bar.row.family {
        Family::Reference => REFERENCE_COLOUR,
        Family::Literature => LITERATURE_COLOUR,
    };
    let mid = y + ROW_HEIGHT / 2.0;
    let _ = write!(
        s,
        r#"<g><title>{}</title><text x="{LABEL_RIGHT}" y="{:.1}" text-anchor="end">{}</text>"#,
        esc(&bar.tooltip),
        mid + 4.0,
        esc(&bar.row.strategy)
    );
    match bar.value {
        None => {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" class="muted">{}</text>"#,
                BAR_LEFT + 6.0,
                mid + 4.0,
                esc(bar.missing)
            );
        }
        Some(v) if scale.log && v <= 0.0 => {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" class="muted">0 — every node agrees</text>"#,
                BAR_LEFT + 6.0,
                mid + 4.0
            );
        }
        Some(v) => {
            let x = scale.x(v);
            let _ = write!(
                s,
                r#"<rect x="{BAR_LEFT}" y="{:.1}" width="{:.1}" height="{BAR_HEIGHT}" fill="{colour}"/><text x="{:.1}" y="{:.1}" class="value">{}</text>"#,
                mid - BAR_HEIGHT / 2.0,
                (x - BAR_LEFT).max(1.5),
                BAR_RIGHT + 4.0,
                mid + 3.5,
                esc(&format(v))
            );
        }
    }
    if let Some(m) = bar
        .marker
        .filter(|m| m.is_finite() && (!scale.log || *m > 0.0))
    {
        let _ = write!(
            s,
            r#"<circle class="marker" cx="{:.1}" cy="{mid:.1}" r="3.5"/>"#,
            scale.x(m)
        );
    }
    s.push_str("</g>");
}

fn grid(
    s: &mut String,
    scale: &Scale,
    plot_bottom: f64,
    axis_name: &str,
    format: fn(f64) -> String,
) {
    for (v, label) in scale.ticks(format) {
        let x = scale.x(v);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{plot_bottom:.1}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" class="value">{label}</text>"#,
            plot_bottom + 14.0
        );
    }
    let _ = write!(
        s,
        r#"<line class="axis" x1="{BAR_LEFT}" x2="{BAR_LEFT}" y1="{TOP}" y2="{plot_bottom:.1}"/><line class="axis" x1="{BAR_LEFT}" x2="{BAR_RIGHT}" y1="{plot_bottom:.1}" y2="{plot_bottom:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{}{}</text>"#,
        (BAR_LEFT + BAR_RIGHT) / 2.0,
        plot_bottom + 34.0,
        esc(axis_name),
        if scale.log { " (log scale)" } else { "" }
    );
}

/// A value axis: linear from 0, or log10 over whole decades when the values
/// span more than [`LOG_RATIO_MIN`].
#[derive(Debug, PartialEq)]
struct Scale {
    log: bool,
    /// Linear: `0..max`. Log: decades `lo..hi` (exponents).
    lo: f64,
    hi: f64,
}

impl Scale {
    fn fit(values: &[f64]) -> Scale {
        let max = values.iter().fold(0.0f64, |m, v| m.max(*v));
        let min_positive = values
            .iter()
            .filter(|v| **v > 0.0)
            .fold(f64::INFINITY, |m, v| m.min(*v));
        if max <= 0.0 {
            return Scale {
                log: false,
                lo: 0.0,
                hi: 1.0,
            };
        }
        if max / min_positive > LOG_RATIO_MIN {
            let lo = min_positive.log10().floor();
            let hi = max.log10().ceil().max(lo + 1.0);
            return Scale { log: true, lo, hi };
        }
        Scale {
            log: false,
            lo: 0.0,
            hi: nice_ceiling(max),
        }
    }

    /// The x coordinate of `v` (clamped to the plot).
    fn x(&self, v: f64) -> f64 {
        let t = if self.log {
            (v.max(f64::MIN_POSITIVE).log10() - self.lo) / (self.hi - self.lo)
        } else {
            v / self.hi
        };
        BAR_LEFT + (BAR_RIGHT - BAR_LEFT) * t.clamp(0.0, 1.0)
    }

    /// Tick values and their labels.
    fn ticks(&self, format: fn(f64) -> String) -> Vec<(f64, String)> {
        if self.log {
            let (lo, hi) = (self.lo as i32, self.hi as i32);
            let step = [1, 2, 3, 5, 10, 20, 50, 100]
                .into_iter()
                .find(|step| (hi - lo) / step < TICKS_MAX)
                .unwrap_or(100);
            let mut decades: Vec<i32> = (lo..=hi).filter(|k| k.rem_euclid(step) == 0).collect();
            if decades.len() < 2 {
                decades = vec![lo, hi];
            }
            decades
                .into_iter()
                .map(|k| (10f64.powi(k), decade(k)))
                .collect()
        } else {
            (0..=4)
                .map(|i| {
                    let v = self.hi * i as f64 / 4.0;
                    (v, if i == 0 { "0".to_string() } else { format(v) })
                })
                .collect()
        }
    }
}

/// 1, 2 or 5 × 10^k at or above `v`.
fn nice_ceiling(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * p)
}

/// `10^k` as a tick label: plain for small exponents, `1e12` otherwise.
fn decade(k: i32) -> String {
    match k {
        -2..=3 => format!("{}", 10f64.powi(k)),
        _ => format!("1e{k}"),
    }
}

/// A dimensionless value with 3 significant digits (`0.848`, `2.08`,
/// `9.09e34`).
pub fn number(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (1e-3..1e4).contains(&a) {
        let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        let s = format!("{v:.2e}");
        s.replace("e-0", "e-").replace("e+", "e")
    }
}

/// Milliseconds as `0.42 ms`, `12.3 ms`, `1.24 s`.
pub fn duration(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{} ms", number(ms))
    }
}

/// Row indices grouped so each literature strategy follows its reference
/// counterpart (`ties` → `ties:paper`, `model_breadcrumbs` →
/// `breadcrumbs:paper`); literature strategies without one come last, each
/// on its own. Registry order otherwise.
pub fn paired_order(rows: &[&StrategyRow]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut placed = vec![false; rows.len()];
    for (i, r) in rows.iter().enumerate() {
        if r.family != Family::Reference {
            continue;
        }
        let mut group = vec![i];
        placed[i] = true;
        for (j, l) in rows.iter().enumerate() {
            if !placed[j] && counterpart(&l.strategy) == Some(r.strategy.as_str()) {
                group.push(j);
                placed[j] = true;
            }
        }
        groups.push(group);
    }
    groups.extend((0..rows.len()).filter(|i| !placed[*i]).map(|i| vec![i]));
    groups
}

/// The reference strategy a literature strategy is a version of, looked up
/// in the whole registry: the name before `:` itself, else a reference name
/// ending in `_<that name>` (`breadcrumbs` → `model_breadcrumbs`).
fn counterpart(name: &str) -> Option<&'static str> {
    let (base, _) = name.split_once(':')?;
    let references: Vec<&'static str> = strategy::registry()
        .filter(|s| s.info().family == Family::Reference)
        .map(|s| s.info().name)
        .collect();
    let suffix = format!("_{base}");
    references
        .iter()
        .find(|r| **r == base)
        .or_else(|| references.iter().find(|r| r.ends_with(&suffix)))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literature_strategies_follow_their_reference() {
        assert_eq!(counterpart("ties:paper"), Some("ties"));
        assert_eq!(counterpart("dare_ties:paper"), Some("dare_ties"));
        assert_eq!(counterpart("breadcrumbs:paper"), Some("model_breadcrumbs"));
        assert_eq!(counterpart("slerp:mergekit"), Some("slerp"));
        assert_eq!(counterpart("karcher:paper"), None);
        assert_eq!(counterpart("ties"), None);
    }

    #[test]
    fn scales_switch_to_log_for_wide_ranges() {
        let s = Scale::fit(&[0.05, 2.0, 9e34]);
        assert!(s.log);
        assert_eq!((s.lo, s.hi), (-2.0, 35.0));
        let ticks: Vec<String> = s.ticks(number).into_iter().map(|t| t.1).collect();
        assert_eq!(ticks, ["1", "1e10", "1e20", "1e30"]);
        let s = Scale::fit(&[0.5, 900.0]);
        let ticks: Vec<String> = s.ticks(number).into_iter().map(|t| t.1).collect();
        assert_eq!(ticks, ["0.1", "1", "10", "100", "1000"]);
        let s = Scale::fit(&[3.0, 12.0]);
        assert!(!s.log);
        assert_eq!(s.hi, 20.0);
        assert_eq!(Scale::fit(&[]).hi, 1.0);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(0.8477), "0.848");
        assert_eq!(number(2.084), "2.08");
        assert_eq!(number(500.0), "500");
        assert_eq!(number(9.09e34), "9.09e34");
        assert_eq!(number(4.5e-5), "4.50e-5");
        assert_eq!(duration(1234.0), "1.23 s");
        assert_eq!(duration(12.34), "12.3 ms");
        assert_eq!(
            (decade(-2), decade(0), decade(3), decade(12)),
            ("0.01".into(), "1".into(), "1000".into(), "1e12".into())
        );
    }
}
