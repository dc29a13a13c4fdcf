//! The trust page's three charts as standalone SVG documents (the same
//! string is shown inline and downloaded): how evidence spread over the
//! honest nodes round by round, every member's final trust with the reject
//! threshold, and the reference-semantics contrast. Geometry only: every
//! value drawn comes from the report; nothing is computed here.

use crate::chart::esc;
use lab_core::experiment::trust::{Behaviour, ReferenceContrast, TrustResults};
use lab_core::sim::faults::FaultInterval;
use lab_core::trust::REJECT_THRESHOLD;
use std::fmt::Write;

const WIDTH: f64 = 640.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
/// Height of the plot area of the two plots with axes.
const PLOT_HEIGHT: f64 = 200.0;
/// Space under the plot for the axis labels.
const AXIS_SPACE: f64 = 56.0;
/// One legend row.
const LEGEND_ROW: f64 = 28.0;
/// Most evidence lines drawn (more would only be a solid block).
pub const EVIDENCE_LINES_MAX: usize = 200;

/// Okabe–Ito colours per evidence kind.
fn kind_colour(kind: &str) -> &'static str {
    match kind {
        "equivocation" => "#d55e00",
        "invalid-content" => "#0072b2",
        "dot-reuse" => "#cc79a7",
        _ => "#56b4e9",
    }
}

/// Okabe–Ito colours per behaviour; honest members are neutral grey so the
/// Byzantine ones stand out.
pub fn behaviour_colour(b: Behaviour) -> &'static str {
    match b {
        Behaviour::Honest => "#8a8a8a",
        Behaviour::Equivocator => "#d55e00",
        Behaviour::Corrupter => "#b8a000",
        Behaviour::Forger => "#cc79a7",
        Behaviour::Replayer => "#56b4e9",
        Behaviour::Outsider => "#009e73",
        Behaviour::Silent => "#0072b2",
    }
}

const STYLE: &str = "<style>.tr-chart text{font:13px system-ui,sans-serif;fill:#444}\
.tr-chart .grid{stroke:#8883;stroke-width:1}.tr-chart .axis{stroke:#888;stroke-width:1}\
.tr-chart .line{fill:none;stroke-width:2.5;stroke-linejoin:round;stroke-opacity:0.85}\
.tr-chart .threshold{stroke:#b3261e;stroke-width:2;stroke-dasharray:6 4}\
.tr-chart .agree{stroke:#009e73;stroke-width:2;stroke-dasharray:3 3}\
.tr-chart .note{font-style:italic}\
@media (prefers-color-scheme: dark){.tr-chart text{fill:#ccc}.tr-chart .threshold{stroke:#ff8a80}}</style>";

fn open(s: &mut String, id: &str, height: f64, title: &str) {
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0}" width="100%" role="img" aria-labelledby="{id}" class="tr-chart"><title id="{id}">{}</title>"#,
        esc(title)
    );
    s.push_str(STYLE);
}

fn y_of(fraction: f64) -> f64 {
    TOP + PLOT_HEIGHT * (1.0 - fraction)
}

fn x_plot(i: f64, span: f64) -> f64 {
    LEFT + (WIDTH - LEFT - RIGHT) * i / span.max(1.0)
}

/// Horizontal grid and labels at 0, ¼, ½, ¾ and 1, labelled by `label`.
fn y_grid(s: &mut String, label: impl Fn(f64) -> String) {
    for q in 0..=4 {
        let f = q as f64 / 4.0;
        let y = y_of(f);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            label(f)
        );
    }
    let base = y_of(0.0);
    let _ = write!(
        s,
        r#"<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{base:.1}"/><line class="axis" x1="{LEFT}" x2="{}" y1="{base:.1}" y2="{base:.1}"/>"#,
        WIDTH - RIGHT
    );
}

fn axis_title(s: &mut String, text: &str) {
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        y_of(0.0) + 44.0,
        esc(text)
    );
}

/// Legend entries in two columns from `top`; returns the height used.
fn legend(s: &mut String, top: f64, entries: &[(String, &str, bool)]) -> f64 {
    let column = (WIDTH - LEFT - RIGHT) / 2.0;
    for (i, (text, colour, dashed)) in entries.iter().enumerate() {
        let x = LEFT + column * (i % 2) as f64;
        let y = top + LEGEND_ROW * (i / 2) as f64 + 12.0;
        let dash = if *dashed {
            r#" stroke-dasharray="5 3""#
        } else {
            ""
        };
        let _ = write!(
            s,
            r#"<line x1="{x:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="4"{dash}/><text x="{:.1}" y="{:.1}">{}</text>"#,
            x + 18.0,
            x + 24.0,
            y + 4.5,
            esc(text)
        );
    }
    LEGEND_ROW * entries.len().div_ceil(2) as f64
}

/// Chart 1: the share of honest nodes holding each evidence record after
/// each round (0 before round 1), coloured by kind, with the round after
/// which the honest nodes agreed.
///
/// The run's fault intervals (partitions, message faults; rounds from 1,
/// end exclusive) are shaded behind the lines.
pub fn detection_svg_shaded(r: &TrustResults, faults: &[FaultInterval]) -> String {
    let rounds = r.per_round.len() as u32;
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for e in r.evidence.iter().take(EVIDENCE_LINES_MAX) {
        match kinds.iter_mut().find(|(k, _)| *k == e.kind) {
            Some((_, n)) => *n += 1,
            None => kinds.push((e.kind.clone(), 1)),
        }
    }
    let mut entries: Vec<(String, &str, bool)> = kinds
        .iter()
        .map(|(k, n)| (format!("{k} ({n})"), kind_colour(k), false))
        .collect();
    if r.converged {
        entries.push((
            format!("honest nodes agree (round {})", r.rounds),
            "#009e73",
            true,
        ));
    }
    let legend_rows = entries.len().div_ceil(2).max(1) as f64;
    let height = TOP + PLOT_HEIGHT + AXIS_SPACE + LEGEND_ROW * legend_rows + 8.0;
    let mut s = String::new();
    let title = format!(
        "Share of the {} honest nodes holding each of {} evidence record(s) after each round",
        r.honest_nodes,
        r.evidence.len()
    );
    open(&mut s, "tr-detect-title", height, &title);
    y_grid(&mut s, |f| format!("{}%", (f * 100.0).round()));
    let span = rounds.max(1) as f64;
    let step = rounds.div_ceil(8).max(1);
    for round in (0..=rounds).step_by(step as usize) {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{round}</text>"#,
            x_plot(round as f64, span),
            y_of(0.0) + 20.0
        );
    }
    axis_title(&mut s, "round");
    for f in faults {
        // Round k is drawn from x(k − 1) to x(k).
        let start = f.start.saturating_sub(1).min(rounds);
        let end = f.end.saturating_sub(1).min(rounds);
        if end <= start {
            continue;
        }
        let (x1, x2) = (x_plot(start as f64, span), x_plot(end as f64, span));
        let colour = if f.kind == "partition" {
            "#e69f00"
        } else {
            "#56b4e9"
        };
        let _ = write!(
            s,
            r#"<rect class="fault" x="{x1:.1}" y="{TOP}" width="{:.1}" height="{PLOT_HEIGHT}" fill="{colour}" fill-opacity="0.15"><title>{}: {} (rounds {}…{})</title></rect>"#,
            x2 - x1,
            esc(&f.kind),
            esc(&f.label),
            f.start,
            f.end.saturating_sub(1)
        );
    }
    if r.converged && r.rounds <= rounds {
        let x = x_plot(r.rounds as f64, span);
        let _ = write!(
            s,
            r#"<line class="agree" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{:.1}"/>"#,
            y_of(0.0)
        );
    }
    if r.evidence.is_empty() {
        let _ = write!(
            s,
            r#"<text class="note" x="{:.1}" y="{:.1}" text-anchor="middle">No evidence records: no member committed a provable offence.</text>"#,
            LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
            y_of(0.5)
        );
    }
    for (i, e) in r.evidence.iter().enumerate().take(EVIDENCE_LINES_MAX) {
        let mut points = format!("{:.1},{:.1}", x_plot(0.0, span), y_of(0.0));
        let mut previous = 0.0;
        for stat in &r.per_round {
            let held = stat.evidence_held.get(i).copied().unwrap_or(0.0);
            let x = x_plot(stat.round as f64, span);
            let _ = write!(
                points,
                " {x:.1},{:.1} {x:.1},{:.1}",
                y_of(previous),
                y_of(held)
            );
            previous = held;
        }
        let full = e
            .all_round
            .map_or_else(|| "never".to_string(), |a| format!("round {a}"));
        let _ = write!(
            s,
            r#"<polyline class="line" stroke="{}" points="{points}"><title>{} against node {}: first held after round {}, by every honest node after {}</title></polyline>"#,
            kind_colour(&e.kind),
            esc(&e.kind),
            e.accused,
            e.first_round,
            full
        );
    }
    legend(&mut s, TOP + PLOT_HEIGHT + AXIS_SPACE, &entries);
    s.push_str("</svg>");
    s
}

/// Every member's final trust, as the honest nodes see it: the mean over
/// honest observers after the last round (identical at every honest node
/// when their trust roots agree).
pub fn final_trust(r: &TrustResults) -> Vec<f64> {
    r.per_round
        .last()
        .map(|s| s.mean_trust.clone())
        .unwrap_or_else(|| vec![1.0; r.members.len()])
}

/// Chart 2: one bar per member (Byzantine ones coloured by behaviour) and
/// the reject threshold.
pub fn trust_svg(r: &TrustResults) -> String {
    let trust = final_trust(r);
    let n = r.members.len();
    let mut present: Vec<Behaviour> = r.members.iter().map(|m| m.behaviour).collect();
    present.sort_unstable();
    present.dedup();
    let mut entries: Vec<(String, &str, bool)> = present
        .iter()
        .map(|&b| {
            let count = r.members.iter().filter(|m| m.behaviour == b).count();
            (
                format!("{} ({count})", b.name()),
                behaviour_colour(b),
                false,
            )
        })
        .collect();
    entries.push((format!("reject below {REJECT_THRESHOLD}"), "#b3261e", true));
    let legend_rows = entries.len().div_ceil(2) as f64;
    let height = TOP + PLOT_HEIGHT + AXIS_SPACE + LEGEND_ROW * legend_rows + 8.0;
    let mut s = String::new();
    let title = format!(
        "Final trust of each of the {n} members as the honest nodes score it; excluded from the merge below {REJECT_THRESHOLD}"
    );
    open(&mut s, "tr-trust-title", height, &title);
    y_grid(&mut s, |f| format!("{f:.2}"));
    let slot = (WIDTH - LEFT - RIGHT) / n.max(1) as f64;
    let bar = (slot * 0.7).max(1.0);
    let label_every = n.div_ceil(10).max(1);
    for (i, m) in r.members.iter().enumerate() {
        let t = trust.get(i).copied().unwrap_or(1.0);
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        // A proven offender at 0 keeps a visible stub.
        let h = (PLOT_HEIGHT * t).max(3.0);
        let _ = write!(
            s,
            r#"<rect x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{h:.1}" fill="{}"><title>node {}: {}, trust {}</title></rect>"#,
            y_of(0.0) - h,
            behaviour_colour(m.behaviour),
            m.node,
            m.behaviour.name(),
            number(t)
        );
        if i % label_every == 0 {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + bar / 2.0,
                y_of(0.0) + 20.0,
                m.node
            );
        }
    }
    let y = y_of(REJECT_THRESHOLD);
    let _ = write!(
        s,
        r#"<line class="threshold" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/>"#,
        WIDTH - RIGHT
    );
    axis_title(&mut s, "member (node id)");
    legend(&mut s, TOP + PLOT_HEIGHT + AXIS_SPACE, &entries);
    s.push_str("</svg>");
    s
}

/// Chart 3: the largest trust-score divergence between nodes under the
/// reference semantics (with and without homeostasis) next to this run's
/// measured divergence between honest nodes.
pub fn contrast_svg(c: &ReferenceContrast, lab_divergence: f64, lab_roots: usize) -> String {
    let rows = [
        (
            "Reference semantics + homeostasis (≤ 0.9.8)",
            c.max_divergence_homeostasis,
            format!(
                "{} distinct roots over {} nodes × {} orders",
                c.distinct_roots_homeostasis, c.nodes, c.orders
            ),
            "#d55e00",
        ),
        (
            "Reference semantics, no homeostasis (0.11)",
            c.max_divergence_plain,
            format!("{} distinct root(s)", c.distinct_roots_plain),
            "#e69f00",
        ),
        (
            "This lab: evidence-set CRDT (this run)",
            lab_divergence,
            format!("{lab_roots} distinct root(s) among honest nodes"),
            "#009e73",
        ),
    ];
    let scale = rows.iter().map(|r| r.1).fold(0.0, f64::max);
    let scale = if scale > 0.0 { scale } else { 1.0 };
    let row_height = 88.0;
    let height = TOP + row_height * rows.len() as f64 + 8.0;
    let mut s = String::new();
    open(
        &mut s,
        "tr-contrast-title",
        height,
        "Largest trust-score divergence between nodes: reference semantics versus this lab",
    );
    let left = RIGHT;
    let bar_max = WIDTH - left - RIGHT - 120.0;
    for (i, (label, value, roots, colour)) in rows.iter().enumerate() {
        let top = TOP + row_height * i as f64;
        let w = bar_max * value / scale;
        let _ = write!(
            s,
            r#"<text x="{left}" y="{:.1}">{}</text><rect x="{left}" y="{:.1}" width="{:.1}" height="18" fill="{colour}"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}">{}</text><text x="{left}" y="{:.1}" class="note">{}</text>"#,
            top + 22.0,
            esc(label),
            top + 30.0,
            w.max(2.0),
            esc(label),
            number(*value),
            left + w.max(2.0) + 8.0,
            top + 45.0,
            if *value == 0.0 {
                "0 (exact)".to_string()
            } else {
                number(*value)
            },
            top + 72.0,
            esc(roots)
        );
    }
    s.push_str("</svg>");
    s
}

/// A number for people: 0 stays 0; otherwise at most four significant digits.
pub fn number(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let digits = (3 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let text = format!("{x:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_core::experiment::trust::{run, TrustConfig};

    fn well_formed(svg: &str) {
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.contains("<title id="));
        for tag in ["polyline", "rect", "text", "title", "style"] {
            let open = svg.matches(&format!("<{tag}")).count();
            let self_closed = svg
                .split(&format!("<{tag}"))
                .skip(1)
                .filter(|rest| rest.split('>').next().is_some_and(|t| t.ends_with('/')))
                .count();
            let close = svg.matches(&format!("</{tag}>")).count();
            assert_eq!(open, close + self_closed, "<{tag}> balanced");
        }
        assert!(
            !svg.contains("NaN") && !svg.contains("inf"),
            "finite geometry"
        );
    }

    #[test]
    fn charts_are_well_formed_svg() {
        let config = TrustConfig {
            reference_contrast: true,
            ..TrustConfig::default()
        };
        let report = run(&config).unwrap();
        let r = &report.results;
        let detect = detection_svg_shaded(r, &[]);
        well_formed(&detect);
        assert_eq!(detect.matches("<polyline").count(), r.evidence.len());
        let trust = trust_svg(r);
        well_formed(&trust);
        assert_eq!(
            trust.matches("<rect").count(),
            r.members.len(),
            "one bar per member"
        );
        let c = r.reference_contrast.as_ref().unwrap();
        let contrast = contrast_svg(c, r.max_trust_divergence, r.trust_roots.len());
        well_formed(&contrast);
        assert!(contrast.contains("0 (exact)"));
    }

    #[test]
    fn a_run_without_offenders_says_so() {
        let config = TrustConfig {
            equivocators: 0,
            corrupters: 0,
            ..TrustConfig::default()
        };
        let report = run(&config).unwrap();
        let svg = detection_svg_shaded(&report.results, &[]);
        well_formed(&svg);
        assert!(svg.contains("No evidence records"));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(1.0), "1");
        assert_eq!(number(0.28349891100950764), "0.2835");
        assert_eq!(number(4.489261140493046), "4.489");
        assert_eq!(number(0.625), "0.625");
        assert_eq!(number(1234.6), "1235");
    }
}
