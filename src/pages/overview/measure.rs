//! What "Measure in this browser" runs, without any web API: a [`Plan`] of
//! small engine runs that test each of the seed lab's Key Results, and
//! [`measure`], which runs it over any [`Link`] (the worker pool in the
//! browser, in-process workers in the native tests). Every number it returns
//! comes from `lab-core` or from the link's clock in this run.

use crate::bench::BenchJob;
use crate::coordinator::{self, Link, RunError};
use crate::jobs::{run_jobs, JobProgress};
use crate::pages::benchmark::measure::bench_step;
use crate::protocol::{Job, JobOutput};
use lab_core::experiment::convergence::{ConvergenceConfig, ResolveMode};
use lab_core::experiment::partition::PartitionConfig;
use lab_core::experiment::sweep::SweepConfig;
use lab_core::experiment::trust::TrustConfig;
use lab_core::sim::Protocol;
use lab_core::strategy::Family;
use lab_core::trust::bench::Work;
use lab_core::trust::Level;
use serde::{Deserialize, Serialize};

/// A golden case: a convergence config and its native fingerprint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GoldenCase {
    pub name: String,
    pub config: ConvergenceConfig,
    pub fingerprint: String,
}

/// One golden case as `build.rs` writes it.
type GoldenEntry = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

/// The golden file's convergence cases (`tests/data/golden/fingerprints.json`,
/// fingerprints computed natively on x86-64 and checked by
/// `crates/lab-core/tests/golden.rs`) as (name, config as query pairs,
/// fingerprint), extracted by `build.rs` at build time.
const GOLDEN_CASES: &[GoldenEntry] = include!(concat!(env!("OUT_DIR"), "/golden_cases.rs"));

/// The convergence cases of the golden file, their configs read by the
/// engine's query parser (the page carries no JSON deserializer).
pub fn golden_cases() -> Result<Vec<GoldenCase>, String> {
    GOLDEN_CASES
        .iter()
        .map(|&(name, pairs, fingerprint)| {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|&(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let (config, issues) = ConvergenceConfig::from_query(&pairs);
            if let Some(issue) = issues.first() {
                return Err(format!(
                    "golden case {name}: {}={}: {}",
                    issue.key, issue.value, issue.message
                ));
            }
            Ok(GoldenCase {
                name: name.to_string(),
                config,
                fingerprint: fingerprint.to_string(),
            })
        })
        .collect()
}

/// What the overview measures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// `?quick=1`: smaller sizes (for tests).
    pub quick: bool,
    pub golden: Vec<GoldenCase>,
    /// Experiment 1 above the seed's 100 nodes.
    pub many_nodes: ConvergenceConfig,
    /// Every strategy through Layer 1, with the negative control.
    pub sweep: SweepConfig,
    /// Experiment 2, run once per seed.
    pub partition: PartitionConfig,
    pub partition_seeds: Vec<u64>,
    /// Contributions per state in the join benchmark.
    pub join_nodes: u32,
    pub join_reps_max: u32,
    /// How long each timed bench job should run (ms).
    pub job_ms: f64,
    pub trust: TrustConfig,
    pub pco_rows: Vec<Work>,
    pub pco_chunks_max: u32,
}

impl Plan {
    /// What the button runs (a few seconds on two cores).
    pub fn full() -> Result<Plan, String> {
        Ok(Plan {
            quick: false,
            golden: golden_cases()?,
            many_nodes: many_nodes(200, 4),
            sweep: sweep(4, 8),
            partition: PartitionConfig {
                nodes: 30,
                dim: 16,
                ..PartitionConfig::default()
            },
            partition_seeds: (1..=5).collect(),
            join_nodes: 100,
            join_reps_max: crate::bench::REPS_MAX,
            job_ms: 200.0,
            trust: TrustConfig {
                reference_contrast: true,
                ..TrustConfig::default()
            },
            pco_rows: pco_rows(),
            pco_chunks_max: crate::bench::REPS_MAX,
        })
    }

    /// Smaller sizes for tests (`?quick=1`).
    pub fn quick() -> Result<Plan, String> {
        Ok(Plan {
            quick: true,
            many_nodes: many_nodes(120, 1),
            sweep: sweep(3, 2),
            partition: PartitionConfig {
                nodes: 9,
                dim: 2,
                ..PartitionConfig::default()
            },
            partition_seeds: vec![1, 2],
            join_reps_max: 2_000,
            job_ms: 10.0,
            pco_chunks_max: 2,
            ..Plan::full()?
        })
    }
}

fn many_nodes(nodes: u32, dim: u32) -> ConvergenceConfig {
    ConvergenceConfig {
        nodes,
        dim,
        orderings: 1,
        protocol: Protocol::PushPull,
        fanout: 1,
        resolve: ResolveMode::OncePerState,
        ..ConvergenceConfig::default()
    }
}

fn sweep(nodes: u32, dim: u32) -> SweepConfig {
    SweepConfig {
        nodes,
        dim,
        orderings: 2,
        ..SweepConfig::default()
    }
}

fn pco_rows() -> Vec<Work> {
    vec![
        Work::Build,
        Work::Verify(Level::Signature),
        Work::Verify(Level::Causal),
        Work::BuildNoSig,
        Work::VerifyNoSig,
    ]
}

/// A golden case run in this browser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GoldenResult {
    pub name: String,
    pub native: String,
    pub here: String,
    pub passed: bool,
}

/// An Experiment 1 run's orderings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Orderings {
    pub total: u32,
    pub converged: u32,
}

/// The many-node run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManyNodes {
    pub nodes: u32,
    pub passed: bool,
    pub rounds: u32,
    pub elapsed_ms: f64,
}

/// The sweep, counted.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Strategies {
    pub registered: u32,
    pub reference_family: u32,
    /// Strategies defined for this input (the others reject it).
    pub applicable: u32,
    pub converged: u32,
    pub reference_converged: u32,
    pub literature_converged: u32,
    pub not_applicable: Vec<String>,
    pub not_converged: Vec<String>,
    pub negative_measured: u32,
    pub negative_diverged: u32,
    pub elapsed_ms: f64,
}

/// One partition run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartitionRun {
    pub seed: u64,
    pub passed: bool,
    pub rounds_after_heal: u32,
}

/// A timed bench row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timed {
    pub ops: u64,
    pub elapsed_ms: f64,
}

impl Timed {
    /// Operations per second (`None` where the clock did not move).
    pub fn rate(&self) -> Option<f64> {
        (self.elapsed_ms > 0.0).then(|| self.ops as f64 * 1000.0 / self.elapsed_ms)
    }

    /// Microseconds per operation.
    pub fn per_op_us(&self) -> Option<f64> {
        (self.elapsed_ms > 0.0 && self.ops > 0).then(|| self.elapsed_ms * 1000.0 / self.ops as f64)
    }
}

/// The trust run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trust {
    pub passed: bool,
    pub honest_nodes: u32,
    pub max_divergence: f64,
    pub distinct_roots: u32,
    pub elapsed_ms: f64,
    /// Reference semantics with homeostasis (contrast model).
    pub contrast_max_divergence: Option<f64>,
    pub contrast_distinct_roots: Option<u64>,
}

/// Everything measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    pub workers: u32,
    pub golden: Vec<GoldenResult>,
    /// Orderings of every Experiment 1 run (golden cases and many nodes).
    pub orderings: Orderings,
    pub many_nodes: ManyNodes,
    pub strategies: Strategies,
    pub partitions: Vec<PartitionRun>,
    pub join: Timed,
    pub trust: Trust,
    pub pco: Vec<(Work, Timed)>,
}

/// Where a measurement is.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasureProgress {
    pub fraction: f64,
    pub text: String,
}

/// Shares of the run time per step, for the progress bar (golden, many
/// nodes, sweep, partitions, join, trust, PCO).
const WEIGHTS: [f64; 7] = [0.05, 0.15, 0.3, 0.1, 0.1, 0.05, 0.25];

struct Tracker<'a> {
    progress: &'a mut dyn FnMut(MeasureProgress),
}

impl Tracker<'_> {
    fn at(&mut self, step: usize, within: f64, text: String) {
        let before: f64 = WEIGHTS[..step].iter().sum();
        let fraction = (before + WEIGHTS[step] * within.clamp(0.0, 1.0)).min(1.0);
        (self.progress)(MeasureProgress { fraction, text });
    }
}

/// Runs `plan` over `link`'s workers.
pub async fn measure<L: Link>(
    link: &mut L,
    plan: &Plan,
    progress: &mut dyn FnMut(MeasureProgress),
) -> Result<Measurements, RunError> {
    let mut t = Tracker { progress };
    let mut orderings = Orderings::default();
    let mut golden = Vec::new();
    for (i, case) in plan.golden.iter().enumerate() {
        t.at(
            0,
            i as f64 / plan.golden.len().max(1) as f64,
            format!("reproducibility: golden case {}", case.name),
        );
        let report = coordinator::run(link, &case.config, &mut |_| {})
            .await?
            .report;
        count(&mut orderings, &report.results.orderings);
        golden.push(GoldenResult {
            name: case.name.clone(),
            native: case.fingerprint.clone(),
            here: report.fingerprint.clone(),
            passed: report.verdict.passed,
        });
    }
    t.at(
        1,
        0.0,
        format!("Experiment 1 with {} nodes", plan.many_nodes.nodes),
    );
    let started_ms = link.now_ms();
    let report = coordinator::run(link, &plan.many_nodes, &mut |_| {})
        .await?
        .report;
    let many_nodes = ManyNodes {
        nodes: plan.many_nodes.nodes,
        passed: report.verdict.passed,
        rounds: report
            .results
            .orderings
            .iter()
            .map(|o| o.rounds)
            .max()
            .unwrap_or(0),
        elapsed_ms: link.now_ms() - started_ms,
    };
    count(&mut orderings, &report.results.orderings);
    let strategies = sweep_step(link, plan, &mut t).await?;
    let partitions = partition_step(link, plan, &mut t).await?;
    t.at(
        4,
        0.0,
        format!("CRDT join of {} contributions", plan.join_nodes),
    );
    let (ops, elapsed_ms, _) = bench_step(
        link,
        &BenchJob::Join {
            nodes: plan.join_nodes,
            reps: 100,
        },
        plan.join_reps_max,
        1,
        plan.job_ms,
        None,
    )
    .await?;
    let join = Timed { ops, elapsed_ms };
    t.at(5, 0.0, "trust (E4) run".into());
    let trust = trust_step(link, plan).await?;
    let mut pco = Vec::new();
    for (i, &work) in plan.pco_rows.iter().enumerate() {
        t.at(
            6,
            i as f64 / plan.pco_rows.len() as f64,
            format!("PCO {} ({})", work.operation(), work.label()),
        );
        let job = BenchJob::Pco {
            work,
            batch: 64,
            chunks: 1,
        };
        let (ops, elapsed_ms, _) =
            bench_step(link, &job, plan.pco_chunks_max, 1, plan.job_ms, None).await?;
        pco.push((work, Timed { ops, elapsed_ms }));
    }
    t.at(6, 1.0, "done".into());
    Ok(Measurements {
        workers: link.size(),
        golden,
        orderings,
        many_nodes,
        strategies,
        partitions,
        join,
        trust,
        pco,
    })
}

fn count(orderings: &mut Orderings, results: &[lab_core::experiment::convergence::OrderingResult]) {
    orderings.total += results.len() as u32;
    orderings.converged += results.iter().filter(|o| o.converged).count() as u32;
}

/// Runs `jobs`, reporting progress within step `step`.
async fn jobs_step<L: Link>(
    link: &mut L,
    jobs: Vec<Job>,
    labels: Vec<String>,
    t: &mut Tracker<'_>,
    step: usize,
    what: &str,
) -> Result<Vec<JobOutput>, RunError> {
    let mut on_progress = |p: JobProgress| {
        t.at(
            step,
            p.fraction(),
            format!("{what}: {} of {} done", p.done, p.total),
        );
    };
    let done = run_jobs(link, jobs, &labels, &mut on_progress).await?;
    Ok(done.into_iter().map(|d| d.output).collect())
}

async fn sweep_step<L: Link>(
    link: &mut L,
    plan: &Plan,
    t: &mut Tracker<'_>,
) -> Result<Strategies, RunError> {
    let names = plan.sweep.selected();
    let jobs = names
        .iter()
        .map(|s| Job::SweepRow {
            config: plan.sweep.clone(),
            strategy: s.to_string(),
        })
        .collect();
    let labels = names.iter().map(|s| s.to_string()).collect();
    let started_ms = link.now_ms();
    let outputs = jobs_step(link, jobs, labels, t, 2, "strategies").await?;
    let mut s = Strategies {
        registered: names.len() as u32,
        elapsed_ms: link.now_ms() - started_ms,
        ..Strategies::default()
    };
    for output in outputs {
        let JobOutput::SweepRow(row) = output else {
            return Err(RunError::Protocol(format!(
                "expected a sweep row, got {output:?}"
            )));
        };
        let reference = row.family == Family::Reference;
        s.reference_family += u32::from(reference);
        // A strategy that rejects the input (e.g. needs exactly two models)
        // is not applicable; one whose Layer-1 checks failed is a failure.
        if row
            .problem
            .as_deref()
            .is_some_and(|p| !p.starts_with("failed"))
        {
            s.not_applicable.push(row.strategy.clone());
        } else {
            s.applicable += 1;
            if row.layer1_converged {
                s.converged += 1;
                if reference {
                    s.reference_converged += 1;
                } else {
                    s.literature_converged += 1;
                }
            } else {
                s.not_converged.push(row.strategy.clone());
            }
        }
        if let Some(n) = &row.negative_control {
            s.negative_measured += 1;
            s.negative_diverged += u32::from(n.distinct_models > 1);
        }
    }
    Ok(s)
}

async fn partition_step<L: Link>(
    link: &mut L,
    plan: &Plan,
    t: &mut Tracker<'_>,
) -> Result<Vec<PartitionRun>, RunError> {
    let jobs = plan
        .partition_seeds
        .iter()
        .map(|&seed| {
            Job::Partition(PartitionConfig {
                seed,
                ..plan.partition.clone()
            })
        })
        .collect();
    let labels = plan
        .partition_seeds
        .iter()
        .map(|s| format!("seed {s}"))
        .collect();
    let outputs = jobs_step(link, jobs, labels, t, 3, "partition runs").await?;
    outputs
        .into_iter()
        .zip(&plan.partition_seeds)
        .map(|(output, &seed)| match output {
            JobOutput::Partition(r, _) => Ok(PartitionRun {
                seed,
                passed: r.verdict.passed,
                rounds_after_heal: r.results.rounds_after_heal,
            }),
            other => Err(RunError::Protocol(format!(
                "expected a partition report, got {other:?}"
            ))),
        })
        .collect()
}

async fn trust_step<L: Link>(link: &mut L, plan: &Plan) -> Result<Trust, RunError> {
    let mut done = run_jobs(link, vec![Job::Trust(plan.trust.clone())], &[], &mut |_| {}).await?;
    let d = done
        .pop()
        .ok_or_else(|| RunError::Protocol("no trust result".into()))?;
    let JobOutput::Trust(r) = d.output else {
        return Err(RunError::Protocol(format!(
            "expected a trust report, got {:?}",
            d.output
        )));
    };
    let res = &r.results;
    Ok(Trust {
        passed: r.verdict.passed,
        honest_nodes: res.honest_nodes,
        max_divergence: res.max_trust_divergence,
        distinct_roots: res.trust_roots.len() as u32,
        elapsed_ms: d.elapsed_ms,
        contrast_max_divergence: res
            .reference_contrast
            .as_ref()
            .map(|c| c.max_divergence_homeostasis),
        contrast_distinct_roots: res
            .reference_contrast
            .as_ref()
            .map(|c| c.distinct_roots_homeostasis),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::{block_on, LocalLink};

    #[test]
    fn golden_cases_match_the_file_read_by_serde_json() {
        let golden: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/data/golden/fingerprints.json"))
                .unwrap();
        let expected: Vec<GoldenCase> = golden["cases"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["experiment"] == "convergence")
            .map(|c| GoldenCase {
                name: c["name"].as_str().unwrap().to_string(),
                config: serde_json::from_value(c["config"].clone()).unwrap(),
                fingerprint: c["fingerprint"].as_str().unwrap().to_string(),
            })
            .collect();
        assert_eq!(golden_cases().unwrap(), expected);
    }

    #[test]
    fn the_golden_file_has_convergence_cases() {
        let cases = golden_cases().unwrap();
        assert!(!cases.is_empty());
        assert!(cases.iter().all(|c| c.fingerprint.len() == 64));
    }

    #[test]
    fn the_quick_plan_measures_every_claim_natively() {
        let plan = Plan::quick().unwrap();
        let mut link = LocalLink::new(2);
        let mut fractions = Vec::new();
        let m = block_on(measure(&mut link, &plan, &mut |p| {
            fractions.push(p.fraction)
        }))
        .unwrap();
        assert!(
            fractions.windows(2).all(|w| w[0] <= w[1] + 1e-12),
            "{fractions:?}"
        );
        assert_eq!(fractions.last().copied(), Some(1.0));
        // Native in-process workers reproduce the golden fingerprints.
        assert!(
            m.golden.iter().all(|g| g.native == g.here && g.passed),
            "{:?}",
            m.golden
        );
        assert_eq!(m.orderings.converged, m.orderings.total);
        assert!(m.many_nodes.passed);
        assert_eq!(m.strategies.reference_family, 26);
        assert_eq!(m.strategies.converged, m.strategies.applicable);
        assert!(m.partitions.iter().all(|p| p.passed));
        assert_eq!(m.trust.max_divergence, 0.0);
        assert_eq!(m.trust.distinct_roots, 1);
        assert!(m.trust.contrast_max_divergence.is_some());
        assert_eq!(m.pco.len(), plan.pco_rows.len());
        // The in-process clock does not move: no rates are made up.
        assert!(m.join.rate().is_none());
        // The table: the claims that can be checked without a clock hold;
        // the trust claim holds only in part; timing claims stay pending.
        use super::super::claims::{claims, Holds};
        let rows = claims(&plan, Some(&m));
        let holds = |key: &str| rows.iter().find(|c| c.key == key).unwrap().holds;
        for key in [
            "max-nodes",
            "strategies",
            "convergence-rate",
            "partition",
            "reproducibility",
        ] {
            assert_eq!(holds(key), Holds::Yes, "{key}: {:?}", rows);
        }
        assert_eq!(holds("trust"), Holds::NotAsStated);
        assert_eq!(holds("merge-overhead"), Holds::Pending);
        assert_eq!(holds("pco"), Holds::Pending);
    }
}
