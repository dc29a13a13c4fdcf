//! The network view: an animation of one gossip ordering, round by round.
//! Each node is a dot; nodes holding the same replica state share a colour
//! (the largest group blue, then orange, …); a grey dot is a state held by
//! that node alone, a hollow dot a node that is down. Play, pause, step and
//! scrub through the rounds. The frames come from the round reports the
//! coordinator already receives (node digests), or, for a partition run,
//! from the worker that ran it; they are a view, never part of a report.
//! While the network is partitioned, each side is drawn as its own arc of
//! the circle, separated by dashed cuts, and the caption names the faults
//! active in that round.

use crate::chart::esc;
use lab_core::experiment::partition::RoundView;
use lab_core::sim::faults::FaultInterval;
use lab_core::sim::RoundReport;
use lab_core::Digest;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

/// Most node-rounds recorded (later rounds are not recorded, and the view
/// says so).
pub const TRACE_CELLS_MAX: usize = 2_000_000;
/// Group colours, largest group first (Okabe–Ito).
const GROUP_COLOURS: [&str; 7] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#b8a000",
];
const SINGLE: &str = "#9a9a9a";
/// The dashed cuts between the sides of a partition.
const CUT: &str = "#c0392b";
const SIZE: f64 = 360.0;
/// Frames per second while playing.
const PLAY_MS: u64 = 350;

/// One round of one ordering.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    pub round: u32,
    pub messages: u64,
    pub dropped: u64,
    /// Per node: its group's rank by size (0 = largest), or `None` when
    /// the node is alone with its state.
    pub group: Vec<Option<u16>>,
    pub live: Vec<bool>,
    pub distinct: u32,
    pub largest: u32,
    /// Per node: the side of the partition it is on in this round, when the
    /// network is partitioned.
    pub sides: Option<Vec<u16>>,
}

/// What one node was in one round, as a trace records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeView {
    pub digest: Digest,
    pub live: bool,
}

/// The recorded rounds of one ordering.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub nodes: u32,
    pub frames: Vec<Frame>,
    /// Rounds were left out to stay within [`TRACE_CELLS_MAX`].
    pub truncated: bool,
}

impl Trace {
    /// An empty trace of `nodes` nodes, starting with round 0 (every node
    /// holds only its own contribution).
    pub fn new(nodes: u32) -> Trace {
        let n = nodes as usize;
        Trace {
            nodes,
            frames: vec![Frame {
                round: 0,
                messages: 0,
                dropped: 0,
                group: vec![None; n],
                live: vec![true; n],
                distinct: nodes,
                largest: u32::from(nodes > 0),
                sides: None,
            }],
            truncated: false,
        }
    }

    /// Adds a round from the workers' reports.
    pub fn record(&mut self, round: u32, reports: &[RoundReport]) {
        let mut nodes: Vec<Option<NodeView>> = vec![None; self.nodes as usize];
        let (mut messages, mut dropped) = (0, 0);
        for r in reports {
            messages += r.counters.messages;
            dropped += r.counters.dropped;
            for s in &r.nodes {
                if let Some(slot) = nodes.get_mut(s.node as usize) {
                    *slot = Some(NodeView {
                        digest: s.digest,
                        live: s.live,
                    });
                }
            }
        }
        self.record_nodes(round, &nodes, messages, dropped, None);
    }

    /// Adds a round of a partition run (the worker that ran it records it).
    pub fn record_view(&mut self, v: &RoundView<'_>) {
        let nodes: Vec<Option<NodeView>> = v
            .digests
            .iter()
            .zip(&v.live)
            .map(|(&digest, &live)| Some(NodeView { digest, live }))
            .collect();
        let sides = v
            .sides
            .map(|s| s.iter().map(|&g| g.min(u16::MAX as u32) as u16).collect());
        self.record_nodes(v.round, &nodes, v.stats.messages, v.stats.dropped, sides);
    }

    /// Adds a round: each node's state (`None`: not reported), the round's
    /// message counts and, while partitioned, each node's side.
    pub fn record_nodes(
        &mut self,
        round: u32,
        nodes: &[Option<NodeView>],
        messages: u64,
        dropped: u64,
        sides: Option<Vec<u16>>,
    ) {
        let n = self.nodes as usize;
        assert_eq!(nodes.len(), n, "a trace frame covers every node");
        if (self.frames.len() + 1) * n > TRACE_CELLS_MAX {
            self.truncated = true;
            return;
        }
        // Groups of live nodes by state, ranked by size, then by lowest node.
        let mut groups: BTreeMap<Digest, (u32, usize)> = BTreeMap::new();
        for (i, v) in nodes.iter().enumerate() {
            if let Some(NodeView { digest, live: true }) = v {
                let e = groups.entry(*digest).or_insert((0, i));
                e.0 += 1;
            }
        }
        let mut ranked: Vec<(Digest, u32, usize)> = groups
            .into_iter()
            .map(|(d, (c, first))| (d, c, first))
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
        let rank: BTreeMap<Digest, u16> = ranked
            .iter()
            .enumerate()
            .filter(|(_, g)| g.1 > 1)
            .map(|(i, g)| (g.0, i.min(u16::MAX as usize) as u16))
            .collect();
        self.frames.push(Frame {
            round,
            messages,
            dropped,
            group: nodes
                .iter()
                .map(|v| v.and_then(|v| rank.get(&v.digest).copied()))
                .collect(),
            live: nodes.iter().map(|v| v.is_some_and(|v| v.live)).collect(),
            distinct: ranked.len() as u32,
            largest: ranked.first().map_or(0, |g| g.1),
            sides: sides.filter(|s| s.len() == n),
        });
    }
}

/// Where node `i` of `n` is drawn, and the dot radius.
fn layout(i: usize, n: usize) -> (f64, f64, f64) {
    let c = SIZE / 2.0;
    if n <= 240 {
        let a = std::f64::consts::TAU * i as f64 / n.max(1) as f64 - std::f64::consts::FRAC_PI_2;
        let r_dot = (SIZE * 1.2 / n.max(1) as f64).clamp(2.0, 9.0);
        let r = c - r_dot - 4.0;
        (c + r * a.cos(), c + r * a.sin(), r_dot)
    } else {
        let side = (n as f64).sqrt().ceil() as usize;
        let step = (SIZE - 8.0) / side as f64;
        let (row, col) = (i / side, i % side);
        (
            4.0 + step * (col as f64 + 0.5),
            4.0 + step * (row as f64 + 0.5),
            (step * 0.4).max(1.0),
        )
    }
}

/// Where each node of a frame is drawn. Unpartitioned: in node order. While
/// partitioned: side by side, nodes of a side together in node order, with
/// an empty slot between sides; also returns the slot of each gap (where
/// the cut is drawn) and the slot count.
fn positions(f: &Frame, n: usize) -> (Vec<(f64, f64, f64)>, Vec<usize>, usize) {
    let Some(sides) = &f.sides else {
        return ((0..n).map(|i| layout(i, n)).collect(), Vec::new(), n);
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (sides[i], i));
    let mut slot_of = vec![0; n];
    let mut gaps = Vec::new();
    let mut slot = 0;
    for (k, &i) in order.iter().enumerate() {
        if k > 0 && sides[i] != sides[order[k - 1]] {
            gaps.push(slot);
            slot += 1;
        }
        slot_of[i] = slot;
        slot += 1;
    }
    // The gap between the last side and the first closes the circle.
    let slots = if gaps.is_empty() {
        slot
    } else {
        gaps.push(slot);
        slot + 1
    };
    (
        slot_of.iter().map(|&s| layout(s, slots)).collect(),
        gaps,
        slots,
    )
}

/// One frame as a standalone SVG document.
pub fn frame_svg(trace: &Trace, index: usize) -> String {
    let Some(f) = trace.frames.get(index) else {
        return String::new();
    };
    let n = trace.nodes as usize;
    let (places, gaps, slots) = positions(f, n);
    let sides = f.sides.as_ref().map_or(0, |s| {
        s.iter().collect::<std::collections::BTreeSet<_>>().len()
    });
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" width="100%" role="img" class="cl-network"><title>{}</title>"#,
        esc(&format!(
            "Round {}: {} distinct states among {} nodes; the largest group has {} nodes{}",
            f.round,
            f.distinct,
            trace.nodes,
            f.largest,
            if sides > 1 {
                format!("; partitioned into {sides} sides")
            } else {
                String::new()
            }
        ))
    );
    // The cuts of a partition: dashed spokes through the empty slots (the
    // grid layout of large networks shows the gaps only).
    if sides > 1 && slots <= 240 {
        let c = SIZE / 2.0;
        for &g in &gaps {
            let (x, y, _) = layout(g, slots);
            let (dx, dy) = (x - c, y - c);
            let len = (dx * dx + dy * dy).sqrt().max(1.0);
            let (ex, ey) = (c + dx / len * (c - 1.0), c + dy / len * (c - 1.0));
            let _ = write!(
                s,
                r#"<line class="cut" x1="{c:.1}" y1="{c:.1}" x2="{ex:.1}" y2="{ey:.1}" stroke="{CUT}" stroke-width="1.5" stroke-dasharray="5 4"/>"#
            );
        }
    }
    for (i, &(x, y, r)) in places.iter().enumerate() {
        let colour = f.group[i].map_or(SINGLE, |g| {
            GROUP_COLOURS.get(g as usize).copied().unwrap_or(SINGLE)
        });
        if f.live[i] {
            let _ = write!(
                s,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r:.1}" fill="{colour}"/>"#
            );
        } else {
            let _ = write!(
                s,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r:.1}" fill="none" stroke="{SINGLE}" stroke-width="1"/>"#
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The animated view of a trace.
#[component]
pub fn NetworkView(
    trace: Arc<Trace>,
    /// The run's fault intervals: the caption names those active in the
    /// shown round (a partition run passes them; Experiment 1 has none).
    #[prop(optional)]
    faults: Option<Arc<Vec<FaultInterval>>>,
) -> impl IntoView {
    let last = trace.frames.len().saturating_sub(1);
    let index = RwSignal::new(last);
    let playing = RwSignal::new(false);
    let ticker = StoredValue::new_local(None::<IntervalHandle>);
    let stop = move || {
        playing.set(false);
        if let Some(h) = ticker.write_value().take() {
            h.clear();
        }
    };
    let play = move || {
        if index.get_untracked() >= last {
            index.set(0);
        }
        playing.set(true);
        let tick = move || {
            if index.get_untracked() >= last {
                stop();
            } else {
                index.update(|i| *i += 1);
            }
        };
        ticker.set_value(set_interval_with_handle(tick, Duration::from_millis(PLAY_MS)).ok());
    };
    on_cleanup(move || {
        if let Some(h) = ticker.write_value().take() {
            h.clear();
        }
    });
    let t1 = Arc::clone(&trace);
    let t2 = Arc::clone(&trace);
    let svg = move || frame_svg(&t1, index.get());
    let partitioned = faults.is_some();
    let caption = move || {
        let f = &t2.frames[index.get().min(last)];
        let active = faults
            .as_ref()
            .map_or(String::new(), |all| active_faults(all, f.round));
        format!(
            "Round {} — {} distinct state{}; the largest group holds {} of {} nodes; {} messages{}.{active}",
            f.round,
            f.distinct,
            if f.distinct == 1 { "" } else { "s" },
            f.largest,
            t2.nodes,
            f.messages,
            if f.dropped > 0 { format!(" ({} dropped)", f.dropped) } else { String::new() }
        )
    };
    let truncated = trace.truncated;
    view! {
        <figure class="chart network" data-testid="network">
            <div class="chart-svg network-svg" inner_html=svg></div>
            <figcaption>
                <p aria-live="polite" data-testid="network-caption">{caption}</p>
                <div class="network-controls" role="group" aria-label="Animation">
                    <button type="button" aria-label="First round" on:click=move |_| { stop(); index.set(0); }>"|◀"</button>
                    <button type="button" aria-label="Previous round" on:click=move |_| { stop(); index.update(|i| *i = i.saturating_sub(1)); }>"◀"</button>
                    <button type="button" data-testid="network-play" on:click=move |_| if playing.get_untracked() { stop() } else { play() }>
                        {move || if playing.get() { "Pause" } else { "Play" }}
                    </button>
                    <button type="button" aria-label="Next round" on:click=move |_| { stop(); index.update(|i| *i = (*i + 1).min(last)); }>"▶"</button>
                    <input type="range" min="0" max=last.to_string() aria-label="Round"
                        prop:value=move || index.get().to_string()
                        on:input=move |ev| { stop(); index.set(event_target_value(&ev).parse().unwrap_or(0)); }/>
                </div>
                <p class="muted">
                    {if partitioned { "While partitioned, each side is drawn apart, with dashed cuts between sides. " } else { "Ordering 0. " }}
                    "Same colour = same replica state (blue: the largest group). Grey: a state only that node holds. Hollow: down."
                    {truncated.then_some(" Later rounds were not recorded (too many nodes × rounds to keep).")}
                </p>
            </figcaption>
        </figure>
    }
}

/// The faults active in `round`, as a caption sentence (empty if none).
fn active_faults(all: &[FaultInterval], round: u32) -> String {
    let now: Vec<String> = all
        .iter()
        .filter(|f| round >= f.start && round < f.end)
        .map(|f| format!("{} ({})", f.kind, f.label))
        .collect();
    if now.is_empty() {
        String::new()
    } else {
        format!(" Active faults: {}.", now.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::run_observed;
    use crate::local::{block_on, LocalLink};
    use lab_core::experiment::convergence::ConvergenceConfig;
    use lab_core::sim::Protocol;

    #[test]
    fn a_trace_ends_in_one_group() {
        let config = ConvergenceConfig {
            nodes: 9,
            dim: 2,
            orderings: 1,
            protocol: Protocol::PushPull,
            ..ConvergenceConfig::default()
        };
        let mut trace = Trace::new(config.nodes);
        let mut link = LocalLink::new(2);
        let finished = block_on(run_observed(
            &mut link,
            &config,
            &mut |_| {},
            &mut |o, r, reports| {
                if o == 0 {
                    trace.record(r, reports)
                }
            },
        ))
        .unwrap();
        let rounds = finished.report.results.orderings[0].rounds as usize;
        assert_eq!(trace.frames.len(), rounds + 1);
        let last = trace.frames.last().unwrap();
        assert_eq!((last.distinct, last.largest), (1, 9));
        assert!(last.group.iter().all(|g| *g == Some(0)));
        assert!(trace.frames[0].group.iter().all(Option::is_none));
        let svg = frame_svg(&trace, rounds);
        assert_eq!(svg.matches("<circle").count(), 9);
        assert!(frame_svg(&trace, rounds + 5).is_empty());
    }

    #[test]
    fn a_partitioned_frame_draws_sides_apart_with_cuts() {
        let d = |b: u8| NodeView {
            digest: Digest([b; 32]),
            live: true,
        };
        let mut trace = Trace::new(6);
        // Sides alternate by node; each side agrees internally.
        let nodes: Vec<Option<NodeView>> = (0..6u8).map(|i| Some(d(i % 2))).collect();
        trace.record_nodes(1, &nodes, 12, 3, Some(vec![0, 1, 0, 1, 0, 1]));
        let f = &trace.frames[1];
        assert_eq!((f.distinct, f.largest, f.dropped), (2, 3, 3));
        let (places, gaps, slots) = positions(f, 6);
        assert_eq!((gaps.len(), slots), (2, 8));
        // Side 0 (nodes 0, 2, 4) fills slots 0–2, a gap, side 1 (nodes 1,
        // 3, 5) slots 4–6, and a gap closes the circle.
        for (node, slot) in [(0, 0), (2, 1), (4, 2), (1, 4), (3, 5), (5, 6)] {
            assert_eq!(places[node], layout(slot, 8), "node {node}");
        }
        assert_eq!(gaps, [3, 7]);
        let svg = frame_svg(&trace, 1);
        assert_eq!(svg.matches("<circle").count(), 6);
        assert_eq!(svg.matches(r#"class="cut""#).count(), 2);
        assert!(svg.contains("partitioned into 2 sides"));
        // Unpartitioned frames draw no cut.
        assert!(!frame_svg(&trace, 0).contains("cut"));
        let faults = [FaultInterval {
            kind: "partition".into(),
            label: "i mod 2".into(),
            start: 1,
            end: 3,
        }];
        assert_eq!(
            active_faults(&faults, 1),
            " Active faults: partition (i mod 2)."
        );
        assert_eq!(active_faults(&faults, 3), "");
    }

    #[test]
    fn a_partition_run_records_one_frame_per_round_with_sides() {
        use lab_core::experiment::partition::{parse_phases, run_observed, PartitionConfig};
        let config = PartitionConfig {
            nodes: 9,
            dim: 2,
            phases: parse_phases("mod:3@1-6").unwrap(),
            ..PartitionConfig::default()
        };
        let mut trace = Trace::new(config.nodes);
        let report = run_observed(&config, 1, None, &mut |v| trace.record_view(&v)).unwrap();
        assert_eq!(trace.frames.len(), report.results.run.rounds as usize + 1);
        let partitioned: Vec<u32> = trace
            .frames
            .iter()
            .filter(|f| f.sides.is_some())
            .map(|f| f.round)
            .collect();
        assert_eq!(partitioned, [1, 2, 3, 4, 5]);
        assert!(frame_svg(&trace, 2).contains(r#"class="cut""#));
        let last = trace.frames.last().unwrap();
        assert_eq!((last.distinct, last.largest), (1, 9));
    }

    #[test]
    fn layouts_stay_inside_the_picture() {
        for n in [1, 2, 50, 240, 241, 1000] {
            for i in [0, n / 2, n - 1] {
                let (x, y, r) = layout(i, n);
                assert!(
                    x - r >= 0.0 && x + r <= SIZE && y - r >= 0.0 && y + r <= SIZE,
                    "{n} {i}"
                );
            }
        }
    }
}
