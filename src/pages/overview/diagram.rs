//! The overview's diagram as standalone SVG documents: N nodes, each with a
//! contribution → CRDT set join (Layer 1, order-free) → canonical set →
//! resolve once with the strategy (Layer 2) → identical model; versus
//! pairwise merging in gossip order → divergent models. Drawn twice: wide
//! (desktop, and the download) and tall (phones); CSS shows one.

use crate::chart::esc;
use std::fmt::Write;

/// Which way the flow runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Left to right, 760 wide.
    Wide,
    /// Top to bottom, 360 wide.
    Tall,
}

/// What a box means (its colour).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Step,
    Good,
    Bad,
}

struct Stage {
    title: &'static str,
    lines: &'static [&'static str],
    kind: Kind,
}

struct Lane {
    heading: &'static str,
    stages: &'static [Stage],
}

const LANES: [Lane; 2] = [
    Lane {
        heading: "The lab: join first (Layer 1), resolve once (Layer 2)",
        stages: &[
            Stage {
                title: "CRDT set join ⊔",
                lines: &["Layer 1: any order", "→ the same set"],
                kind: Kind::Step,
            },
            Stage {
                title: "canonical set",
                lines: &["{c₁, …, c_N}", "sorted by id"],
                kind: Kind::Step,
            },
            Stage {
                title: "resolve once",
                lines: &["Layer 2:", "strategy(set)"],
                kind: Kind::Step,
            },
            Stage {
                title: "identical model",
                lines: &["✓ same bits", "on every node"],
                kind: Kind::Good,
            },
        ],
    },
    Lane {
        heading: "Negative control: merge pairwise in gossip order",
        stages: &[
            Stage {
                title: "pairwise merge",
                lines: &["m ← strategy(m, received)", "as messages arrive"],
                kind: Kind::Step,
            },
            Stage {
                title: "order-dependent",
                lines: &["each node sees its", "own gossip order"],
                kind: Kind::Step,
            },
            Stage {
                title: "divergent models",
                lines: &["✗ m₁ ≠ m₂ ≠ …", "(Experiment 3)"],
                kind: Kind::Bad,
            },
        ],
    },
];

const NODES: [&str; 4] = ["node 1: c₁", "node 2: c₂", "node 3: c₃", "node N: c_N"];

const STYLE: &str = "<style>.ov-diagram text{font:13px system-ui,sans-serif;fill:#222}\
.ov-diagram .h{font-weight:700;font-size:14px}.ov-diagram .t{font-weight:700}\
.ov-diagram .node{fill:#56b4e91f;stroke:#0072b2}.ov-diagram .step{fill:#0072b214;stroke:#0072b2}\
.ov-diagram .good{fill:#009e7326;stroke:#009e73}.ov-diagram .bad{fill:#d55e0026;stroke:#d55e00}\
.ov-diagram .arrow{stroke:#777;stroke-width:1.5;fill:none}.ov-diagram .head{fill:#777}\
.ov-diagram-tall text{font-size:14.5px}.ov-diagram-tall .h{font-size:15px}\
@media (prefers-color-scheme: dark){.ov-diagram text{fill:#ddd}}</style>";

/// The diagram in `layout`.
pub fn diagram_svg(layout: Layout) -> String {
    let mut d = Drawing::default();
    match layout {
        Layout::Wide => wide(&mut d),
        Layout::Tall => tall(&mut d),
    }
    let (w, h) = (d.width, d.height);
    let (id, class) = match layout {
        Layout::Wide => ("ov-diagram-wide-title", "ov-diagram"),
        Layout::Tall => ("ov-diagram-tall-title", "ov-diagram ov-diagram-tall"),
    };
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0} {h:.0}" width="100%" role="img" aria-labelledby="{id}" class="{class}"><title id="{id}">Two ways to merge N nodes' contributions. The lab: a CRDT set join (Layer 1, order-free) gives every node the same canonical set; resolving it once with the strategy (Layer 2) gives every node the identical model. The negative control: merging pairwise in gossip order gives divergent models.</title>{STYLE}{}</svg>"#,
        d.body
    )
}

#[derive(Default)]
struct Drawing {
    body: String,
    width: f64,
    height: f64,
}

impl Drawing {
    fn text(&mut self, x: f64, y: f64, anchor: &str, class: &str, text: &str) {
        let _ = write!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" class="{class}">{}</text>"#,
            esc(text)
        );
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, class: &str) {
        let _ = write!(
            self.body,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" rx="6" class="{class}"/>"#
        );
    }

    /// A box with a bold title and lines, centred.
    fn stage(&mut self, x: f64, y: f64, w: f64, h: f64, s: &Stage) {
        let class = match s.kind {
            Kind::Step => "step",
            Kind::Good => "good",
            Kind::Bad => "bad",
        };
        self.rect(x, y, w, h, class);
        let lines = 1 + s.lines.len();
        let top = y + h / 2.0 - (lines as f64 - 1.0) * 8.5 + 4.5;
        self.text(x + w / 2.0, top, "middle", "t", s.title);
        for (i, line) in s.lines.iter().enumerate() {
            self.text(x + w / 2.0, top + 17.0 * (i + 1) as f64, "middle", "", line);
        }
    }

    /// An arrow from (x1, y1) to (x2, y2) with a head at the end.
    fn arrow(&mut self, x1: f64, y1: f64, x2: f64, y2: f64) {
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1e-9);
        let (ux, uy) = (dx / len, dy / len);
        let (bx, by) = (x2 - 8.0 * ux, y2 - 8.0 * uy);
        let _ = write!(
            self.body,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{bx:.1}" y2="{by:.1}" class="arrow"/><polygon points="{x2:.1},{y2:.1} {:.1},{:.1} {:.1},{:.1}" class="head"/>"#,
            bx - 4.0 * uy,
            by + 4.0 * ux,
            bx + 4.0 * uy,
            by - 4.0 * ux
        );
    }
}

fn wide(d: &mut Drawing) {
    const NODE_W: f64 = 104.0;
    const STAGE_H: f64 = 70.0;
    const GAP: f64 = 26.0;
    d.width = 760.0;
    let mut y0 = 0.0;
    for lane in &LANES {
        d.text(8.0, y0 + 20.0, "start", "h", lane.heading);
        let top = y0 + 34.0;
        let node_h = 24.0;
        let node_gap = 8.0;
        let column_h = NODES.len() as f64 * (node_h + node_gap) - node_gap;
        for (i, n) in NODES.iter().enumerate() {
            let y = top + i as f64 * (node_h + node_gap);
            d.rect(8.0, y, NODE_W, node_h, "node");
            d.text(8.0 + NODE_W / 2.0, y + 16.5, "middle", "", n);
        }
        let mid = top + column_h / 2.0;
        let first_x = 8.0 + NODE_W + 40.0;
        let n = lane.stages.len() as f64;
        let stage_w = (d.width - 8.0 - first_x - GAP * (n - 1.0)) / n;
        for i in 0..NODES.len() {
            let y = top + i as f64 * (node_h + node_gap) + node_h / 2.0;
            d.arrow(8.0 + NODE_W, y, first_x, mid + (y - mid) * 0.3);
        }
        for (i, s) in lane.stages.iter().enumerate() {
            let x = first_x + i as f64 * (stage_w + GAP);
            d.stage(x, mid - STAGE_H / 2.0, stage_w, STAGE_H, s);
            if i + 1 < lane.stages.len() {
                d.arrow(x + stage_w, mid, x + stage_w + GAP, mid);
            }
        }
        y0 = top + column_h + 22.0;
    }
    d.height = y0;
}

fn tall(d: &mut Drawing) {
    const STAGE_H: f64 = 62.0;
    const GAP: f64 = 22.0;
    d.width = 360.0;
    let inner = d.width - 16.0;
    let mut y = 0.0;
    for lane in &LANES {
        // Headings wrap at the dash-free split point ':'.
        let (a, b) = lane.heading.split_once(": ").unwrap_or((lane.heading, ""));
        d.text(8.0, y + 20.0, "start", "h", &format!("{a}:"));
        d.text(8.0, y + 38.0, "start", "", b);
        y += 50.0;
        let node_w = (inner - 3.0 * 6.0) / 4.0;
        for (i, n) in NODES.iter().enumerate() {
            let x = 8.0 + i as f64 * (node_w + 6.0);
            d.rect(x, y, node_w, 40.0, "node");
            let (who, what) = n.split_once(": ").unwrap_or((n, ""));
            d.text(x + node_w / 2.0, y + 17.0, "middle", "", who);
            d.text(x + node_w / 2.0, y + 33.0, "middle", "t", what);
        }
        y += 40.0;
        for i in 0..NODES.len() {
            let x = 8.0 + i as f64 * (node_w + 6.0) + node_w / 2.0;
            d.arrow(x, y, d.width / 2.0 + (x - d.width / 2.0) * 0.3, y + GAP);
        }
        y += GAP;
        for (i, s) in lane.stages.iter().enumerate() {
            d.stage(8.0, y, inner, STAGE_H, s);
            y += STAGE_H;
            if i + 1 < lane.stages.len() {
                d.arrow(d.width / 2.0, y, d.width / 2.0, y + GAP);
                y += GAP;
            }
        }
        y += 26.0;
    }
    d.height = y;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_layouts_are_standalone_svg_with_every_stage() {
        for layout in [Layout::Wide, Layout::Tall] {
            let svg = diagram_svg(layout);
            assert!(svg.starts_with("<svg xmlns=") && svg.ends_with("</svg>"));
            for lane in &LANES {
                for s in lane.stages {
                    assert!(svg.contains(&esc(s.title)), "{layout:?} lacks {}", s.title);
                }
            }
            assert_eq!(svg.matches("<title").count(), 1);
        }
    }
}
