//! The deterministic, round-based network simulator.
//!
//! Nodes are spread over one or more [`Executor`]s (natively: one, or several
//! in-process for testing; in the browser: one per web worker). Each executor
//! hosts a disjoint range of nodes. A round has two phases:
//!
//! 1. **emit** — every executor computes the messages its nodes send this
//!    round *from their state at the start of the round*: push messages to
//!    the peers they chose, and pull replies to the nodes that chose them;
//! 2. **deliver** — every executor applies, for each hosted node, the
//!    messages addressed to it, in an order drawn from the seed (after a
//!    canonical sort, so arrival order never matters), and reports each
//!    node's replica digest.
//!
//! Which peers a node contacts is drawn from the stream
//! `(seed, Peers, [ordering, round, node])`, so any executor can compute any
//! node's choice without communication. That is why the result — and the
//! fingerprint — is independent of the number of executors.
//!
//! The seed lab's schedule (`all-pairs`) is sequential — node after node, in a
//! shuffled order, joins every other node's *current* state in a shuffled
//! target order — and therefore runs inside one executor
//! ([`Executor::run_all_pairs`]).

pub mod driver;

use crate::crdt::{ContributionSet, ReplicaId};
use crate::error::ConfigError;
use crate::hash::Digest;
use crate::rng::{Purpose, Stream};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::str::FromStr;
use std::sync::Arc;

/// Most nodes a simulation may have.
pub const NODES_MAX: u32 = 10_000;
/// Most rounds a simulation may run.
pub const ROUNDS_MAX: u32 = 10_000;
/// Most messages one executor may emit in one round.
pub const MESSAGES_PER_ROUND_MAX: usize = 4_000_000;

/// How nodes exchange state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// The seed lab's schedule: every node merges every other node's current
    /// state, sequentially, in a shuffled order. One "round".
    AllPairs,
    /// Each node sends its state to `fanout` random peers per round.
    Push,
    /// Each node asks `fanout` random peers for their state per round.
    Pull,
    /// Both: each contacted pair exchanges states.
    PushPull,
}

impl Protocol {
    pub const ALL: [Protocol; 4] = [
        Protocol::AllPairs,
        Protocol::Push,
        Protocol::Pull,
        Protocol::PushPull,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Protocol::AllPairs => "all-pairs",
            Protocol::Push => "push",
            Protocol::Pull => "pull",
            Protocol::PushPull => "push-pull",
        }
    }

    fn pushes(self) -> bool {
        matches!(self, Protocol::Push | Protocol::PushPull)
    }

    fn pulls(self) -> bool {
        matches!(self, Protocol::Pull | Protocol::PushPull)
    }
}

impl FromStr for Protocol {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Protocol, ConfigError> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| ConfigError::UnknownProtocol(s.to_string()))
    }
}

/// The parameters that decide who talks to whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub nodes: u32,
    pub protocol: Protocol,
    pub fanout: u32,
    pub seed: u64,
    /// Which of the K orderings this is (keys every stream).
    pub ordering: u32,
}

impl Schedule {
    /// The peers `node` contacts in `round` (distinct, never itself).
    pub fn peers(&self, round: u32, node: u32) -> Vec<u32> {
        let mut s = Stream::new(
            self.seed,
            Purpose::Peers,
            &[self.ordering as u64, round as u64, node as u64],
        );
        s.distinct_excluding(self.nodes, self.fanout, node)
    }

    /// The order in which `node` applies its deliveries of `round`: a
    /// permutation of `0..count`.
    pub fn delivery_order(&self, round: u32, node: u32, count: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..count).collect();
        let mut s = Stream::new(
            self.seed,
            Purpose::DeliveryOrder,
            &[self.ordering as u64, round as u64, node as u64],
        );
        s.shuffle(&mut order);
        order
    }
}

/// What a message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MsgKind {
    /// Unsolicited state (push).
    Push,
    /// State sent in reply to a pull request.
    PullReply,
}

/// A message between nodes. The payload is a full state snapshot.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub from: u32,
    pub to: u32,
    pub kind: MsgKind,
    pub payload: Arc<ContributionSet>,
}

/// Counters of one executor for one round (summed by the coordinator; sums
/// of integers, so the grouping never matters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub messages: u64,
    pub metadata_bytes: u64,
    pub joins: u64,
    pub joins_changed: u64,
}

impl Counters {
    pub fn add(&mut self, o: &Counters) {
        self.messages += o.messages;
        self.metadata_bytes += o.metadata_bytes;
        self.joins += o.joins;
        self.joins_changed += o.joins_changed;
    }
}

/// What an executor reports after a round: its counters and each hosted
/// node's replica digest.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RoundReport {
    pub counters: Counters,
    pub digests: Vec<(u32, Digest)>,
}

/// Messages emitted by one executor in one round.
#[derive(Clone, Debug, Default)]
pub struct Emission {
    pub envelopes: Vec<Envelope>,
    pub counters: Counters,
}

/// Size in bytes a pull request is accounted with: the requester's version
/// vector (what a delta-aware peer would need), postcard-encoded.
fn pull_request_bytes(set: &ContributionSet) -> u64 {
    postcard::experimental::serialized_size(set.context()).expect("sizing a context") as u64
}

/// Hosts a contiguous range of nodes and runs their side of every round.
pub struct Executor {
    schedule: Schedule,
    hosted: Range<u32>,
    /// Copy-on-write: emitted envelopes share a node's snapshot; a join
    /// copies it only while such a snapshot is still alive.
    nodes: Vec<Arc<ContributionSet>>,
}

impl Executor {
    /// An executor for nodes `hosted`, each starting from `initial(node)`.
    pub fn new(
        schedule: Schedule,
        hosted: Range<u32>,
        initial: impl Fn(ReplicaId) -> ContributionSet,
    ) -> Executor {
        assert!(hosted.end <= schedule.nodes, "hosted range beyond the node count");
        let nodes = hosted.clone().map(|i| Arc::new(initial(i))).collect();
        Executor {
            schedule,
            hosted,
            nodes,
        }
    }

    pub fn hosted(&self) -> Range<u32> {
        self.hosted.clone()
    }

    pub fn hosts(&self, node: u32) -> bool {
        self.hosted.contains(&node)
    }

    /// The state of a hosted node.
    pub fn node(&self, node: u32) -> &ContributionSet {
        &self.nodes[(node - self.hosted.start) as usize]
    }

    /// Replica digests of all hosted nodes.
    pub fn digests(&self) -> Vec<(u32, Digest)> {
        self.hosted
            .clone()
            .zip(&self.nodes)
            .map(|(i, s)| (i, s.replica_digest()))
            .collect()
    }

    /// Phase 1 of `round`: the messages hosted nodes send, computed from
    /// their state at the start of the round.
    pub fn emit(&self, round: u32) -> Emission {
        let sch = self.schedule;
        assert!(sch.protocol != Protocol::AllPairs, "all-pairs has no rounds");
        let mut out = Emission::default();
        let snap = |node: u32| &self.nodes[(node - self.hosted.start) as usize];
        for node in self.hosted.clone() {
            for peer in sch.peers(round, node) {
                if sch.protocol.pushes() {
                    self.push_envelope(&mut out, node, peer, MsgKind::Push, snap(node));
                }
                if sch.protocol.pulls() {
                    out.counters.messages += 1;
                    out.counters.metadata_bytes += pull_request_bytes(snap(node));
                }
            }
        }
        if sch.protocol.pulls() {
            // Replies: every node (hosted anywhere) that chose a hosted peer.
            for requester in 0..sch.nodes {
                for peer in sch.peers(round, requester) {
                    if self.hosts(peer) {
                        self.push_envelope(&mut out, peer, requester, MsgKind::PullReply, snap(peer));
                    }
                }
            }
        }
        out
    }

    fn push_envelope(
        &self,
        out: &mut Emission,
        from: u32,
        to: u32,
        kind: MsgKind,
        payload: &Arc<ContributionSet>,
    ) {
        assert!(out.envelopes.len() < MESSAGES_PER_ROUND_MAX, "messages per round limit");
        out.counters.messages += 1;
        out.counters.metadata_bytes += payload.encoded_len() as u64;
        out.envelopes.push(Envelope {
            from,
            to,
            kind,
            payload: Arc::clone(payload),
        });
    }

    /// Phase 2 of `round`: applies `inbox` (every envelope addressed to a
    /// hosted node, in any order) and reports the nodes' digests.
    pub fn deliver(&mut self, round: u32, mut inbox: Vec<Envelope>) -> RoundReport {
        // Canonical order first, so the result never depends on arrival order.
        inbox.sort_by(|a, b| (a.to, a.from, a.kind).cmp(&(b.to, b.from, b.kind)));
        let mut counters = Counters::default();
        let mut start = 0;
        while start < inbox.len() {
            let to = inbox[start].to;
            assert!(self.hosts(to), "envelope for node {to} routed to the wrong executor");
            let end = start + inbox[start..].iter().take_while(|e| e.to == to).count();
            let batch = &inbox[start..end];
            let node = &mut self.nodes[(to - self.hosted.start) as usize];
            for k in self.schedule.delivery_order(round, to, batch.len()) {
                counters.joins += 1;
                if join_cow(node, &batch[k].payload) {
                    counters.joins_changed += 1;
                }
            }
            start = end;
        }
        RoundReport {
            counters,
            digests: self.digests(),
        }
    }

    /// The seed lab's sequential schedule for this ordering: a shuffled node
    /// order; each node, in turn, joins every other node's *current* state in
    /// a shuffled target order. Requires hosting every node.
    pub fn run_all_pairs(&mut self) -> RoundReport {
        let sch = self.schedule;
        assert_eq!(sch.protocol, Protocol::AllPairs);
        assert!(
            self.hosted.start == 0 && self.hosted.end == sch.nodes,
            "all-pairs needs every node in one executor"
        );
        let mut counters = Counters::default();
        for (i, j) in all_pairs_order(&sch) {
            let (dst, src) = pair_mut(&mut self.nodes, i as usize, j as usize);
            counters.messages += 1;
            counters.metadata_bytes += src.encoded_len() as u64;
            counters.joins += 1;
            if join_cow(dst, src) {
                counters.joins_changed += 1;
            }
        }
        RoundReport {
            counters,
            digests: self.digests(),
        }
    }
}

/// The seed lab's sequential schedule for one ordering, as `(receiver,
/// sender)` pairs in execution order: a shuffled node order; each node, in
/// turn, merges every other node in a shuffled target order.
pub fn all_pairs_order(sch: &Schedule) -> Vec<(u32, u32)> {
    let n = sch.nodes;
    let mut order: Vec<u32> = (0..n).collect();
    Stream::new(sch.seed, Purpose::Schedule, &[sch.ordering as u64, 0]).shuffle(&mut order);
    let mut out = Vec::with_capacity(n as usize * (n as usize).saturating_sub(1));
    for &i in &order {
        let mut targets: Vec<u32> = (0..n).filter(|&j| j != i).collect();
        Stream::new(sch.seed, Purpose::Schedule, &[sch.ordering as u64, 1, i as u64])
            .shuffle(&mut targets);
        out.extend(targets.into_iter().map(|j| (i, j)));
    }
    out
}

/// Joins `other` into a node state, copying the state first only while an
/// emitted snapshot of it is still referenced.
fn join_cow(node: &mut Arc<ContributionSet>, other: &ContributionSet) -> bool {
    Arc::make_mut(node).join(other)
}

/// Mutable reference to `v[i]` and shared reference to `v[j]`, `i ≠ j`.
fn pair_mut<T>(v: &mut [T], i: usize, j: usize) -> (&mut T, &T) {
    assert_ne!(i, j);
    if i < j {
        let (a, b) = v.split_at_mut(j);
        (&mut a[i], &b[0])
    } else {
        let (a, b) = v.split_at_mut(i);
        (&mut b[0], &a[j])
    }
}

/// Splits `0..nodes` into `parts` contiguous, nearly equal ranges.
pub fn partition_nodes(nodes: u32, parts: u32) -> Vec<Range<u32>> {
    let parts = parts.clamp(1, nodes.max(1));
    let base = nodes / parts;
    let extra = nodes % parts;
    let mut out = Vec::with_capacity(parts as usize);
    let mut start = 0;
    for p in 0..parts {
        let len = base + u32::from(p < extra);
        out.push(start..start + len);
        start += len;
    }
    out
}

/// Why a batch of envelopes could not be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    #[error("malformed message batch: {0}")]
    Malformed(String),
    #[error("message batch violates a state invariant: {0}")]
    Invariant(String),
}

/// Encodes envelopes for transfer between executors (postcard).
pub fn encode_envelopes(envelopes: &[Envelope]) -> Vec<u8> {
    postcard::to_allocvec(envelopes).expect("envelopes are encodable")
}

/// Decodes and validates a batch produced by [`encode_envelopes`].
pub fn decode_envelopes(bytes: &[u8]) -> Result<Vec<Envelope>, WireError> {
    let envelopes: Vec<Envelope> =
        postcard::from_bytes(bytes).map_err(|e| WireError::Malformed(e.to_string()))?;
    for e in &envelopes {
        e.payload.check_invariants().map_err(WireError::Invariant)?;
    }
    Ok(envelopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_cover_all_nodes() {
        for nodes in 1..40 {
            for parts in 1..10 {
                let p = partition_nodes(nodes, parts);
                assert_eq!(p.first().unwrap().start, 0);
                assert_eq!(p.last().unwrap().end, nodes);
                assert!(p.windows(2).all(|w| w[0].end == w[1].start));
                assert!(p.iter().all(|r| !r.is_empty()));
            }
        }
    }

    #[test]
    fn peers_are_distinct_and_never_self() {
        let s = Schedule {
            nodes: 10,
            protocol: Protocol::Push,
            fanout: 3,
            seed: 1,
            ordering: 0,
        };
        for r in 1..20 {
            for n in 0..10 {
                let p = s.peers(r, n);
                assert_eq!(p.len(), 3);
                assert!(!p.contains(&n));
            }
        }
    }
}
