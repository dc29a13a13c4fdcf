//! The benchmark chart as a standalone SVG document: PCO operations per
//! second per row, one bar for one worker and one for all workers at once,
//! on a logarithmic axis (signature rows and "no signature" rows differ by
//! ~30×). The same string is shown inline and downloaded.

use super::format::si;
use super::measure::{Row, Section};
use crate::chart::esc;
use std::fmt::Write;

const WIDTH: f64 = 640.0;
const LEFT: f64 = 168.0;
const RIGHT: f64 = 56.0;
const TOP: f64 = 34.0;
const BAR: f64 = 11.0;
const GAP: f64 = 9.0;
const AXIS: f64 = 40.0;
/// One worker, all workers (Okabe–Ito).
const COLOURS: [&str; 2] = ["#0072b2", "#e69f00"];

const STYLE: &str = "<style>.cl-bench text{font:12px system-ui,sans-serif;fill:#444}\
.cl-bench .grid{stroke:#8883;stroke-width:1}.cl-bench .axis{stroke:#888;stroke-width:1}\
.cl-bench .value{font-size:10px}\
@media (prefers-color-scheme: dark){.cl-bench text{fill:#ccc}}</style>";

/// A power of ten as an axis label: `100`, `1 K`, `10 K`, `1 M`.
fn decade(v: f64) -> String {
    let e = v.log10().round() as i32;
    let (base, suffix) = match e {
        i32::MIN..=2 => (10f64.powi(e), ""),
        3..=5 => (10f64.powi(e - 3), " K"),
        6..=8 => (10f64.powi(e - 6), " M"),
        _ => (10f64.powi(e - 9), " G"),
    };
    format!("{base}{suffix}")
}

/// A short label of a PCO row ("verify L2 ×64", "build (no sig.)").
fn short_label(r: &Row) -> String {
    let nosig = r.operation.contains("no signature");
    let op = if r.operation.contains("build") {
        "build"
    } else {
        "verify"
    };
    let level = r
        .operation
        .split("level ")
        .nth(1)
        .and_then(|s| s.chars().next())
        .map(|c| format!(" L{c}"))
        .unwrap_or_default();
    let batch = if r.operation.contains("batches of") {
        " batch"
    } else {
        ""
    };
    if nosig {
        format!("{op} (no signature)")
    } else {
        format!("{op}{level}{batch}, Ed25519")
    }
}

/// The chart of the PCO rows (`None` when no row has a rate).
pub fn pco_svg(rows: &[Row], workers: u32) -> Option<String> {
    let pco: Vec<&Row> = rows
        .iter()
        .filter(|r| r.section == Section::Pco && r.rate_per_s.is_some_and(|v| v > 0.0))
        .collect();
    if pco.is_empty() {
        return None;
    }
    // Group rows by operation, keeping plan order.
    let mut groups: Vec<(String, Vec<&Row>)> = Vec::new();
    for r in pco {
        match groups.iter_mut().find(|(op, _)| *op == r.operation) {
            Some((_, g)) => g.push(r),
            None => groups.push((r.operation.clone(), vec![r])),
        }
    }
    let rates = groups
        .iter()
        .flat_map(|(_, g)| g.iter().filter_map(|r| r.rate_per_s));
    let max = rates.clone().fold(1.0, f64::max);
    let min = rates.fold(f64::INFINITY, f64::min);
    let lo = 10f64.powf(min.log10().floor()).max(1.0);
    let hi = 10f64.powf(max.log10().ceil()).max(lo * 10.0);
    let height = TOP
        + groups
            .iter()
            .map(|(_, g)| g.len() as f64 * BAR + GAP)
            .sum::<f64>()
        + AXIS;
    let x_of = |v: f64| {
        LEFT + (WIDTH - LEFT - RIGHT) * (v.log10() - lo.log10()) / (hi.log10() - lo.log10())
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0}" width="100%" role="img" aria-labelledby="cl-bench-title" class="cl-bench">"#
    );
    let _ = write!(
        s,
        r#"<title id="cl-bench-title">Proof-carrying operations per second in this browser, one worker and {workers} workers at once (logarithmic axis)</title>"#
    );
    s.push_str(STYLE);
    // Legend.
    let mut lx = LEFT;
    for (i, text) in ["1 worker".to_string(), format!("{workers} workers at once")]
        .iter()
        .enumerate()
        .take(if workers > 1 { 2 } else { 1 })
    {
        let _ = write!(
            s,
            r#"<rect x="{lx}" y="10" width="12" height="12" fill="{}"/><text x="{:.0}" y="20">{}</text>"#,
            COLOURS[i],
            lx + 16.0,
            esc(text)
        );
        lx += 150.0;
    }
    // Decade grid.
    let axis_y = height - AXIS + 4.0;
    let mut d = lo;
    while d <= hi * 1.0001 {
        let x = x_of(d);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{axis_y:.1}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            axis_y + 16.0,
            decade(d)
        );
        d *= 10.0;
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">operations per second (log scale)</text>"#,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        axis_y + 32.0
    );
    let mut y = TOP;
    for (_, g) in &groups {
        let label_y = y + g.len() as f64 * BAR / 2.0 + 4.0;
        let _ = write!(
            s,
            r#"<text x="{:.0}" y="{label_y:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            esc(&short_label(g[0]))
        );
        for r in g {
            let v = r.rate_per_s.unwrap_or(lo).max(lo);
            let colour = COLOURS[usize::from(r.workers > 1)];
            let w = (x_of(v) - LEFT).max(1.0);
            let _ = write!(
                s,
                r#"<rect x="{LEFT}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="{colour}"><title>{}: {}/s on {} worker(s)</title></rect><text class="value" x="{:.1}" y="{:.1}">{}/s</text>"#,
                BAR - 2.0,
                esc(&r.operation),
                si(v),
                r.workers,
                LEFT + w + 3.0,
                y + BAR - 3.0,
                si(v)
            );
            y += BAR;
        }
        y += GAP;
    }
    let _ = write!(
        s,
        r#"<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{axis_y:.1}"/>"#
    );
    s.push_str("</svg>");
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(op: &str, workers: u32, rate: f64) -> Row {
        Row {
            id: op.into(),
            section: Section::Pco,
            operation: op.into(),
            unit: "PCO".into(),
            workers,
            ops: 1,
            elapsed_ms: 1.0,
            rate_per_s: Some(rate),
            comparison: None,
            note: String::new(),
        }
    }

    #[test]
    fn the_chart_has_one_bar_per_row_and_escapes_text() {
        let rows = vec![
            row("PCO build — Ed25519", 1, 20_000.0),
            row("PCO build — Ed25519", 2, 39_000.0),
            row("PCO build — no signature (comparison only)", 1, 900_000.0),
        ];
        let svg = pco_svg(&rows, 2).unwrap();
        assert_eq!(svg.matches("</rect>").count(), 3, "one bar per row");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title"));
        assert!(pco_svg(&[], 2).is_none());
    }
}
