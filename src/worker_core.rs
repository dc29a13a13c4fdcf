//! What a web worker does with each request, without any web API: it hosts
//! engine nodes (`lab_core::experiment::convergence::Host`) and drives them
//! exactly as the native runner's `run_round` does, so the fingerprint does
//! not depend on where the nodes live. `src/bin/worker.rs` only moves bytes
//! between `postMessage` and [`WorkerCore::handle`]; native tests drive this
//! type directly.

use crate::components::network::Trace;
use crate::protocol::{FromWorker, Job, JobOutput, NamedBytes, Oracle, TensorChoice, ToWorker};
use lab_core::experiment::convergence::{
    load_files, ConvergenceConfig, FileTensors, FileWorkload, Host, Workload, WorkloadKind,
};
use lab_core::experiment::{partition, scale, sweep, trust};
use lab_core::loader::{self, Slice};
use lab_core::sim::{decode_envelopes, encode_envelopes, Counters, Envelope};
use std::ops::{ControlFlow, Range};
use std::sync::Arc;

/// The warm-up's network ([`WorkerCore::warm_up`]): big enough that the
/// hot loops run many times, small enough to take a fraction of a second
/// in a new worker (130–300 ms measured, most of it first-call
/// compilation that a first run would otherwise pay).
const WARM_UP_NODES: u32 = 16;
const WARM_UP_DIM: u32 = 64;
const WARM_UP_ORDERINGS: u32 = 2;

/// Most executors a partition may have (the pool spawns at most 16).
const PARTS_MAX: usize = 64;

/// Least worker time between two [`FromWorker::JobProgress`] messages of
/// one job (the last step is always sent).
pub const PROGRESS_INTERVAL_MS: f64 = 100.0;

/// Where a job's progress goes while it runs: `post` sends a message to the
/// coordinator (before the job's reply), `now_ms` is the worker's clock
/// (`performance.now()` in a web worker), used only to throttle.
pub struct ProgressOut<'a> {
    pub post: &'a mut dyn FnMut(FromWorker),
    pub now_ms: &'a dyn Fn() -> f64,
}

/// One gossip ordering's share hosted here, between requests.
struct Gossip {
    host: Host,
    parts: Vec<Range<u32>>,
    me: usize,
    /// Envelopes this worker emitted to its own nodes in the current round.
    local: Vec<Envelope>,
    /// Counters of what this worker emitted in the current round.
    emitted: Counters,
    /// The round emitted and not yet delivered.
    pending_round: Option<u32>,
}

/// A worker's engine state: the run's workload (built once per config and
/// shared by all orderings), the gossip ordering in progress, and model-file
/// tensors received but not yet built into a workload.
#[derive(Default)]
pub struct WorkerCore {
    workload: Option<(ConvergenceConfig, Arc<Workload>)>,
    gossip: Option<Gossip>,
    tensors: Option<FileTensors>,
    /// The real-weights panel's files (contributions, base), checked.
    model_files: Vec<NamedBytes>,
    model_base: Option<NamedBytes>,
}

impl WorkerCore {
    /// A worker with nothing hosted yet.
    pub fn new() -> WorkerCore {
        WorkerCore::default()
    }

    /// Runs small all-pairs orderings (two of each synthetic workload) on
    /// a throwaway core and encodes their replies. Browsers compile wasm
    /// lazily, function by function on first call, and optimise a function
    /// only after it has run for a while; a run-pool worker calls this
    /// before it says `Ready`, so that work is done while the person reads
    /// the page, not inside their first run. Returns whether every
    /// ordering converged.
    pub fn warm_up() -> bool {
        let mut core = WorkerCore::new();
        let workloads = [WorkloadKind::Gaussian, WorkloadKind::FineTune];
        (0..WARM_UP_ORDERINGS).all(|ordering| {
            workloads.iter().all(|workload| {
                let config = ConvergenceConfig {
                    nodes: WARM_UP_NODES,
                    dim: WARM_UP_DIM,
                    orderings: WARM_UP_ORDERINGS,
                    workload: workload.clone(),
                    ..ConvergenceConfig::default()
                };
                let resolve = (0, config.nodes);
                let reply = core.handle(ToWorker::AllPairs {
                    config,
                    ordering,
                    oracle: true,
                    resolve,
                });
                let converged = matches!(&reply, FromWorker::AllPairsDone { nodes, oracle: Some((state, resolved)), .. }
                    if nodes.iter().all(|n| n.state_digest == *state && n.resolved_digest == *resolved));
                !crate::protocol::encode(&reply).is_empty() && converged
            })
        })
    }

    /// Handles one request; failures become [`FromWorker::Failed`].
    pub fn handle(&mut self, request: ToWorker) -> FromWorker {
        self.handle_with(
            request,
            ProgressOut {
                post: &mut |_| {},
                now_ms: &|| 0.0,
            },
        )
    }

    /// [`WorkerCore::handle`], sending a job's progress to `progress` while
    /// it runs (throttled by its clock).
    pub fn handle_with(&mut self, request: ToWorker, progress: ProgressOut<'_>) -> FromWorker {
        self.try_handle(request, progress)
            .unwrap_or_else(|message| FromWorker::Failed { message })
    }

    fn try_handle(
        &mut self,
        request: ToWorker,
        progress: ProgressOut<'_>,
    ) -> Result<FromWorker, String> {
        match request {
            ToWorker::Host {
                config,
                ordering,
                parts,
                me,
                oracle,
            } => self.host(config, ordering, parts, me, oracle),
            ToWorker::Emit { round } => self.emit(round),
            ToWorker::Deliver { round, batches } => self.deliver(round, batches),
            ToWorker::Resolve => self.resolve(),
            ToWorker::AllPairs {
                config,
                ordering,
                oracle,
                resolve,
            } => self.all_pairs(config, ordering, oracle, resolve),
            ToWorker::Job { index, job } => {
                self.gossip = None;
                let ProgressOut { post, now_ms } = progress;
                let mut last: Option<f64> = None;
                let mut step_done = |step: u32, steps: u32, detail: String| {
                    let now = now_ms();
                    if step < steps && last.is_some_and(|t| now - t < PROGRESS_INTERVAL_MS) {
                        return;
                    }
                    last = Some(now);
                    post(FromWorker::JobProgress {
                        index,
                        step,
                        steps,
                        detail,
                    });
                };
                Ok(FromWorker::JobDone {
                    index,
                    output: run_job_with(job, self.tensors.as_ref(), &mut step_done)?,
                })
            }
            ToWorker::LoadTensors { tensors } => Ok(self.load_tensors(tensors)),
            ToWorker::ModelFiles { files } => self.model_files(files),
            ToWorker::ModelBase { base } => self.model_base(base),
            ToWorker::LoadModelTensor { tensor, slice } => self.load_model_tensor(&tensor, slice),
        }
    }

    /// Checks the panel's new contribution files (browser limits) and keeps
    /// them, replacing the old ones, only if every one is valid and they
    /// share a tensor that can be merged.
    fn model_files(&mut self, files: Vec<NamedBytes>) -> Result<FromWorker, String> {
        let limits = crate::components::weights::browser_limits(files.len());
        let models = files
            .iter()
            .map(|f| loader::inspect_with(&f.name, &f.bytes, &limits).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let choices: Vec<TensorChoice> = loader::common_tensors(&models)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|t| TensorChoice {
                elements: t.shape.iter().product::<usize>() as u64,
                dtype: t.dtypes[0].name().to_string(),
                issue: t.issue.map(|e| e.to_string()),
                shape: t.shape,
                name: t.name,
            })
            .collect();
        if !choices.iter().any(|c| c.issue.is_none()) {
            return Err(format!(
                "none of the {} tensors the files have in common can be merged: {}",
                choices.len(),
                choices
                    .first()
                    .and_then(|c| c.issue.clone())
                    .unwrap_or_default()
            ));
        }
        self.model_files = files;
        Ok(FromWorker::ModelFiles { choices })
    }

    /// Checks and keeps the panel's base model (or removes it).
    fn model_base(&mut self, base: Option<NamedBytes>) -> Result<FromWorker, String> {
        if let Some(b) = &base {
            let limits = crate::components::weights::browser_limits(1);
            loader::inspect_with(&b.name, &b.bytes, &limits).map_err(|e| e.to_string())?;
        }
        self.model_base = base;
        Ok(FromWorker::ModelBase)
    }

    /// Loads `tensor` (or its `slice`) from the kept files and base.
    fn load_model_tensor(
        &mut self,
        tensor: &str,
        slice: Option<Slice>,
    ) -> Result<FromWorker, String> {
        if self.model_files.is_empty() {
            return Err(
                "this worker holds no model files (it was restarted): choose the files again"
                    .into(),
            );
        }
        let named: Vec<(&str, &[u8])> = self
            .model_files
            .iter()
            .map(|f| (f.name.as_str(), f.bytes.as_slice()))
            .collect();
        let base = self
            .model_base
            .as_ref()
            .map(|b| (b.name.as_str(), b.bytes.as_slice()));
        let limits = crate::components::weights::browser_limits(named.len());
        let (workload, tensors) =
            load_files(&named, base, tensor, slice, &limits).map_err(|e| e.to_string())?;
        Ok(FromWorker::ModelTensor { workload, tensors })
    }

    /// Keeps a file workload's tensors for the next `Host`/`AllPairs`; the
    /// old workload and ordering are dropped first (free their memory).
    fn load_tensors(&mut self, tensors: FileTensors) -> FromWorker {
        self.gossip = None;
        self.workload = None;
        let all = tensors.contributions.iter().chain(&tensors.base);
        let reply = FromWorker::TensorsLoaded {
            tensors: all.clone().count() as u32,
            elements: all.map(|t| t.len() as u64).sum(),
        };
        self.tensors = Some(tensors);
        reply
    }

    /// The workload of `config`, built on first use and reused while the
    /// config stays the same.
    fn workload(&mut self, config: &ConvergenceConfig) -> Result<Arc<Workload>, String> {
        if let Some((c, w)) = &self.workload {
            if c == config {
                return Ok(Arc::clone(w));
            }
        }
        config
            .validate()
            .map_err(|e| format!("invalid configuration: {e}"))?;
        self.workload = None; // free the old tensors before building new ones
        let w = if config.workload.files().is_some() {
            // The received tensors move into the workload (no second copy);
            // each is checked against the digest the config records.
            let tensors = self
                .tensors
                .take()
                .ok_or("this worker has not received the model tensors the configuration names")?;
            Arc::new(
                Workload::from_files(config, tensors)
                    .map_err(|e| format!("invalid configuration: {e}"))?,
            )
        } else {
            Arc::new(Workload::synthetic(config))
        };
        self.workload = Some((config.clone(), Arc::clone(&w)));
        Ok(w)
    }

    fn host(
        &mut self,
        config: ConvergenceConfig,
        ordering: u32,
        parts: Vec<(u32, u32)>,
        me: u32,
        want_oracle: bool,
    ) -> Result<FromWorker, String> {
        let parts = check_parts(&parts, config.nodes)?;
        let me = me as usize;
        if me >= parts.len() {
            return Err(format!("worker index {me} outside {} parts", parts.len()));
        }
        let workload = self.workload(&config)?;
        self.gossip = None;
        let host =
            Host::new(&config, workload, ordering, parts[me].clone()).map_err(|e| e.to_string())?;
        let oracle = if want_oracle {
            Some(oracle_of(&host)?)
        } else {
            None
        };
        self.gossip = Some(Gossip {
            host,
            parts,
            me,
            local: Vec::new(),
            emitted: Counters::default(),
            pending_round: None,
        });
        Ok(FromWorker::Hosted { oracle })
    }

    fn gossip(&mut self) -> Result<&mut Gossip, String> {
        self.gossip
            .as_mut()
            .ok_or_else(|| "no ordering is hosted by this worker".to_string())
    }

    fn emit(&mut self, round: u32) -> Result<FromWorker, String> {
        let g = self.gossip()?;
        if g.pending_round.is_some() {
            return Err(format!(
                "round {round} emitted before the last round was delivered"
            ));
        }
        let emission = g.host.executor_mut().emit(round);
        let mut remote: Vec<Vec<Envelope>> = vec![Vec::new(); g.parts.len()];
        for e in emission.envelopes {
            let dst = g
                .parts
                .iter()
                .position(|p| p.contains(&e.to))
                .ok_or_else(|| format!("node {} is hosted by no worker", e.to))?;
            if dst == g.me {
                g.local.push(e);
            } else {
                remote[dst].push(e);
            }
        }
        let batches = remote
            .iter()
            .map(|b| {
                if b.is_empty() {
                    Vec::new()
                } else {
                    encode_envelopes(b)
                }
            })
            .collect();
        g.emitted = emission.counters;
        g.pending_round = Some(round);
        Ok(FromWorker::Emitted {
            counters: emission.counters,
            batches,
        })
    }

    fn deliver(&mut self, round: u32, batches: Vec<Vec<u8>>) -> Result<FromWorker, String> {
        let g = self.gossip()?;
        if g.pending_round != Some(round) {
            return Err(format!("round {round} delivered but not emitted"));
        }
        let mut inbox = std::mem::take(&mut g.local);
        for bytes in batches.iter().filter(|b| !b.is_empty()) {
            inbox.extend(decode_envelopes(bytes).map_err(|e| e.to_string())?);
        }
        // The engine asserts these; a bad batch must fail in words instead.
        if let Some(e) = inbox.iter().find(|e| !g.host.executor().hosts(e.to)) {
            return Err(format!(
                "envelope for node {} routed to the wrong worker",
                e.to
            ));
        }
        if let Some(e) = inbox.iter().find(|e| e.deliver_at < round) {
            return Err(format!(
                "envelope due in round {} delivered in round {round}",
                e.deliver_at
            ));
        }
        let mut report = g.host.executor_mut().deliver(round, inbox);
        // Exactly as the native `run_round`: the round's report carries what
        // this executor emitted plus what it delivered.
        report.counters.add(&g.emitted);
        g.pending_round = None;
        Ok(FromWorker::Delivered { report })
    }

    fn resolve(&mut self) -> Result<FromWorker, String> {
        let g = self
            .gossip
            .take()
            .ok_or("no ordering is hosted by this worker")?;
        let nodes = g
            .host
            .resolve_all()
            .map_err(|e| format!("merge failed: {e}"))?;
        Ok(FromWorker::Resolved { nodes })
    }

    fn all_pairs(
        &mut self,
        config: ConvergenceConfig,
        ordering: u32,
        want_oracle: bool,
        (start, end): (u32, u32),
    ) -> Result<FromWorker, String> {
        if start >= end || end > config.nodes {
            return Err(format!(
                "nodes {start}..{end} to resolve are not within 0..{}",
                config.nodes
            ));
        }
        let workload = self.workload(&config)?;
        self.gossip = None;
        let mut host =
            Host::new(&config, workload, ordering, 0..config.nodes).map_err(|e| e.to_string())?;
        let oracle = if want_oracle {
            Some(oracle_of(&host)?)
        } else {
            None
        };
        let report = host.executor_mut().run_all_pairs();
        let nodes = host
            .resolve_nodes(start..end)
            .map_err(|e| format!("merge failed: {e}"))?;
        Ok(FromWorker::AllPairsDone {
            ordering,
            report,
            nodes,
            oracle,
        })
    }
}

/// Computes a job with the engine function `lab-cli` uses. A job whose
/// config names model files runs on `tensors` (what the worker received
/// through [`ToWorker::LoadTensors`]; the engine checks them against the
/// digests the config records); without them it fails in words.
pub fn run_job(job: Job, tensors: Option<&FileTensors>) -> Result<JobOutput, String> {
    run_job_with(job, tensors, &mut |_, _, _| {})
}

/// [`run_job`], telling `progress(step, steps, detail)` where a long job
/// is (a trust run: after every round).
pub fn run_job_with(
    job: Job,
    tensors: Option<&FileTensors>,
    progress: &mut dyn FnMut(u32, u32, String),
) -> Result<JobOutput, String> {
    let fail = |e: lab_core::error::LabError| e.to_string();
    let tensors = match job_files(&job) {
        Some(_) if tensors.is_none() => {
            return Err(
                "this worker has not received the model tensors the configuration names".into(),
            )
        }
        Some(_) => tensors,
        None => None,
    };
    Ok(match job {
        Job::Partition(config) => {
            let mut trace = Trace::new(config.nodes);
            let report =
                partition::run_observed(&config, 1, tensors, &mut |v| trace.record_view(&v))
                    .map_err(fail)?;
            JobOutput::Partition(Box::new(report.into()), Box::new(trace))
        }
        Job::SweepRow { config, strategy } => {
            config
                .validate()
                .map_err(|e| format!("invalid configuration: {e}"))?;
            JobOutput::SweepRow(Box::new(
                sweep::sweep_one_with(&config, &strategy, tensors).map_err(fail)?,
            ))
        }
        Job::ScalePoint { config, nodes } => {
            config
                .validate()
                .map_err(|e| format!("invalid configuration: {e}"))?;
            JobOutput::ScalePoint(Box::new(
                scale::run_point_with(&config, nodes, tensors).map_err(fail)?,
            ))
        }
        Job::Trust(config) => {
            let report = trust::run_observed_with(&config, tensors, &mut |t| {
                progress(
                    t.round,
                    t.rounds_max,
                    format!(
                        "round {} of at most {}; {} of {} evidence record(s) held by all {} honest nodes",
                        t.round, t.rounds_max, t.evidence_everywhere, t.evidence_known, t.honest
                    ),
                );
                ControlFlow::Continue(())
            })
            .map_err(fail)?;
            JobOutput::Trust(Box::new(report.into()))
        }
        Job::Bench(job) => JobOutput::Bench(crate::bench::run_bench(&job)?),
        Job::CheckReport(text) => {
            JobOutput::CheckReport(Box::new(crate::pages::reproduce::check_report(&text)))
        }
    })
}

/// The model files a job's config names, if any.
fn job_files(job: &Job) -> Option<&FileWorkload> {
    match job {
        Job::Partition(c) => c.workload.files(),
        Job::SweepRow { config, .. } => config.workload.files(),
        Job::ScalePoint { config, .. } => config.workload.files(),
        Job::Trust(c) => c.workload.files(),
        Job::Bench(_) | Job::CheckReport(_) => None,
    }
}

fn oracle_of(host: &Host) -> Result<Oracle, String> {
    host.resolver()
        .oracle()
        .map_err(|e| format!("merge failed: {e}"))
}

/// Checks that `parts` are contiguous, non-empty and cover `0..nodes`.
fn check_parts(parts: &[(u32, u32)], nodes: u32) -> Result<Vec<Range<u32>>, String> {
    if parts.is_empty() || parts.len() > PARTS_MAX {
        return Err(format!("{} parts (expected 1…{PARTS_MAX})", parts.len()));
    }
    let mut next = 0;
    for &(start, end) in parts {
        if start != next || end <= start {
            return Err(format!("parts are not contiguous at {start}..{end}"));
        }
        next = end;
    }
    if next != nodes {
        return Err(format!("parts cover {next} of {nodes} nodes"));
    }
    Ok(parts.iter().map(|&(s, e)| s..e).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A safetensors file with one F32 tensor "w" of shape [3, 2].
    fn safetensors(values: [f32; 6]) -> Vec<u8> {
        let header = r#"{"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]}}"#;
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        out
    }

    fn named(name: &str, bytes: Vec<u8>) -> NamedBytes {
        NamedBytes {
            name: name.into(),
            bytes,
        }
    }

    #[test]
    fn the_warm_up_runs_both_workloads_to_convergence() {
        assert!(WorkerCore::warm_up());
    }

    #[test]
    fn model_files_are_checked_kept_and_loaded() {
        let mut core = WorkerCore::new();
        let load = ToWorker::LoadModelTensor {
            tensor: "w".into(),
            slice: None,
        };
        assert!(matches!(core.handle(load.clone()),
            FromWorker::Failed { message } if message.contains("no model files")));
        let (a, b) = (safetensors([1.; 6]), safetensors([2.; 6]));
        let files = vec![named("a", a.clone()), named("b", b)];
        match core.handle(ToWorker::ModelFiles { files }) {
            FromWorker::ModelFiles { choices } => {
                assert_eq!(choices.len(), 1);
                assert_eq!((choices[0].name.as_str(), choices[0].elements), ("w", 6));
            }
            other => panic!("unexpected {other:?}"),
        }
        // A bad set is refused in words and the kept files stay.
        let cut = a[..a.len() - 5].to_vec();
        let bad = vec![named("a", a.clone()), named("cut", cut)];
        assert!(matches!(core.handle(ToWorker::ModelFiles { files: bad }),
            FromWorker::Failed { message } if message.contains("'cut'")));
        let base = Some(named("base", safetensors([0.5; 6])));
        assert_eq!(
            core.handle(ToWorker::ModelBase { base }),
            FromWorker::ModelBase
        );
        match core.handle(load) {
            FromWorker::ModelTensor { workload, tensors } => {
                assert_eq!(workload.files.len(), 2);
                assert_eq!(workload.files[1].name, "b");
                assert_eq!(
                    workload.base.as_ref().map(|b| b.name.as_str()),
                    Some("base")
                );
                assert_eq!(tensors.contributions[1].data(), &[2.0; 6]);
            }
            other => panic!("unexpected {other:?}"),
        }
        // The engine workers' path is untouched by the panel's files.
        assert!(core.tensors.is_none());
    }

    /// Three models' tensor "w" loaded as the panel loads them.
    fn three_files() -> (FileWorkload, FileTensors) {
        let (a, b, c) = (
            safetensors([1., 2., 3., 4., 5., 6.]),
            safetensors([0., -1., 0.5, 2., 8., 1.]),
            safetensors([3., 3., -2., 0.25, 1., 7.]),
        );
        let limits = crate::components::weights::browser_limits(3);
        load_files(
            &[
                ("a.safetensors", &a),
                ("b.safetensors", &b),
                ("c.safetensors", &c),
            ],
            None,
            "w",
            None,
            &limits,
        )
        .unwrap()
    }

    /// The page's path: the tensors sent to every worker of a [`LocalLink`]
    /// (`send_tensors`), then the jobs; outputs in job order.
    fn run_with_files(jobs: Vec<Job>, tensors: &FileTensors, workers: u32) -> Vec<JobOutput> {
        use crate::local::{block_on, LocalLink};
        let mut link = LocalLink::new(workers);
        block_on(crate::components::weights::send_tensors(&mut link, tensors)).unwrap();
        block_on(crate::jobs::run_jobs(&mut link, jobs, &[], &mut |_| {}))
            .unwrap()
            .into_iter()
            .map(|d| d.output)
            .collect()
    }

    #[test]
    fn a_partition_job_on_files_matches_the_native_run() {
        let (files, tensors) = three_files();
        let config = partition::PartitionConfig {
            nodes: 9,
            dim: 2,
            workload: lab_core::experiment::convergence::WorkloadKind::Files(files),
            ..partition::PartitionConfig::default()
        };
        let native = partition::run_with_tensors(&config, 1, Some(&tensors)).unwrap();
        let mut out = run_with_files(vec![Job::Partition(config.clone())], &tensors, 2);
        let Some(JobOutput::Partition(report, trace)) = out.pop() else {
            panic!("not a partition output")
        };
        let report: partition::PartitionReport = (*report).into();
        assert_eq!(report.fingerprint, native.fingerprint);
        assert_eq!(report, native);
        assert!(trace.frames.len() > 1, "the rounds were recorded");
        // Other tensors (a different digest) are refused by the engine.
        let (_, mut other) = three_files();
        other.contributions.swap(0, 1);
        let err = run_job(Job::Partition(config), Some(&other)).unwrap_err();
        assert!(err.contains("digest") || err.contains("match"), "{err}");
    }

    #[test]
    fn sweep_rows_on_files_match_the_native_sweep() {
        let (files, tensors) = three_files();
        let config = sweep::SweepConfig {
            nodes: 5,
            dim: 2,
            orderings: 2,
            strategies: vec!["weight_average".into(), "ties".into(), "linear".into()],
            workload: lab_core::experiment::convergence::WorkloadKind::Files(files),
            ..sweep::SweepConfig::default()
        };
        let native = sweep::run_with_tensors(&config, Some(&tensors)).unwrap();
        let jobs = config
            .selected()
            .into_iter()
            .map(|s| Job::SweepRow {
                config: config.clone(),
                strategy: s.to_string(),
            })
            .collect();
        let rows: Vec<_> = run_with_files(jobs, &tensors, 2)
            .into_iter()
            .map(|o| match o {
                JobOutput::SweepRow(r) => *r,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        // Without a base file, TIES is "needs a base model", not an error.
        let ties = rows.iter().find(|r| r.strategy == "ties").unwrap();
        assert!(ties
            .problem
            .as_deref()
            .unwrap_or("")
            .contains("needs a base"));
        assert_eq!(
            sweep::assemble(&config, rows).fingerprint,
            native.fingerprint
        );
    }

    #[test]
    fn scale_points_on_files_match_the_native_scale() {
        let (files, tensors) = three_files();
        let config = scale::ScaleConfig {
            sizes: vec![3, 5, 8],
            dim: 2,
            orderings: 2,
            workload: lab_core::experiment::convergence::WorkloadKind::Files(files),
            ..scale::ScaleConfig::default()
        };
        let native = scale::run_with_tensors(&config, Some(&tensors)).unwrap();
        let jobs = config
            .sizes
            .iter()
            .map(|&nodes| Job::ScalePoint {
                config: config.clone(),
                nodes,
            })
            .collect();
        let points = run_with_files(jobs, &tensors, 3)
            .into_iter()
            .map(|o| match o {
                JobOutput::ScalePoint(p) => *p,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            scale::assemble(&config, points).fingerprint,
            native.fingerprint
        );
    }

    /// A job naming files on a worker that received no tensors fails in
    /// words (and so does the whole run, through the worker's reply).
    #[test]
    fn a_files_job_without_tensors_says_so() {
        let (files, _) = three_files();
        let config = scale::ScaleConfig {
            sizes: vec![3],
            dim: 2,
            orderings: 1,
            workload: lab_core::experiment::convergence::WorkloadKind::Files(files),
            ..scale::ScaleConfig::default()
        };
        let mut core = WorkerCore::new();
        let reply = core.handle(ToWorker::Job {
            index: 0,
            job: Job::ScalePoint { config, nodes: 3 },
        });
        assert!(
            matches!(&reply, FromWorker::Failed { message } if message.contains("has not received the model tensors")),
            "{reply:?}"
        );
    }

    #[test]
    fn parts_must_cover_the_nodes() {
        assert!(check_parts(&[(0, 5), (5, 10)], 10).is_ok());
        assert!(check_parts(&[(0, 5), (6, 10)], 10).is_err());
        assert!(check_parts(&[(0, 5)], 10).is_err());
        assert!(check_parts(&[], 10).is_err());
    }

    #[test]
    fn requests_out_of_order_fail_in_words() {
        let mut core = WorkerCore::new();
        match core.handle(ToWorker::Emit { round: 1 }) {
            FromWorker::Failed { message } => assert!(message.contains("no ordering")),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn an_invalid_config_fails_in_words() {
        let mut core = WorkerCore::new();
        let config = ConvergenceConfig {
            nodes: 1,
            ..ConvergenceConfig::default()
        };
        let reply = core.handle(ToWorker::AllPairs {
            config,
            ordering: 0,
            oracle: false,
            resolve: (0, 1),
        });
        assert!(matches!(reply, FromWorker::Failed { message } if message.contains("nodes")));
        for resolve in [(3, 3), (0, 31), (5, 2)] {
            let reply = core.handle(ToWorker::AllPairs {
                config: ConvergenceConfig::default(),
                ordering: 0,
                oracle: false,
                resolve,
            });
            assert!(
                matches!(&reply, FromWorker::Failed { message } if message.contains("not within 0..30")),
                "{resolve:?}: {reply:?}"
            );
        }
    }
}
