//! Experiment E4 — trust: signed contributions, proof-carrying operations,
//! self-certifying evidence and Byzantine peers (`shared/spec/trust.md`).
//!
//! N roster members each hold an Ed25519 identity derived from the seed.
//! Honest members publish one signed contribution (a synthetic `dim × dim`
//! tensor: a fine-tune of a shared base by default, or plain Gaussian — the
//! same generator as the other experiments, [`Synthetic`]) through [`TrustNode::publish`], with its 128-byte PCO and a signed
//! tensor attestation. Byzantine members follow one behaviour each:
//!
//! - **equivocator** — signs two operations for the same `(model_id,
//!   version)` with different tensors (dots 1 and 2) and sends one or the
//!   other, alternating over its successive messages;
//! - **corrupter** — signs a tensor digest but attests and sends other bytes;
//! - **forger** — signs operations claiming an honest member's identity with
//!   its own key, and fabricates equivocation evidence against that member;
//! - **replayer** — publishes honestly, then re-sends every operation it has
//!   ever admitted to its peers every round;
//! - **outsider** (Sybil) — signs operations and PCOs with identities that are
//!   not on the roster;
//! - **silent** — publishes and gossips in round 0, then never sends again.
//!
//! Each round every sending node contacts `fanout` peers chosen by
//! [`Schedule::peers`] (push, pull or push-pull). An honest message carries
//! the admitted operations (with PCO and tensor) and the evidence records the
//! receiver's summary lacks (anti-entropy against the receiver's state at the
//! start of the round). Every node applies its inbox in
//! [`Schedule::delivery_order`]: PCOs first, in one batch per verification
//! level ([`Verifier::ingest_pco_batch`]), then the remaining operations in
//! one batch ([`Verifier::ingest_ops_batch`]), then tensor checks and
//! evidence. Only operations the verifier accepted enter the node's
//! contribution rows; drops are counted by reason and never become evidence.
//!
//! The run stops when every honest node and every replayer (the full relays)
//! has held the same admitted operations, verified tensors and trust root
//! for two consecutive rounds, and every item of the equivocators and
//! corrupters has reached a relay at least once (or at `rounds_max`). The report has the detection latency per Byzantine
//! member, false accusations, the honest trust roots and the largest score
//! divergence between honest nodes (a number, expected exactly 0.0), the
//! honest resolved digests, and the merged model's deviation from the
//! honest-only result with and without trust weighting.
//!
//! Pure: no clock, no I/O, no threads; every choice comes from the seed.

use super::convergence::{
    impl_has_workload, validate_workload, ConvergenceConfig, FileTensors, FineTuneParams,
    HasWorkload, Synthetic, Workload, WorkloadKind,
};
use super::params::{check_fanout, parse_f64, range, workload_fields, Field, QueryIssue};
use super::partition::{format_phases, parse_phases, PHASES_MAX};
use crate::crdt::{ConflictPolicy, Contribution, ContributionSet, Dot, Hlc, Row, VersionVector};
use crate::error::{ConfigError, LabError};
use crate::hash::Digest;
use crate::report::{Check, Report, Verdict};
use crate::rng::{Purpose, Stream};
use crate::sim::faults::{
    FaultInterval, FaultPlan, LinkFate, LinkFaults, PartitionPhase, PhaseLayout, DELAY_ROUNDS_MAX,
};
use crate::sim::{Protocol, Schedule};
use crate::strategy::{self, merge_by_name, MergeInputs, Params};
use crate::tensor::Tensor;
use crate::trust::reference::all_to_all_contrast;
use crate::trust::{
    trust_weighted_rows, AuthOp, Dimension, Evidence, Identity, Level, LogFrontier, OpBody,
    OpStatus, PcoBundle, PcoError, PcoVerdict, Roster, SignedOp, TensorAttestation, TensorOutcome,
    TrustNode, TrustState,
};
use crate::workload::model_id;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::sync::Arc;

/// Experiment name used in reports, URLs and the CLI.
pub const NAME: &str = "trust";
/// Fewest roster members.
pub const NODES_MIN: u32 = 3;
/// Most roster members (every node verifies every operation: quadratic work).
pub const NODES_MAX: u32 = 200;
/// Largest tensor side.
pub const DIM_MAX: u32 = 64;
/// Most gossip rounds.
pub const ROUNDS_MAX: u32 = 1000;
/// Largest seed (2^53 − 1, so it survives JavaScript numbers and URLs).
pub const SEED_MAX: u64 = (1 << 53) - 1;
/// Sybil identities each outsider signs with.
pub const SYBILS_PER_OUTSIDER: u32 = 2;
/// Consecutive rounds the honest nodes must agree before the run stops.
pub const QUIET_ROUNDS: u32 = 2;
/// How much a Byzantine tensor is scaled (so that its effect is visible).
const POISON_SCALE: f64 = 10.0;
/// Conflict policy of every contribution set in this experiment.
const POLICY: ConflictPolicy = ConflictPolicy::LastWriterWins;

/// What a roster member does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    Honest,
    Equivocator,
    Corrupter,
    Forger,
    Replayer,
    Outsider,
    Silent,
}

impl Behaviour {
    /// The six Byzantine behaviours, in report order.
    pub const BYZANTINE: [Behaviour; 6] = [
        Behaviour::Equivocator,
        Behaviour::Corrupter,
        Behaviour::Forger,
        Behaviour::Replayer,
        Behaviour::Outsider,
        Behaviour::Silent,
    ];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Behaviour::Honest => "honest",
            Behaviour::Equivocator => "equivocator",
            Behaviour::Corrupter => "corrupter",
            Behaviour::Forger => "forger",
            Behaviour::Replayer => "replayer",
            Behaviour::Outsider => "outsider",
            Behaviour::Silent => "silent",
        }
    }

    /// A comma-separated list of Byzantine behaviour names (`all`: the six),
    /// as `--mix` and the `mix` URL parameter take it.
    pub fn parse_mix(text: &str) -> Result<Vec<Behaviour>, ConfigError> {
        if text.trim() == "all" {
            return Ok(Behaviour::BYZANTINE.to_vec());
        }
        text.split(',')
            .map(|name| {
                let name = name.trim();
                Behaviour::BYZANTINE
                    .into_iter()
                    .find(|b| b.name() == name)
                    .ok_or_else(|| {
                        ConfigError::Invalid(format!(
                            "unknown Byzantine behaviour '{name}' (equivocator, corrupter, forger, replayer, outsider, silent or all)"
                        ))
                    })
            })
            .collect()
    }

    /// Whether the behaviour leaves self-certifying evidence (a provable
    /// offence by the member itself). Forgeries, replays, outsiders and
    /// silence are dropped or harmless but prove nothing about a member.
    pub fn produces_evidence(self) -> bool {
        matches!(self, Behaviour::Equivocator | Behaviour::Corrupter)
    }

    /// Whether the member's own contribution is legitimate content (part of
    /// the honest-only reference model).
    fn legit_content(self) -> bool {
        matches!(
            self,
            Behaviour::Honest | Behaviour::Replayer | Behaviour::Silent
        )
    }
}

/// The faults of a trust run, from the simulator's fault vocabulary
/// ([`crate::sim::faults`]): partition phases (written as in the partition
/// experiment, [`parse_phases`]) and per-link message loss, duplication and
/// delay from seeded streams. None by default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrustFaults {
    /// Partition phases (`mod:2@1-20`, …); a message that crosses an active
    /// partition is lost, and peers are chosen among the reachable nodes.
    #[serde(deserialize_with = "super::partition::phases_de::deserialize")]
    pub phases: Vec<PartitionPhase>,
    /// Probability a message is lost.
    pub loss: f64,
    /// Probability a message is delivered twice.
    pub duplicate: f64,
    /// Each copy is delayed by a uniform 0…delay_max rounds (reordering).
    pub delay_max: u32,
    /// Message faults apply in rounds 1 … link_until − 1 (0: every round).
    pub link_until: u32,
}

impl TrustFaults {
    /// Whether nothing goes wrong (the default).
    pub fn is_none(&self) -> bool {
        *self == TrustFaults::default()
    }

    fn has_link(&self) -> bool {
        self.loss > 0.0 || self.duplicate > 0.0 || self.delay_max > 0
    }

    /// The fault plan these settings describe for a run of `rounds_max`
    /// rounds (rounds numbered from 1).
    pub fn plan(&self, rounds_max: u32) -> FaultPlan {
        let link = self.has_link().then(|| LinkFaults {
            start: 1,
            end: if self.link_until == 0 {
                rounds_max + 1
            } else {
                self.link_until
            },
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

    /// The round from which every partition has healed (1: none).
    pub fn healed_from(&self) -> u32 {
        self.phases.iter().map(|p| p.heal).max().unwrap_or(1)
    }

    /// Checks every setting; errors name the parameter.
    pub fn validate(&self, nodes: u32, rounds_max: u32) -> Result<(), ConfigError> {
        if !(self.loss.is_finite() && (0.0..1.0).contains(&self.loss)) {
            return Err(ConfigError::Invalid(format!(
                "loss: probability {} must be at least 0 and below 1",
                self.loss
            )));
        }
        if !(self.duplicate.is_finite() && (0.0..=1.0).contains(&self.duplicate)) {
            return Err(ConfigError::Invalid(format!(
                "duplicate: probability {} must be at least 0 and at most 1",
                self.duplicate
            )));
        }
        range(
            "delay_max",
            self.delay_max as u64,
            0,
            DELAY_ROUNDS_MAX as u64,
        )?;
        range(
            "link_until",
            self.link_until as u64,
            0,
            ROUNDS_MAX as u64 + 1,
        )?;
        if self.link_until == 1 {
            return Err(ConfigError::Invalid(
                "link_until: message faults must last at least one round (2 or more; 0 for every round)".into(),
            ));
        }
        if self.phases.len() > PHASES_MAX {
            return Err(ConfigError::Invalid(format!(
                "phases: at most {PHASES_MAX} partition phases, got {}",
                self.phases.len()
            )));
        }
        self.plan(rounds_max)
            .validate(nodes)
            .map_err(|e| ConfigError::Invalid(format!("phases: {e}")))
    }
}

/// Reads `phases` as the partition experiment writes them; `none` or
/// nothing is no partition.
pub fn parse_trust_phases(text: &str) -> Result<Vec<PartitionPhase>, ConfigError> {
    match text.trim() {
        "" | "none" => Ok(Vec::new()),
        t => parse_phases(t),
    }
}

/// Writes phases for [`parse_trust_phases`] (`none` when there are none).
pub fn format_trust_phases(phases: &[PartitionPhase]) -> String {
    if phases.is_empty() {
        "none".into()
    } else {
        format_phases(phases)
    }
}

/// The full configuration of a trust run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrustConfig {
    /// Roster members (honest + Byzantine).
    pub nodes: u32,
    /// Tensor side: each contribution is a `dim × dim` tensor.
    pub dim: u32,
    pub equivocators: u32,
    pub corrupters: u32,
    pub forgers: u32,
    pub replayers: u32,
    pub outsiders: u32,
    pub silent: u32,
    /// push, pull or push-pull (all-pairs is not a gossip protocol).
    pub protocol: Protocol,
    /// Peers each node contacts per round.
    pub fanout: u32,
    pub seed: u64,
    pub rounds_max: u32,
    /// Merge strategy (Layer 2).
    pub strategy: String,
    /// Also run the *reference semantics* contrast model (0.5 default,
    /// homeostasis) and report its divergence, clearly labelled.
    pub reference_contrast: bool,
    /// What the members contribute: `fine-tune` (default), `gaussian`, or
    /// model files (member `i` contributes file `i mod F`; Byzantine
    /// members derive their poisoned tensors from the files' tensors).
    pub workload: WorkloadKind,
    /// Parameters of the fine-tune workload (ignored otherwise).
    pub finetune: FineTuneParams,
    /// Partitions and message faults (none by default).
    pub faults: TrustFaults,
}

impl_has_workload!(TrustConfig);

impl Default for TrustConfig {
    /// 10 members, one of each Byzantine behaviour, 8×8 tensors, push-pull
    /// with fan-out 2.
    fn default() -> Self {
        TrustConfig {
            nodes: 10,
            dim: 8,
            equivocators: 1,
            corrupters: 1,
            forgers: 1,
            replayers: 1,
            outsiders: 1,
            silent: 1,
            protocol: Protocol::PushPull,
            fanout: 2,
            seed: 42,
            rounds_max: 100,
            strategy: "weight_average".into(),
            reference_contrast: false,
            workload: WorkloadKind::default(),
            finetune: FineTuneParams::default(),
            faults: TrustFaults::default(),
        }
    }
}

/// Parses a gossip protocol name for this experiment (push, pull or
/// push-pull).
pub fn parse_protocol(name: &str) -> Result<Protocol, ConfigError> {
    let p: Protocol = name.parse()?;
    if p == Protocol::AllPairs {
        return Err(ConfigError::Invalid(
            "the trust experiment gossips: use push, pull or push-pull".into(),
        ));
    }
    Ok(p)
}

impl TrustConfig {
    /// Byzantine members in total.
    pub fn byzantine(&self) -> u64 {
        [
            self.equivocators,
            self.corrupters,
            self.forgers,
            self.replayers,
            self.outsiders,
            self.silent,
        ]
        .iter()
        .map(|&c| c as u64)
        .sum()
    }

    /// Honest members (`nodes − byzantine`, saturating).
    pub fn honest(&self) -> u64 {
        (self.nodes as u64).saturating_sub(self.byzantine())
    }

    /// How many members follow `b`.
    pub fn count(&self, b: Behaviour) -> u32 {
        match b {
            Behaviour::Honest => self.honest() as u32,
            Behaviour::Equivocator => self.equivocators,
            Behaviour::Corrupter => self.corrupters,
            Behaviour::Forger => self.forgers,
            Behaviour::Replayer => self.replayers,
            Behaviour::Outsider => self.outsiders,
            Behaviour::Silent => self.silent,
        }
    }

    /// Sets the Byzantine counts from a share of the roster: `round(fraction
    /// × nodes)` members, dealt one at a time over `mix` in the order given
    /// (so the first behaviours get one more when the total does not divide
    /// evenly); behaviours not in `mix` get none. The counts stay the
    /// canonical config: a report and its permalink record them, not the
    /// fraction.
    pub fn set_byzantine_fraction(
        &mut self,
        fraction: f64,
        mix: &[Behaviour],
    ) -> Result<(), ConfigError> {
        if !(0.0..1.0).contains(&fraction) {
            return Err(ConfigError::Invalid(format!(
                "Byzantine fraction {fraction} must be at least 0 and below 1 (one member must be honest)"
            )));
        }
        if mix.is_empty() || mix.contains(&Behaviour::Honest) {
            return Err(ConfigError::Invalid(
                "the Byzantine mix names one or more of equivocator, corrupter, forger, replayer, outsider, silent".into(),
            ));
        }
        let total = (fraction * self.nodes as f64).round() as u32;
        for b in Behaviour::BYZANTINE {
            *self.count_mut(b) = 0;
        }
        for k in 0..total {
            *self.count_mut(mix[k as usize % mix.len()]) += 1;
        }
        Ok(())
    }

    /// The count of `b`, to set it.
    fn count_mut(&mut self, b: Behaviour) -> &mut u32 {
        match b {
            Behaviour::Honest => unreachable!("honest members are the rest"),
            Behaviour::Equivocator => &mut self.equivocators,
            Behaviour::Corrupter => &mut self.corrupters,
            Behaviour::Forger => &mut self.forgers,
            Behaviour::Replayer => &mut self.replayers,
            Behaviour::Outsider => &mut self.outsiders,
            Behaviour::Silent => &mut self.silent,
        }
    }

    /// Checks every field against its limit.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_base()?;
        self.faults.validate(self.nodes, self.rounds_max)
    }

    /// [`TrustConfig::validate`] without the faults.
    fn validate_base(&self) -> Result<(), ConfigError> {
        range(
            "nodes",
            self.nodes as u64,
            NODES_MIN as u64,
            NODES_MAX as u64,
        )?;
        range("dim", self.dim as u64, 1, DIM_MAX as u64)?;
        range("rounds_max", self.rounds_max as u64, 1, ROUNDS_MAX as u64)?;
        range("seed", self.seed, 0, SEED_MAX)?;
        if self.protocol == Protocol::AllPairs {
            return Err(ConfigError::Invalid(
                "the trust experiment gossips: use push, pull or push-pull".into(),
            ));
        }
        check_fanout(self.fanout, self.nodes)?;
        range(
            "byzantine members",
            self.byzantine(),
            0,
            self.nodes as u64 - 1,
        )?;
        if strategy::find(&self.strategy).is_none() {
            return Err(ConfigError::UnknownStrategy(self.strategy.clone()));
        }
        validate_workload(&self.workload, &self.finetune, self.nodes, self.dim)
    }

    /// The generator of every tensor in the run (validated configs only).
    fn generator(&self) -> Result<Synthetic, ConfigError> {
        Synthetic::new(&self.workload, &self.finetune, self.seed, self.dim)
    }

    /// The equivalent `lab-cli` command line.
    pub fn cli_command(&self) -> String {
        format!(
            "lab-cli trust --nodes {} --dim {} --equivocators {} --corrupters {} --forgers {} --replayers {} --outsiders {} --silent {} --protocol {} --fanout {} --seed {} --rounds-max {} --strategy {}{}",
            self.nodes,
            self.dim,
            self.equivocators,
            self.corrupters,
            self.forgers,
            self.replayers,
            self.outsiders,
            self.silent,
            self.protocol.name(),
            self.fanout,
            self.seed,
            self.rounds_max,
            self.strategy,
            if self.reference_contrast {
                " --reference-contrast"
            } else {
                ""
            }
        ) + &self.fault_flags()
            + &self.workload_flags()
    }

    /// The `lab-cli` flags of the faults (none without faults).
    fn fault_flags(&self) -> String {
        let f = &self.faults;
        let mut out = String::new();
        if !f.phases.is_empty() {
            out += &format!(" --phases {}", format_phases(&f.phases));
        }
        if f.has_link() || f.link_until != 0 {
            out += &format!(
                " --loss {} --duplicate {} --delay-max {} --link-until {}",
                f.loss, f.duplicate, f.delay_max, f.link_until
            );
        }
        out
    }

    /// Every fault interval (partitions, message faults), for the report
    /// and chart shading; rounds numbered from 1.
    pub fn fault_intervals(&self) -> Vec<FaultInterval> {
        self.faults.plan(self.rounds_max).intervals()
    }
}

impl TrustConfig {
    /// The config as URL query pairs (schema `v=1`).
    pub fn to_query(&self) -> Vec<(String, String)> {
        super::params::to_query(NAME, FIELDS, self)
    }

    /// Reads a config from URL query pairs. Unknown keys are ignored; every
    /// invalid value falls back to its default and is reported.
    pub fn from_query(pairs: &[(String, String)]) -> (TrustConfig, Vec<QueryIssue>) {
        let (mut config, mut issues) =
            super::params::from_query(pairs, FIELDS, TrustConfig::validate_base);
        // Then the faults (they depend on the node count): the parameter at
        // fault is named and reset to its default.
        let defaults = TrustConfig::default();
        for _ in 0..FAULT_KEYS.len() {
            let Err(err) = config.faults.validate(config.nodes, config.rounds_max) else {
                break;
            };
            let message = err.to_string();
            let key = FAULT_KEYS
                .into_iter()
                .find(|k| message.starts_with(k))
                .unwrap_or("phases");
            let field = FIELDS.iter().find(|f| f.key == key).expect("a fault field");
            let bad = field.get(&config);
            field
                .set(&mut config, &field.get(&defaults))
                .expect("defaults are valid");
            issues.push(QueryIssue {
                key: key.into(),
                value: bad,
                message: format!("{message}; default used"),
            });
        }
        (config, issues)
    }
}

/// The query keys of the faults.
pub const FAULT_KEYS: [&str; 5] = ["phases", "loss", "duplicate", "delay_max", "link_until"];

/// The URL/CLI fields of the config, in display order.
pub static FIELDS: &[Field<TrustConfig>] = workload_fields![TrustConfig;
    Field::u32("nodes", |c| c.nodes, |c, v| c.nodes = v),
    Field::u32("dim", |c| c.dim, |c, v| c.dim = v),
    Field::u32(
        "equivocators",
        |c| c.equivocators,
        |c, v| c.equivocators = v,
    ),
    Field::u32("corrupters", |c| c.corrupters, |c, v| c.corrupters = v),
    Field::u32("forgers", |c| c.forgers, |c, v| c.forgers = v),
    Field::u32("replayers", |c| c.replayers, |c, v| c.replayers = v),
    Field::u32("outsiders", |c| c.outsiders, |c, v| c.outsiders = v),
    Field::u32("silent", |c| c.silent, |c, v| c.silent = v),
    Field::text(
        "protocol",
        |c| c.protocol.name().into(),
        |c, v| {
            c.protocol = parse_protocol(v)?;
            Ok(())
        },
    ),
    Field::u32("fanout", |c| c.fanout, |c, v| c.fanout = v),
    Field::u64("seed", |c| c.seed, |c, v| c.seed = v),
    Field::u32("rounds_max", |c| c.rounds_max, |c, v| c.rounds_max = v),
    Field::text(
        "strategy",
        |c| c.strategy.clone(),
        |c, v| {
            c.strategy = v.to_string();
            Ok(())
        },
    ),
    Field::text(
        "reference_contrast",
        |c| c.reference_contrast.to_string(),
        |c, v| {
            c.reference_contrast = match v {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(ConfigError::Invalid(format!("'{v}' is not true or false"))),
            };
            Ok(())
        },
    ),
    Field::text(
        "phases",
        |c| format_trust_phases(&c.faults.phases),
        |c, v| {
            c.faults.phases = parse_trust_phases(v)?;
            Ok(())
        },
    ),
    Field::text(
        "loss",
        |c| c.faults.loss.to_string(),
        |c, v| parse_probability("loss", v, false).map(|x| c.faults.loss = x),
    ),
    Field::text(
        "duplicate",
        |c| c.faults.duplicate.to_string(),
        |c, v| parse_probability("duplicate", v, true).map(|x| c.faults.duplicate = x),
    ),
    Field::u32(
        "delay_max",
        |c| c.faults.delay_max,
        |c, v| c.faults.delay_max = v,
    ),
    Field::u32(
        "link_until",
        |c| c.faults.link_until,
        |c, v| c.faults.link_until = v,
    ),
];

/// A probability in `[0, 1]` (`[0, 1)` when `one` is false).
fn parse_probability(name: &str, v: &str, one: bool) -> Result<f64, ConfigError> {
    let p = parse_f64(v)?;
    let ok = if one {
        (0.0..=1.0).contains(&p)
    } else {
        (0.0..1.0).contains(&p)
    };
    if ok {
        Ok(p)
    } else {
        Err(ConfigError::Invalid(format!(
            "{name} probability {p} must be at least 0 and {}",
            if one { "at most 1" } else { "below 1" }
        )))
    }
}

// ---------------------------------------------------------------------------
// Results

/// One member and its behaviour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub node: u32,
    pub behaviour: Behaviour,
}

/// One evidence record some honest node held at the end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceItem {
    /// Record digest (hex).
    pub digest: String,
    pub accused: u32,
    /// equivocation, invalid-content, dot-reuse or context-behind-dot.
    pub kind: String,
    /// First round (1-based) after which some honest node held it.
    pub first_round: u32,
    /// First round after which every honest node held it (None: never).
    pub all_round: Option<u32>,
}

/// Detection of one Byzantine member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub node: u32,
    pub behaviour: Behaviour,
    /// Whether the behaviour can leave evidence at all.
    pub produces_evidence: bool,
    /// Whether its offending messages reached honest nodes.
    pub manifested: bool,
    /// Honest nodes holding evidence against it at the end.
    pub detected_by: u32,
    /// Rounds until every honest node held evidence against it.
    pub latency_rounds: Option<u32>,
    /// What happened, in words.
    pub note: String,
}

/// Messages dropped by honest nodes, by reason (summed over honest nodes).
/// None of these produced evidence.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Drops {
    pub bad_signature: u64,
    pub unknown_identity: u64,
    pub replayed: u64,
    pub bad_evidence: u64,
    pub malformed: u64,
    pub unbound_claims: u64,
    pub missing_history: u64,
    pub root_mismatch: u64,
    pub not_minimal: u64,
    pub causality: u64,
    pub distrusted: u64,
    pub quarantined: u64,
    pub relay_corrupted: u64,
    pub ledger_full: u64,
    pub evidence_overflow: u64,
    /// The same operation delivered twice within one round's inbox
    /// (collapsed before verification; not a replay attack).
    pub duplicate_in_inbox: u64,
}

/// Per-round figures for charts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundStat {
    /// 1-based round number.
    pub round: u32,
    /// Messages with a payload sent this round.
    pub messages: u64,
    /// Fraction of honest nodes holding each evidence item (aligned with
    /// `TrustResults::evidence`) after this round.
    pub evidence_held: Vec<f64>,
    /// Mean overall trust of each member (index = node id) over the honest
    /// observers, after this round.
    pub mean_trust: Vec<f64>,
}

/// The reference-semantics contrast (NOT the lab's design).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferenceContrast {
    /// Always says what this is.
    pub label: String,
    pub nodes: u32,
    pub orders: u32,
    /// With homeostasis (crdt-merge ≤ 0.9.8): distinct trust roots.
    pub distinct_roots_homeostasis: u64,
    /// With homeostasis: largest per-dimension divergence.
    pub max_divergence_homeostasis: f64,
    /// Without homeostasis (0.11): distinct trust roots.
    pub distinct_roots_plain: u64,
    /// Without homeostasis: largest per-dimension divergence.
    pub max_divergence_plain: f64,
}

/// Everything a trust run measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrustResults {
    pub members: Vec<Member>,
    pub honest_nodes: u32,
    /// Whether honest nodes agreed for `QUIET_ROUNDS` rounds before `rounds_max`.
    pub converged: bool,
    /// Round after which the honest nodes agreed (or rounds run).
    pub rounds: u32,
    /// Rounds actually simulated.
    pub rounds_run: u32,
    pub messages: u64,
    pub ops_sent: u64,
    pub evidence_sent: u64,
    /// Signed operations verified in batches / number of batches.
    pub ops_verified: u64,
    pub op_batches: u64,
    /// PCOs verified (batched per level) / applied / quarantined.
    pub pcos_verified: u64,
    pub pcos_applied: u64,
    pub pcos_quarantined: u64,
    pub evidence: Vec<EvidenceItem>,
    pub detection: Vec<Detection>,
    /// Evidence records against members with no provable offence, summed
    /// over honest nodes. Must be 0.
    pub false_accusations: u64,
    /// The honest nodes' trust roots, distinct (hex). One expected.
    pub trust_roots: Vec<String>,
    /// max |score_i − score_j| over honest pairs, members and dimensions.
    pub max_trust_divergence: f64,
    /// Honest nodes' trust-weighted resolved digests, distinct (hex).
    pub resolved_digests: Vec<String>,
    /// Honest nodes' unweighted resolved digests, distinct (hex).
    pub unweighted_digests: Vec<String>,
    /// Members excluded from the trust-weighted merge (at honest node 0).
    pub excluded: Vec<u32>,
    /// Contributions in the honest-only reference model: those of honest
    /// members, replayers and silent members that reached the honest nodes.
    pub reference_members: u32,
    /// max |merged − honest-only| / max |honest-only|, trust-weighted.
    pub deviation_weighted: f64,
    /// The same without trust weighting, tensors as delivered (what a node
    /// without the trust layer's content check and weighting merges).
    pub deviation_unweighted: f64,
    pub drops: Drops,
    pub per_round: Vec<RoundStat>,
    /// Present only when the config asked for it. Always serialized (also
    /// when `None`) so that postcard can decode the results.
    #[serde(default)]
    pub reference_contrast: Option<ReferenceContrast>,
}

/// The report of a trust run.
pub type TrustReport = Report<TrustConfig, TrustResults>;

// ---------------------------------------------------------------------------
// Simulation state

/// One gossiped operation: the signed op, optionally its PCO, optionally
/// the tensor with the originator's attestation.
#[derive(Debug)]
struct Item {
    digest: Digest,
    op: SignedOp,
    pco: Option<PcoBundle>,
    tensor: Option<(TensorAttestation, Arc<Tensor>)>,
}

/// One message: operations and evidence records.
type Message = (Vec<Arc<Item>>, Vec<Evidence>);

struct Node {
    role: Behaviour,
    trust: TrustNode,
    /// Admitted operations by op digest: the node's contribution rows.
    admitted: BTreeMap<Digest, Arc<Item>>,
    /// Tensors whose bytes hash to the signed digest.
    valid: BTreeMap<Digest, Arc<Tensor>>,
    /// Signed tensor digest → first tensor delivered for it (no content check).
    delivered: BTreeMap<Digest, Arc<Tensor>>,
    /// Items this node injects itself.
    own: Vec<Arc<Item>>,
    /// Fabricated evidence this node sends (forgers).
    junk: Vec<Evidence>,
    drops_dup: u64,
}

struct Counters {
    messages: u64,
    ops_sent: u64,
    evidence_sent: u64,
    ops_verified: u64,
    op_batches: u64,
    pcos_verified: u64,
    pcos_applied: u64,
    pcos_quarantined: u64,
}

/// Most delayed messages in flight at once.
const IN_FLIGHT_MAX: usize = 1 << 22;

/// What the faults did to the messages sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct FaultCounters {
    /// Lost because they crossed an active partition.
    partitioned: u64,
    /// Lost on the link.
    lost: u64,
    /// Delivered twice.
    duplicated: u64,
    /// Copies delivered one or more rounds late.
    delayed: u64,
}

fn item(
    op: SignedOp,
    pco: Option<PcoBundle>,
    tensor: Option<(TensorAttestation, Tensor)>,
) -> Arc<Item> {
    Arc::new(Item {
        digest: op.digest(),
        op,
        pco,
        tensor: tensor.map(|(a, t)| (a, Arc::new(t))),
    })
}

/// Where the members' tensors come from: the synthetic generator, or the
/// model files (node `i` contributes file `i mod F`, as in the other
/// experiments; checked against the digests the config records).
enum Source {
    Synthetic(Synthetic),
    /// The checked file workload and the node count.
    Files(Workload, u32),
}

impl Source {
    fn new(config: &TrustConfig, tensors: Option<&FileTensors>) -> Result<Source, LabError> {
        if config.workload.files().is_none() {
            return Ok(Source::Synthetic(config.generator()?));
        }
        let gossip = ConvergenceConfig {
            nodes: config.nodes,
            dim: config.dim,
            orderings: 1,
            protocol: config.protocol,
            fanout: config.fanout,
            strategy: config.strategy.clone(),
            seed: config.seed,
            rounds_max: config.rounds_max,
            workload: config.workload.clone(),
            finetune: config.finetune,
            ..ConvergenceConfig::default()
        };
        Ok(Source::Files(
            Workload::for_run(&gossip, &FaultPlan::default(), tensors)?,
            config.nodes,
        ))
    }

    /// A legitimate contribution: `node`'s first version.
    fn honest(&self, node: u32) -> Tensor {
        match self {
            Source::Synthetic(s) => s.tensor(node, 1),
            Source::Files(w, _) => w.node_tensor(node).clone(),
        }
    }

    /// A Byzantine tensor: version `version` of `node`'s contribution,
    /// scaled (so that its effect is visible). With model files: the
    /// tensor of file `node mod F` (`node` may be a Sybil id beyond the
    /// roster), scaled, plus the version (so the versions differ).
    fn poisoned(&self, node: u32, version: u32) -> Tensor {
        match self {
            Source::Synthetic(s) => {
                let t = s.tensor(node, version);
                let data = t.data().iter().map(|x| x * POISON_SCALE + 1.0).collect();
                t.with_data(data)
            }
            Source::Files(w, nodes) => {
                let t = w.node_tensor(node % nodes);
                let data = t
                    .data()
                    .iter()
                    .map(|x| x * POISON_SCALE + version as f64)
                    .collect();
                t.with_data(data)
            }
        }
    }

    /// The base model (all zeros for model files without a base).
    fn base(&self) -> Tensor {
        match self {
            Source::Synthetic(s) => s.base(),
            Source::Files(w, _) => w.base_tensor().clone(),
        }
    }
}

fn body(node: u32, id: &str, version: u32, tensor: Digest, counter: u64, time: u64) -> OpBody {
    OpBody {
        originator: node,
        model_id: id.to_string(),
        version,
        weight: 1.0,
        tensor,
        dot: Dot {
            replica: node,
            counter,
        },
        stamp: Hlc {
            time,
            logical: 0,
            node,
        },
    }
}

fn wire(e: impl std::fmt::Display) -> LabError {
    LabError::Wire(e.to_string())
}

/// Role of each member: counts from the config, positions shuffled by the seed.
fn assign_roles(c: &TrustConfig) -> Vec<Behaviour> {
    let mut roles = Vec::with_capacity(c.nodes as usize);
    for b in std::iter::once(Behaviour::Honest).chain(Behaviour::BYZANTINE) {
        for _ in 0..c.count(b) {
            roles.push(b);
        }
    }
    let mut s = Stream::keyed(c.seed, Purpose::Other, &[], b"trust-experiment roles");
    s.shuffle(&mut roles);
    roles
}

/// What a trust run reports after each round (see [`run_observed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustTick {
    /// The round just simulated (1-based).
    pub round: u32,
    /// The round limit (the run may stop earlier, once honest nodes agree).
    pub rounds_max: u32,
    /// Honest nodes.
    pub honest: u32,
    /// Distinct evidence records at least one honest node holds.
    pub evidence_known: u32,
    /// Of those, the records every honest node holds.
    pub evidence_everywhere: u32,
}

/// Runs the trust experiment (synthetic workloads; see
/// [`run_with_tensors`] for model files).
pub fn run(config: &TrustConfig) -> Result<TrustReport, LabError> {
    run_observed_with(config, None, &mut |_| ControlFlow::Continue(()))
}

/// Runs the trust experiment on the tensors of a model-file workload
/// (loaded from the files the config records, checked against their
/// digests); `None` for synthetic workloads.
pub fn run_with_tensors(
    config: &TrustConfig,
    tensors: Option<&FileTensors>,
) -> Result<TrustReport, LabError> {
    run_observed_with(config, tensors, &mut |_| ControlFlow::Continue(()))
}

/// [`run`], calling `observe` after every simulated round (so a caller can
/// show progress); the report is the one [`run`] returns. When `observe`
/// breaks, the run stops there with [`LabError::Cancelled`].
pub fn run_observed(
    config: &TrustConfig,
    observe: &mut dyn FnMut(TrustTick) -> ControlFlow<()>,
) -> Result<TrustReport, LabError> {
    run_observed_with(config, None, observe)
}

/// [`run_observed`] with the tensors of a model-file workload.
pub fn run_observed_with(
    config: &TrustConfig,
    tensors: Option<&FileTensors>,
    observe: &mut dyn FnMut(TrustTick) -> ControlFlow<()>,
) -> Result<TrustReport, LabError> {
    config.validate()?;
    let synth = Source::new(config, tensors)?;
    let n = config.nodes;
    let roles = assign_roles(config);
    let honest: Vec<usize> = (0..n as usize)
        .filter(|&i| roles[i] == Behaviour::Honest)
        .collect();
    let (roster, ids) = Roster::derive(config.seed, n).map_err(wire)?;
    let roster = Arc::new(roster);
    let mut nodes: Vec<Node> = Vec::with_capacity(n as usize);
    // Identities are moved into the nodes; keep a second copy for Byzantine signing.
    let mut contributions: BTreeMap<u32, (Contribution, Tensor)> = BTreeMap::new();
    let victim = honest[0] as u32;
    for (i, id) in ids.into_iter().enumerate() {
        let i32_ = i as u32;
        let role = roles[i];
        let signer = Identity::from_secret(i32_, id.dalek().to_bytes());
        let mut node = Node {
            role,
            trust: TrustNode::new(id, roster.clone()),
            admitted: BTreeMap::new(),
            valid: BTreeMap::new(),
            delivered: BTreeMap::new(),
            own: Vec::new(),
            junk: Vec::new(),
            drops_dup: 0,
        };
        let mid = model_id(i32_);
        match role {
            Behaviour::Honest | Behaviour::Replayer | Behaviour::Silent => {
                let t = synth.honest(i32_);
                let c = Contribution::new(
                    &mid,
                    1,
                    1.0,
                    t.digest(),
                    Hlc {
                        time: 1,
                        logical: 0,
                        node: i32_,
                    },
                )
                .map_err(wire)?;
                let mut set = ContributionSet::new();
                let dot = set.add(i32_, c.clone(), POLICY).map_err(wire)?;
                let (op, pco) = node.trust.publish(&c, dot, set.context()).map_err(wire)?;
                let att = node
                    .trust
                    .originator
                    .attest(&op.body, &t.canonical_bytes())
                    .map_err(wire)?;
                let it = item(op, Some(pco), Some((att, t.clone())));
                node.valid
                    .insert(t.digest(), it.tensor.as_ref().unwrap().1.clone());
                node.delivered
                    .insert(t.digest(), it.tensor.as_ref().unwrap().1.clone());
                node.admitted.insert(it.digest, it.clone());
                node.own.push(it);
                contributions.insert(i32_, (c, t));
            }
            Behaviour::Equivocator => {
                let a = synth.honest(i32_);
                let b = synth.poisoned(i32_, 2);
                for (k, t) in [a, b].into_iter().enumerate() {
                    let ob = body(i32_, &mid, 1, t.digest(), k as u64 + 1, k as u64 + 1);
                    let att = TensorAttestation::sign_unchecked(&signer, &ob, &t.canonical_bytes());
                    let op = SignedOp::sign_unchecked(&signer, ob);
                    node.own.push(item(op, None, Some((att, t))));
                }
            }
            Behaviour::Corrupter => {
                let x = synth.honest(i32_);
                let y = synth.poisoned(i32_, 2);
                let ob = body(i32_, &mid, 1, x.digest(), 1, 1);
                let att = TensorAttestation::sign_unchecked(&signer, &ob, &y.canonical_bytes());
                let op = SignedOp::sign_unchecked(&signer, ob);
                node.own.push(item(op, None, Some((att, y))));
            }
            Behaviour::Forger => {
                // Claims to be the victim: a higher version of its model.
                let vid = model_id(victim);
                let y = synth.poisoned(i32_, 3);
                let z = synth.poisoned(i32_, 4);
                let f1 = SignedOp::sign_unchecked(&signer, body(victim, &vid, 2, y.digest(), 2, 2));
                let f2 = SignedOp::sign_unchecked(&signer, body(victim, &vid, 2, z.digest(), 3, 2));
                node.junk.push(Evidence::equivocation(
                    AuthOp::from(f1.clone()),
                    AuthOp::from(f2),
                ));
                let att =
                    TensorAttestation::sign_unchecked(&signer, &f1.body, &y.canonical_bytes());
                node.own.push(item(f1, None, Some((att, y))));
            }
            Behaviour::Outsider => {
                for k in 0..SYBILS_PER_OUTSIDER {
                    let sid = n + i32_ * SYBILS_PER_OUTSIDER + k;
                    let mut s = Stream::keyed(
                        config.seed,
                        Purpose::Other,
                        &[i as u64, k as u64],
                        b"trust-experiment sybil",
                    );
                    let mut secret = [0u8; 32];
                    for chunk in secret.chunks_mut(8) {
                        chunk.copy_from_slice(&s.next_u64().to_le_bytes());
                    }
                    let sybil = Identity::from_secret(sid, secret);
                    let t = synth.poisoned(sid, 2);
                    let ob = body(sid, &format!("sybil-{sid:05}"), 1, t.digest(), 1, 1);
                    let mut frontier = LogFrontier::new();
                    frontier.push(&ob.digest());
                    let mut ctx = VersionVector::new();
                    ctx.next_dot(sid);
                    let pco = PcoBundle::build_unchecked(
                        &sybil,
                        vec![ob.clone()],
                        ctx,
                        frontier.root(),
                        TrustState::new().root(),
                        1,
                        1,
                    )
                    .map_err(wire)?;
                    let att = TensorAttestation::sign_unchecked(&sybil, &ob, &t.canonical_bytes());
                    let op = SignedOp::sign_unchecked(&sybil, ob);
                    node.own.push(item(op, Some(pco), Some((att, t))));
                }
            }
        }
        nodes.push(node);
    }

    let schedule = Schedule {
        nodes: n,
        protocol: config.protocol,
        fanout: config.fanout,
        seed: config.seed,
        ordering: 0,
    };
    let mut k = Counters {
        messages: 0,
        ops_sent: 0,
        evidence_sent: 0,
        ops_verified: 0,
        op_batches: 0,
        pcos_verified: 0,
        pcos_applied: 0,
        pcos_quarantined: 0,
    };
    // Evidence digest → first round each honest node held it.
    let mut held: BTreeMap<Digest, Vec<Option<u32>>> = BTreeMap::new();
    let mut trust_rounds: Vec<(u32, u64, Vec<f64>)> = Vec::new();
    let mut agree_since: Option<u32> = None;
    let mut quiet = 0u32;
    let mut rounds_run = 0u32;
    let is_relay = |b: Behaviour| matches!(b, Behaviour::Honest | Behaviour::Replayer);
    let relays: Vec<usize> = (0..n as usize).filter(|&i| is_relay(roles[i])).collect();
    // Messages each node has sent (the equivocator alternates its versions).
    let mut sends: Vec<u64> = vec![0; n as usize];
    // Items of evidence-producing members delivered to a relay at least once,
    // and the items that must be.
    let mut injected: BTreeSet<Digest> = BTreeSet::new();
    let to_inject: BTreeSet<Digest> = (0..n as usize)
        .filter(|&i| roles[i].produces_evidence())
        .flat_map(|i| nodes[i].own.iter().map(|it| it.digest))
        .collect();
    let pushes = matches!(config.protocol, Protocol::Push | Protocol::PushPull);
    let pulls = matches!(config.protocol, Protocol::Pull | Protocol::PushPull);

    // Faults: partition layouts and per-link fates, by 1-based round.
    let plan = config.faults.plan(config.rounds_max);
    let layouts: Vec<PhaseLayout> = plan
        .partitions
        .iter()
        .enumerate()
        .map(|(k, p)| PhaseLayout::new(p, k as u32, n, config.seed))
        .collect();
    let healed_from = config.faults.healed_from();
    // Messages in flight: due round → (destination, message), in send order.
    let mut in_flight: BTreeMap<u32, Vec<(usize, Message)>> = BTreeMap::new();
    let mut in_flight_count = 0usize;
    let mut fk = FaultCounters::default();

    for r in 0..config.rounds_max {
        let round = r + 1;
        // The partition active this round, if any (the first listed wins).
        let phase = layouts.iter().find(|l| l.active(round));
        // Compose every message from the states at the start of the round.
        let mut inbox: Vec<Vec<Message>> = (0..n).map(|_| Vec::new()).collect();
        for (to, m) in in_flight.remove(&round).unwrap_or_default() {
            in_flight_count -= 1;
            inbox[to].push(m);
        }
        let messages_before = k.messages;
        for s in 0..n {
            let peers = match phase {
                None => schedule.peers(r, s),
                Some(layout) => layout.peers(&schedule, r, s),
            };
            for p in peers {
                let mut pairs = Vec::with_capacity(2);
                if pushes {
                    pairs.push((s as usize, p as usize, 0u64));
                }
                if pulls {
                    pairs.push((p as usize, s as usize, 1u64));
                }
                for (from, to, direction) in pairs {
                    if let Some(m) = compose(&nodes, from, to, r, sends[from]) {
                        sends[from] += 1;
                        k.messages += 1;
                        k.ops_sent += m.0.len() as u64;
                        k.evidence_sent += m.1.len() as u64;
                        if phase.is_some_and(|l| !l.reaches(from as u32, to as u32)) {
                            fk.partitioned += 1;
                            continue;
                        }
                        let fate = match &plan.link {
                            None => LinkFate {
                                delays: [Some(0), None],
                            },
                            // One fate per contact: who initiated it, which way.
                            Some(l) => l.fate(
                                config.seed,
                                0,
                                round,
                                from as u32,
                                to as u32,
                                (s as u64) << 1 | direction,
                            ),
                        };
                        if fate.delays[0].is_none() {
                            fk.lost += 1;
                            continue;
                        }
                        if fate.delays[1].is_some() {
                            fk.duplicated += 1;
                        }
                        for d in fate.delays.into_iter().flatten() {
                            if d == 0 {
                                inbox[to].push(m.clone());
                            } else {
                                fk.delayed += 1;
                                if in_flight_count >= IN_FLIGHT_MAX {
                                    return Err(LabError::Wire(format!(
                                        "more than {IN_FLIGHT_MAX} delayed messages in flight"
                                    )));
                                }
                                in_flight_count += 1;
                                in_flight
                                    .entry(round + d)
                                    .or_default()
                                    .push((to, m.clone()));
                            }
                        }
                    }
                }
            }
        }
        // Deliver.
        for (t, msgs) in inbox.into_iter().enumerate() {
            if msgs.is_empty() {
                continue;
            }
            let order = schedule.delivery_order(r, t as u32, msgs.len());
            let mut slots: Vec<Option<Message>> = msgs.into_iter().map(Some).collect();
            let mut items = Vec::new();
            let mut evidence = Vec::new();
            for i in order {
                let (it, ev) = slots[i].take().expect("permutation");
                items.extend(it);
                evidence.extend(ev);
            }
            if is_relay(roles[t]) {
                injected.extend(
                    items
                        .iter()
                        .filter(|it| to_inject.contains(&it.digest))
                        .map(|it| it.digest),
                );
            }
            receive(&mut nodes[t], items, evidence, &mut k);
        }
        rounds_run = round;
        // Stats.
        for (hi, &h) in honest.iter().enumerate() {
            for d in nodes[h].trust.verifier.trust().digests() {
                let slot = held.entry(*d).or_insert_with(|| vec![None; honest.len()]);
                if slot[hi].is_none() {
                    slot[hi] = Some(round);
                }
            }
        }
        let mut mean = vec![0.0f64; n as usize];
        for &h in &honest {
            let sc = nodes[h].trust.verifier.trust().scores();
            for (p, m) in mean.iter_mut().enumerate() {
                *m += sc.trust(p as u32);
            }
        }
        for m in &mut mean {
            *m /= honest.len() as f64;
        }
        trust_rounds.push((round, k.messages - messages_before, mean));
        let tick = TrustTick {
            round,
            rounds_max: config.rounds_max,
            honest: honest.len() as u32,
            evidence_known: held.len() as u32,
            evidence_everywhere: held
                .values()
                .filter(|v| v.iter().all(Option::is_some))
                .count() as u32,
        };
        if observe(tick).is_break() {
            return Err(LabError::Cancelled);
        }
        // Agreement of the honest nodes and the replayers (full relays): once
        // they agree, no relay holds anything an honest node lacks.
        let first = &nodes[honest[0]];
        let agree = relays.iter().all(|&h| {
            let o = &nodes[h];
            o.admitted.keys().eq(first.admitted.keys())
                && o.valid.keys().eq(first.valid.keys())
                && o.trust.verifier.trust().root() == first.trust.verifier.trust().root()
        });
        // The run may end only once every Byzantine item has been injected
        // and every partition has healed.
        if agree && injected.is_superset(&to_inject) && round >= healed_from {
            agree_since.get_or_insert(round);
            quiet += 1;
            if quiet >= QUIET_ROUNDS {
                break;
            }
        } else {
            agree_since = None;
            quiet = 0;
        }
    }
    let converged = quiet >= QUIET_ROUNDS;
    let rounds = if converged {
        agree_since.unwrap_or(rounds_run)
    } else {
        rounds_run
    };

    // Evidence items (digest order) and per-round fractions.
    let evidence_list: Vec<(Digest, u32, String)> = held
        .keys()
        .map(|d| {
            let rec = honest
                .iter()
                .find_map(|&h| {
                    nodes[h]
                        .trust
                        .verifier
                        .trust()
                        .records()
                        .find(|v| v.digest() == *d)
                })
                .expect("held by an honest node");
            (*d, rec.accused(), kind_name(rec.evidence()))
        })
        .collect();
    let evidence: Vec<EvidenceItem> = evidence_list
        .iter()
        .map(|(d, accused, kind)| {
            let rounds = &held[d];
            let first_round = rounds.iter().flatten().copied().min().unwrap_or(0);
            let all_round = if rounds.iter().all(|x| x.is_some()) {
                rounds.iter().flatten().copied().max()
            } else {
                None
            };
            EvidenceItem {
                digest: d.to_hex(),
                accused: *accused,
                kind: kind.clone(),
                first_round,
                all_round,
            }
        })
        .collect();
    let per_round: Vec<RoundStat> = trust_rounds
        .into_iter()
        .map(|(round, messages, mean_trust)| RoundStat {
            round,
            messages,
            evidence_held: evidence_list
                .iter()
                .map(|(d, _, _)| {
                    held[d]
                        .iter()
                        .filter(|x| x.is_some_and(|r| r <= round))
                        .count() as f64
                        / honest.len() as f64
                })
                .collect(),
            mean_trust,
        })
        .collect();

    // Detection per Byzantine member.
    let mut detection = Vec::new();
    for (i, &role) in roles.iter().enumerate() {
        if role == Behaviour::Honest {
            continue;
        }
        let node = i as u32;
        let detected_by = honest
            .iter()
            .filter(|&&h| {
                nodes[h]
                    .trust
                    .verifier
                    .trust()
                    .records()
                    .any(|v| v.accused() == node)
            })
            .count() as u32;
        // First round at which every honest node held some evidence against it.
        let latency = if detected_by as usize == honest.len() {
            (0..honest.len())
                .map(|hi| {
                    evidence_list
                        .iter()
                        .filter(|(_, a, _)| *a == node)
                        .filter_map(|(d, _, _)| held[d][hi])
                        .min()
                })
                .collect::<Option<Vec<u32>>>()
                .and_then(|v| v.into_iter().max())
        } else {
            None
        };
        let own: Vec<Digest> = nodes[i].own.iter().map(|it| it.digest).collect();
        let reached = |d: &Digest| honest.iter().any(|&h| nodes[h].admitted.contains_key(d));
        let manifested = match role {
            Behaviour::Equivocator => own.iter().all(reached),
            Behaviour::Corrupter => own.iter().any(reached),
            _ => true,
        };
        let note = match role {
            Behaviour::Equivocator | Behaviour::Corrupter if !manifested => {
                "its conflicting messages never reached an honest node".to_string()
            }
            Behaviour::Equivocator | Behaviour::Corrupter => {
                if detected_by as usize == honest.len() {
                    "detected by every honest node".to_string()
                } else {
                    format!("detected by {detected_by} of {} honest nodes", honest.len())
                }
            }
            Behaviour::Forger => {
                "forged operations and fabricated evidence dropped (bad signature / bad evidence); no evidence against anyone".into()
            }
            Behaviour::Replayer => "replays recognised and ignored; nothing to prove".into(),
            Behaviour::Outsider => "identities not on the roster: dropped, nothing to prove".into(),
            Behaviour::Silent => "omission is not provable: no evidence, by design".into(),
            Behaviour::Honest => unreachable!(),
        };
        detection.push(Detection {
            node,
            behaviour: role,
            produces_evidence: role.produces_evidence(),
            manifested,
            detected_by,
            latency_rounds: latency,
            note,
        });
    }

    // False accusations.
    let offenders: BTreeSet<u32> = (0..n)
        .filter(|&i| roles[i as usize].produces_evidence())
        .collect();
    let false_accusations: u64 = honest
        .iter()
        .map(|&h| {
            nodes[h]
                .trust
                .verifier
                .trust()
                .records()
                .filter(|v| !offenders.contains(&v.accused()))
                .count() as u64
        })
        .sum();

    // Trust roots and divergence.
    let trust_roots: Vec<String> = honest
        .iter()
        .map(|&h| nodes[h].trust.verifier.trust().root().to_hex())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let scores: Vec<_> = honest
        .iter()
        .map(|&h| nodes[h].trust.verifier.trust().scores())
        .collect();
    let mut max_trust_divergence = 0.0f64;
    for p in 0..n {
        for d in Dimension::ALL {
            let mut lo = f64::INFINITY;
            let mut hi = f64::NEG_INFINITY;
            for s in &scores {
                let v = s.peer(p).get(d);
                lo = lo.min(v);
                hi = hi.max(v);
            }
            max_trust_divergence = max_trust_divergence.max(hi - lo);
        }
    }

    // Resolve at every honest node, with and without trust weighting.
    let base = synth.base();
    let params = Params::new();
    let mut resolved = BTreeSet::new();
    let mut unweighted = BTreeSet::new();
    let mut first: Option<(Tensor, Tensor, Vec<u32>)> = None;
    for &h in &honest {
        let node = &nodes[h];
        let set = canonical_set(node.admitted.values().map(|it| &it.op))?;
        let sc = node.trust.verifier.trust().scores();
        let tw = trust_weighted_rows(&set, POLICY, &sc);
        let merged = tw
            .resolve(
                &config.strategy,
                &params,
                |d| node.valid.get(d).map(|t| t.as_ref()),
                Some(&base),
                config.seed,
                "",
            )
            .map_err(|e| LabError::Wire(format!("trust-weighted resolve at node {h}: {e}")))?;
        let plain = trust_weighted_rows(&set, POLICY, &TrustState::new().scores());
        let merged_plain = plain
            .resolve(
                &config.strategy,
                &params,
                |d| node.delivered.get(d).map(|t| t.as_ref()),
                Some(&base),
                config.seed,
                "",
            )
            .map_err(|e| LabError::Wire(format!("unweighted resolve at node {h}: {e}")))?;
        resolved.insert(merged.digest().to_hex());
        unweighted.insert(merged_plain.digest().to_hex());
        if first.is_none() {
            let mut ex: Vec<u32> = tw.excluded.iter().map(|e| e.originator).collect();
            ex.sort_unstable();
            ex.dedup();
            first = Some((merged, merged_plain, ex));
        }
    }
    let (merged, merged_plain, excluded) = first.expect("at least one honest node");

    // The honest-only reference: the legitimate contributions that reached
    // the honest nodes (a silent member's may never have left it).
    let reached = &nodes[honest[0]].admitted;
    let legit: Vec<(&Contribution, &Tensor)> = contributions
        .iter()
        .filter(|(i, _)| roles[**i as usize].legit_content())
        .filter(|(i, _)| {
            nodes[**i as usize]
                .own
                .iter()
                .all(|it| reached.contains_key(&it.digest))
        })
        .map(|(_, (c, t))| (c, t))
        .collect();
    let ids: Vec<&str> = legit.iter().map(|(c, _)| c.model_id()).collect();
    let tensors: Vec<&Tensor> = legit.iter().map(|(_, t)| *t).collect();
    let weights: Vec<f64> = legit.iter().map(|(c, _)| c.weight()).collect();
    let reference = merge_by_name(
        &config.strategy,
        &MergeInputs {
            ids: &ids,
            tensors: &tensors,
            weights: &weights,
            base: Some(&base),
            seed: config.seed,
            tensor_key: "",
        },
        &params,
    )?;
    let deviation_weighted = deviation(&merged, &reference);
    let deviation_unweighted = deviation(&merged_plain, &reference);

    // Drops summed over honest nodes.
    let mut drops = Drops::default();
    for &h in &honest {
        let c = nodes[h].trust.verifier.counts();
        drops.bad_signature += c.bad_signature;
        drops.unknown_identity += c.unknown_identity;
        drops.replayed += c.replayed;
        drops.bad_evidence += c.bad_evidence;
        drops.malformed += c.malformed;
        drops.unbound_claims += c.unbound_claims;
        drops.missing_history += c.missing_history;
        drops.root_mismatch += c.root_mismatch;
        drops.not_minimal += c.not_minimal;
        drops.causality += c.causality;
        drops.distrusted += c.distrusted;
        drops.quarantined += c.quarantined;
        drops.relay_corrupted += c.relay_corrupted;
        drops.ledger_full += c.ledger_full;
        drops.evidence_overflow += c.evidence_overflow;
        drops.duplicate_in_inbox += nodes[h].drops_dup;
    }

    let reference_contrast = config.reference_contrast.then(|| {
        let orders = 4;
        let with = all_to_all_contrast(config.seed, n, orders, true);
        let without = all_to_all_contrast(config.seed, n, orders, false);
        ReferenceContrast {
            label: "REFERENCE SEMANTICS (crdt-merge 0.9.x: 0.5 default, non-binding evidence, homeostasis) — not the lab's design".into(),
            nodes: with.nodes,
            orders: with.orders,
            distinct_roots_homeostasis: with.distinct_roots as u64,
            max_divergence_homeostasis: with.max_divergence.iter().copied().fold(0.0, f64::max),
            distinct_roots_plain: without.distinct_roots as u64,
            max_divergence_plain: without.max_divergence.iter().copied().fold(0.0, f64::max),
        }
    });

    let results = TrustResults {
        members: roles
            .iter()
            .enumerate()
            .map(|(i, &b)| Member {
                node: i as u32,
                behaviour: b,
            })
            .collect(),
        honest_nodes: honest.len() as u32,
        converged,
        rounds,
        rounds_run,
        messages: k.messages,
        ops_sent: k.ops_sent,
        evidence_sent: k.evidence_sent,
        ops_verified: k.ops_verified,
        op_batches: k.op_batches,
        pcos_verified: k.pcos_verified,
        pcos_applied: k.pcos_applied,
        pcos_quarantined: k.pcos_quarantined,
        evidence,
        detection,
        false_accusations,
        trust_roots,
        max_trust_divergence,
        resolved_digests: resolved.into_iter().collect(),
        unweighted_digests: unweighted.into_iter().collect(),
        excluded,
        reference_members: legit.len() as u32,
        deviation_weighted,
        deviation_unweighted,
        drops,
        per_round,
        reference_contrast,
    };
    let mut verdict = verdict(&results);
    if !config.faults.is_none() {
        verdict = fault_checks(verdict, config, &results, fk);
    }
    Ok(Report::new(NAME, config.clone(), results, verdict))
}

fn kind_name(e: &Evidence) -> String {
    match e.kind() {
        crate::trust::EvidenceKind::Equivocation => "equivocation",
        crate::trust::EvidenceKind::InvalidContent => "invalid-content",
        crate::trust::EvidenceKind::DotReuse => "dot-reuse",
        crate::trust::EvidenceKind::ContextBehindDot => "context-behind-dot",
    }
    .to_string()
}

/// max |a − b| / max |b| (max |a − b| when b is all zeros).
fn deviation(a: &Tensor, b: &Tensor) -> f64 {
    let diff = a
        .data()
        .iter()
        .zip(b.data())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    let scale = b.data().iter().map(|y| y.abs()).fold(0.0, f64::max);
    if scale > 0.0 {
        diff / scale
    } else {
        diff
    }
}

/// The contribution set holding exactly the admitted operations: every
/// admitted op becomes the row `(dot, contribution)`; the causal context is
/// each originator's highest admitted counter. A pure function of the
/// admitted set, so honest nodes with the same admitted ops have equal sets.
fn canonical_set<'a>(ops: impl Iterator<Item = &'a SignedOp>) -> Result<ContributionSet, LabError> {
    #[derive(Serialize)]
    struct SetWire<'w> {
        rows: &'w [Row],
        context: &'w VersionVector,
    }
    let mut rows = Vec::new();
    let mut top: BTreeMap<u32, u64> = BTreeMap::new();
    for op in ops {
        let c = op.body.contribution().map_err(wire)?;
        let e = top.entry(op.body.dot.replica).or_insert(0);
        *e = (*e).max(op.body.dot.counter);
        rows.push(Row {
            dot: op.body.dot,
            value: Arc::new(c),
        });
    }
    rows.sort_by(|a, b| {
        a.value
            .model_id()
            .as_bytes()
            .cmp(b.value.model_id().as_bytes())
            .then(a.dot.cmp(&b.dot))
    });
    let mut context = VersionVector::new();
    for (&replica, &counter) in &top {
        for _ in 0..counter {
            context.next_dot(replica);
        }
    }
    let bytes = postcard::to_allocvec(&SetWire {
        rows: &rows,
        context: &context,
    })
    .map_err(wire)?;
    let set: ContributionSet = postcard::from_bytes(&bytes).map_err(wire)?;
    set.check_invariants().map_err(LabError::Wire)?;
    Ok(set)
}

/// What node `s` sends to node `t` in round `r` (None: nothing).
fn compose(nodes: &[Node], s: usize, t: usize, r: u32, seq: u64) -> Option<Message> {
    let from = &nodes[s];
    let to = &nodes[t];
    let lacks = |it: &&Arc<Item>| !to.admitted.contains_key(&it.digest);
    let (items, evidence): (Vec<Arc<Item>>, Vec<Evidence>) = match from.role {
        Behaviour::Honest => (
            from.admitted.values().filter(lacks).cloned().collect(),
            from.trust
                .verifier
                .trust()
                .missing_from(to.trust.verifier.trust()),
        ),
        Behaviour::Silent if r == 0 => (
            from.admitted.values().filter(lacks).cloned().collect(),
            from.trust
                .verifier
                .trust()
                .missing_from(to.trust.verifier.trust()),
        ),
        Behaviour::Silent => return None,
        Behaviour::Replayer => (
            from.admitted.values().cloned().collect(),
            from.trust
                .verifier
                .trust()
                .missing_from(to.trust.verifier.trust()),
        ),
        Behaviour::Equivocator => {
            // One version per message, alternating over successive messages
            // (the first one the target lacks, starting at the turn's).
            let len = from.own.len();
            let start = (seq % len as u64) as usize;
            let pick = (0..len).map(|k| &from.own[(start + k) % len]).find(lacks);
            (pick.into_iter().cloned().collect(), Vec::new())
        }
        Behaviour::Corrupter => (from.own.iter().filter(lacks).cloned().collect(), Vec::new()),
        Behaviour::Forger => (from.own.clone(), from.junk.clone()),
        Behaviour::Outsider => (from.own.clone(), Vec::new()),
    };
    if items.is_empty() && evidence.is_empty() {
        None
    } else {
        Some((items, evidence))
    }
}

/// A node applies its inbox: PCOs in batches per level, then the remaining
/// operations in one batch, then tensors, then evidence.
fn receive(node: &mut Node, items: Vec<Arc<Item>>, evidence: Vec<Evidence>, k: &mut Counters) {
    // Collapse duplicates within the inbox (first in delivery order wins).
    let mut seen = BTreeSet::new();
    let mut unique = Vec::with_capacity(items.len());
    for it in items {
        if seen.insert(it.digest) {
            unique.push(it);
        } else {
            node.drops_dup += 1;
        }
    }
    let mut newly: Vec<Arc<Item>> = Vec::new();
    let mut via_ops: Vec<Arc<Item>> = Vec::new();
    // PCOs of operations not admitted yet, grouped by verification level.
    let mut by_level: BTreeMap<Level, Vec<Arc<Item>>> = BTreeMap::new();
    for it in unique {
        match &it.pco {
            Some(_) if !node.admitted.contains_key(&it.digest) => {
                let trust = node.trust.verifier.trust().trust(it.op.body.originator);
                by_level
                    .entry(Level::for_trust(trust))
                    .or_default()
                    .push(it);
            }
            _ => via_ops.push(it),
        }
    }
    for (level, group) in by_level {
        let bundles: Vec<PcoBundle> = group
            .iter()
            .map(|it| it.pco.clone().expect("grouped PCOs"))
            .collect();
        k.pcos_verified += bundles.len() as u64;
        let results = node.trust.verifier.ingest_pco_batch(&bundles, level);
        for (it, res) in group.into_iter().zip(results) {
            match res {
                Ok(o) if o.verdict == PcoVerdict::Applied => {
                    k.pcos_applied += 1;
                    if node.admitted.insert(it.digest, it.clone()).is_none() {
                        newly.push(it);
                    }
                }
                Ok(o) if o.verdict == PcoVerdict::Quarantined => k.pcos_quarantined += 1,
                Ok(_) => {}
                Err(PcoError::MissingHistory { .. }) => via_ops.push(it),
                Err(_) => {}
            }
        }
    }
    if !via_ops.is_empty() {
        let ops: Vec<SignedOp> = via_ops.iter().map(|it| it.op.clone()).collect();
        k.ops_verified += ops.len() as u64;
        k.op_batches += 1;
        let results = node.trust.verifier.ingest_ops_batch(&ops);
        for (it, res) in via_ops.into_iter().zip(results) {
            if let Ok(o) = res {
                if matches!(o.status, OpStatus::New | OpStatus::Replay)
                    && !node.admitted.contains_key(&it.digest)
                {
                    node.admitted.insert(it.digest, it.clone());
                    newly.push(it);
                }
            }
        }
    }
    for it in newly {
        if let Some((att, t)) = &it.tensor {
            node.delivered
                .entry(it.op.body.tensor)
                .or_insert_with(|| t.clone());
            let bytes = t.canonical_bytes();
            if let Ok(TensorOutcome::Valid) =
                node.trust
                    .verifier
                    .check_tensor(it.op.body.dot, att, &bytes)
            {
                node.valid.insert(t.digest(), t.clone());
            }
        }
    }
    let mut seen_ev = BTreeSet::new();
    for e in evidence {
        if seen_ev.insert(e.digest()) {
            let _ = node.trust.verifier.ingest_evidence(e);
        }
    }
}

/// The checks a run with faults adds (after the others, so a run without
/// faults keeps its verdict): every partition healed within the run, and
/// what the faults did, in words.
fn fault_checks(v: Verdict, c: &TrustConfig, r: &TrustResults, fk: FaultCounters) -> Verdict {
    let mut checks = v.checks;
    let intervals: Vec<String> = c
        .fault_intervals()
        .iter()
        .map(|i| {
            let end = if i.kind == "messages" && c.faults.link_until == 0 {
                "the end".to_string()
            } else {
                format!("round {}", i.end)
            };
            format!("{} ({}) from round {} to {end}", i.kind, i.label, i.start)
        })
        .collect();
    let healed = c.faults.healed_from();
    let heals_in_time = healed <= r.rounds_run;
    checks.push(Check {
        name: "faults healed, then honest nodes agreed".into(),
        passed: heals_in_time && r.converged,
        detail: if !heals_in_time {
            format!(
                "the last partition heals at round {healed}, but the run stopped after {} round(s) (rounds_max {}): the network never reconnected, so honest nodes could not all hear each other",
                r.rounds_run, c.rounds_max
            )
        } else if !r.converged {
            format!(
                "every partition healed by round {healed}, but the honest nodes did not agree within {} rounds",
                r.rounds_run
            )
        } else {
            format!(
                "after the faults the honest nodes agreed from round {}; {}; {} message(s) cut by partitions, {} lost, {} duplicated, {} copies delayed",
                r.rounds,
                intervals.join("; "),
                fk.partitioned,
                fk.lost,
                fk.duplicated,
                fk.delayed
            )
        },
    });
    Verdict::from_checks(checks)
}

fn verdict(r: &TrustResults) -> Verdict {
    let mut checks = Vec::new();
    checks.push(Check {
        name: "no false accusations".into(),
        passed: r.false_accusations == 0,
        detail: format!(
            "{} evidence record(s) against members with no provable offence",
            r.false_accusations
        ),
    });
    checks.push(Check {
        name: "honest trust roots identical".into(),
        passed: r.trust_roots.len() == 1 && r.max_trust_divergence == 0.0,
        detail: format!(
            "{} distinct root(s) over {} honest nodes; max score divergence {}",
            r.trust_roots.len(),
            r.honest_nodes,
            r.max_trust_divergence
        ),
    });
    checks.push(Check {
        name: "honest resolved models identical".into(),
        passed: r.resolved_digests.len() == 1,
        detail: format!(
            "{} distinct trust-weighted resolved digest(s)",
            r.resolved_digests.len()
        ),
    });
    let needed: Vec<&Detection> = r.detection.iter().filter(|d| d.produces_evidence).collect();
    let missed: Vec<String> = needed
        .iter()
        .filter(|d| d.manifested && d.detected_by != r.honest_nodes)
        .map(|d| format!("{} (node {})", d.behaviour.name(), d.node))
        .collect();
    let silent_offenders = needed.iter().filter(|d| !d.manifested).count();
    checks.push(Check {
        name: "evidence-producing behaviours detected by all honest nodes".into(),
        passed: missed.is_empty(),
        detail: if missed.is_empty() {
            format!(
                "{} of {} evidence-producing member(s) detected by all {} honest nodes{}",
                needed.len() - silent_offenders,
                needed.len(),
                r.honest_nodes,
                if silent_offenders > 0 {
                    format!("; {silent_offenders} never reached an honest node")
                } else {
                    String::new()
                }
            )
        } else {
            format!("not detected by every honest node: {}", missed.join(", "))
        },
    });
    let helps = if r.deviation_unweighted > 0.0 {
        r.deviation_weighted < r.deviation_unweighted
    } else {
        r.deviation_weighted <= r.deviation_unweighted
    };
    checks.push(Check {
        name: "trust weighting keeps the model closer to honest-only".into(),
        passed: helps,
        detail: format!(
            "deviation from the honest-only model: {:.3e} with trust weighting, {:.3e} without",
            r.deviation_weighted, r.deviation_unweighted
        ),
    });
    checks.push(Check {
        name: "honest nodes converged".into(),
        passed: r.converged,
        detail: format!(
            "honest nodes agreed after round {} ({} rounds run)",
            r.rounds, r.rounds_run
        ),
    });
    Verdict::from_checks(checks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::params::testing::pairs;

    #[test]
    fn fields_cover_every_config_field() {
        crate::experiment::params::testing::assert_fields_cover(FIELDS);
    }

    fn faulty() -> TrustConfig {
        TrustConfig {
            faults: TrustFaults {
                phases: parse_phases("mod:2@1-6,isolated:3@8-10").unwrap(),
                loss: 0.3,
                duplicate: 0.25,
                delay_max: 2,
                link_until: 0,
            },
            ..TrustConfig::default()
        }
    }

    #[test]
    fn bad_fault_parameters_are_typed_errors_naming_the_field() {
        let d = TrustConfig::default();
        let with = |f: TrustFaults| TrustConfig {
            faults: f,
            ..d.clone()
        };
        for (f, name) in [
            (
                TrustFaults {
                    loss: 1.0,
                    ..TrustFaults::default()
                },
                "loss",
            ),
            (
                TrustFaults {
                    loss: f64::NAN,
                    ..TrustFaults::default()
                },
                "loss",
            ),
            (
                TrustFaults {
                    duplicate: -0.1,
                    ..TrustFaults::default()
                },
                "duplicate",
            ),
            (
                TrustFaults {
                    delay_max: 65,
                    ..TrustFaults::default()
                },
                "delay_max",
            ),
            (
                TrustFaults {
                    link_until: 1,
                    loss: 0.1,
                    ..TrustFaults::default()
                },
                "link_until",
            ),
            (
                TrustFaults {
                    phases: parse_phases("isolated:10@1-5").unwrap(),
                    ..TrustFaults::default()
                },
                "phases",
            ),
            (
                TrustFaults {
                    phases: parse_phases("halves@5-5").unwrap(),
                    ..TrustFaults::default()
                },
                "phases",
            ),
        ] {
            let err = with(f.clone()).validate().unwrap_err();
            assert!(err.to_string().contains(name), "{f:?}: {err}");
            assert!(run(&with(f)).is_err());
        }
        // A heal after rounds_max is allowed (the verdict says what happened).
        with(TrustFaults {
            phases: parse_phases("halves@1-500").unwrap(),
            ..TrustFaults::default()
        })
        .validate()
        .unwrap();
    }

    #[test]
    fn a_byzantine_fraction_deals_counts_over_the_mix() {
        let mut c = TrustConfig {
            nodes: 20,
            ..TrustConfig::default()
        };
        // 30 % of 20 = 6 over three behaviours: two each; the rest none.
        let mix = Behaviour::parse_mix("forger, equivocator,silent").unwrap();
        c.set_byzantine_fraction(0.3, &mix).unwrap();
        let counts = Behaviour::BYZANTINE.map(|b| c.count(b));
        assert_eq!(counts, [2, 0, 2, 0, 0, 2]);
        // 0.25 × 20 = 5 over all six: the first five get one each.
        c.set_byzantine_fraction(0.25, &Behaviour::parse_mix("all").unwrap())
            .unwrap();
        assert_eq!(Behaviour::BYZANTINE.map(|b| c.count(b)), [1, 1, 1, 1, 1, 0]);
        assert_eq!(c.honest(), 15);
        c.validate().unwrap();
        c.set_byzantine_fraction(0.0, &mix).unwrap();
        assert_eq!(c.byzantine(), 0);
        // Out of range, unknown or empty mixes are named, counts untouched.
        let before = c.clone();
        for bad in [1.0, -0.1, f64::NAN] {
            assert!(c.set_byzantine_fraction(bad, &mix).is_err(), "{bad}");
        }
        assert!(c.set_byzantine_fraction(0.5, &[]).is_err());
        assert!(c.set_byzantine_fraction(0.5, &[Behaviour::Honest]).is_err());
        assert_eq!(c, before);
        let err = Behaviour::parse_mix("forger,sleeper").unwrap_err();
        assert!(err.to_string().contains("sleeper"), "{err}");
        // A fraction near 1 leaves no honest member: validate says so.
        let mut tiny = TrustConfig {
            nodes: 3,
            ..TrustConfig::default()
        };
        tiny.set_byzantine_fraction(0.9, &mix).unwrap();
        assert!(tiny.validate().is_err());
    }

    #[test]
    fn query_round_trips() {
        let d = TrustConfig::default();
        let (back, issues) = TrustConfig::from_query(&d.to_query());
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(back, d);
        let c = TrustConfig {
            nodes: 20,
            dim: 4,
            equivocators: 2,
            corrupters: 0,
            forgers: 3,
            replayers: 1,
            outsiders: 2,
            silent: 0,
            protocol: Protocol::Pull,
            fanout: 3,
            seed: 99,
            rounds_max: 50,
            strategy: "linear".into(),
            reference_contrast: true,
            workload: WorkloadKind::Gaussian,
            finetune: FineTuneParams {
                rank: 2,
                scale: 0.5,
                sparsity: 0.25,
                overlap: 0.0,
                noise: 1.5,
            },
            faults: faulty().faults,
        };
        assert_ne!(c, d);
        assert!(d.to_query().contains(&("phases".into(), "none".into())));
        c.validate().unwrap();
        let q = c.to_query();
        assert_eq!(q[1], ("exp".into(), NAME.into()));
        assert!(q.contains(&("reference_contrast".into(), "true".into())));
        let (back, issues) = TrustConfig::from_query(&q);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(back, c);
    }

    #[test]
    fn bad_query_values_fall_back_and_name_the_key() {
        for (key, value) in [
            ("nodes", "2"),
            ("dim", "65"),
            ("protocol", "all-pairs"),
            ("fanout", "10"),
            ("rounds_max", "0"),
            ("seed", "9007199254740992"),
            ("strategy", "no_such_strategy"),
            ("reference_contrast", "maybe"),
            ("forgers", "x"),
            ("workload", "files"),
            ("ft_rank", "0"),
            ("ft_sparsity", "-"),
            ("phases", "mod:1@1-3"),
            ("phases", "blob@1-3"),
            ("loss", "1"),
            ("duplicate", "2"),
            ("delay_max", "65"),
            ("link_until", "1"),
        ] {
            let (c, issues) = TrustConfig::from_query(&pairs(&[(key, value), ("silent", "0")]));
            assert_eq!(issues.len(), 1, "{key}={value}: {issues:?}");
            assert_eq!(issues[0].key, key, "{issues:?}");
            let field = FIELDS.iter().find(|f| f.key == key).unwrap();
            assert_eq!(field.get(&c), field.get(&TrustConfig::default()), "{key}");
            assert_eq!(c.silent, 0);
        }
    }
}
