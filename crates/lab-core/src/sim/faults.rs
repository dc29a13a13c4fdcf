//! The fault vocabulary (Jepsen / deterministic-simulation practice):
//! partitions by phase, per-link message faults, crashes (with or without
//! losing state) and pauses, and churn (contributions updated or removed
//! during gossip). A [`FaultPlan`] is data; every random draw it implies is
//! keyed by `(seed, round, node, …)`, so any executor can evaluate any part
//! of it without communication.

use crate::rng::{Purpose, Stream};
use serde::{Deserialize, Serialize};

/// Most partition phases, node faults or churn events in one plan.
pub const FAULT_EVENTS_MAX: usize = 10_000;
/// Longest message delay, in rounds.
pub const DELAY_ROUNDS_MAX: u32 = 64;

/// How the network is cut during a partition phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "shape")]
pub enum PartitionShape {
    /// Two random halves.
    RandomHalves,
    /// `k` random groups of near-equal size.
    Groups { k: u32 },
    /// Node `i` in group `i mod k` (the seed lab's partition rule).
    ModGroups { k: u32 },
    /// One node cut off from all others.
    Isolated { node: u32 },
    /// A random minority of `minority` nodes cut off from the majority.
    MajorityMinority { minority: u32 },
    /// Two random halves that share one bridge node reaching both.
    Bridge,
    /// Two random halves A and B where A reaches B but B does not reach A.
    Asymmetric,
}

impl PartitionShape {
    pub fn label(&self) -> String {
        match self {
            PartitionShape::RandomHalves => "random halves".into(),
            PartitionShape::Groups { k } => format!("{k} random groups"),
            PartitionShape::ModGroups { k } => format!("{k} groups by i mod {k}"),
            PartitionShape::Isolated { node } => format!("node {node} isolated"),
            PartitionShape::MajorityMinority { minority } => {
                format!("minority of {minority} vs majority")
            }
            PartitionShape::Bridge => "two halves with a bridge node".into(),
            PartitionShape::Asymmetric => "asymmetric halves (A hears nothing from B)".into(),
        }
    }
}

/// A partition active for rounds `start..heal` (healed from `heal` on).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionPhase {
    pub start: u32,
    pub heal: u32,
    pub shape: PartitionShape,
}

/// Per-link message faults, active for rounds `start..end`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkFaults {
    pub start: u32,
    pub end: u32,
    /// Probability a message is lost.
    pub loss: f64,
    /// Probability a message is delivered twice.
    pub duplicate: f64,
    /// Each copy is delayed by a uniform 0..=delay_max rounds (reordering).
    pub delay_max: u32,
}

/// What happens to a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeFaultKind {
    /// Down; on restart the state is kept.
    Crash,
    /// Down; on restart the state is gone (a new incarnation starts empty).
    CrashLoseState,
    /// Stops gossiping and processing; resumes with its state.
    Pause,
}

/// A node down for rounds `start..end`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFault {
    pub node: u32,
    pub kind: NodeFaultKind,
    pub start: u32,
    pub end: u32,
}

/// A change to a node's own contribution at the start of a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChurnAction {
    /// A new version with new content.
    Update,
    /// Remove it.
    Remove,
}

/// One churn event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChurnEvent {
    pub round: u32,
    pub node: u32,
    pub action: ChurnAction,
}

/// Everything that goes wrong in a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultPlan {
    pub partitions: Vec<PartitionPhase>,
    pub link: Option<LinkFaults>,
    pub nodes: Vec<NodeFault>,
    pub churn: Vec<ChurnEvent>,
}

/// A fault interval for reports and chart shading.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultInterval {
    pub kind: String,
    pub label: String,
    pub start: u32,
    pub end: u32,
}

impl FaultPlan {
    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
            && self.link.is_none()
            && self.nodes.is_empty()
            && self.churn.is_empty()
    }

    /// Checks the plan against the node count; returns a reason on error.
    pub fn validate(&self, nodes: u32) -> Result<(), String> {
        let events = self.partitions.len() + self.nodes.len() + self.churn.len();
        if events > FAULT_EVENTS_MAX {
            return Err(format!(
                "{events} fault events exceed the limit of {FAULT_EVENTS_MAX}"
            ));
        }
        for p in &self.partitions {
            if p.start == 0 || p.heal <= p.start {
                return Err(format!(
                    "partition must start at round ≥ 1 and heal after it starts (got {}..{})",
                    p.start, p.heal
                ));
            }
            match p.shape {
                PartitionShape::Groups { k } | PartitionShape::ModGroups { k }
                    if k < 2 || k > nodes =>
                {
                    return Err(format!(
                        "partitions: {k} groups needs 2 ≤ groups ≤ nodes ({nodes})"
                    ));
                }
                PartitionShape::Isolated { node } if node >= nodes => {
                    return Err(format!(
                        "partitions: node {node} does not exist ({nodes} nodes)"
                    ));
                }
                PartitionShape::MajorityMinority { minority }
                    if minority == 0 || 2 * minority >= nodes =>
                {
                    return Err(format!("partitions: a minority of {minority} must be ≥ 1 and below half of {nodes}"));
                }
                PartitionShape::RandomHalves
                | PartitionShape::Bridge
                | PartitionShape::Asymmetric
                    if nodes < 3 =>
                {
                    return Err("partitions: this shape needs at least 3 nodes".into());
                }
                _ => {}
            }
        }
        if let Some(l) = &self.link {
            for (name, p) in [("loss", l.loss), ("duplicate", l.duplicate)] {
                if !(0.0..=1.0).contains(&p) {
                    return Err(format!("{name} probability {p} is outside [0, 1]"));
                }
            }
            if l.loss >= 1.0 {
                return Err("loss probability 1 never delivers anything".into());
            }
            if l.delay_max > DELAY_ROUNDS_MAX {
                return Err(format!(
                    "delay of {} rounds exceeds {DELAY_ROUNDS_MAX}",
                    l.delay_max
                ));
            }
            if l.end <= l.start {
                return Err("message faults must end after they start".into());
            }
        }
        for f in &self.nodes {
            if f.node >= nodes || f.end <= f.start || f.start == 0 {
                return Err(format!("node fault {f:?} is outside the run"));
            }
        }
        for c in &self.churn {
            if c.node >= nodes || c.round == 0 {
                return Err(format!("churn event {c:?} is outside the run"));
            }
        }
        Ok(())
    }

    /// The first round from which nothing more goes wrong: every partition
    /// healed, message faults over (plus the longest delay), every node back,
    /// no churn left.
    pub fn quiet_from(&self) -> u32 {
        let mut r = 1;
        for p in &self.partitions {
            r = r.max(p.heal);
        }
        if let Some(l) = &self.link {
            r = r.max(l.end + l.delay_max);
        }
        for f in &self.nodes {
            r = r.max(f.end);
        }
        for c in &self.churn {
            r = r.max(c.round + 1);
        }
        r
    }

    /// Every interval, for reports and chart shading.
    pub fn intervals(&self) -> Vec<FaultInterval> {
        let mut out = Vec::new();
        for p in &self.partitions {
            out.push(FaultInterval {
                kind: "partition".into(),
                label: p.shape.label(),
                start: p.start,
                end: p.heal,
            });
        }
        if let Some(l) = &self.link {
            out.push(FaultInterval {
                kind: "messages".into(),
                label: format!(
                    "loss {}, duplication {}, delay ≤ {}",
                    l.loss, l.duplicate, l.delay_max
                ),
                start: l.start,
                end: l.end,
            });
        }
        for f in &self.nodes {
            let what = match f.kind {
                NodeFaultKind::Crash => "crash",
                NodeFaultKind::CrashLoseState => "crash (state lost)",
                NodeFaultKind::Pause => "pause",
            };
            out.push(FaultInterval {
                kind: "node".into(),
                label: format!("node {} {what}", f.node),
                start: f.start,
                end: f.end,
            });
        }
        for c in &self.churn {
            let what = match c.action {
                ChurnAction::Update => "updates",
                ChurnAction::Remove => "removes",
            };
            out.push(FaultInterval {
                kind: "churn".into(),
                label: format!("node {} {what} its contribution", c.node),
                start: c.round,
                end: c.round + 1,
            });
        }
        out
    }
}

/// One partition phase laid out over the nodes: each node's reach class, and
/// per class the sorted list of nodes it can send to.
#[derive(Clone, Debug)]
pub struct PhaseLayout {
    pub start: u32,
    pub heal: u32,
    pub group_of: Vec<u32>,
    class_of: Vec<u32>,
    targets: Vec<Vec<u32>>,
}

impl PhaseLayout {
    /// Lays out phase `index` of a plan for `nodes` nodes.
    pub fn new(phase: &PartitionPhase, index: u32, nodes: u32, seed: u64) -> PhaseLayout {
        let mut perm: Vec<u32> = (0..nodes).collect();
        Stream::new(seed, Purpose::Other, &[0x7061_7274, index as u64]).shuffle(&mut perm);
        let n = nodes as usize;
        let mut group_of = vec![0u32; n];
        let half = nodes / 2;
        let mut bridge = None;
        match phase.shape {
            PartitionShape::RandomHalves | PartitionShape::Asymmetric => {
                for (rank, &i) in perm.iter().enumerate() {
                    group_of[i as usize] = u32::from(rank as u32 >= half);
                }
            }
            PartitionShape::Bridge => {
                for (rank, &i) in perm.iter().enumerate() {
                    group_of[i as usize] = u32::from(rank as u32 >= half);
                }
                bridge = Some(perm[0]);
            }
            PartitionShape::Groups { k } => {
                for (rank, &i) in perm.iter().enumerate() {
                    group_of[i as usize] = (rank as u64 * k as u64 / nodes as u64) as u32;
                }
            }
            PartitionShape::ModGroups { k } => {
                for i in 0..nodes {
                    group_of[i as usize] = i % k;
                }
            }
            PartitionShape::Isolated { node } => group_of[node as usize] = 1,
            PartitionShape::MajorityMinority { minority } => {
                for &i in &perm[..minority as usize] {
                    group_of[i as usize] = 1;
                }
            }
        }
        let groups = group_of.iter().copied().max().unwrap_or(0) + 1;
        let members =
            |g: u32| -> Vec<u32> { (0..nodes).filter(|&i| group_of[i as usize] == g).collect() };
        let (class_of, targets) = match (phase.shape, bridge) {
            (PartitionShape::Bridge, Some(b)) => {
                // Classes: 0 and 1 are the sides; 2 is the bridge (reaches all).
                let mut class_of = group_of.clone();
                class_of[b as usize] = 2;
                let side = |g: u32| {
                    let mut m = members(g);
                    if !m.contains(&b) {
                        m.push(b);
                        m.sort_unstable();
                    }
                    m
                };
                let t = vec![side(0), side(1), (0..nodes).collect()];
                (class_of, t)
            }
            (PartitionShape::Asymmetric, _) => {
                // Group 0 (A) reaches everyone; group 1 (B) only itself.
                (group_of.clone(), vec![(0..nodes).collect(), members(1)])
            }
            _ => (group_of.clone(), (0..groups).map(members).collect()),
        };
        PhaseLayout {
            start: phase.start,
            heal: phase.heal,
            group_of,
            class_of,
            targets,
        }
    }

    pub fn active(&self, round: u32) -> bool {
        round >= self.start && round < self.heal
    }

    /// The nodes `node` can send to (including itself).
    pub fn targets(&self, node: u32) -> &[u32] {
        &self.targets[self.class_of[node as usize] as usize]
    }

    /// Whether a message from `from` reaches `to`.
    pub fn reaches(&self, from: u32, to: u32) -> bool {
        self.targets(from).binary_search(&to).is_ok()
    }

    /// The peers `node` contacts in `round` of `schedule` while this phase
    /// is active: `fanout` distinct nodes ≠ itself among those it can reach
    /// (fewer if fewer are reachable).
    pub fn peers(&self, schedule: &super::Schedule, round: u32, node: u32) -> Vec<u32> {
        let targets = self.targets(node);
        let me = targets
            .binary_search(&node)
            .ok()
            .map_or(targets.len() as u32, |i| i as u32);
        let available = targets.len() as u32 - u32::from((me as usize) < targets.len());
        let k = schedule.fanout.min(available);
        let mut s = Stream::new(
            schedule.seed,
            Purpose::Peers,
            &[schedule.ordering as u64, round as u64, node as u64],
        );
        s.distinct_excluding(targets.len() as u32, k, me)
            .into_iter()
            .map(|i| targets[i as usize])
            .collect()
    }
}

/// What the link does to one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkFate {
    /// Delivery delays of each copy (empty: lost).
    pub delays: [Option<u32>; 2],
}

impl LinkFaults {
    /// The fate of the message `from → to` of `kind` in `round`.
    pub fn fate(
        &self,
        seed: u64,
        ordering: u32,
        round: u32,
        from: u32,
        to: u32,
        kind: u64,
    ) -> LinkFate {
        if round < self.start || round >= self.end {
            return LinkFate {
                delays: [Some(0), None],
            };
        }
        let mut s = Stream::new(
            seed,
            Purpose::Faults,
            &[ordering as u64, round as u64, from as u64, to as u64, kind],
        );
        if s.chance(self.loss) {
            return LinkFate {
                delays: [None, None],
            };
        }
        let delay = |s: &mut Stream| Some(s.below(self.delay_max as u64 + 1) as u32);
        let first = delay(&mut s);
        let second = if s.chance(self.duplicate) {
            delay(&mut s)
        } else {
            None
        };
        LinkFate {
            delays: [first, second],
        }
    }
}
