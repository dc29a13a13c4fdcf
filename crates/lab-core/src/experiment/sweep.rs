//! Experiment 3 — the strategy sweep.
//!
//! For every registered strategy (both families): run Experiment 1 through
//! Layer 1 (every node must end with the same state and the same merged
//! model), and the negative control (the same strategy applied pairwise in
//! gossip order), recording how far the naive approach drifts. Timing is the
//! caller's job (the engine has no clock): the CLI and the browser time
//! [`resolve_once`] per strategy and put the numbers in the report's
//! execution block.

use super::convergence::{
    impl_has_workload, run_with_workload, ConvergenceConfig, FileTensors, FineTuneParams,
    HasWorkload, ResolveMode, Resolver, Workload, WorkloadKind,
};
use super::negative::{pairwise_gossip, NegativeControl};
use super::params::{protocol_field, workload_fields, Field, QueryIssue};
use crate::error::{ConfigError, LabError};
use crate::report::{Check, Report, Verdict};
use crate::sim::faults::FaultPlan;
use crate::sim::Protocol;
use crate::strategy::{self, Family, ReproClass};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Experiment name used in reports, URLs and the CLI.
pub const NAME: &str = "sweep";

/// The configuration of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SweepConfig {
    pub nodes: u32,
    pub dim: u32,
    pub orderings: u32,
    pub protocol: Protocol,
    pub fanout: u32,
    pub seed: u64,
    /// Strategy names to run; empty means every registered strategy.
    pub strategies: Vec<String>,
    /// What the nodes contribute (as in convergence). With model files and
    /// no base file, the strategies that need a base are not applicable.
    pub workload: WorkloadKind,
    /// Parameters of the fine-tune workload (ignored otherwise).
    pub finetune: FineTuneParams,
}

impl_has_workload!(SweepConfig);

impl Default for SweepConfig {
    /// The seed lab's sweep (10 nodes × 64×64, all-pairs), on fine-tunes.
    fn default() -> Self {
        SweepConfig {
            nodes: 10,
            dim: 64,
            orderings: 2,
            protocol: Protocol::AllPairs,
            fanout: 1,
            seed: 42,
            strategies: Vec::new(),
            workload: WorkloadKind::default(),
            finetune: FineTuneParams::default(),
        }
    }
}

impl SweepConfig {
    /// The strategies this sweep runs, in registry order.
    pub fn selected(&self) -> Vec<&'static str> {
        strategy::registry()
            .map(|s| s.info().name)
            .filter(|n| self.strategies.is_empty() || self.strategies.iter().any(|s| s == n))
            .collect()
    }

    /// The Experiment-1 config of one strategy.
    pub fn convergence(&self, strategy: &str) -> ConvergenceConfig {
        ConvergenceConfig {
            nodes: self.nodes,
            dim: self.dim,
            orderings: self.orderings,
            protocol: self.protocol,
            fanout: self.fanout,
            strategy: strategy.to_string(),
            seed: self.seed,
            resolve: ResolveMode::EveryNode,
            workload: self.workload.clone(),
            finetune: self.finetune,
            ..ConvergenceConfig::default()
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        for name in &self.strategies {
            if strategy::find(name).is_none() {
                return Err(ConfigError::UnknownStrategy(name.clone()));
            }
        }
        self.convergence("weight_average").validate()
    }

    /// The equivalent `lab-cli` command line.
    pub fn cli_command(&self) -> String {
        let mut s = format!(
            "lab-cli sweep --nodes {} --dim {} --orderings {} --protocol {} --fanout {} --seed {}",
            self.nodes,
            self.dim,
            self.orderings,
            self.protocol.name(),
            self.fanout,
            self.seed
        );
        if !self.strategies.is_empty() {
            s.push_str(&format!(" --strategies {}", self.strategies.join(",")));
        }
        s + &self.workload_flags()
    }

    /// Whether `strategy` needs a base this workload lacks (model files
    /// without a base file): then its row is "not applicable".
    pub fn lacks_base_for(&self, strategy: &str) -> bool {
        let needs = strategy::find(strategy).is_some_and(|s| s.info().needs_base);
        needs
            && self
                .workload
                .files()
                .is_some_and(|files| files.base.is_none())
    }
}

impl SweepConfig {
    /// The config as URL query pairs (schema `v=1`).
    pub fn to_query(&self) -> Vec<(String, String)> {
        super::params::to_query(NAME, FIELDS, self)
    }

    /// Reads a config from URL query pairs. Unknown keys are ignored; every
    /// invalid value falls back to its default and is reported.
    pub fn from_query(pairs: &[(String, String)]) -> (SweepConfig, Vec<QueryIssue>) {
        super::params::from_query(pairs, FIELDS, SweepConfig::validate)
    }
}

/// Parses comma-separated strategy names (as `lab-cli sweep --strategies`
/// does: blanks ignored; empty means every registered strategy), rejecting
/// unknown names.
pub fn parse_strategies(text: &str) -> Result<Vec<String>, ConfigError> {
    let names: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if let Some(bad) = names.iter().find(|n| strategy::find(n).is_none()) {
        return Err(ConfigError::UnknownStrategy(bad.clone()));
    }
    Ok(names)
}

/// The URL/CLI fields of the config, in display order.
pub static FIELDS: &[Field<SweepConfig>] = workload_fields![SweepConfig;
    Field::u32("nodes", |c| c.nodes, |c, v| c.nodes = v),
    Field::u32("dim", |c| c.dim, |c, v| c.dim = v),
    Field::u32("orderings", |c| c.orderings, |c, v| c.orderings = v),
    protocol_field!(),
    Field::u32("fanout", |c| c.fanout, |c, v| c.fanout = v),
    Field::u64("seed", |c| c.seed, |c, v| c.seed = v),
    Field::text(
        "strategies",
        |c| c.strategies.join(","),
        |c, v| {
            c.strategies = parse_strategies(v)?;
            Ok(())
        },
    ),
];

/// One strategy's row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StrategyRow {
    pub strategy: String,
    pub family: Family,
    pub class: ReproClass,
    pub needs_base: bool,
    pub stochastic: bool,
    /// Experiment 1 through Layer 1 passed for this strategy.
    pub layer1_converged: bool,
    /// Why not, when it did not (or the strategy failed on this input).
    pub problem: Option<String>,
    pub state_digest: String,
    pub resolved_digest: String,
    /// Pairwise merging in gossip order (None when the strategy is only
    /// defined for the whole set, e.g. rejects two inputs).
    pub negative_control: Option<NegativeControl>,
    /// Agreement with the reference library's vectors, when the caller
    /// checked them (`lab-cli sweep --vectors DIR`).
    pub conformance: Option<ConformanceSummary>,
}

/// Per-strategy conformance counts (see [`crate::conformance`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConformanceSummary {
    pub exact: u32,
    pub within_tolerance: u32,
    pub mismatched: u32,
    pub skipped: u32,
    pub worst_rel_error: f64,
}

impl From<&crate::conformance::FileReport> for ConformanceSummary {
    fn from(r: &crate::conformance::FileReport) -> Self {
        ConformanceSummary {
            exact: r.exact as u32,
            within_tolerance: r.within_tolerance as u32,
            mismatched: r.mismatched as u32,
            skipped: r.skipped as u32,
            worst_rel_error: r.worst_rel_error,
        }
    }
}

/// Results of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepResults {
    pub rows: Vec<StrategyRow>,
}

/// The report type of this experiment.
pub type SweepReport = Report<SweepConfig, SweepResults>;

/// Runs one strategy's row (synthetic workloads; see [`sweep_one_with`]).
pub fn sweep_one(config: &SweepConfig, name: &str) -> Result<StrategyRow, LabError> {
    sweep_one_with(config, name, None)
}

/// Runs one strategy's row on any workload: a file workload needs its
/// loaded tensors, checked against the digests the config records.
pub fn sweep_one_with(
    config: &SweepConfig,
    name: &str,
    tensors: Option<&FileTensors>,
) -> Result<StrategyRow, LabError> {
    let info = strategy::find(name)
        .ok_or_else(|| ConfigError::UnknownStrategy(name.to_string()))?
        .info();
    let c = config.convergence(name);
    let mut row = StrategyRow {
        strategy: name.to_string(),
        family: info.family,
        class: info.class,
        needs_base: info.needs_base,
        stochastic: info.stochastic,
        layer1_converged: false,
        problem: None,
        state_digest: String::new(),
        resolved_digest: String::new(),
        negative_control: None,
        conformance: None,
    };
    if config.lacks_base_for(name) {
        row.problem = Some("needs a base model: add a base file".into());
        return Ok(row);
    }
    let workload = Arc::new(Workload::for_run(&c, &FaultPlan::default(), tensors)?);
    match run_with_workload(&c, Arc::clone(&workload), 1, &mut |_| true) {
        Ok(report) => {
            row.layer1_converged = report.verdict.passed;
            row.state_digest = report.results.oracle_state_digest.clone();
            row.resolved_digest = report.results.oracle_resolved_digest.clone();
            if !report.verdict.passed {
                let failed: Vec<String> = report
                    .verdict
                    .checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| c.name.clone())
                    .collect();
                row.problem = Some(format!("failed: {}", failed.join(", ")));
            }
        }
        Err(LabError::Merge(e)) => {
            row.problem = Some(format!("the strategy rejects this input: {e}"));
            return Ok(row);
        }
        Err(e) => return Err(e),
    }
    let node_tensors: Vec<Tensor> = (0..config.nodes)
        .map(|i| workload.node_tensor(i).clone())
        .collect();
    let layer2 = PreparedResolve::from_workload(&c, workload.clone())?.resolve()?;
    row.negative_control = pairwise_gossip(
        name,
        &node_tensors,
        info.needs_base.then_some(workload.base_tensor()),
        config.seed,
        0,
        &layer2,
    )
    .ok();
    Ok(row)
}

/// A strategy ready to resolve the whole contribution set, so callers can
/// time exactly the work a node does per resolve.
pub struct PreparedResolve {
    resolver: Resolver,
    set: crate::crdt::ContributionSet,
}

impl PreparedResolve {
    /// Synthetic workloads (see [`PreparedResolve::with_tensors`]).
    pub fn new(config: &SweepConfig, name: &str) -> Result<PreparedResolve, LabError> {
        PreparedResolve::with_tensors(config, name, None)
    }

    /// Any workload: a file workload needs its loaded tensors.
    pub fn with_tensors(
        config: &SweepConfig,
        name: &str,
        tensors: Option<&FileTensors>,
    ) -> Result<PreparedResolve, LabError> {
        let c = config.convergence(name);
        c.validate()?;
        let workload = Arc::new(Workload::for_run(&c, &FaultPlan::default(), tensors)?);
        PreparedResolve::from_workload(&c, workload)
    }

    fn from_workload(
        c: &ConvergenceConfig,
        workload: Arc<Workload>,
    ) -> Result<PreparedResolve, LabError> {
        let resolver = Resolver::new(c, Arc::clone(&workload))?;
        let mut set = crate::crdt::ContributionSet::new();
        for i in 0..c.nodes {
            set.join(&workload.initial_state(i, c.policy));
        }
        Ok(PreparedResolve { resolver, set })
    }

    /// Resolves once.
    pub fn resolve(&self) -> Result<Tensor, LabError> {
        Ok(self.resolver.resolve(&self.set)?)
    }
}

/// Resolves the whole contribution set once.
pub fn resolve_once(config: &SweepConfig, name: &str) -> Result<Tensor, LabError> {
    PreparedResolve::new(config, name)?.resolve()
}

/// Builds the report from the rows.
pub fn assemble(config: &SweepConfig, rows: Vec<StrategyRow>) -> SweepReport {
    let ran: Vec<&StrategyRow> = rows
        .iter()
        .filter(|r| r.problem.as_deref().is_none_or(|p| p.starts_with("failed")))
        .collect();
    let converged = ran.iter().filter(|r| r.layer1_converged).count();
    let skipped: Vec<&str> = rows
        .iter()
        .filter(|r| !ran.iter().any(|x| x.strategy == r.strategy))
        .map(|r| r.strategy.as_str())
        .collect();
    let diverged = rows
        .iter()
        .filter(|r| {
            r.negative_control
                .as_ref()
                .is_some_and(|n| n.distinct_models > 1)
        })
        .count();
    let measured = rows.iter().filter(|r| r.negative_control.is_some()).count();
    let checked: Vec<&StrategyRow> = rows.iter().filter(|r| r.conformance.is_some()).collect();
    let mismatching: Vec<&str> = checked
        .iter()
        .filter(|r| r.conformance.as_ref().is_some_and(|c| c.mismatched > 0))
        .map(|r| r.strategy.as_str())
        .collect();
    let mut checks = vec![
        Check {
            name: "every strategy converges through Layer 1".into(),
            passed: converged == ran.len() && !ran.is_empty(),
            detail: format!(
                "{converged} of {} strategies: every node bit-identical within and across orderings{}",
                ran.len(),
                if skipped.is_empty() { String::new() } else { format!("; not applicable to this input: {}", skipped.join(", ")) }
            ),
        },
        Check {
            name: "negative control measured".into(),
            passed: measured > 0,
            detail: format!(
                "pairwise merging in gossip order left nodes with different models for {diverged} of {measured} strategies"
            ),
        },
    ];
    if !checked.is_empty() {
        checks.push(Check {
            name: "agrees with the reference vectors".into(),
            passed: mismatching.is_empty(),
            detail: if mismatching.is_empty() {
                format!(
                    "{} strategies checked against crdt-merge 0.9.5's vectors: no mismatch",
                    checked.len()
                )
            } else {
                format!("mismatches in {}", mismatching.join(", "))
            },
        });
    }
    Report::new(
        NAME,
        config.clone(),
        SweepResults { rows },
        Verdict::from_checks(checks),
    )
}

/// Runs the whole sweep natively (no timings; see the CLI for those).
pub fn run(config: &SweepConfig) -> Result<SweepReport, LabError> {
    run_with_tensors(config, None)
}

/// [`run`] on any workload: a file workload needs its loaded tensors.
pub fn run_with_tensors(
    config: &SweepConfig,
    tensors: Option<&FileTensors>,
) -> Result<SweepReport, LabError> {
    config.validate()?;
    let rows = config
        .selected()
        .into_iter()
        .map(|n| sweep_one_with(config, n, tensors))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(assemble(config, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::params::testing::{assert_fields_cover, pairs};

    #[test]
    fn fields_cover_every_config_field() {
        assert_fields_cover::<SweepConfig>(FIELDS);
    }

    #[test]
    fn query_round_trips() {
        let d = SweepConfig::default();
        let (back, issues) = SweepConfig::from_query(&d.to_query());
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(back, d);
        let c = SweepConfig {
            nodes: 6,
            dim: 16,
            orderings: 3,
            protocol: Protocol::PushPull,
            fanout: 2,
            seed: 9,
            strategies: vec![
                "linear".into(),
                "weight_average".into(),
                "ties:paper".into(),
            ],
            workload: WorkloadKind::Gaussian,
            finetune: FineTuneParams {
                rank: 3,
                scale: 0.25,
                sparsity: 0.5,
                overlap: 0.125,
                noise: 0.0,
            },
        };
        assert_ne!(c, d);
        c.validate().unwrap();
        let q = c.to_query();
        assert_eq!(q[1], ("exp".into(), NAME.into()));
        let (back, issues) = SweepConfig::from_query(&q);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(back, c);
        // Blanks around names are ignored, as on the command line.
        let (back, issues) =
            SweepConfig::from_query(&pairs(&[("strategies", " linear, ,weight_average ")]));
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(back.strategies, ["linear", "weight_average"]);
    }

    #[test]
    fn bad_query_values_fall_back_and_name_the_key() {
        for (key, value) in [
            ("strategies", "linear,no_such_strategy"),
            ("nodes", "1"),
            ("fanout", "50"),
            ("protocol", "smoke"),
            ("seed", "-1"),
            ("workload", "files"),
            ("ft_rank", "0"),
            ("ft_overlap", "x"),
        ] {
            let (c, issues) = SweepConfig::from_query(&pairs(&[(key, value), ("dim", "8")]));
            assert_eq!(issues.len(), 1, "{key}={value}: {issues:?}");
            assert_eq!(issues[0].key, key, "{issues:?}");
            let field = FIELDS.iter().find(|f| f.key == key).unwrap();
            assert_eq!(field.get(&c), field.get(&SweepConfig::default()), "{key}");
            assert_eq!(c.dim, 8);
        }
    }
}
