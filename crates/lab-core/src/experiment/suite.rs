//! The full suite: Experiments 1–4 in one report. The `seed` preset
//! reproduces the seed lab's default suite — 30 nodes, 128×128, 5 orderings,
//! 3 partitions by i mod 3, the sweep at 10 nodes × 64×64, scalability up to
//! 30 nodes at 64×64 — with its all-pairs schedule, so the lab's numbers can
//! be set beside the published ones. The seed preset keeps the seed lab's
//! plain Gaussian workload; every other suite uses the experiments' default
//! (synthetic fine-tunes).

use super::convergence::{
    self, impl_has_workload, ConvergenceConfig, ConvergenceReport, FileTensors, FineTuneParams,
    Workload, WorkloadKind,
};
use super::params::{self, protocol_field, workload_fields, Field};
use super::partition::{self, PartitionConfig, PartitionReport};
use super::scale::{self, ScaleConfig, ScaleReport};
use super::sweep::{self, SweepConfig, SweepReport};
use crate::error::{ConfigError, LabError};
use crate::report::{Check, Report, Verdict};
use crate::sim::faults::{PartitionPhase, PartitionShape};
use crate::sim::Protocol;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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

    /// The same suite with every experiment on `workload`. With `F` model
    /// files (node `i` contributes file `i mod F`, so every network needs at
    /// least `F` nodes) the sweep runs at no fewer than `F` nodes and
    /// scalability starts at `F` nodes.
    pub fn with_workload(
        mut self,
        workload: WorkloadKind,
        finetune: FineTuneParams,
    ) -> SuiteConfig {
        if let Some(f) = workload.files() {
            let least = f.files.len() as u32;
            self.sweep.nodes = self.sweep.nodes.max(least);
            self.scale.sizes.retain(|&n| n > least);
            self.scale.sizes.insert(0, least);
        }
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
    run_with_tensors(config, None)
}

/// [`run`] for any workload: a suite on model files needs their loaded
/// tensors ([`convergence::load_files`]), checked against the digests the
/// config records.
pub fn run_with_tensors(
    config: &SuiteConfig,
    tensors: Option<&FileTensors>,
) -> Result<SuiteReport, LabError> {
    run_observed(config, tensors, &mut |_| {})
}

/// The parts' names, in the order they run.
pub const PARTS: [&str; 4] = ["convergence", "partition", "sweep", "scale"];

/// [`run_with_tensors`], telling `part_done` the name of each part (one of
/// [`PARTS`]) as it finishes — so a caller can time them.
pub fn run_observed(
    config: &SuiteConfig,
    tensors: Option<&FileTensors>,
    part_done: &mut dyn FnMut(&'static str),
) -> Result<SuiteReport, LabError> {
    config.validate()?;
    let workload = match tensors {
        Some(t) => Workload::from_files(&config.convergence, t.clone())?,
        None if config.convergence.workload.files().is_some() => {
            return Err(ConfigError::Invalid(
                "a suite on model files needs their tensors: load the files first".into(),
            )
            .into())
        }
        None => Workload::synthetic(&config.convergence),
    };
    let convergence =
        convergence::run_with_workload(&config.convergence, Arc::new(workload), 1, &mut |_| true)?;
    part_done(PARTS[0]);
    let partition = partition::run_with_tensors(&config.partition, 1, tensors)?;
    part_done(PARTS[1]);
    let sweep = sweep::run_with_tensors(&config.sweep, tensors)?;
    part_done(PARTS[2]);
    let scale = scale::run_with_tensors(&config.scale, tensors)?;
    part_done(PARTS[3]);
    let results = SuiteResults {
        convergence,
        partition,
        sweep,
        scale,
    };
    Ok(assemble(config, results))
}

/// Most nodes of a suite spec.
pub const SPEC_NODES_MAX: u32 = 10_000;
/// Most orderings of a suite spec.
pub const SPEC_ORDERINGS_MAX: u32 = 100;

/// What a suite is made from — `lab-cli suite`'s flags and the suite page's
/// form: a preset, or the few numbers the four configs are derived from
/// ([`SuiteConfig::derived`]) plus the workload every part runs on. The
/// `seed` preset fixes everything else (the seed lab's Gaussian workload
/// included), so the other fields are ignored under it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SuiteSpec {
    /// `seed` or `custom`.
    pub preset: String,
    pub nodes: u32,
    pub dim: u32,
    pub orderings: u32,
    /// Partitions (i mod P) in the partition experiment.
    pub partitions: u32,
    pub protocol: Protocol,
    pub seed: u64,
    /// The workload of every part (custom suites only).
    pub workload: WorkloadKind,
    pub finetune: FineTuneParams,
}

impl_has_workload!(SuiteSpec);

impl Default for SuiteSpec {
    /// The seed preset (with the numbers it stands for in the fields).
    fn default() -> Self {
        SuiteSpec {
            preset: "seed".into(),
            nodes: 30,
            dim: 128,
            orderings: 5,
            partitions: 3,
            protocol: Protocol::AllPairs,
            seed: 42,
            workload: WorkloadKind::default(),
            finetune: FineTuneParams::default(),
        }
    }
}

/// The suite spec's query fields (same names as `lab-cli suite`'s flags).
pub static SPEC_FIELDS: &[Field<SuiteSpec>] = workload_fields!(SuiteSpec;
    Field::text(
        "preset",
        |c| c.preset.clone(),
        |c, v| match v {
            "seed" | "custom" => {
                c.preset = v.to_string();
                Ok(())
            }
            _ => Err(ConfigError::Invalid(format!(
                "unknown preset '{v}' (seed or custom)"
            ))),
        },
    ),
    Field::u32("nodes", |c| c.nodes, |c, v| c.nodes = v),
    Field::u32("dim", |c| c.dim, |c, v| c.dim = v),
    Field::u32("orderings", |c| c.orderings, |c, v| c.orderings = v),
    Field::u32("partitions", |c| c.partitions, |c, v| c.partitions = v),
    protocol_field!(),
    Field::u64("seed", |c| c.seed, |c, v| c.seed = v),
);

impl SuiteSpec {
    /// Whether this is the seed preset.
    pub fn is_seed(&self) -> bool {
        self.preset == "seed"
    }

    /// The four experiments' configs.
    pub fn config(&self) -> SuiteConfig {
        if self.is_seed() {
            SuiteConfig::seed_preset()
        } else {
            SuiteConfig::derived(
                self.nodes,
                self.dim,
                self.orderings,
                self.partitions,
                self.protocol,
                self.seed,
            )
            .with_workload(self.workload.clone(), self.finetune)
        }
    }

    /// Checks the numbers, then the four derived configs.
    pub fn validate(&self) -> Result<(), ConfigError> {
        params::range("nodes", self.nodes as u64, 2, SPEC_NODES_MAX as u64)?;
        params::range(
            "orderings",
            self.orderings as u64,
            1,
            SPEC_ORDERINGS_MAX as u64,
        )?;
        params::range("partitions", self.partitions as u64, 2, self.nodes as u64)?;
        if self.is_seed() && self.workload.files().is_some() {
            return Err(ConfigError::Invalid(
                "the seed preset runs the seed lab's Gaussian workload: choose the custom preset to merge model files".into(),
            ));
        }
        self.config().validate()
    }

    /// The `lab-cli suite` command that computes the same report.
    pub fn cli_command(&self) -> String {
        use super::convergence::HasWorkload;
        if self.is_seed() {
            "lab-cli suite --preset seed".into()
        } else {
            format!(
                "lab-cli suite --nodes {} --dim {} --orderings {} --partitions {} --protocol {} --seed {}{}",
                self.nodes,
                self.dim,
                self.orderings,
                self.partitions,
                self.protocol.name(),
                self.seed,
                self.workload_flags()
            )
        }
    }

    /// The spec as URL pairs (model files cannot travel in a link).
    pub fn to_query(&self) -> Vec<(String, String)> {
        params::to_query(NAME, SPEC_FIELDS, self)
    }

    /// A spec from URL pairs; bad values fall back and are named.
    pub fn from_query(pairs: &[(String, String)]) -> (SuiteSpec, Vec<params::QueryIssue>) {
        params::from_query(pairs, SPEC_FIELDS, SuiteSpec::validate)
    }
}
