//! The convergence chart as a standalone SVG document: the fraction of nodes
//! that agree (hold the most common replica state) after each round, one
//! line per ordering. One string serves both the page (inline) and the
//! "SVG" download. Geometry is presentation only; no result is computed here.

use lab_core::experiment::convergence::OrderingResult;
use lab_core::sim::faults::FaultInterval;
use std::fmt::Write;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 330.0;
const LEFT: f64 = 76.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 84.0;
/// Line colours (Okabe–Ito, readable on light and dark backgrounds).
const PALETTE: [&str; 8] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#b8a000", "#8a8a8a",
];

/// The chart of `orderings` for a run of `nodes` nodes.
pub fn convergence_svg(nodes: u32, orderings: &[OrderingResult]) -> String {
    convergence_svg_shaded(nodes, orderings, &[])
}

/// The chart with fault intervals (partitions, loss, crashes) shaded and
/// labelled on the round axis.
pub fn convergence_svg_shaded(
    nodes: u32,
    orderings: &[OrderingResult],
    faults: &[FaultInterval],
) -> String {
    let rounds_max = orderings
        .iter()
        .map(|o| o.per_round.len())
        .max()
        .unwrap_or(0)
        .max(1) as u32;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-labelledby="cl-chart-title" class="cl-chart">"#
    );
    let _ = write!(
        s,
        r#"<title id="cl-chart-title">Fraction of {nodes} nodes agreeing after each round, for {} orderings</title>"#,
        orderings.len()
    );
    s.push_str(STYLE);
    let rounds_max = faults
        .iter()
        .map(|f| f.end.min(ROUNDS_SHADED_MAX))
        .fold(rounds_max, u32::max);
    shade(&mut s, faults, rounds_max);
    axes(&mut s, rounds_max);
    for (i, o) in orderings.iter().enumerate() {
        line(&mut s, i, nodes, rounds_max, o);
    }
    legend(&mut s, orderings.len());
    s.push_str("</svg>");
    s
}

const STYLE: &str = "<style>.cl-chart text{font:12px system-ui,sans-serif;fill:#444}\
.cl-chart .grid{stroke:#8883;stroke-width:1}.cl-chart .axis{stroke:#888;stroke-width:1}\
.cl-chart .run{fill:none;stroke-width:2;stroke-linejoin:round}.cl-chart .fault-label{font-size:10px}\
@media (prefers-color-scheme: dark){.cl-chart text{fill:#ccc}}</style>";

/// Fault intervals ending later than this are clipped (an interval "until
/// the end of the run" can be open-ended).
const ROUNDS_SHADED_MAX: u32 = 10_000;
/// Shading colours per fault kind.
fn shade_colour(kind: &str) -> &'static str {
    match kind {
        "partition" => "#e69f00",
        "link" | "loss" => "#56b4e9",
        _ => "#cc79a7",
    }
}

fn shade(s: &mut String, faults: &[FaultInterval], rounds_max: u32) {
    for (i, f) in faults.iter().enumerate() {
        let x0 = x_of(f.start.min(rounds_max), rounds_max);
        let x1 = x_of(f.end.min(rounds_max), rounds_max);
        let y = TOP + 12.0 * (i % 4) as f64 + 10.0;
        let _ = write!(
            s,
            r#"<rect class="fault" x="{x0:.1}" y="{TOP}" width="{:.1}" height="{:.1}" fill="{}" fill-opacity="0.16"><title>{} {}: rounds {}–{}</title></rect><text x="{:.1}" y="{y:.1}" class="fault-label">{}</text>"#,
            (x1 - x0).max(1.0),
            HEIGHT - TOP - BOTTOM,
            shade_colour(&f.kind),
            esc(&f.kind),
            esc(&f.label),
            f.start,
            f.end,
            x0 + 3.0,
            esc(&f.label)
        );
    }
}

/// Escapes text for SVG content and attributes.
pub fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn x_of(round: u32, rounds_max: u32) -> f64 {
    LEFT + (WIDTH - LEFT - RIGHT) * round as f64 / rounds_max as f64
}

fn y_of(fraction: f64) -> f64 {
    TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - fraction)
}

fn axes(s: &mut String, rounds_max: u32) {
    for pct in [0u32, 25, 50, 75, 100] {
        let y = y_of(pct as f64 / 100.0);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text x="{}" y="{:.1}" text-anchor="end">{pct}%</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0
        );
    }
    let step = (rounds_max / 8).max(1);
    for r in (0..=rounds_max).step_by(step as usize) {
        let x = x_of(r, rounds_max);
        let _ = write!(
            s,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{r}</text>"#,
            HEIGHT - BOTTOM + 22.0
        );
    }
    let _ = write!(
        s,
        r#"<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{:.1}"/><line class="axis" x1="{LEFT}" x2="{}" y1="{:.1}" y2="{:.1}"/>"#,
        HEIGHT - BOTTOM,
        WIDTH - RIGHT,
        HEIGHT - BOTTOM,
        HEIGHT - BOTTOM
    );
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">round</text>"#,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        HEIGHT - BOTTOM + 48.0
    );
}

fn line(s: &mut String, index: usize, nodes: u32, rounds_max: u32, o: &OrderingResult) {
    let nodes = nodes.max(1) as f64;
    // Before round 1 every node holds only its own contribution.
    let mut points = vec![(0, 1.0 / nodes)];
    points.extend(
        o.per_round
            .iter()
            .map(|r| (r.round, r.agreeing_nodes as f64 / nodes)),
    );
    let path: Vec<String> = points
        .iter()
        .map(|&(r, f)| format!("{:.1},{:.1}", x_of(r, rounds_max), y_of(f)))
        .collect();
    let colour = PALETTE[index % PALETTE.len()];
    // Later orderings are dashed so identical lines stay distinguishable.
    let dash = if index == 0 {
        String::new()
    } else {
        format!(r#" stroke-dasharray="{} 3""#, 2 + 2 * (index % 4))
    };
    let _ = write!(
        s,
        r#"<polyline class="run" stroke="{colour}"{dash} points="{}"><title>ordering {index}</title></polyline>"#,
        path.join(" ")
    );
}

fn legend(s: &mut String, count: usize) {
    let shown = count.min(10);
    for i in 0..shown {
        let x = LEFT + i as f64 * 64.0;
        let y = HEIGHT - 10.0;
        let _ = write!(
            s,
            r#"<line x1="{x:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{}" stroke-width="3"/><text x="{:.1}" y="{:.1}">#{i}</text>"#,
            x + 16.0,
            PALETTE[i % PALETTE.len()],
            x + 20.0,
            y + 4.0
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_core::experiment::convergence::{run, ConvergenceConfig};
    use lab_core::sim::Protocol;

    #[test]
    fn one_line_per_ordering() {
        let config = ConvergenceConfig {
            nodes: 8,
            dim: 2,
            orderings: 3,
            protocol: Protocol::PushPull,
            ..ConvergenceConfig::default()
        };
        let report = run(&config).unwrap();
        let svg = convergence_svg(8, &report.results.orderings);
        assert!(svg.starts_with("<svg xmlns="));
        assert!(svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 3);
    }

    #[test]
    fn an_empty_run_still_draws_axes() {
        let svg = convergence_svg(0, &[]);
        assert!(svg.contains("round"));
    }
}
