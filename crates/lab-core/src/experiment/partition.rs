//! Experiment 2 — partition and healing.
//!
//! The network is cut into partitions for one or more phases (random halves,
//! k groups, i mod k as the seed lab did, one isolated node,
//! majority/minority, a bridge node, asymmetric halves), optionally with
//! lossy, duplicating, delaying links. Inside each partition gossip goes on
//! and every partition converges to its *own* state (the partitions differ);
//! after the last heal the whole network converges to one state and one
//! merged model, equal to the oracle. Rounds, messages and bytes are
//! reported per phase, and every fault interval is in the report.

use super::convergence::{
    drive_native, impl_has_workload, ordering_result, schedule, ConvergenceConfig, FileTensors,
    FineTuneParams, HasWorkload, Host, OrderingResult, ResolveMode, Workload, WorkloadKind,
};
use super::params::{parse_f64, protocol_field, range, workload_fields, Field, QueryIssue};
use crate::error::{ConfigError, LabError};
use crate::hash::Digest;
use crate::report::{Check, Report, Verdict};
use crate::sim::driver::OrderingDriver;
use crate::sim::driver::RoundStats;
use crate::sim::faults::{
    FaultInterval, FaultPlan, LinkFaults, PartitionPhase, PartitionShape, PhaseLayout,
    DELAY_ROUNDS_MAX,
};
use crate::sim::Protocol;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Experiment name used in reports, URLs and the CLI.
pub const NAME: &str = "partition";
/// Most partition phases per run.
pub const PHASES_MAX: usize = 16;

/// The configuration of a partition run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PartitionConfig {
    pub nodes: u32,
    pub dim: u32,
    pub protocol: Protocol,
    pub fanout: u32,
    pub strategy: String,
    pub seed: u64,
    /// Partition phases, e.g. `mod:3@1-20` (see [`parse_phases`]).
    #[serde(deserialize_with = "phases_de::deserialize")]
    pub phases: Vec<PartitionPhase>,
    /// Message loss probability while any partition is active.
    pub loss: f64,
    /// Message duplication probability while any partition is active.
    pub duplicate: f64,
    /// Largest message delay in rounds while any partition is active.
    pub delay_max: u32,
    pub rounds_max: u32,
    /// What the nodes contribute (as in convergence; with model files node
    /// `i` contributes file `i mod F`).
    pub workload: WorkloadKind,
    /// Parameters of the fine-tune workload (ignored otherwise).
    pub finetune: FineTuneParams,
}

impl_has_workload!(PartitionConfig);

impl Default for PartitionConfig {
    /// The seed lab's partition test (30 nodes, 3 partitions by i mod 3),
    /// on fine-tunes.
    fn default() -> Self {
        PartitionConfig {
            nodes: 30,
            dim: 64,
            protocol: Protocol::PushPull,
            fanout: 1,
            strategy: "weight_average".into(),
            seed: 42,
            phases: vec![PartitionPhase {
                start: 1,
                heal: 21,
                shape: PartitionShape::ModGroups { k: 3 },
            }],
            loss: 0.0,
            duplicate: 0.0,
            delay_max: 0,
            rounds_max: 1000,
            workload: WorkloadKind::default(),
            finetune: FineTuneParams::default(),
        }
    }
}

/// Parses phases written as `shape@start-heal` separated by commas, where
/// shape is `halves`, `groups:K`, `mod:K`, `isolated:NODE`, `minority:M`,
/// `bridge` or `asymmetric`; e.g. `mod:3@1-20,halves@30-45`.
pub fn parse_phases(text: &str) -> Result<Vec<PartitionPhase>, ConfigError> {
    let bad = |m: String| ConfigError::Invalid(format!("phases: {m}"));
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (shape, span) = part
            .split_once('@')
            .ok_or_else(|| bad(format!("'{part}' needs shape@start-heal")))?;
        let (start, heal) = span
            .split_once('-')
            .ok_or_else(|| bad(format!("'{span}' needs start-heal")))?;
        let num = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| bad(format!("'{s}' is not a round number")))
        };
        let (name, arg) = shape
            .split_once(':')
            .map_or((shape, None), |(n, a)| (n, Some(a)));
        let arg = |what: &str| -> Result<u32, ConfigError> {
            arg.ok_or_else(|| bad(format!("'{name}' needs :{what}")))?
                .parse()
                .map_err(|_| bad(format!("'{shape}': {what} must be a whole number")))
        };
        let shape = match name {
            "halves" => PartitionShape::RandomHalves,
            "groups" => PartitionShape::Groups { k: arg("K")? },
            "mod" => PartitionShape::ModGroups { k: arg("K")? },
            "isolated" => PartitionShape::Isolated { node: arg("NODE")? },
            "minority" => PartitionShape::MajorityMinority {
                minority: arg("M")?,
            },
            "bridge" => PartitionShape::Bridge,
            "asymmetric" => PartitionShape::Asymmetric,
            _ => return Err(bad(format!("unknown shape '{name}'"))),
        };
        out.push(PartitionPhase {
            start: num(start)?,
            heal: num(heal)?,
            shape,
        });
    }
    if out.is_empty() || out.len() > PHASES_MAX {
        return Err(bad(format!("give 1 to {PHASES_MAX} phases")));
    }
    Ok(out)
}

/// Writes phases in the syntax [`parse_phases`] reads.
pub fn format_phases(phases: &[PartitionPhase]) -> String {
    let one = |p: &PartitionPhase| {
        let shape = match p.shape {
            PartitionShape::RandomHalves => "halves".to_string(),
            PartitionShape::Groups { k } => format!("groups:{k}"),
            PartitionShape::ModGroups { k } => format!("mod:{k}"),
            PartitionShape::Isolated { node } => format!("isolated:{node}"),
            PartitionShape::MajorityMinority { minority } => format!("minority:{minority}"),
            PartitionShape::Bridge => "bridge".into(),
            PartitionShape::Asymmetric => "asymmetric".into(),
        };
        format!("{shape}@{}-{}", p.start, p.heal)
    };
    phases.iter().map(one).collect::<Vec<_>>().join(",")
}

impl PartitionConfig {
    /// The equivalent gossip config (for validation, hosts and resolvers).
    fn gossip(&self) -> ConvergenceConfig {
        ConvergenceConfig {
            nodes: self.nodes,
            dim: self.dim,
            orderings: 1,
            protocol: self.protocol,
            fanout: self.fanout,
            strategy: self.strategy.clone(),
            seed: self.seed,
            rounds_max: self.rounds_max,
            resolve: ResolveMode::OncePerState,
            workload: self.workload.clone(),
            finetune: self.finetune,
            ..ConvergenceConfig::default()
        }
    }

    /// The fault plan the phases and link settings describe.
    pub fn plan(&self) -> FaultPlan {
        let link =
            (self.loss > 0.0 || self.duplicate > 0.0 || self.delay_max > 0).then(|| LinkFaults {
                start: self.phases.iter().map(|p| p.start).min().unwrap_or(1),
                end: self.phases.iter().map(|p| p.heal).max().unwrap_or(1),
                loss: self.loss,
                duplicate: self.duplicate,
                delay_max: self.delay_max,
            });
        FaultPlan {
            partitions: self.phases.clone(),
            link,
            ..FaultPlan::default()
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.protocol == Protocol::AllPairs {
            let seed_like = self.phases.len() == 1
                && disjoint(self.phases[0].shape)
                && self.loss == 0.0
                && self.duplicate == 0.0
                && self.delay_max == 0;
            if !seed_like {
                return Err(ConfigError::Invalid(
                    "with all-pairs (the seed lab's schedule) give exactly one disjoint partition phase and no message faults"
                        .into(),
                ));
            }
        }
        self.gossip().validate()?;
        for (name, p) in [("loss", self.loss), ("duplicate", self.duplicate)] {
            if !(0.0..=1.0).contains(&p) {
                return Err(ConfigError::Invalid(format!(
                    "{name} probability {p} is outside [0, 1]"
                )));
            }
        }
        range(
            "delay_max",
            self.delay_max as u64,
            0,
            DELAY_ROUNDS_MAX as u64,
        )?;
        if self.phases.is_empty() || self.phases.len() > PHASES_MAX {
            return Err(ConfigError::Invalid(format!(
                "give 1 to {PHASES_MAX} partition phases"
            )));
        }
        self.plan()
            .validate(self.nodes)
            .map_err(ConfigError::Invalid)?;
        let quiet = self.plan().quiet_from();
        if quiet >= self.rounds_max {
            return Err(ConfigError::Invalid(format!(
                "the last heal (round {quiet}) must come before rounds_max ({})",
                self.rounds_max
            )));
        }
        Ok(())
    }

    /// The equivalent `lab-cli` command line.
    pub fn cli_command(&self) -> String {
        format!(
            "lab-cli partition --nodes {} --dim {} --protocol {} --fanout {} --strategy {} --seed {} --phases {} --loss {} --duplicate {} --delay-max {} --rounds-max {}",
            self.nodes, self.dim, self.protocol.name(), self.fanout, self.strategy, self.seed,
            format_phases(&self.phases), self.loss, self.duplicate, self.delay_max, self.rounds_max
        ) + &self.workload_flags()
    }
}

impl PartitionConfig {
    /// The config as URL query pairs (schema `v=1`).
    pub fn to_query(&self) -> Vec<(String, String)> {
        super::params::to_query(NAME, FIELDS, self)
    }

    /// Reads a config from URL query pairs. Unknown keys are ignored; every
    /// invalid value falls back to its default and is reported.
    pub fn from_query(pairs: &[(String, String)]) -> (PartitionConfig, Vec<QueryIssue>) {
        super::params::from_query(pairs, FIELDS, PartitionConfig::validate)
    }
}

/// Parses a probability in `[0, 1]` (`[0, 1)` when `one` is false).
fn parse_probability(name: &str, v: &str, one: bool) -> Result<f64, ConfigError> {
    let p = parse_f64(v)?;
    let ok = if one {
        (0.0..=1.0).contains(&p)
    } else {
        (0.0..1.0).contains(&p)
    };
    if !ok {
        let upper = if one { "at most 1" } else { "below 1" };
        return Err(ConfigError::Invalid(format!(
            "{name} probability {p} must be at least 0 and {upper}"
        )));
    }
    Ok(p)
}

/// The URL/CLI fields of the config, in display order.
pub static FIELDS: &[Field<PartitionConfig>] = workload_fields![PartitionConfig;
    Field::u32("nodes", |c| c.nodes, |c, v| c.nodes = v),
    Field::u32("dim", |c| c.dim, |c, v| c.dim = v),
    protocol_field!(),
    Field::u32("fanout", |c| c.fanout, |c, v| c.fanout = v),
    Field::text(
        "strategy",
        |c| c.strategy.clone(),
        |c, v| {
            c.strategy = v.to_string();
            Ok(())
        },
    ),
    Field::u64("seed", |c| c.seed, |c, v| c.seed = v),
    Field::text(
        "phases",
        |c| format_phases(&c.phases),
        |c, v| {
            c.phases = parse_phases(v)?;
            Ok(())
        },
    ),
    Field::text(
        "loss",
        |c| c.loss.to_string(),
        |c, v| parse_probability("loss", v, false).map(|x| c.loss = x),
    ),
    Field::text(
        "duplicate",
        |c| c.duplicate.to_string(),
        |c, v| parse_probability("duplicate", v, true).map(|x| c.duplicate = x),
    ),
    Field::u32("delay_max", |c| c.delay_max, |c, v| c.delay_max = v),
    Field::u32("rounds_max", |c| c.rounds_max, |c, v| c.rounds_max = v),
];

/// Decoding of [`PartitionConfig::phases`]. JSON (and every human-readable
/// format) reads the derived, internally tagged form. [`PartitionShape`] is
/// internally tagged (`{"shape": "mod-groups", "k": 3}`), which serde can
/// only decode through `deserialize_any`, so postcard cannot decode it; for
/// compact formats this reads exactly the bytes the derived `Serialize`
/// writes (start, heal, the shape's name, then its one field if it has one),
/// so encodings — and report fingerprints — are unchanged.
pub(crate) mod phases_de {
    use crate::sim::faults::{PartitionPhase, PartitionShape};
    use serde::de::{self, Deserializer, SeqAccess, Visitor};
    use serde::Deserialize;
    use std::fmt;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PartitionPhase>, D::Error> {
        if d.is_human_readable() {
            Vec::<PartitionPhase>::deserialize(d)
        } else {
            Ok(Vec::<Compact>::deserialize(d)?
                .into_iter()
                .map(|c| c.0)
                .collect())
        }
    }

    struct Compact(PartitionPhase);

    impl<'de> Deserialize<'de> for Compact {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_tuple(3, PhaseVisitor).map(Compact)
        }
    }

    struct PhaseVisitor;

    impl<'de> Visitor<'de> for PhaseVisitor {
        type Value = PartitionPhase;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a partition phase (start, heal, shape)")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PartitionPhase, A::Error> {
            let missing = |i| de::Error::invalid_length(i, &self);
            let start: u32 = seq.next_element()?.ok_or_else(|| missing(0))?;
            let heal: u32 = seq.next_element()?.ok_or_else(|| missing(1))?;
            let shape = seq
                .next_element::<CompactShape>()?
                .ok_or_else(|| missing(2))?
                .0;
            Ok(PartitionPhase { start, heal, shape })
        }
    }

    struct CompactShape(PartitionShape);

    impl<'de> Deserialize<'de> for CompactShape {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_tuple(2, ShapeVisitor).map(CompactShape)
        }
    }

    struct ShapeVisitor;

    impl<'de> Visitor<'de> for ShapeVisitor {
        type Value = PartitionShape;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a partition shape (name, then its parameter if any)")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PartitionShape, A::Error> {
            let name: String = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(0, &self))?;
            let mut arg = || -> Result<u32, A::Error> {
                seq.next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &ShapeVisitor))
            };
            Ok(match name.as_str() {
                "random-halves" => PartitionShape::RandomHalves,
                "groups" => PartitionShape::Groups { k: arg()? },
                "mod-groups" => PartitionShape::ModGroups { k: arg()? },
                "isolated" => PartitionShape::Isolated { node: arg()? },
                "majority-minority" => PartitionShape::MajorityMinority { minority: arg()? },
                "bridge" => PartitionShape::Bridge,
                "asymmetric" => PartitionShape::Asymmetric,
                other => {
                    return Err(de::Error::unknown_variant(
                        other,
                        &[
                            "random-halves",
                            "groups",
                            "mod-groups",
                            "isolated",
                            "majority-minority",
                            "bridge",
                            "asymmetric",
                        ],
                    ))
                }
            })
        }
    }
}

/// One partition (group) at the end of a phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupResult {
    pub members: u32,
    /// All members held one state just before the heal.
    pub converged: bool,
    /// First round (within the phase) at which the group agreed, if it did.
    pub converged_at: Option<u32>,
    /// The members' common state (first member's when they differ).
    pub state_digest: String,
}

/// One phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseResult {
    pub label: String,
    pub start: u32,
    pub heal: u32,
    /// Whether the shape splits the nodes into disjoint partitions (bridge
    /// and asymmetric shapes do not, so "converged internally" does not apply).
    pub disjoint: bool,
    /// Whether every node held the same state when the phase began (then the
    /// partitions cannot differ).
    pub uniform_at_start: bool,
    pub groups: Vec<GroupResult>,
    pub groups_distinct: bool,
    pub messages: u64,
    pub metadata_bytes: u64,
    pub dropped: u64,
}

/// Results of a partition run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartitionResults {
    pub phases: Vec<PhaseResult>,
    /// Rounds from the last heal to global convergence.
    pub rounds_after_heal: u32,
    pub messages_after_heal: u64,
    pub metadata_bytes_after_heal: u64,
    pub run: OrderingResult,
    pub fault_intervals: Vec<FaultInterval>,
    pub oracle_state_digest: String,
    pub oracle_resolved_digest: String,
}

/// The report type of this experiment.
pub type PartitionReport = Report<PartitionConfig, PartitionResults>;

/// Per-phase tracking while the run goes.
struct PhaseWatch {
    layout: PhaseLayout,
    groups: u32,
    converged_at: Vec<Option<u32>>,
    /// Every node's digest in the last round before the heal.
    final_digests: Option<Vec<Digest>>,
    /// Whether all nodes held one state when the phase began (then the
    /// partitions have nothing to diverge on).
    uniform_at_start: bool,
}

fn disjoint(shape: PartitionShape) -> bool {
    !matches!(shape, PartitionShape::Bridge | PartitionShape::Asymmetric)
}

/// The seed lab's partition test: all-pairs merging inside each partition,
/// then all-pairs merging across all nodes (healing). One executor.
fn run_all_pairs(
    config: &PartitionConfig,
    tensors: Option<&FileTensors>,
) -> Result<PartitionReport, LabError> {
    let gossip = config.gossip();
    let workload = Arc::new(Workload::for_run(&gossip, &FaultPlan::default(), tensors)?);
    let mut host = Host::new(&gossip, Arc::clone(&workload), 0, 0..config.nodes)?;
    let phase = &config.phases[0];
    let layout = PhaseLayout::new(phase, 0, config.nodes, config.seed);
    let groups = layout.group_of.iter().copied().max().unwrap_or(0) + 1;
    let mut driver = OrderingDriver::new(schedule(&gossip, 0), 2);
    let inside = host
        .executor_mut()
        .run_all_pairs_where(|i, j| layout.group_of[i as usize] == layout.group_of[j as usize]);
    driver.record(&[inside]);
    let before_heal = driver.digests().to_vec();
    let converged_at: Vec<Option<u32>> = group_digests(&layout, groups, &before_heal)
        .iter()
        .map(|ds| (ds.iter().collect::<BTreeSet<_>>().len() == 1).then_some(1))
        .collect();
    let heal = host.executor_mut().run_all_pairs();
    driver.record(&[heal]);
    let watch = PhaseWatch {
        layout,
        groups,
        converged_at,
        final_digests: Some(before_heal),
        uniform_at_start: false,
    };
    let stats = driver.stats().to_vec();
    let oracle = host.resolver().oracle()?;
    let resolved = host.resolve_all()?;
    let run = ordering_result(&gossip, driver, &resolved);
    let mut phase_result = phase_result(phase, &watch, &stats[..1]);
    phase_result.start = 1;
    phase_result.heal = 2;
    let results = PartitionResults {
        phases: vec![phase_result],
        rounds_after_heal: u32::from(run.converged),
        messages_after_heal: stats[1].messages,
        metadata_bytes_after_heal: stats[1].metadata_bytes,
        run,
        fault_intervals: vec![FaultInterval {
            kind: "partition".into(),
            label: phase.shape.label(),
            start: 1,
            end: 2,
        }],
        oracle_state_digest: oracle.0.to_hex(),
        oracle_resolved_digest: oracle.1.to_hex(),
    };
    let verdict = verdict(&results);
    Ok(Report::new(NAME, config.clone(), results, verdict))
}

/// Runs the experiment natively with `executors` in-process executors
/// (synthetic workloads; see [`run_with_tensors`] for model files).
pub fn run_with(config: &PartitionConfig, executors: u32) -> Result<PartitionReport, LabError> {
    run_with_tensors(config, executors, None)
}

/// [`run_with`] for any workload: a file workload needs its loaded tensors
/// ([`super::convergence::load_files`]), checked against the digests the
/// config records.
pub fn run_with_tensors(
    config: &PartitionConfig,
    executors: u32,
    tensors: Option<&FileTensors>,
) -> Result<PartitionReport, LabError> {
    run_observed(config, executors, tensors, &mut |_| {})
}

/// One gossip round of a partition run, as a view sees it (the network
/// animation); never part of a report.
pub struct RoundView<'a> {
    pub round: u32,
    /// Every node's replica state digest after the round.
    pub digests: &'a [Digest],
    /// Every node: up (not crashed or paused) in the round.
    pub live: Vec<bool>,
    /// Every node's side, while a partition phase is active.
    pub sides: Option<&'a [u32]>,
    pub stats: &'a RoundStats,
}

/// [`run_with_tensors`], showing every gossip round to `view` (the
/// all-pairs schedule has no rounds to show).
pub fn run_observed(
    config: &PartitionConfig,
    executors: u32,
    tensors: Option<&FileTensors>,
    view: &mut dyn FnMut(RoundView<'_>),
) -> Result<PartitionReport, LabError> {
    config.validate()?;
    if config.protocol == Protocol::AllPairs {
        return run_all_pairs(config, tensors);
    }
    let gossip = config.gossip();
    let plan = Arc::new(config.plan());
    let workload = Arc::new(Workload::for_run(&gossip, &plan, tensors)?);
    let mut watches: Vec<PhaseWatch> = config
        .phases
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let layout = PhaseLayout::new(p, k as u32, config.nodes, config.seed);
            let groups = layout.group_of.iter().copied().max().unwrap_or(0) + 1;
            PhaseWatch {
                layout,
                groups,
                converged_at: vec![None; groups as usize],
                final_digests: None,
                uniform_at_start: false,
            }
        })
        .collect();
    let mut observe = |driver: &OrderingDriver, hosts: &[Host]| {
        let round = driver.stats().len() as u32;
        if let Some(stats) = driver.stats().last() {
            let r = stats.round;
            let live = (0..config.nodes)
                .map(|i| {
                    hosts
                        .iter()
                        .map(Host::executor)
                        .find(|e| e.hosts(i))
                        .is_some_and(|e| e.live(r, i))
                })
                .collect();
            let sides = watches
                .iter()
                .find(|w| w.layout.active(r))
                .map(|w| w.layout.group_of.as_slice());
            view(RoundView {
                round: r,
                digests: driver.digests(),
                live,
                sides,
                stats,
            });
        }
        for w in &mut watches {
            if round + 1 == w.layout.start {
                w.uniform_at_start = driver.digests().iter().collect::<BTreeSet<_>>().len() == 1;
            }
            if !w.layout.active(round) {
                continue;
            }
            let by_group = group_digests(&w.layout, w.groups, driver.digests());
            for (g, ds) in by_group.iter().enumerate() {
                if w.converged_at[g].is_none() && ds.iter().collect::<BTreeSet<_>>().len() == 1 {
                    w.converged_at[g] = Some(round - w.layout.start + 1);
                }
            }
            if round + 1 == w.layout.heal {
                w.final_digests = Some(driver.digests().to_vec());
            }
        }
        true
    };
    let (driver, hosts) = drive_native(&gossip, &workload, 0, executors, &plan, &mut observe)?;
    let oracle = hosts[0].resolver().oracle()?;
    let stats = driver.stats().to_vec();
    let mut resolved = Vec::new();
    for h in &hosts {
        resolved.extend(h.resolve_all()?);
    }
    let run = ordering_result(&gossip, driver, &resolved);
    let phases: Vec<PhaseResult> = config
        .phases
        .iter()
        .zip(&watches)
        .map(|(p, w)| phase_result(p, w, &stats))
        .collect();
    let last_heal = plan.quiet_from();
    let after: Vec<&RoundStats> = stats.iter().filter(|s| s.round >= last_heal).collect();
    let results = PartitionResults {
        rounds_after_heal: if run.converged {
            (run.rounds + 1).saturating_sub(last_heal)
        } else {
            0
        },
        messages_after_heal: after.iter().map(|s| s.messages).sum(),
        metadata_bytes_after_heal: after.iter().map(|s| s.metadata_bytes).sum(),
        phases,
        run,
        fault_intervals: plan.intervals(),
        oracle_state_digest: oracle.0.to_hex(),
        oracle_resolved_digest: oracle.1.to_hex(),
    };
    let verdict = verdict(&results);
    Ok(Report::new(NAME, config.clone(), results, verdict))
}

/// Runs the experiment natively with one executor.
pub fn run(config: &PartitionConfig) -> Result<PartitionReport, LabError> {
    run_with(config, 1)
}

fn group_digests(layout: &PhaseLayout, groups: u32, digests: &[Digest]) -> Vec<Vec<Digest>> {
    let mut out = vec![Vec::new(); groups as usize];
    for (i, d) in digests.iter().enumerate() {
        out[layout.group_of[i] as usize].push(*d);
    }
    out
}

fn phase_result(p: &PartitionPhase, w: &PhaseWatch, stats: &[RoundStats]) -> PhaseResult {
    let in_phase: Vec<&RoundStats> = stats
        .iter()
        .filter(|s| s.round >= p.start && s.round < p.heal)
        .collect();
    debug_assert!(!in_phase.is_empty() || stats.is_empty());
    let digests = w.final_digests.clone().unwrap_or_default();
    let by_group = if digests.is_empty() {
        vec![Vec::new(); w.groups as usize]
    } else {
        group_digests(&w.layout, w.groups, &digests)
    };
    let groups: Vec<GroupResult> = by_group
        .iter()
        .enumerate()
        .map(|(g, ds)| GroupResult {
            members: ds.len() as u32,
            converged: !ds.is_empty() && ds.iter().collect::<BTreeSet<_>>().len() == 1,
            converged_at: w.converged_at[g],
            state_digest: ds.first().map_or_else(String::new, Digest::to_hex),
        })
        .collect();
    let distinct: BTreeSet<&String> = groups.iter().map(|g| &g.state_digest).collect();
    PhaseResult {
        label: p.shape.label(),
        start: p.start,
        heal: p.heal,
        disjoint: disjoint(p.shape),
        uniform_at_start: w.uniform_at_start,
        groups_distinct: distinct.len() == groups.len(),
        messages: in_phase.iter().map(|s| s.messages).sum(),
        metadata_bytes: in_phase.iter().map(|s| s.metadata_bytes).sum(),
        dropped: in_phase.iter().map(|s| s.dropped).sum(),
        groups,
    }
}

fn verdict(r: &PartitionResults) -> Verdict {
    let disjoint: Vec<&PhaseResult> = r.phases.iter().filter(|p| p.disjoint).collect();
    let internal = disjoint
        .iter()
        .all(|p| p.groups.iter().all(|g| g.converged));
    let diverging: Vec<&&PhaseResult> = disjoint.iter().filter(|p| !p.uniform_at_start).collect();
    let differ = diverging.iter().all(|p| p.groups_distinct);
    let o = &r.run;
    let oracle =
        o.state_digest == r.oracle_state_digest && o.resolved_digest == r.oracle_resolved_digest;
    let not = |ok: bool| if ok { "" } else { "not " };
    Verdict::from_checks(vec![
        Check {
            name: "each partition converged internally".into(),
            passed: internal,
            detail: format!(
                "in {} disjoint phase(s), every partition {}reached one state before its heal{}",
                disjoint.len(),
                not(internal),
                if internal { "" } else { " (phase too short, or too lossy)" }
            ),
        },
        Check {
            name: "partitions differ".into(),
            passed: differ,
            detail: format!(
                "in {} phase(s) that began from differing states, the partitions {} different states while cut off",
                diverging.len(),
                if differ { "held" } else { "did not hold" }
            ),
        },
        Check {
            name: "global convergence after heal".into(),
            passed: o.converged,
            detail: format!("{}converged {} round(s) after the last heal", not(o.converged), r.rounds_after_heal),
        },
        Check {
            name: "identical resolved models".into(),
            passed: o.distinct_resolved_digests == 1 && o.distinct_state_digests == 1,
            detail: format!("{} state(s), {} model(s) across nodes", o.distinct_state_digests, o.distinct_resolved_digests),
        },
        Check {
            name: "matches the oracle".into(),
            passed: oracle,
            detail: format!("the healed state and model {}equal the join of all contributions", not(oracle)),
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::params::testing::{assert_fields_cover, pairs};

    #[test]
    fn fields_cover_every_config_field() {
        assert_fields_cover::<PartitionConfig>(FIELDS);
    }

    #[test]
    fn query_round_trips() {
        let d = PartitionConfig::default();
        let (back, issues) = PartitionConfig::from_query(&d.to_query());
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(back, d);
        let c = PartitionConfig {
            nodes: 12,
            dim: 8,
            protocol: Protocol::Pull,
            fanout: 2,
            strategy: "ties:paper".into(),
            seed: 7,
            phases: parse_phases(
                "halves@1-10,groups:4@12-20,mod:3@21-30,isolated:2@31-33,minority:3@40-50,bridge@51-60,asymmetric@61-70",
            )
            .unwrap(),
            loss: 0.125,
            duplicate: 0.3,
            delay_max: 3,
            rounds_max: 500,
            workload: WorkloadKind::Gaussian,
            finetune: FineTuneParams {
                rank: 2,
                scale: 0.5,
                sparsity: 0.25,
                overlap: 0.75,
                noise: 0.125,
            },
        };
        assert_ne!(c, d);
        c.validate().unwrap();
        let q = c.to_query();
        assert_eq!(q[0], ("v".into(), "1".into()));
        assert_eq!(q[1], ("exp".into(), NAME.into()));
        let (back, issues) = PartitionConfig::from_query(&q);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(back, c);
    }

    #[test]
    fn bad_query_values_fall_back_and_name_the_key() {
        for (key, value) in [
            ("phases", "nope@1-3"),
            ("loss", "1"),
            ("loss", "NaN"),
            ("duplicate", "-0.5"),
            ("delay_max", "1000"),
            ("nodes", "x"),
            ("protocol", "smoke"),
            ("strategy", "no_such_strategy"),
            ("workload", "files"),
            ("workload", "uniform"),
            ("ft_rank", "0"),
            ("ft_scale", "NaN"),
        ] {
            let (c, issues) = PartitionConfig::from_query(&pairs(&[(key, value), ("dim", "8")]));
            assert_eq!(issues.len(), 1, "{key}={value}: {issues:?}");
            assert_eq!(issues[0].key, key, "{issues:?}");
            let default = FIELDS
                .iter()
                .find(|f| f.key == key)
                .unwrap()
                .get(&PartitionConfig::default());
            let field = FIELDS.iter().find(|f| f.key == key).unwrap();
            assert_eq!(field.get(&c), default, "{key}");
            assert_eq!(c.dim, 8);
        }
    }
}
