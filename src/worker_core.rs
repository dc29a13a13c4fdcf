//! What a web worker does with each request, without any web API: it hosts
//! engine nodes (`lab_core::experiment::convergence::Host`) and drives them
//! exactly as the native runner's `run_round` does, so the fingerprint does
//! not depend on where the nodes live. `src/bin/worker.rs` only moves bytes
//! between `postMessage` and [`WorkerCore::handle`]; native tests drive this
//! type directly.

use crate::protocol::{FromWorker, Job, JobOutput, Oracle, ToWorker};
use lab_core::experiment::convergence::{ConvergenceConfig, FileTensors, Host, Workload};
use lab_core::experiment::{partition, scale, sweep, trust};
use lab_core::sim::{decode_envelopes, encode_envelopes, Counters, Envelope};
use std::ops::Range;
use std::sync::Arc;

/// Most executors a partition may have (the pool spawns at most 16).
const PARTS_MAX: usize = 64;

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
}

impl WorkerCore {
    /// A worker with nothing hosted yet.
    pub fn new() -> WorkerCore {
        WorkerCore::default()
    }

    /// Handles one request; failures become [`FromWorker::Failed`].
    pub fn handle(&mut self, request: ToWorker) -> FromWorker {
        self.try_handle(request)
            .unwrap_or_else(|message| FromWorker::Failed { message })
    }

    fn try_handle(&mut self, request: ToWorker) -> Result<FromWorker, String> {
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
            } => self.all_pairs(config, ordering, oracle),
            ToWorker::Job { index, job } => {
                self.gossip = None;
                Ok(FromWorker::JobDone {
                    index,
                    output: run_job(job)?,
                })
            }
            ToWorker::LoadTensors { tensors } => Ok(self.load_tensors(tensors)),
        }
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
    ) -> Result<FromWorker, String> {
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
            .resolve_all()
            .map_err(|e| format!("merge failed: {e}"))?;
        Ok(FromWorker::AllPairsDone {
            ordering,
            report,
            nodes,
            oracle,
        })
    }
}

/// Computes a job with the engine function `lab-cli` uses.
pub fn run_job(job: Job) -> Result<JobOutput, String> {
    let fail = |e: lab_core::error::LabError| e.to_string();
    Ok(match job {
        Job::Partition(config) => {
            JobOutput::Partition(Box::new(partition::run(&config).map_err(fail)?.into()))
        }
        Job::SweepRow { config, strategy } => {
            config
                .validate()
                .map_err(|e| format!("invalid configuration: {e}"))?;
            JobOutput::SweepRow(Box::new(
                sweep::sweep_one(&config, &strategy).map_err(fail)?,
            ))
        }
        Job::ScalePoint { config, nodes } => {
            config
                .validate()
                .map_err(|e| format!("invalid configuration: {e}"))?;
            JobOutput::ScalePoint(Box::new(scale::run_point(&config, nodes).map_err(fail)?))
        }
        Job::Trust(config) => JobOutput::Trust(Box::new(trust::run(&config).map_err(fail)?.into())),
        Job::Bench(job) => JobOutput::Bench(crate::bench::run_bench(&job)?),
    })
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
        });
        assert!(matches!(reply, FromWorker::Failed { message } if message.contains("nodes")));
    }
}
