//! The coordinator: owns the round loop of a browser run and does only light
//! work — it routes opaque envelope batches between workers and keeps the
//! `OrderingDriver` bookkeeping, exactly as `lab_core`'s native `run_with`
//! does, so the report (and its fingerprint) equals `lab-cli`'s.
//!
//! It talks to the workers through a [`Link`]: the web worker pool in the
//! browser, an in-process set of [`crate::worker_core::WorkerCore`]s in the
//! native tests.
//!
//! - push / pull / push-pull, one ordering of at most [`NODE_SPLIT_MAX`]
//!   nodes, or one worker: every worker hosts a disjoint node range; per round all workers
//!   emit, the coordinator routes the batches, all workers deliver, the
//!   driver records the reports.
//! - push / pull / push-pull otherwise: each worker hosts every node of
//!   one ordering at a time (orderings are independent,
//!   so no state crosses between workers); the coordinator steps each
//!   worker's ordering round by round as its replies come in.
//! - all-pairs (sequential, needs every node in one executor): whole
//!   orderings are handed out to free workers.

use crate::protocol::{FromWorker, Oracle, ToWorker};
use lab_core::experiment::convergence::{
    assemble, ordering_result, schedule, ConvergenceConfig, ConvergenceReport, NodeResolved,
    OrderingResult,
};
use lab_core::sim::driver::{OrderingDriver, Step};
use lab_core::sim::faults::FaultPlan;
use lab_core::sim::{partition_nodes, Protocol, RoundReport};
use std::future::Future;
use std::ops::Range;

/// Why a browser run stopped without a report.
#[derive(Clone, Debug, PartialEq)]
pub enum RunError {
    /// The user pressed Cancel.
    Cancelled,
    /// A worker failed (engine error, panic, load error); in words.
    Worker { worker: u32, message: String },
    /// A worker answered something the coordinator did not ask for.
    Protocol(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Cancelled => write!(f, "the run was cancelled"),
            RunError::Worker { worker, message } => write!(f, "worker {worker} failed: {message}"),
            RunError::Protocol(m) => write!(f, "unexpected worker message: {m}"),
        }
    }
}

/// The coordinator's view of the executors.
pub trait Link {
    /// Number of workers (all ready).
    fn size(&self) -> u32;
    /// Sends `message` to `worker`.
    fn send(&mut self, worker: u32, message: &ToWorker) -> Result<(), RunError>;
    /// The next reply from any worker (or a cancel / failure).
    fn recv(&mut self) -> impl Future<Output = Result<(u32, FromWorker), RunError>>;
    /// A monotonic clock in milliseconds, for phase timings only.
    fn now_ms(&self) -> f64;
}

/// Where a run is, for the progress bar.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Progress {
    pub orderings: u32,
    pub orderings_done: u32,
    /// The ordering being run (0-based; for all-pairs the lowest one in flight).
    pub ordering: u32,
    /// The last round recorded in that ordering.
    pub round: u32,
    pub agreeing_nodes: u32,
    pub nodes: u32,
}

impl Progress {
    /// Fraction done in `0..=1`, for the bar and the estimate of time left.
    pub fn fraction(&self) -> f64 {
        if self.orderings == 0 {
            return 0.0;
        }
        let partial = if self.nodes == 0 {
            0.0
        } else {
            // Within a gossip ordering: the share of nodes that agree.
            0.9 * self.agreeing_nodes as f64 / self.nodes as f64
        };
        let done = self.orderings_done as f64
            + if self.orderings_done < self.orderings {
                partial
            } else {
                0.0
            };
        (done / self.orderings as f64).min(1.0)
    }
}

/// A finished run: the report and per-ordering phase timings.
pub struct Finished {
    pub report: ConvergenceReport,
    pub phases_ms: Vec<(String, f64)>,
}

/// Runs Experiment 1 over `link`'s workers. `config` must be valid.
pub async fn run<L: Link>(
    link: &mut L,
    config: &ConvergenceConfig,
    progress: &mut dyn FnMut(Progress),
) -> Result<Finished, RunError> {
    run_observed(link, config, progress, &mut |_, _, _| {}).await
}

/// Sees every gossip round's reports: (ordering, round, one report per
/// worker). For views only (the network animation); never for results.
pub type Observer<'a> = &'a mut dyn FnMut(u32, u32, &[RoundReport]);

/// [`run`], with every gossip round's reports shown to `observe`.
pub async fn run_observed<L: Link>(
    link: &mut L,
    config: &ConvergenceConfig,
    progress: &mut dyn FnMut(Progress),
    observe: Observer<'_>,
) -> Result<Finished, RunError> {
    let mut c = Coordinator {
        link,
        config,
        progress,
        observe,
        phases_ms: Vec::new(),
    };
    let (results, oracle) = if config.protocol == Protocol::AllPairs {
        c.all_pairs().await?
    } else if split_by_orderings(config, c.link.size()) {
        c.gossip_by_orderings().await?
    } else {
        c.gossip().await?
    };
    let report = assemble(config, results, oracle);
    Ok(Finished {
        report,
        phases_ms: c.phases_ms,
    })
}

struct Coordinator<'a, L: Link> {
    link: &'a mut L,
    config: &'a ConvergenceConfig,
    progress: &'a mut dyn FnMut(Progress),
    observe: Observer<'a>,
    phases_ms: Vec<(String, f64)>,
}

impl<L: Link> Coordinator<'_, L> {
    fn report_progress(&mut self, done: u32, ordering: u32, round: u32, agreeing_nodes: u32) {
        (self.progress)(Progress {
            orderings: self.config.orderings,
            orderings_done: done,
            ordering,
            round,
            agreeing_nodes,
            nodes: self.config.nodes,
        });
    }

    /// The next reply; a worker's `Failed` becomes an error.
    async fn recv(&mut self) -> Result<(u32, FromWorker), RunError> {
        match self.link.recv().await? {
            (worker, FromWorker::Failed { message }) => Err(RunError::Worker { worker, message }),
            other => Ok(other),
        }
    }

    /// Sends `make(w)` to workers `0..n` and collects one reply from each,
    /// in worker order.
    async fn exchange<T>(
        &mut self,
        n: u32,
        make: impl Fn(u32) -> ToWorker,
        take: impl Fn(FromWorker) -> Option<T>,
    ) -> Result<Vec<T>, RunError> {
        for w in 0..n {
            self.link.send(w, &make(w))?;
        }
        self.collect(n, take).await
    }

    /// Collects one reply of the kind `take` accepts from each worker `0..n`.
    async fn collect<T>(
        &mut self,
        n: u32,
        take: impl Fn(FromWorker) -> Option<T>,
    ) -> Result<Vec<T>, RunError> {
        let mut replies: Vec<Option<T>> = (0..n).map(|_| None).collect();
        for _ in 0..n {
            let (w, msg) = self.recv().await?;
            let slot = replies
                .get_mut(w as usize)
                .ok_or_else(|| RunError::Protocol(format!("reply from unknown worker {w}")))?;
            if slot.is_some() {
                return Err(RunError::Protocol(format!("two replies from worker {w}")));
            }
            let value = take(msg)
                .ok_or_else(|| RunError::Protocol(format!("wrong reply kind from worker {w}")))?;
            *slot = Some(value);
        }
        Ok(replies
            .into_iter()
            .map(|r| r.expect("every worker replied"))
            .collect())
    }

    async fn gossip(&mut self) -> Result<(Vec<OrderingResult>, Oracle), RunError> {
        let parts: Vec<(u32, u32)> = partition_nodes(self.config.nodes, self.link.size())
            .into_iter()
            .map(|r| (r.start, r.end))
            .collect();
        let mut results = Vec::with_capacity(self.config.orderings as usize);
        let mut oracle = None;
        for ordering in 0..self.config.orderings {
            let started_ms = self.link.now_ms();
            let (result, o) = self.gossip_ordering(ordering, &parts).await?;
            oracle = oracle.or(o);
            results.push(result);
            let ms = self.link.now_ms() - started_ms;
            self.phases_ms.push((format!("ordering {ordering}"), ms));
        }
        let oracle = oracle.ok_or_else(|| RunError::Protocol("no oracle digests".into()))?;
        Ok((results, oracle))
    }

    async fn gossip_ordering(
        &mut self,
        ordering: u32,
        parts: &[(u32, u32)],
    ) -> Result<(OrderingResult, Option<Oracle>), RunError> {
        let n = parts.len() as u32;
        let config = self.config.clone();
        let hosted = self
            .exchange(
                n,
                |w| ToWorker::Host {
                    config: config.clone(),
                    ordering,
                    parts: parts.to_vec(),
                    me: w,
                    oracle: ordering == 0 && w == 0,
                },
                |m| match m {
                    FromWorker::Hosted { oracle } => Some(oracle),
                    _ => None,
                },
            )
            .await?;
        let mut driver = new_driver(&config, ordering);
        loop {
            let round = match driver.next() {
                Step::Finished => break,
                Step::Round(r) => r,
                Step::AllPairs => {
                    return Err(RunError::Protocol("all-pairs step in a gossip run".into()))
                }
            };
            let reports = self.round(n, round).await?;
            (self.observe)(ordering, round, &reports);
            driver.record(&reports);
            let agreeing = driver.stats().last().map_or(0, |s| s.agreeing_nodes);
            self.report_progress(ordering, ordering, round, agreeing);
        }
        let resolved = self
            .exchange(
                n,
                |_| ToWorker::Resolve,
                |m| match m {
                    FromWorker::Resolved { nodes } => Some(nodes),
                    _ => None,
                },
            )
            .await?;
        let resolved: Vec<NodeResolved> = resolved.into_iter().flatten().collect();
        let oracle = hosted.into_iter().next().flatten();
        Ok((ordering_result(&config, driver, &resolved), oracle))
    }

    /// One gossip round: emit everywhere, route the batches, deliver everywhere.
    async fn round(&mut self, n: u32, round: u32) -> Result<Vec<RoundReport>, RunError> {
        let emitted = self
            .exchange(
                n,
                |_| ToWorker::Emit { round },
                |m| match m {
                    FromWorker::Emitted { batches, .. } => Some(batches),
                    _ => None,
                },
            )
            .await?;
        let inboxes = route(emitted, n as usize)?;
        for (w, batches) in (0..n).zip(inboxes) {
            self.link.send(w, &ToWorker::Deliver { round, batches })?;
        }
        self.collect(n, |m| match m {
            FromWorker::Delivered { report } => Some(report),
            _ => None,
        })
        .await
    }

    /// Whole orderings on separate workers, each stepped as its replies
    /// arrive: host all nodes, then per round emit (a single part has no
    /// batches for others) and deliver, then resolve.
    async fn gossip_by_orderings(&mut self) -> Result<(Vec<OrderingResult>, Oracle), RunError> {
        let k = self.config.orderings;
        let active = self.link.size().min(k);
        let mut running: Vec<Option<Running>> = (0..active).map(|_| None).collect();
        let mut results: Vec<Option<OrderingResult>> = vec![None; k as usize];
        let mut oracle = None;
        let (mut next, mut done) = (0, 0);
        for w in 0..active {
            running[w as usize] = Some(self.host_whole(w, next)?);
            next += 1;
        }
        while done < k {
            let (w, msg) = self.recv().await?;
            let run = running
                .get_mut(w as usize)
                .and_then(Option::as_mut)
                .ok_or_else(|| RunError::Protocol(format!("reply from idle worker {w}")))?;
            match msg {
                FromWorker::Hosted { oracle: o } => {
                    oracle = oracle.or(o);
                    self.step_whole(w, run)?;
                }
                FromWorker::Emitted { batches, .. } if batches.len() == 1 => {
                    let inbox = route(vec![batches], 1)?.pop().unwrap_or_default();
                    let round = run.round;
                    self.link.send(
                        w,
                        &ToWorker::Deliver {
                            round,
                            batches: inbox,
                        },
                    )?;
                }
                FromWorker::Delivered { report } => {
                    let reports = [report];
                    (self.observe)(run.ordering, run.round, &reports);
                    run.driver.record(&reports);
                    let agreeing = run.driver.stats().last().map_or(0, |s| s.agreeing_nodes);
                    let (ordering, round) = (run.ordering, run.round);
                    self.step_whole(w, run)?;
                    self.report_progress(done, ordering, round, agreeing);
                }
                FromWorker::Resolved { nodes } => {
                    let run = running[w as usize].take().expect("checked above");
                    let ordering = run.ordering;
                    results[ordering as usize] =
                        Some(ordering_result(self.config, run.driver, &nodes));
                    let ms = self.link.now_ms() - run.started_ms;
                    self.phases_ms
                        .push((format!("ordering {ordering} (worker {w})"), ms));
                    done += 1;
                    if next < k {
                        running[w as usize] = Some(self.host_whole(w, next)?);
                        next += 1;
                    }
                    self.report_progress(done, ordering, 0, 0);
                }
                other => {
                    return Err(RunError::Protocol(format!(
                        "worker {w} answered {other:?} in a whole-ordering run"
                    )))
                }
            }
        }
        all_finished(results, oracle)
    }

    /// Hosts every node of `ordering` on `worker`.
    fn host_whole(&mut self, worker: u32, ordering: u32) -> Result<Running, RunError> {
        self.link.send(
            worker,
            &ToWorker::Host {
                config: self.config.clone(),
                ordering,
                parts: vec![(0, self.config.nodes)],
                me: 0,
                oracle: ordering == 0,
            },
        )?;
        Ok(Running {
            ordering,
            round: 0,
            driver: new_driver(self.config, ordering),
            started_ms: self.link.now_ms(),
        })
    }

    /// Asks `worker` for the next step of its ordering.
    fn step_whole(&mut self, worker: u32, run: &mut Running) -> Result<(), RunError> {
        match run.driver.next() {
            Step::Round(r) => {
                run.round = r;
                self.link.send(worker, &ToWorker::Emit { round: r })
            }
            Step::Finished => self.link.send(worker, &ToWorker::Resolve),
            Step::AllPairs => Err(RunError::Protocol("all-pairs step in a gossip run".into())),
        }
    }

    /// All-pairs orderings as jobs on the pool. Each ordering runs whole in
    /// a worker, but its resolves may be split into parts (every part runs
    /// the same gossip, which is cheap next to the resolves), so that the
    /// jobs divide evenly among the workers: 5 orderings on 2 workers are
    /// 10 half-orderings, not 3 orderings on one worker and 2 on the other.
    async fn all_pairs(&mut self) -> Result<(Vec<OrderingResult>, Oracle), RunError> {
        let k = self.config.orderings;
        let split = all_pairs_parts(k, self.link.size(), self.config.nodes);
        let parts = partition_nodes(self.config.nodes, split);
        let jobs: Vec<(u32, usize)> = (0..k)
            .flat_map(|o| (0..parts.len()).map(move |p| (o, p)))
            .collect();
        let mut partial: Vec<PartialOrdering> =
            (0..k).map(|_| PartialOrdering::new(parts.len())).collect();
        let mut results: Vec<Option<OrderingResult>> = vec![None; k as usize];
        let mut oracle = None;
        let mut next = 0;
        for w in 0..self.link.size().min(jobs.len() as u32) {
            self.send_all_pairs(w, jobs[next], &parts, &mut partial)?;
            next += 1;
        }
        let mut done = 0;
        while done < k {
            let (w, msg) = self.recv().await?;
            let FromWorker::AllPairsDone {
                ordering,
                report,
                nodes,
                oracle: o,
            } = msg
            else {
                return Err(RunError::Protocol(format!(
                    "wrong reply kind from worker {w}"
                )));
            };
            let state = partial
                .get_mut(ordering as usize)
                .ok_or_else(|| RunError::Protocol(format!("unexpected ordering {ordering}")))?;
            state.add(ordering, report, nodes, &parts)?;
            oracle = oracle.or(o);
            if let Some((report, nodes, started_ms)) = state.take_if_complete() {
                results[ordering as usize] = Some(self.finish_all_pairs(ordering, report, &nodes)?);
                let ms = self.link.now_ms() - started_ms;
                self.phases_ms.push((format!("ordering {ordering}"), ms));
                done += 1;
                let lowest_running = results.iter().position(|r| r.is_none()).unwrap_or(0) as u32;
                self.report_progress(done, lowest_running, 1, 0);
            }
            if next < jobs.len() {
                self.send_all_pairs(w, jobs[next], &parts, &mut partial)?;
                next += 1;
            }
        }
        all_finished(results, oracle)
    }

    /// Sends job `(ordering, part)`; ordering 0's first part also computes
    /// the oracle. The ordering's clock starts with its first part.
    fn send_all_pairs(
        &mut self,
        worker: u32,
        (ordering, part): (u32, usize),
        parts: &[Range<u32>],
        partial: &mut [PartialOrdering],
    ) -> Result<(), RunError> {
        let nodes = &parts[part];
        let message = ToWorker::AllPairs {
            config: self.config.clone(),
            ordering,
            oracle: ordering == 0 && part == 0,
            resolve: (nodes.start, nodes.end),
        };
        self.link.send(worker, &message)?;
        partial[ordering as usize]
            .started_ms
            .get_or_insert(self.link.now_ms());
        Ok(())
    }

    /// Records an all-pairs ordering with the driver, as the native runner does.
    fn finish_all_pairs(
        &self,
        ordering: u32,
        report: RoundReport,
        nodes: &[NodeResolved],
    ) -> Result<OrderingResult, RunError> {
        let mut driver = new_driver(self.config, ordering);
        if driver.next() != Step::AllPairs {
            return Err(RunError::Protocol(
                "the driver expected no all-pairs step".into(),
            ));
        }
        if nodes.len() != self.config.nodes as usize
            || report.nodes.len() != self.config.nodes as usize
        {
            return Err(RunError::Protocol(format!(
                "ordering {ordering} did not report every node"
            )));
        }
        driver.record(&[report]);
        Ok(ordering_result(self.config, driver, nodes))
    }
}

/// Into how many parts each all-pairs ordering's resolves are split so that
/// `orderings × parts` jobs divide evenly among `workers`:
/// `workers / gcd(orderings, workers)` (1 when the orderings already do).
/// Every part repeats the ordering's gossip, whose cost grows faster than
/// the resolves' with the node count, so orderings of more than
/// [`NODE_SPLIT_MAX`] nodes are not split.
fn all_pairs_parts(orderings: u32, workers: u32, nodes: u32) -> u32 {
    if nodes > NODE_SPLIT_MAX {
        return 1;
    }
    let (mut a, mut b) = (orderings.max(1), workers.max(1));
    while b != 0 {
        (a, b) = (b, a % b);
    }
    workers.max(1) / a
}

/// The parts of one all-pairs ordering received so far. Every part ran the
/// same gossip, so their round reports must be equal.
struct PartialOrdering {
    report: Option<RoundReport>,
    nodes: Vec<Option<Vec<NodeResolved>>>,
    started_ms: Option<f64>,
    finished: bool,
}

impl PartialOrdering {
    fn new(parts: usize) -> PartialOrdering {
        PartialOrdering {
            report: None,
            nodes: vec![None; parts],
            started_ms: None,
            finished: false,
        }
    }

    /// Files a part's reply: its nodes must be exactly one part's range,
    /// not received before, and its gossip report the same as the others'.
    fn add(
        &mut self,
        ordering: u32,
        report: RoundReport,
        nodes: Vec<NodeResolved>,
        parts: &[Range<u32>],
    ) -> Result<(), RunError> {
        let bad = |what: &str| RunError::Protocol(format!("ordering {ordering}: {what}"));
        let part = parts
            .iter()
            .position(|r| nodes.iter().map(|n| n.node).eq(r.clone()))
            .ok_or_else(|| bad("a reply resolved nodes that are not one part"))?;
        if self.finished || self.nodes[part].is_some() {
            return Err(bad("a part was resolved twice"));
        }
        match &self.report {
            Some(r) if *r != report => {
                return Err(bad("two workers ran the same gossip to different reports"))
            }
            Some(_) => {}
            None => self.report = Some(report),
        }
        self.nodes[part] = Some(nodes);
        Ok(())
    }

    /// The gossip report, every node in order and the start time, once
    /// every part has arrived.
    fn take_if_complete(&mut self) -> Option<(RoundReport, Vec<NodeResolved>, f64)> {
        if self.nodes.iter().any(Option::is_none) {
            return None;
        }
        self.finished = true;
        let nodes = self
            .nodes
            .iter_mut()
            .flat_map(|n| n.take().unwrap_or_default())
            .collect();
        Some((self.report.take()?, nodes, self.started_ms.unwrap_or(0.0)))
    }
}

/// The results of every ordering (each slot filled: the loops end only when
/// all are done) and the oracle one of them reported.
fn all_finished(
    results: Vec<Option<OrderingResult>>,
    oracle: Option<Oracle>,
) -> Result<(Vec<OrderingResult>, Oracle), RunError> {
    let oracle = oracle.ok_or_else(|| RunError::Protocol("no oracle digests".into()))?;
    let results = results
        .into_iter()
        .map(|r| r.expect("every ordering finished"))
        .collect();
    Ok((results, oracle))
}

/// A gossip ordering a worker runs whole.
struct Running {
    ordering: u32,
    /// The round asked for last.
    round: u32,
    driver: OrderingDriver,
    started_ms: f64,
}

/// Most nodes of a single ordering split across workers. Above it, every
/// message between workers carries a large state to encode and decode, and
/// measured runs got slower with more workers (1,000 nodes at 64²: 3.6 s on
/// one worker, 14.8 s on two), so the ordering runs whole on one worker.
pub const NODE_SPLIT_MAX: u32 = 200;

/// Whether a gossip run hands whole orderings to workers rather than
/// splitting every ordering's nodes across them: with several orderings
/// (they are independent, so no state moves between workers), or with one
/// ordering too large to split well ([`NODE_SPLIT_MAX`]).
pub fn split_by_orderings(config: &ConvergenceConfig, workers: u32) -> bool {
    config.protocol != Protocol::AllPairs
        && workers >= 2
        && (config.orderings >= 2 || config.nodes > NODE_SPLIT_MAX)
}

/// The driver of one ordering, exactly as the native `drive_native` makes
/// it (Experiment 1 runs without faults).
fn new_driver(config: &ConvergenceConfig, ordering: u32) -> OrderingDriver {
    let quiet_from = FaultPlan::default().quiet_from();
    OrderingDriver::with_quiet_from(schedule(config, ordering), config.rounds_max, quiet_from)
}

/// Regroups every worker's outgoing batches (indexed by destination) into
/// each destination's inbox of batches, in source order.
fn route(emitted: Vec<Vec<Vec<u8>>>, n: usize) -> Result<Vec<Vec<Vec<u8>>>, RunError> {
    let mut inboxes: Vec<Vec<Vec<u8>>> = vec![Vec::new(); n];
    for (src, batches) in emitted.into_iter().enumerate() {
        if batches.len() != n {
            return Err(RunError::Protocol(format!(
                "worker {src} sent {} batches for {n} workers",
                batches.len()
            )));
        }
        for (dst, batch) in batches.into_iter().enumerate() {
            if !batch.is_empty() {
                inboxes[dst].push(batch);
            }
        }
    }
    Ok(inboxes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::run_local;
    use lab_core::experiment::convergence::run_with;

    fn check_matches_native(protocol: Protocol, fanout: u32) {
        check_config_matches_native(ConvergenceConfig {
            nodes: 13,
            dim: 4,
            orderings: 3,
            protocol,
            fanout,
            ..ConvergenceConfig::default()
        });
    }

    fn check_config_matches_native(config: ConvergenceConfig) {
        let protocol = config.protocol;
        let native = run_with(&config, 1, &mut |_| true).unwrap();
        assert!(native.verdict.passed);
        for workers in [1, 2, 3, 5, 16] {
            let browser = run_local(&config, workers).unwrap().report;
            assert_eq!(
                browser.fingerprint, native.fingerprint,
                "{protocol:?} with {workers} workers"
            );
            assert_eq!(browser, native);
        }
    }
    #[test]
    fn all_pairs_matches_native() {
        check_matches_native(Protocol::AllPairs, 1);
    }

    #[test]
    fn all_pairs_orderings_split_evenly_over_the_workers() {
        let cases = [
            (5, 2, 2),
            (4, 2, 1),
            (1, 2, 2),
            (1, 1, 1),
            (3, 16, 16),
            (6, 4, 2),
            (5, 5, 1),
        ];
        for (orderings, workers, parts) in cases {
            let split = all_pairs_parts(orderings, workers, 100);
            assert_eq!(split, parts, "{orderings} on {workers}");
            assert_eq!(orderings * parts % workers, 0);
        }
        // Large orderings are not split: each part would repeat the gossip.
        assert_eq!(all_pairs_parts(5, 2, NODE_SPLIT_MAX + 1), 1);
        // The seed lab's 5 orderings on 2 workers, and one ordering split
        // over 2 and 3 workers: the same report as the native runner.
        for (orderings, workers) in [(5, 2), (1, 2), (1, 3)] {
            let config = ConvergenceConfig {
                nodes: 7,
                dim: 3,
                orderings,
                ..ConvergenceConfig::default()
            };
            let native = run_with(&config, 1, &mut |_| true).unwrap();
            let finished = run_local(&config, workers).unwrap();
            assert_eq!(finished.report, native, "{orderings} on {workers}");
            assert_eq!(finished.phases_ms.len(), orderings as usize);
        }
    }

    #[test]
    fn all_pairs_parts_must_agree_and_cover_their_range() {
        let parts = partition_nodes(6, 2);
        let resolved = |nodes: Range<u32>| -> Vec<NodeResolved> {
            nodes
                .map(|node| NodeResolved {
                    node,
                    state_digest: Default::default(),
                    resolved_digest: Default::default(),
                    visible: 6,
                })
                .collect()
        };
        let report = RoundReport::default();
        let mut p = PartialOrdering::new(2);
        assert!(p.add(0, report.clone(), resolved(1..3), &parts).is_err());
        p.add(0, report.clone(), resolved(3..6), &parts).unwrap();
        assert!(p.take_if_complete().is_none());
        assert!(p.add(0, report.clone(), resolved(3..6), &parts).is_err());
        let mut other = RoundReport::default();
        other.counters.joins = 1;
        let err = p.add(0, other, resolved(0..3), &parts).unwrap_err();
        assert!(err.to_string().contains("different reports"), "{err}");
        p.add(0, report, resolved(0..3), &parts).unwrap();
        let (_, nodes, _) = p.take_if_complete().expect("both parts arrived");
        assert!(nodes.iter().map(|n| n.node).eq(0..6));
    }

    #[test]
    fn push_pull_matches_native() {
        check_matches_native(Protocol::PushPull, 2);
    }

    #[test]
    fn push_and_pull_match_native() {
        check_matches_native(Protocol::Push, 1);
        check_matches_native(Protocol::Pull, 3);
    }

    #[test]
    fn one_ordering_splits_nodes_and_matches_native() {
        for protocol in [Protocol::Push, Protocol::PushPull] {
            let config = ConvergenceConfig {
                nodes: 13,
                dim: 3,
                orderings: 1,
                protocol,
                fanout: 2,
                ..ConvergenceConfig::default()
            };
            assert!(!split_by_orderings(&config, 3));
            check_config_matches_native(config);
        }
    }

    #[test]
    fn whole_orderings_are_timed_per_worker() {
        let config = ConvergenceConfig {
            nodes: 9,
            dim: 2,
            orderings: 3,
            protocol: Protocol::PushPull,
            ..ConvergenceConfig::default()
        };
        assert!(split_by_orderings(&config, 2));
        assert!(!split_by_orderings(&config, 1));
        let large = ConvergenceConfig {
            nodes: NODE_SPLIT_MAX + 1,
            orderings: 1,
            ..config.clone()
        };
        assert!(split_by_orderings(&large, 2));
        let finished = run_local(&config, 2).unwrap();
        let names: Vec<&str> = finished.phases_ms.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(names.len(), 3);
        assert!(names.iter().all(|n| n.contains("(worker ")), "{names:?}");
    }

    #[test]
    fn delta_anti_entropy_matches_native() {
        // Replies arrive a round later: envelopes wait in the workers' queues.
        for protocol in [Protocol::Pull, Protocol::PushPull] {
            check_config_matches_native(ConvergenceConfig {
                nodes: 11,
                dim: 3,
                orderings: 2,
                protocol,
                fanout: 2,
                anti_entropy: lab_core::sim::AntiEntropy::Delta,
                ..ConvergenceConfig::default()
            });
        }
    }

    #[test]
    fn a_worker_failure_is_an_error_in_words() {
        let config = ConvergenceConfig {
            nodes: 1,
            ..ConvergenceConfig::default()
        };
        let err = run_local(&config, 2)
            .err()
            .expect("an invalid config fails");
        assert!(
            matches!(&err, RunError::Worker { message, .. } if message.contains("nodes")),
            "{err}"
        );
    }

    #[test]
    fn progress_fraction_is_bounded() {
        let p = Progress {
            orderings: 4,
            orderings_done: 1,
            agreeing_nodes: 10,
            nodes: 10,
            ..Progress::default()
        };
        assert!(p.fraction() > 0.25 && p.fraction() < 0.5);
        let done = Progress {
            orderings_done: 4,
            ..p
        };
        assert_eq!(done.fraction(), 1.0);
    }
}
