//! What the benchmark page measures and how, without any web API: a
//! [`Plan`] (sizes, which PCO rows, how long each timed job should run) and
//! [`measure`], which runs it over any [`Link`] — the worker pool in the
//! browser, in-process workers in the native tests — and returns the rows.
//!
//! Timing: the coordinator's clock (`Link::now_ms`, `performance.now()` on
//! the main thread) around each job or run, so every elapsed time includes
//! one message round trip. Each bench row first warms its worker up
//! (untimed), then grows the repetitions until one job takes at least half
//! the plan's `job_ms` — far above the timer's resolution and the round
//! trip; the row on every worker at once reuses that size. Experiment runs are timed end to end, workload building
//! and resolves included, exactly as the Experiment 1 page runs them.

use crate::bench::{BenchJob, BenchOutput, REPS_MAX};
use crate::coordinator::{self, Link, RunError};
use crate::jobs::{run_jobs, Done};
use crate::protocol::{Job, JobOutput};
use lab_core::experiment::convergence::{ConvergenceConfig, ResolveMode};
use lab_core::sim::Protocol;
use lab_core::trust::bench::Work;
use lab_core::trust::Level;
use serde::{Deserialize, Serialize};

/// Most sizing jobs per row (repetitions grow up to ×100 each time).
const SIZING_TRIES_MAX: u32 = 8;

/// What the page measures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// `?quick=1`: tiny sizes that only check the page works; the numbers
    /// mean nothing.
    pub quick: bool,
    /// Contributions per state in the join benchmarks.
    pub join_nodes: u32,
    /// How long each timed bench job should run (ms).
    pub job_ms: f64,
    /// Most repetitions (joins) of one join job.
    pub join_reps_max: u32,
    /// Most chunks (16 PCOs, or one batch) of one PCO job.
    pub pco_chunks_max: u32,
    /// PCOs per batch in the batch-verification rows.
    pub pco_batch: u32,
    /// The PCO rows, as `lab-cli pco-bench` names them.
    pub pco_rows: Vec<Work>,
    /// Experiment 1 as the seed lab ran it, at 100 nodes.
    pub e1: ConvergenceConfig,
    /// Experiment 1 at 1,000 nodes with push-pull gossip.
    pub large: ConvergenceConfig,
}

impl Plan {
    /// The full benchmark (about half a minute on two cores).
    pub fn full() -> Plan {
        Plan {
            quick: false,
            join_nodes: 100,
            job_ms: 400.0,
            join_reps_max: REPS_MAX,
            pco_chunks_max: REPS_MAX,
            pco_batch: 64,
            pco_rows: Work::rows(),
            e1: e1_config(100, 128, 5),
            large: large_config(1000, 64),
        }
    }

    /// Tiny sizes for tests (`?quick=1`).
    pub fn quick() -> Plan {
        Plan {
            quick: true,
            join_nodes: 100,
            job_ms: 20.0,
            join_reps_max: 2_000,
            pco_chunks_max: 2,
            pco_batch: 8,
            pco_rows: vec![
                Work::Build,
                Work::Verify(Level::Causal),
                Work::VerifyBatch(Level::Causal),
                Work::BuildNoSig,
                Work::VerifyNoSig,
            ],
            e1: e1_config(10, 16, 2),
            large: large_config(40, 8),
        }
    }

    /// The steps, in order, with their expected share of the run time.
    pub fn steps(&self, workers: u32) -> Vec<Step> {
        let mut steps = vec![
            Step::Bench {
                id: "join-identical".into(),
                section: Section::Join,
                operation: format!(
                    "join of two identical states of {} contributions (converged exchange)",
                    self.join_nodes
                ),
                unit: "join",
                job: BenchJob::JoinIdentical {
                    nodes: self.join_nodes,
                    reps: 1_000,
                },
                reps_max: self.join_reps_max,
                workers: 1,
            },
            Step::Bench {
                id: "join-half".into(),
                section: Section::Join,
                operation: format!(
                    "join of {} contributions into a state holding half of them (clone included)",
                    self.join_nodes
                ),
                unit: "join",
                job: BenchJob::Join {
                    nodes: self.join_nodes,
                    reps: 100,
                },
                reps_max: self.join_reps_max,
                workers: 1,
            },
            Step::Convergence {
                id: "e1-100".into(),
                operation: describe(&self.e1),
                config: Box::new(self.e1.clone()),
            },
            Step::Convergence {
                id: "e1-1000".into(),
                operation: describe(&self.large),
                config: Box::new(self.large.clone()),
            },
        ];
        for &work in &self.pco_rows {
            let counts = if workers > 1 {
                vec![1, workers]
            } else {
                vec![1]
            };
            for w in counts {
                steps.push(Step::Bench {
                    id: format!("pco-{}-{}", work_id(work), w),
                    section: Section::Pco,
                    operation: pco_operation(work, self.pco_batch),
                    unit: "PCO",
                    job: BenchJob::Pco {
                        work,
                        batch: self.pco_batch,
                        chunks: 1,
                    },
                    reps_max: self.pco_chunks_max,
                    workers: w,
                });
            }
        }
        steps
    }
}

/// Experiment 1 as the seed lab ran it: all-pairs, `orderings` orderings,
/// weight_average, every node resolves.
fn e1_config(nodes: u32, dim: u32, orderings: u32) -> ConvergenceConfig {
    ConvergenceConfig {
        nodes,
        dim,
        orderings,
        protocol: Protocol::AllPairs,
        fanout: 1,
        strategy: "weight_average".into(),
        ..ConvergenceConfig::default()
    }
}

/// Experiment 1 at scale: push-pull gossip, one ordering, each distinct
/// state resolved once (as `BENCHMARKS.md`'s native 1,000-node run).
fn large_config(nodes: u32, dim: u32) -> ConvergenceConfig {
    ConvergenceConfig {
        nodes,
        dim,
        orderings: 1,
        protocol: Protocol::PushPull,
        fanout: 1,
        strategy: "weight_average".into(),
        resolve: ResolveMode::OncePerState,
        ..ConvergenceConfig::default()
    }
}

fn describe(c: &ConvergenceConfig) -> String {
    format!(
        "Experiment 1 end to end: {} nodes, {}×{}, {} ordering{}, {}, {}, resolve {}",
        c.nodes,
        c.dim,
        c.dim,
        c.orderings,
        if c.orderings == 1 { "" } else { "s" },
        c.protocol.name(),
        c.strategy,
        match c.resolve {
            ResolveMode::EveryNode => "on every node",
            ResolveMode::OncePerState => "once per distinct state",
        }
    )
}

fn work_id(work: Work) -> String {
    let sig = if work.label().starts_with("Ed25519") {
        "ed25519"
    } else {
        "nosig"
    };
    match work.level() {
        Some(l) => format!("{sig}-{}-l{}-{}", work.operation(), l.as_u8(), work.mode()),
        None => format!("{sig}-{}-{}", work.operation(), work.mode()),
    }
}

fn pco_operation(work: Work, batch: u32) -> String {
    let what = match (work.level(), work.mode()) {
        (Some(l), "batch") => format!("verify level {}, batches of {batch}", l.as_u8()),
        (Some(l), _) => format!("verify level {}, one at a time", l.as_u8()),
        (None, _) => work.operation().to_string(),
    };
    format!("PCO {what} — {}", work.label())
}

/// Groups of rows on the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Section {
    Join,
    Experiment,
    Pco,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Section::Join => "CRDT join (Layer 1)",
            Section::Experiment => "Experiment 1 end to end",
            Section::Pco => "Proof-carrying operations (E4)",
        }
    }
}

/// One step of the plan.
#[derive(Clone, Debug)]
pub enum Step {
    /// A bench job, calibrated, then run on `workers` workers at once.
    Bench {
        id: String,
        section: Section,
        operation: String,
        unit: &'static str,
        job: BenchJob,
        reps_max: u32,
        workers: u32,
    },
    /// An Experiment 1 run over the whole pool.
    Convergence {
        id: String,
        operation: String,
        config: Box<ConvergenceConfig>,
    },
}

impl Step {
    /// A rough share of the run time, for the progress bar.
    pub fn weight(&self) -> f64 {
        match self {
            Step::Bench { .. } => 1.0,
            Step::Convergence { config, .. } => {
                // (nodes × dim²) work units, against a 400 ms bench step.
                let units =
                    config.nodes as f64 * (config.dim as f64).powi(2) * config.orderings as f64;
                (units / 2.0e6).clamp(0.2, 20.0)
            }
        }
    }

    pub fn label(&self) -> String {
        match self {
            Step::Bench {
                operation, workers, ..
            } => format!("{operation} ×{workers}"),
            Step::Convergence { operation, .. } => operation.clone(),
        }
    }
}

/// One measured row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub id: String,
    pub section: Section,
    pub operation: String,
    /// What one operation is ("join", "ordering", "PCO").
    pub unit: String,
    /// Workers that ran it at the same time.
    pub workers: u32,
    pub ops: u64,
    pub elapsed_ms: f64,
    /// Operations per second (`None` where the clock did not move).
    pub rate_per_s: Option<f64>,
    /// How the row compares with a reference, a target or a baseline row.
    pub comparison: Option<Comparison>,
    /// Extra facts (verdict, fingerprint, repetitions).
    pub note: String,
}

impl Row {
    /// Microseconds per operation.
    pub fn per_op_us(&self) -> Option<f64> {
        (self.ops > 0 && self.elapsed_ms > 0.0).then(|| self.elapsed_ms * 1000.0 / self.ops as f64)
    }
}

/// A comparison: `speedup` > 1 means this run was faster than (or within)
/// what it is compared with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// What it is compared with, with its source.
    pub against: String,
    /// The other side's value, in words.
    pub value: String,
    pub speedup: Option<f64>,
    /// A target (not a measurement): met or not.
    pub target: bool,
}

/// The results: rows in plan order and the workers used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub workers: u32,
    pub rows: Vec<Row>,
}

/// Where a benchmark run is.
#[derive(Clone, Debug, PartialEq)]
pub struct StepProgress {
    pub step: usize,
    pub steps: usize,
    pub fraction: f64,
    pub label: String,
}

/// Runs `plan` over `link`'s workers.
pub async fn measure<L: Link>(
    link: &mut L,
    plan: &Plan,
    progress: &mut dyn FnMut(StepProgress),
) -> Result<Results, RunError> {
    let workers = link.size();
    let steps = plan.steps(workers);
    let total: f64 = steps.iter().map(Step::weight).sum();
    let mut done_weight = 0.0;
    let mut rows: Vec<Row> = Vec::with_capacity(steps.len());
    // Repetitions found per job, reused by the same job on every worker.
    let mut sized: Vec<(BenchJob, u32)> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        progress(StepProgress {
            step: i,
            steps: steps.len(),
            fraction: done_weight / total,
            label: step.label(),
        });
        let row = match step {
            Step::Bench {
                id,
                section,
                operation,
                unit,
                job,
                reps_max,
                workers,
            } => {
                let key = job.with_reps(1);
                let known = sized.iter().find(|(j, _)| *j == key).map(|(_, r)| *r);
                let (ops, elapsed_ms, reps) =
                    bench_step(link, job, *reps_max, *workers, plan.job_ms, known).await?;
                if known.is_none() {
                    sized.push((key, reps));
                }
                Row {
                    id: id.clone(),
                    section: *section,
                    operation: operation.clone(),
                    unit: unit.to_string(),
                    workers: *workers,
                    ops,
                    elapsed_ms,
                    rate_per_s: rate(ops, elapsed_ms),
                    comparison: None,
                    note: format!("{reps} repetitions per job"),
                }
            }
            Step::Convergence {
                id,
                operation,
                config,
            } => convergence_step(link, id, operation, config, workers).await?,
        };
        rows.push(row);
        done_weight += step.weight();
    }
    progress(StepProgress {
        step: steps.len(),
        steps: steps.len(),
        fraction: 1.0,
        label: "done".into(),
    });
    compare(&mut rows, plan);
    Ok(Results { workers, rows })
}

fn rate(ops: u64, elapsed_ms: f64) -> Option<f64> {
    (elapsed_ms > 0.0).then(|| ops as f64 * 1000.0 / elapsed_ms)
}

/// Times `job` on `workers` workers at once; returns (operations, wall ms,
/// repetitions per job). Without `known_reps`, the repetitions are found on
/// one worker first: an untimed warm-up job (builds the worker's cached
/// inputs), then jobs grown until one takes at least half of `job_ms` —
/// that job is the measurement when `workers` is 1.
pub async fn bench_step<L: Link>(
    link: &mut L,
    job: &BenchJob,
    reps_max: u32,
    workers: u32,
    job_ms: f64,
    known_reps: Option<u32>,
) -> Result<(u64, f64, u32), RunError> {
    let reps_max = reps_max.clamp(1, REPS_MAX);
    let reps = match known_reps {
        Some(reps) => reps.clamp(1, reps_max),
        None => {
            timed_jobs(link, vec![job.with_reps(1)]).await?;
            let mut reps = job.reps().clamp(1, reps_max);
            for _ in 0..SIZING_TRIES_MAX {
                let (outputs, ms) = timed_jobs(link, vec![job.with_reps(reps)]).await?;
                if ms >= job_ms / 2.0 || reps >= reps_max {
                    if workers == 1 {
                        return Ok((outputs.iter().map(|o| o.operations).sum(), ms, reps));
                    }
                    break;
                }
                let grow = if ms > 0.0 {
                    (job_ms / ms * 1.2).clamp(2.0, 100.0)
                } else {
                    100.0
                };
                reps = ((reps as f64 * grow).ceil() as u32).min(reps_max);
            }
            reps
        }
    };
    // Warm every worker (inputs cached, code hot) before timing them.
    timed_jobs(link, (0..workers).map(|_| job.with_reps(1)).collect()).await?;
    let jobs = (0..workers).map(|_| job.with_reps(reps)).collect();
    let (outputs, ms) = timed_jobs(link, jobs).await?;
    Ok((outputs.iter().map(|o| o.operations).sum(), ms, reps))
}

/// Runs `jobs` at once (one per worker) and times them together.
async fn timed_jobs<L: Link>(
    link: &mut L,
    jobs: Vec<BenchJob>,
) -> Result<(Vec<BenchOutput>, f64), RunError> {
    let count = jobs.len();
    let jobs = jobs.into_iter().map(Job::Bench).collect();
    let started_ms = link.now_ms();
    let done = run_jobs(link, jobs, &[], &mut |_| {}).await?;
    let elapsed_ms = link.now_ms() - started_ms;
    let outputs = done
        .into_iter()
        .map(|Done { output, .. }| match output {
            JobOutput::Bench(o) => Ok(o),
            other => Err(RunError::Protocol(format!(
                "expected a bench result, got {other:?}"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    debug_assert_eq!(outputs.len(), count);
    Ok((outputs, elapsed_ms))
}

async fn convergence_step<L: Link>(
    link: &mut L,
    id: &str,
    operation: &str,
    config: &ConvergenceConfig,
    workers: u32,
) -> Result<Row, RunError> {
    let started_ms = link.now_ms();
    let finished = coordinator::run(link, config, &mut |_| {}).await?;
    let elapsed_ms = link.now_ms() - started_ms;
    let report = finished.report;
    let joins: u64 = report.results.orderings.iter().map(|o| o.joins).sum();
    let ops = u64::from(config.orderings);
    Ok(Row {
        id: id.to_string(),
        section: Section::Experiment,
        operation: operation.to_string(),
        unit: "ordering".into(),
        workers,
        ops,
        elapsed_ms,
        rate_per_s: rate(ops, elapsed_ms),
        comparison: None,
        note: format!(
            "verdict {}; {joins} joins; fingerprint {}",
            if report.verdict.passed {
                "PASS"
            } else {
                "FAIL"
            },
            report.fingerprint.get(..16).unwrap_or(&report.fingerprint)
        ),
    })
}

/// References measured natively on this machine kind (BENCHMARKS.md), the
/// issue's targets and the single-worker rows of this run.
fn compare(rows: &mut [Row], plan: &Plan) {
    let single: Vec<(String, Option<f64>)> = rows
        .iter()
        .filter(|r| r.section == Section::Pco && r.workers == 1)
        .map(|r| (r.operation.clone(), r.rate_per_s))
        .collect();
    for row in rows.iter_mut() {
        row.comparison = match row.id.as_str() {
            "join-identical" if plan.join_nodes == 100 => row.per_op_us().map(|us| Comparison {
                against: references::JOIN_IDENTICAL_SOURCE.into(),
                value: format!("{} µs per join", references::JOIN_IDENTICAL_US),
                speedup: Some(references::JOIN_IDENTICAL_US / us),
                target: false,
            }),
            "join-half" => row.per_op_us().map(|us| Comparison {
                against: "the seed lab's claim (not a measurement): CRDT merge overhead < 0.5 ms"
                    .into(),
                value: "500 µs per merge".into(),
                speedup: Some(500.0 / us),
                target: true,
            }),
            "e1-100" if !plan.quick => Some(Comparison {
                against: references::E1_100_SOURCE.into(),
                value: format!("{:.1} s", references::E1_100_MS / 1000.0),
                speedup: (row.elapsed_ms > 0.0).then(|| references::E1_100_MS / row.elapsed_ms),
                target: false,
            }),
            "e1-1000" if !plan.quick => Some(Comparison {
                against: "the issue's target".into(),
                value: "≤ 10 s".into(),
                speedup: (row.elapsed_ms > 0.0).then(|| 10_000.0 / row.elapsed_ms),
                target: true,
            }),
            _ if row.section == Section::Pco && row.workers > 1 => single
                .iter()
                .find(|(op, _)| *op == row.operation)
                .and_then(|(_, r)| *r)
                .map(|one| Comparison {
                    against: "the same work on one worker, this run".into(),
                    value: format!("{} PCOs/s", super::format::si(one)),
                    speedup: row.rate_per_s.map(|r| r / one),
                    target: false,
                }),
            _ if row.section == Section::Pco && row.operation.contains("no signature") => {
                let (claim, value) = if row.operation.contains("build") {
                    (167_000.0, "167 K build/s")
                } else {
                    (101_000.0, "101 K verify/s")
                };
                Some(Comparison {
                    against: "the seed lab's E4 figure (no real signatures; spec trust.md §1)"
                        .into(),
                    value: value.into(),
                    speedup: row.rate_per_s.map(|r| r / claim),
                    target: false,
                })
            }
            _ => None,
        };
    }
}

/// Reference numbers measured natively on this project's machine kind
/// (2 cores, x86-64), with where each comes from.
pub mod references {
    /// crdt-merge 0.9.5 (Python), merge of two identical 100-contribution
    /// states, deep copies: `python3 bench/reference_crdt.py`, BENCHMARKS.md.
    pub const JOIN_IDENTICAL_US: f64 = 64.0;
    pub const JOIN_IDENTICAL_SOURCE: &str =
        "reference crdt-merge 0.9.5 (Python), measured natively on this machine kind with bench/reference_crdt.py (BENCHMARKS.md)";
    /// crdt-merge 0.9.5 (Python), Experiment 1 at 100 nodes (128×128, 5
    /// all-pairs orderings, every node resolves weight_average): part 1 of
    /// `bench/reference_suite.py` at 100 nodes; the process's CPU time,
    /// median of three runs (4.41 / 4.54 / 4.55 s) on 2026-11-24. CPU time
    /// because the machine was shared; on a quiet machine wall ≈ CPU (the
    /// 30-node run: 357 ms CPU here, 342 ms wall in BENCHMARKS.md).
    pub const E1_100_MS: f64 = 4_538.0;
    pub const E1_100_SOURCE: &str =
        "reference crdt-merge 0.9.5 (Python), the seed lab's Experiment 1 procedure at 100 nodes, CPU time measured natively on this machine kind (BENCHMARKS.md, \"In the browser\")";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::{block_on, LocalLink};

    #[test]
    fn the_quick_plan_runs_on_in_process_workers() {
        for workers in [1, 2] {
            let plan = Plan::quick();
            let mut link = LocalLink::new(workers);
            let mut seen = Vec::new();
            let results = block_on(measure(&mut link, &plan, &mut |p| seen.push(p.step))).unwrap();
            let steps = plan.steps(workers).len();
            assert_eq!(results.rows.len(), steps);
            assert_eq!(seen, (0..=steps).collect::<Vec<_>>());
            let pco_rows = plan.pco_rows.len() * if workers > 1 { 2 } else { 1 };
            assert_eq!(
                results
                    .rows
                    .iter()
                    .filter(|r| r.section == Section::Pco)
                    .count(),
                pco_rows
            );
            for r in &results.rows {
                assert!(r.ops > 0, "{r:?}");
                if r.section == Section::Experiment {
                    assert!(r.note.starts_with("verdict PASS"), "{r:?}");
                }
            }
            // The in-process clock does not move: no rates, no made-up numbers.
            assert!(results.rows.iter().all(|r| r.rate_per_s.is_none()));
        }
    }

    #[test]
    fn the_full_plan_matches_pco_bench_and_the_issue() {
        let plan = Plan::full();
        assert_eq!(plan.pco_rows, Work::rows());
        assert_eq!(
            (plan.e1.nodes, plan.e1.dim, plan.e1.orderings),
            (100, 128, 5)
        );
        assert_eq!(plan.e1.protocol, Protocol::AllPairs);
        assert_eq!((plan.large.nodes, plan.large.dim), (1000, 64));
        assert_eq!(plan.large.protocol, Protocol::PushPull);
        plan.e1.validate().unwrap();
        plan.large.validate().unwrap();
        let steps = plan.steps(2);
        assert_eq!(steps.len(), 4 + 2 * Work::rows().len());
    }
}
