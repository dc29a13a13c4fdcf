//! The full suite: Experiments 1–4 in one report. The `seed` preset
//! reproduces the seed lab's default suite — 30 nodes, 128×128, 5 orderings,
//! 3 partitions by i mod 3, the sweep at 10 nodes × 64×64, scalability up to
//! 30 nodes at 64×64 — with its all-pairs schedule, so the lab's numbers can
//! be set beside the published ones. The seed preset keeps the seed lab's
//! plain Gaussian workload; every other suite uses the experiments' default
//! (synthetic fine-tunes).

use super::convergence::{
    self, ConvergenceConfig, ConvergenceReport, FineTuneParams, WorkloadKind,
};
use super::partition::{self, PartitionConfig, PartitionReport};
use super::scale::{self, ScaleConfig, ScaleReport};
use super::sweep::{self, SweepConfig, SweepReport};
use crate::error::{ConfigError, LabError};
use crate::report::{Check, Report, Verdict};
use crate::sim::faults::{PartitionPhase, PartitionShape};
use crate::sim::Protocol;
use serde::{Deserialize, Serialize};

/// Experiment name used in reports and the CLI.
pub const NAME: &str = "suite";

/// The four experiments' configs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SuiteConfig {
    pub convergence: ConvergenceConfig,
    pub partition: PartitionConfig,
    pub sweep: SweepConfig,
    pub scale: ScaleConfig,
}

impl Default for SuiteConfig {
    fn default() -> Self {
        SuiteConfig::seed_preset()
    }
}

impl SuiteConfig {
    /// A full suite derived from `nodes`, `dim` and `orderings` the way the
    /// seed lab derives it (sweep at min(N,10) × min(d,64), scalability up to
    /// min(N,50) at min(d,64)), with the given protocol.
    pub fn derived(
        nodes: u32,
        dim: u32,
        orderings: u32,
        partitions: u32,
        protocol: Protocol,
        seed: u64,
    ) -> SuiteConfig {
        let small = dim.min(64);
        let phases = if protocol == Protocol::AllPairs {
            vec![PartitionPhase {
                start: 1,
                heal: 2,
                shape: PartitionShape::ModGroups { k: partitions },
            }]
        } else {
            vec![PartitionPhase {
                start: 1,
                heal: 21,
                shape: PartitionShape::ModGroups { k: partitions },
            }]
        };
        SuiteConfig {
            convergence: ConvergenceConfig {
                nodes,
                dim,
                orderings,
                protocol,
                seed,
                ..ConvergenceConfig::default()
            },
            partition: PartitionConfig {
                nodes,
                dim,
                protocol,
                seed,
                phases,
                ..PartitionConfig::default()
            },
            sweep: SweepConfig {
                nodes: nodes.min(10),
                dim: small,
                orderings: 1,
                protocol,
                seed,
                ..SweepConfig::default()
            },
            scale: ScaleConfig {
                sizes: ScaleConfig::seed_sizes(nodes.min(50)),
                dim: small,
                orderings: 1,
                protocol,
                seed,
                ..ScaleConfig::default()
            },
        }
    }

    /// The seed lab's default suite, on the seed lab's workload: plain
    /// Gaussian tensors (not the experiments' default fine-tunes).
    pub fn seed_preset() -> SuiteConfig {
        SuiteConfig::derived(30, 128, 5, 3, Protocol::AllPairs, 42)
            .with_workload(WorkloadKind::Gaussian, FineTuneParams::default())
    }

    /// The same suite with every experiment on `workload` (synthetic: the
    /// suite runs without model files).
    pub fn with_workload(
        mut self,
        workload: WorkloadKind,
        finetune: FineTuneParams,
    ) -> SuiteConfig {
        self.convergence.workload = workload.clone();
        self.convergence.finetune = finetune;
        self.partition.workload = workload.clone();
        self.partition.finetune = finetune;
        self.sweep.workload = workload.clone();
        self.sweep.finetune = finetune;
        self.scale.workload = workload;
        self.scale.finetune = finetune;
        self
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.convergence.validate()?;
        self.partition.validate()?;
        self.sweep.validate()?;
        self.scale.validate()
    }
}

/// The four reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuiteResults {
    pub convergence: ConvergenceReport,
    pub partition: PartitionReport,
    pub sweep: SweepReport,
    pub scale: ScaleReport,
}

/// The report type of the suite.
pub type SuiteReport = Report<SuiteConfig, SuiteResults>;

/// Combines four finished reports.
pub fn assemble(config: &SuiteConfig, results: SuiteResults) -> SuiteReport {
    let part = |name: &str, passed: bool, fp: &str| Check {
        name: name.into(),
        passed,
        detail: format!(
            "{} (fingerprint {})",
            if passed { "passed" } else { "FAILED" },
            &fp[..16]
        ),
    };
    let checks = vec![
        part(
            "1. convergence",
            results.convergence.verdict.passed,
            &results.convergence.fingerprint,
        ),
        part(
            "2. partition and healing",
            results.partition.verdict.passed,
            &results.partition.fingerprint,
        ),
        part(
            "3. strategy sweep",
            results.sweep.verdict.passed,
            &results.sweep.fingerprint,
        ),
        part(
            "4. scalability",
            results.scale.verdict.passed,
            &results.scale.fingerprint,
        ),
    ];
    Report::new(NAME, config.clone(), results, Verdict::from_checks(checks))
}

/// Runs the whole suite natively (timings are the caller's).
pub fn run(config: &SuiteConfig) -> Result<SuiteReport, LabError> {
    config.validate()?;
    let results = SuiteResults {
        convergence: convergence::run(&config.convergence)?,
        partition: partition::run(&config.partition)?,
        sweep: sweep::run(&config.sweep)?,
        scale: scale::run(&config.scale)?,
    };
    Ok(assemble(config, results))
}
