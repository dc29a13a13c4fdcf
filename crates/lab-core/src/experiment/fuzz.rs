//! Deterministic simulation testing: a seeded fuzzer that draws a gossip
//! configuration and a fault schedule, runs it, and checks the invariants the
//! lab promises:
//!
//! 1. after the final heal and enough fault-free rounds, every node has the
//!    same replica state (and so the same state digest);
//! 2. every node resolves the same merged model;
//! 3. no node holds a contribution nobody added;
//! 4. a node's last applied change to its own contribution wins everywhere:
//!    removed stays removed, an update is never lost (checked for nodes that
//!    never lose their state);
//! 5. the result does not depend on the number of executors.
//!
//! A case is a pure function of its seed; a failing case is shrunk (fault
//! events removed one at a time, nodes reduced) and can be saved as JSON and
//! replayed as a regression test.

use super::convergence::{drive_native, ConvergenceConfig, Host, ResolveMode, Workload};
use crate::crdt::ConflictPolicy;
use crate::error::LabError;
use crate::hash::Digest;
use crate::rng::{Purpose, Stream};
use crate::sim::faults::{
    ChurnAction, ChurnEvent, FaultPlan, LinkFaults, NodeFault, NodeFaultKind, PartitionPhase,
    PartitionShape,
};
use crate::sim::{AntiEntropy, Protocol};
use crate::workload::model_id;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Fault-free rounds allowed after the plan goes quiet.
pub const SETTLE_ROUNDS: u32 = 300;

/// One drawn case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FuzzCase {
    pub seed: u64,
    pub config: ConvergenceConfig,
    pub plan: FaultPlan,
    /// A second executor count to compare against (invariant 5).
    pub executors: u32,
}

/// Why a case failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FuzzFailure {
    pub invariant: String,
    pub detail: String,
}

/// Draws the case of `seed`.
pub fn draw(seed: u64) -> FuzzCase {
    let mut s = Stream::new(seed, Purpose::Other, &[0x66757a7a]);
    let nodes = 3 + s.below(22) as u32;
    let protocol = [Protocol::Push, Protocol::Pull, Protocol::PushPull][s.below(3) as usize];
    let fanout = 1 + s.below(u64::from(nodes.min(4) - 1)) as u32;
    let horizon = 4 + s.below(16) as u32;
    let mut plan = FaultPlan::default();
    for _ in 0..s.below(3) {
        let start = 1 + s.below(horizon as u64) as u32;
        let heal = start + 1 + s.below(horizon as u64) as u32;
        let shape = match s.below(7) {
            0 => PartitionShape::RandomHalves,
            1 => PartitionShape::Groups {
                k: 2 + s.below(u64::from(nodes.min(5) - 1)) as u32,
            },
            2 => PartitionShape::ModGroups {
                k: 2 + s.below(u64::from(nodes.min(5) - 1)) as u32,
            },
            3 => PartitionShape::Isolated {
                node: s.below(nodes as u64) as u32,
            },
            4 => PartitionShape::MajorityMinority {
                minority: 1 + s.below(u64::from((nodes - 1) / 2)) as u32,
            },
            5 => PartitionShape::Bridge,
            _ => PartitionShape::Asymmetric,
        };
        plan.partitions.push(PartitionPhase { start, heal, shape });
    }
    if s.chance(0.7) {
        let start = 1 + s.below(horizon as u64) as u32;
        plan.link = Some(LinkFaults {
            start,
            end: start + 1 + s.below(horizon as u64) as u32,
            loss: s.below(60) as f64 / 100.0,
            duplicate: s.below(40) as f64 / 100.0,
            delay_max: s.below(4) as u32,
        });
    }
    for _ in 0..s.below(4) {
        let start = 1 + s.below(horizon as u64) as u32;
        let kind = [
            NodeFaultKind::Crash,
            NodeFaultKind::CrashLoseState,
            NodeFaultKind::Pause,
        ][s.below(3) as usize];
        plan.nodes.push(NodeFault {
            node: s.below(nodes as u64) as u32,
            kind,
            start,
            end: start + 1 + s.below(6) as u32,
        });
    }
    for _ in 0..s.below(8) {
        plan.churn.push(ChurnEvent {
            round: 1 + s.below(horizon as u64) as u32,
            node: s.below(nodes as u64) as u32,
            action: if s.chance(0.7) {
                ChurnAction::Update
            } else {
                ChurnAction::Remove
            },
        });
    }
    let config = ConvergenceConfig {
        nodes,
        dim: 2,
        orderings: 1,
        protocol,
        fanout,
        strategy: "weight_average".into(),
        seed,
        rounds_max: plan.quiet_from() + SETTLE_ROUNDS,
        resolve: ResolveMode::EveryNode,
        policy: if s.chance(0.5) {
            ConflictPolicy::LastWriterWins
        } else {
            ConflictPolicy::FirstWriterWins
        },
        anti_entropy: if protocol != Protocol::Push && s.chance(0.5) {
            AntiEntropy::Delta
        } else {
            AntiEntropy::Full
        },
        ..ConvergenceConfig::default()
    };
    let mut case = FuzzCase {
        seed,
        config,
        plan,
        executors: 2 + s.below(3) as u32,
    };
    // Drawn last, so the cases drawn before digest-diff anti-entropy existed
    // are otherwise unchanged; it works with every gossip protocol.
    if s.chance(0.35) {
        case.config.anti_entropy = AntiEntropy::Merkle;
    }
    case
}

/// What one execution of a case produced, for comparison across executors.
#[derive(Debug, PartialEq)]
struct Outcome {
    converged: bool,
    rounds: u32,
    replica_digests: Vec<Digest>,
    resolved: Vec<Digest>,
    stats_digest: Digest,
}

fn execute(
    case: &FuzzCase,
    executors: u32,
) -> Result<(Outcome, Vec<Host>, Arc<Workload>), LabError> {
    let c = &case.config;
    let workload = Arc::new(Workload::for_config(c, &case.plan));
    let plan = Arc::new(case.plan.clone());
    let (driver, hosts) = drive_native(c, &workload, 0, executors, &plan, &mut |_, _| true)?;
    let mut resolved = Vec::new();
    for h in &hosts {
        resolved.extend(h.resolve_all()?.into_iter().map(|r| r.resolved_digest));
    }
    // The binary form of the stats leaves out the tensor and digest-diff
    // accounting (to keep fingerprints stable); check those too.
    let extra: Vec<(u64, u64, u64)> = driver
        .stats()
        .iter()
        .map(|s| (s.tensor_fetches, s.tensor_bytes, s.digest_bytes))
        .collect();
    let stats = postcard::to_allocvec(&(driver.stats(), extra)).expect("stats encode");
    let outcome = Outcome {
        converged: driver.converged(),
        rounds: driver.stats().len() as u32,
        replica_digests: driver.digests().to_vec(),
        resolved,
        stats_digest: crate::hash::digest(crate::hash::Domain::Fingerprint, &stats),
    };
    Ok((outcome, hosts, workload))
}

fn fail(invariant: &str, detail: String) -> FuzzFailure {
    FuzzFailure {
        invariant: invariant.into(),
        detail,
    }
}

/// Runs a case and checks every invariant.
pub fn check(case: &FuzzCase) -> Result<(), FuzzFailure> {
    case.plan
        .validate(case.config.nodes)
        .map_err(|e| fail("valid plan", e))?;
    let (one, hosts, workload) = execute(case, 1).map_err(|e| fail("runs", e.to_string()))?;
    if !one.converged {
        return Err(fail(
            "convergence",
            format!("not converged after {} rounds", one.rounds),
        ));
    }
    let distinct: BTreeSet<_> = one.resolved.iter().collect();
    if distinct.len() != 1 {
        return Err(fail(
            "identical resolved models",
            format!("{} distinct models", distinct.len()),
        ));
    }
    check_contents(case, &hosts, &workload)?;
    let (many, _, _) = execute(case, case.executors).map_err(|e| fail("runs", e.to_string()))?;
    if many != one {
        return Err(fail(
            "executor independence",
            format!("1 executor and {} executors disagree", case.executors),
        ));
    }
    Ok(())
}

/// Invariants 3 and 4 on the converged state (every node holds it).
fn check_contents(case: &FuzzCase, hosts: &[Host], workload: &Workload) -> Result<(), FuzzFailure> {
    let policy = case.config.policy;
    let state = hosts[0].executor().node(0);
    let known = workload.tensor_digests();
    for c in state.visible(policy) {
        if known.binary_search(&c.tensor()).is_err() {
            return Err(fail(
                "no invented contributions",
                format!("'{}' holds an unknown tensor", c.model_id()),
            ));
        }
    }
    let log: Vec<_> = hosts
        .iter()
        .flat_map(|h| h.executor().churn_log().iter().cloned())
        .collect();
    for node in 0..case.config.nodes {
        let loses_state = case
            .plan
            .nodes
            .iter()
            .any(|f| f.node == node && f.kind == NodeFaultKind::CrashLoseState);
        if loses_state {
            continue;
        }
        let id = model_id(node);
        let visible = state
            .visible(policy)
            .into_iter()
            .find(|c| c.model_id() == id);
        let last = log
            .iter()
            .filter(|l| l.node == node && l.applied)
            .max_by_key(|l| l.round);
        match (last.map(|l| (l.action, l.version)), visible) {
            (Some((ChurnAction::Remove, _)), Some(c)) => {
                return Err(fail(
                    "removed stays removed",
                    format!("{id} v{} is back", c.version()),
                ));
            }
            (Some((ChurnAction::Update, v)), Some(c)) if c.version() != v => {
                return Err(fail(
                    "updates are kept",
                    format!("{id} shows v{}, last write v{v}", c.version()),
                ));
            }
            (Some((ChurnAction::Update, v)), None) => {
                return Err(fail("updates are kept", format!("{id} v{v} is missing")));
            }
            (None, None) => {
                return Err(fail("contributions are kept", format!("{id} is missing")));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Shrinks a failing case: removes fault events one at a time and lowers the
/// node count while `still_fails` holds. Returns the smallest case found.
pub fn shrink(case: &FuzzCase, still_fails: &dyn Fn(&FuzzCase) -> bool) -> FuzzCase {
    let mut best = case.clone();
    let mut progress = true;
    let mut budget = 500u32;
    while progress && budget > 0 {
        progress = false;
        for candidate in smaller(&best) {
            budget = budget.saturating_sub(1);
            if candidate.plan.validate(candidate.config.nodes).is_ok() && still_fails(&candidate) {
                best = candidate;
                progress = true;
                break;
            }
        }
    }
    best
}

/// One-step simplifications of a case.
fn smaller(case: &FuzzCase) -> Vec<FuzzCase> {
    let mut out = Vec::new();
    let with = |f: &dyn Fn(&mut FuzzCase)| {
        let mut c = case.clone();
        f(&mut c);
        c.config.rounds_max = c.plan.quiet_from() + SETTLE_ROUNDS;
        c
    };
    for i in 0..case.plan.partitions.len() {
        out.push(with(&|c| {
            c.plan.partitions.remove(i);
        }));
    }
    if case.plan.link.is_some() {
        out.push(with(&|c| c.plan.link = None));
    }
    for i in 0..case.plan.nodes.len() {
        out.push(with(&|c| {
            c.plan.nodes.remove(i);
        }));
    }
    for i in 0..case.plan.churn.len() {
        out.push(with(&|c| {
            c.plan.churn.remove(i);
        }));
    }
    if case.config.nodes > 3 {
        out.push(with(&|c| {
            // Drop the highest node; events that named it move to a lower one.
            let n = c.config.nodes - 1;
            c.config.nodes = n;
            c.config.fanout = c.config.fanout.min(n - 1);
            for f in &mut c.plan.nodes {
                f.node %= n;
            }
            for e in &mut c.plan.churn {
                e.node %= n;
            }
            c.plan.partitions.retain(|p| match p.shape {
                PartitionShape::Isolated { node } => node < n,
                PartitionShape::Groups { k } | PartitionShape::ModGroups { k } => k <= n,
                PartitionShape::MajorityMinority { minority } => 2 * minority < n,
                _ => true,
            });
        }));
    }
    out
}

/// Summary of a fuzzing campaign.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub schedules: u64,
    pub passed: u64,
    /// Failing seeds with the invariant, the detail and the shrunk case.
    pub failures: Vec<(u64, FuzzFailure, FuzzCase)>,
}

/// Runs `count` cases with seeds derived from `seed`.
pub fn campaign(seed: u64, count: u64, progress: &mut dyn FnMut(u64) -> bool) -> Campaign {
    let mut out = Campaign::default();
    for k in 0..count {
        let case_seed = Stream::new(seed, Purpose::Other, &[0x63616d70, k]).next_u64() >> 11;
        let case = draw(case_seed);
        out.schedules += 1;
        match check(&case) {
            Ok(()) => out.passed += 1,
            Err(f) => {
                let small = shrink(&case, &|c| check(c).is_err());
                out.failures.push((case_seed, f, small));
            }
        }
        if !progress(k + 1) {
            break;
        }
    }
    out
}
