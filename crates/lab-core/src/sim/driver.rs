//! The coordinator's side of one ordering: which step comes next, and the
//! per-round bookkeeping (counters summed over executors, convergence check
//! on the nodes' replica digests). Pure; the native runner and the browser's
//! worker pool both drive executors with it, so they record the same numbers.

use super::{Counters, Protocol, RoundReport, Schedule};
use crate::hash::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the coordinator asks the executors to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// Run the sequential all-pairs schedule (one executor hosts all nodes).
    AllPairs,
    /// Run gossip round `r` (1-based): emit, route, deliver.
    Round(u32),
    /// Converged, or out of rounds.
    Finished,
}

/// One round's numbers (all of them fingerprinted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundStats {
    pub round: u32,
    pub messages: u64,
    pub metadata_bytes: u64,
    pub joins: u64,
    pub joins_changed: u64,
    /// Messages lost to partitions, lossy links or down receivers.
    pub dropped: u64,
    /// Messages still in delay queues after the round.
    pub pending: u64,
    /// Nodes up (not crashed or paused) in this round.
    pub live_nodes: u32,
    /// Size of the largest group of live nodes with identical replica state.
    pub agreeing_nodes: u32,
    /// Number of distinct replica states among live nodes.
    pub distinct_states: u32,
    /// Contributions nodes received for the first time this round (each
    /// node fetches a `(model id, version)`'s tensor once).
    pub tensor_fetches: u64,
    /// Tensor payload of those fetches (not in `metadata_bytes`).
    pub tensor_bytes: u64,
    /// Of `metadata_bytes`, digest-diff overhead (merkle mode).
    pub digest_bytes: u64,
}

/// Drives one ordering.
pub struct OrderingDriver {
    schedule: Schedule,
    rounds_max: u32,
    /// No convergence is declared before this round (faults still to come).
    quiet_from: u32,
    live: Vec<bool>,
    stats: Vec<RoundStats>,
    digests: Vec<Digest>,
    converged: bool,
}

impl OrderingDriver {
    pub fn new(schedule: Schedule, rounds_max: u32) -> OrderingDriver {
        OrderingDriver::with_quiet_from(schedule, rounds_max, 1)
    }

    /// A driver that declares convergence only from round `quiet_from` on
    /// (the plan's faults are over), with every node up.
    pub fn with_quiet_from(schedule: Schedule, rounds_max: u32, quiet_from: u32) -> OrderingDriver {
        assert!((1..=super::ROUNDS_MAX).contains(&rounds_max));
        OrderingDriver {
            schedule,
            rounds_max,
            quiet_from,
            live: vec![true; schedule.nodes as usize],
            stats: Vec::new(),
            digests: vec![Digest::ZERO; schedule.nodes as usize],
            converged: false,
        }
    }

    pub fn schedule(&self) -> Schedule {
        self.schedule
    }

    /// The next step.
    pub fn next(&self) -> Step {
        let done = self.stats.len() as u32;
        if self.converged || done >= self.rounds_max {
            return Step::Finished;
        }
        if self.schedule.protocol == Protocol::AllPairs {
            return if done == 0 {
                Step::AllPairs
            } else {
                Step::Finished
            };
        }
        Step::Round(done + 1)
    }

    /// Records the executors' reports for the step just run. Every node must
    /// be reported exactly once.
    pub fn record(&mut self, parts: &[RoundReport]) {
        let mut counters = Counters::default();
        let mut seen = vec![false; self.digests.len()];
        for p in parts {
            counters.add(&p.counters);
            for s in &p.nodes {
                let i = s.node as usize;
                assert!(!seen[i], "node {} reported twice", s.node);
                seen[i] = true;
                self.digests[i] = s.digest;
                self.live[i] = s.live;
            }
        }
        assert!(seen.iter().all(|&s| s), "a node was not reported");
        let mut classes: BTreeMap<Digest, u32> = BTreeMap::new();
        for (d, _) in self.digests.iter().zip(&self.live).filter(|(_, &l)| l) {
            *classes.entry(*d).or_insert(0) += 1;
        }
        let live_nodes = self.live.iter().filter(|&&l| l).count() as u32;
        let round = self.stats.len() as u32 + 1;
        // Messages still in flight cannot undo this: each carries a past
        // state (or a delta of one), below the common state every node holds.
        self.converged =
            classes.len() == 1 && live_nodes == self.schedule.nodes && round >= self.quiet_from;
        self.stats.push(RoundStats {
            round,
            messages: counters.messages,
            metadata_bytes: counters.metadata_bytes,
            joins: counters.joins,
            joins_changed: counters.joins_changed,
            dropped: counters.dropped,
            pending: counters.pending,
            live_nodes,
            agreeing_nodes: classes.values().copied().max().unwrap_or(0),
            distinct_states: classes.len() as u32,
            tensor_fetches: counters.tensor_fetches,
            tensor_bytes: counters.tensor_bytes,
            digest_bytes: counters.digest_bytes,
        });
    }

    pub fn converged(&self) -> bool {
        self.converged
    }

    pub fn stats(&self) -> &[RoundStats] {
        &self.stats
    }

    /// The latest replica digest of every node.
    pub fn digests(&self) -> &[Digest] {
        &self.digests
    }

    pub fn into_stats(self) -> Vec<RoundStats> {
        self.stats
    }
}
