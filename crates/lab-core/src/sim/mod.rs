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
pub mod faults;
pub mod merkle;

use crate::crdt::{
    ConflictPolicy, Contribution, ContributionSet, Delta, Hlc, ReplicaId, Spare, VersionVector,
};
use crate::error::ConfigError;
use crate::hash::Digest;
use crate::rng::{Purpose, Stream};
use faults::{ChurnAction, FaultPlan, LinkFate, NodeFaultKind, PhaseLayout};
use merkle::{MerkleMsg, MerklePart};
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
    /// A request carrying the requester's causal context (delta mode).
    PullRequest,
    /// The rows a requester lacks, since the context it sent (delta mode).
    DeltaReply,
    /// Digest-diff session parts: roots, child hashes, wants, components
    /// (merkle mode; at most one per link and round).
    Merkle,
}

impl MsgKind {
    fn tag(self) -> u64 {
        match self {
            MsgKind::Push => 1,
            MsgKind::PullReply => 2,
            MsgKind::PullRequest => 4,
            MsgKind::DeltaReply => 5,
            MsgKind::Merkle => 6,
        }
    }
}

/// Fault-stream tag of a pull request (full-state mode, where requests are
/// accounted but not simulated as envelopes).
const PULL_REQUEST_TAG: u64 = 3;

/// How replicas exchange state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AntiEntropy {
    /// Every message carries the sender's whole state.
    #[default]
    Full,
    /// Request/reply: a request carries the requester's causal context; the
    /// reply, one round later, carries only what the requester lacks (δ-CRDT
    /// anti-entropy; correct under loss, duplication and reordering because
    /// a reply is applied only if its context is still below the receiver's).
    Delta,
    /// Digest diff ([`merkle`]): peers compare Merkle roots, descend only
    /// into differing subtrees and send only the components found to
    /// differ. Works with push, pull and push-pull (the direction data
    /// flows in).
    Merkle,
}

impl AntiEntropy {
    pub const ALL: [AntiEntropy; 3] = [AntiEntropy::Full, AntiEntropy::Delta, AntiEntropy::Merkle];

    pub fn name(self) -> &'static str {
        match self {
            AntiEntropy::Full => "full",
            AntiEntropy::Delta => "delta",
            AntiEntropy::Merkle => "merkle",
        }
    }
}

impl FromStr for AntiEntropy {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<AntiEntropy, ConfigError> {
        match s {
            "full" => Ok(AntiEntropy::Full),
            "delta" => Ok(AntiEntropy::Delta),
            "merkle" | "digest" => Ok(AntiEntropy::Merkle),
            _ => Err(ConfigError::Invalid(format!(
                "unknown anti-entropy '{s}' (full, delta or merkle)"
            ))),
        }
    }
}

/// A message body.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Payload {
    State(Arc<ContributionSet>),
    Request(Arc<VersionVector>),
    Delta {
        since: Arc<VersionVector>,
        delta: Arc<Delta>,
    },
    Merkle(Arc<MerkleMsg>),
}

impl Payload {
    /// Bytes a real network would move for this body. A delta reply names
    /// its request with an 8-byte id instead of repeating the context.
    fn wire_bytes(&self) -> u64 {
        match self {
            Payload::State(s) => s.encoded_len() as u64,
            Payload::Request(c) => encoded_size(&**c),
            Payload::Delta { delta, .. } => encoded_size(&**delta) + 8,
            Payload::Merkle(m) => encoded_size(&**m),
        }
    }

    /// Of [`wire_bytes`](Self::wire_bytes), the bytes that are digest-diff
    /// overhead (roots, child hashes, paths, wants) rather than rows and
    /// context entries.
    fn digest_bytes(&self) -> u64 {
        match self {
            Payload::Merkle(m) => {
                let data: u64 = m
                    .parts
                    .iter()
                    .filter_map(|p| p.data.as_ref())
                    .map(|d| d.encoded_len() as u64)
                    .sum();
                encoded_size(&**m) - data
            }
            _ => 0,
        }
    }
}

fn encoded_size<T: Serialize>(value: &T) -> u64 {
    postcard::experimental::serialized_size(value).expect("payloads encode") as u64
}

/// A message between nodes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub from: u32,
    pub to: u32,
    pub kind: MsgKind,
    /// Round in which the receiver applies it (later than the sending round
    /// when the link delays it).
    pub deliver_at: u32,
    /// 0, or 1 for the duplicate of a duplicated message.
    pub copy: u8,
    pub payload: Payload,
}

impl Envelope {
    fn order_key(&self) -> (u32, u32, u32, MsgKind, u8) {
        (self.to, self.deliver_at, self.from, self.kind, self.copy)
    }
}

/// Counters of one executor for one round (summed by the coordinator; sums
/// of integers, so the grouping never matters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub messages: u64,
    pub metadata_bytes: u64,
    pub joins: u64,
    pub joins_changed: u64,
    /// Messages lost to a partition, a lossy link or a down receiver.
    pub dropped: u64,
    /// Messages waiting in delay queues at the end of the round.
    pub pending: u64,
    /// Delta replies discarded because their context was no longer below
    /// the receiver's (it lost its state in between).
    pub stale: u64,
    /// Contributions received for the first time (rows whose dot the
    /// receiver had never seen): the tensors a node fetches.
    pub tensor_fetches: u64,
    /// Tensor payload those fetches move (`tensor_fetches ×` the source's
    /// tensor size). Not part of `metadata_bytes`.
    pub tensor_bytes: u64,
    /// Of `metadata_bytes`, the digest-diff overhead (merkle mode: roots,
    /// child hashes, paths, wants).
    pub digest_bytes: u64,
}

impl Counters {
    pub fn add(&mut self, o: &Counters) {
        self.messages += o.messages;
        self.metadata_bytes += o.metadata_bytes;
        self.joins += o.joins;
        self.joins_changed += o.joins_changed;
        self.dropped += o.dropped;
        self.pending += o.pending;
        self.stale += o.stale;
        self.tensor_fetches += o.tensor_fetches;
        self.tensor_bytes += o.tensor_bytes;
        self.digest_bytes += o.digest_bytes;
    }
}

/// One node's status after a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub node: u32,
    pub digest: Digest,
    /// False while crashed or paused.
    pub live: bool,
}

/// What an executor reports after a round: its counters and each hosted
/// node's replica digest.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RoundReport {
    pub counters: Counters,
    pub nodes: Vec<NodeStatus>,
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
    set.context_encoded_len() as u64
}

/// Where new versions of a node's contribution come from (churn), and what
/// a node starts with.
pub trait Contributions: Send + Sync {
    /// The initial state of `node`.
    fn initial(&self, node: u32) -> ContributionSet;
    /// Version `version` (≥ 2) of `node`'s contribution, stamped `stamp`.
    fn version(&self, node: u32, version: u32, stamp: Hlc) -> Contribution;
    /// The model id `node` contributes under.
    fn model_id(&self, node: u32) -> String;
    /// The conflict policy replicas use.
    fn policy(&self) -> ConflictPolicy;
    /// Bytes of one contributed tensor, for the tensor-fetch accounting
    /// (0 when the source does not say).
    fn tensor_bytes(&self) -> u64 {
        0
    }
}

/// Replica id of a node's `incarnation` (a node that lost its state comes
/// back as a new replica so it never reuses a dot).
pub fn replica_id(node: u32, incarnation: u32) -> ReplicaId {
    node + incarnation * NODES_MAX
}

/// Per-node bookkeeping besides the state.
#[derive(Clone, Debug, Default)]
struct NodeMeta {
    clock: Hlc,
    incarnation: u32,
    version: u32,
}

/// Hosts a contiguous range of nodes and runs their side of every round.
pub struct Executor {
    schedule: Schedule,
    plan: Arc<FaultPlan>,
    layouts: Vec<PhaseLayout>,
    source: Arc<dyn Contributions>,
    hosted: Range<u32>,
    /// Copy-on-write: emitted envelopes share a node's snapshot; a join
    /// copies it only while such a snapshot is still alive.
    nodes: Vec<Arc<ContributionSet>>,
    meta: Vec<NodeMeta>,
    /// Delayed envelopes addressed to hosted nodes.
    pending: Vec<Envelope>,
    /// Churn events applied, in order (for invariant checks).
    churn_log: Vec<AppliedChurn>,
    anti_entropy: AntiEntropy,
    /// Delta-mode requests received, answered at the next emit:
    /// `(responder, requester, requester's context)`.
    requests: Vec<(u32, u32, Arc<VersionVector>)>,
    /// Merkle-mode parts received, answered at the next emit:
    /// `(receiver, sender, message)`.
    merkle_inbox: Vec<(u32, u32, Arc<MerkleMsg>)>,
    /// Bytes of one tensor (from the source).
    tensor_bytes: u64,
    /// Allocations of dropped states, reused by joins.
    spare: Spare,
}

/// A churn event as it was applied (or skipped) by its node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedChurn {
    pub round: u32,
    pub node: u32,
    pub action: ChurnAction,
    /// The version written (updates) — 0 for removes.
    pub version: u32,
    /// False when the node was down, the update was stale, or the remove
    /// found nothing to remove.
    pub applied: bool,
}

impl Executor {
    /// An executor for nodes `hosted` with no faults.
    pub fn new(schedule: Schedule, hosted: Range<u32>, source: Arc<dyn Contributions>) -> Executor {
        Executor::with_plan(schedule, Arc::new(FaultPlan::default()), hosted, source)
    }

    /// An executor for nodes `hosted` under a fault plan (validated by the
    /// caller).
    pub fn with_plan(
        schedule: Schedule,
        plan: Arc<FaultPlan>,
        hosted: Range<u32>,
        source: Arc<dyn Contributions>,
    ) -> Executor {
        assert!(
            hosted.end <= schedule.nodes,
            "hosted range beyond the node count"
        );
        let nodes = hosted
            .clone()
            .map(|i| Arc::new(source.initial(i)))
            .collect();
        let meta = hosted
            .clone()
            .map(|i| NodeMeta {
                clock: Hlc {
                    time: 0,
                    logical: 0,
                    node: i,
                },
                incarnation: 0,
                version: 1,
            })
            .collect();
        let layouts = plan
            .partitions
            .iter()
            .enumerate()
            .map(|(k, p)| PhaseLayout::new(p, k as u32, schedule.nodes, schedule.seed))
            .collect();
        let source_tensor_bytes = source.tensor_bytes();
        Executor {
            schedule,
            plan,
            layouts,
            source,
            hosted,
            nodes,
            meta,
            pending: Vec::new(),
            churn_log: Vec::new(),
            anti_entropy: AntiEntropy::Full,
            requests: Vec::new(),
            merkle_inbox: Vec::new(),
            tensor_bytes: source_tensor_bytes,
            spare: Spare::default(),
        }
    }

    pub fn hosted(&self) -> Range<u32> {
        self.hosted.clone()
    }

    /// Chooses how states are exchanged (before the first round).
    pub fn set_anti_entropy(&mut self, mode: AntiEntropy) {
        assert!(
            mode != AntiEntropy::Delta || self.schedule.protocol.pulls(),
            "delta anti-entropy needs pull or push-pull"
        );
        self.anti_entropy = mode;
    }

    pub fn hosts(&self, node: u32) -> bool {
        self.hosted.contains(&node)
    }

    fn slot(&self, node: u32) -> usize {
        (node - self.hosted.start) as usize
    }

    /// The state of a hosted node.
    pub fn node(&self, node: u32) -> &ContributionSet {
        &self.nodes[self.slot(node)]
    }

    /// Whether `node` is up (not crashed or paused) in `round`.
    pub fn live(&self, round: u32, node: u32) -> bool {
        !self
            .plan
            .nodes
            .iter()
            .any(|f| f.node == node && round >= f.start && round < f.end)
    }

    /// The partition phase active in `round`, if any (the first listed wins).
    fn phase(&self, round: u32) -> Option<&PhaseLayout> {
        self.layouts.iter().find(|l| l.active(round))
    }

    /// The peers `node` contacts in `round`: `fanout` distinct nodes ≠ itself
    /// among those it can reach (fewer if fewer are reachable).
    pub fn peers(&self, round: u32, node: u32) -> Vec<u32> {
        match self.phase(round) {
            Some(phase) => phase.peers(&self.schedule, round, node),
            None => self.schedule.peers(round, node),
        }
    }

    /// Whether a message `from → to` sent in `round` crosses the partition.
    fn reaches(&self, round: u32, from: u32, to: u32) -> bool {
        self.phase(round).is_none_or(|p| p.reaches(from, to))
    }

    /// Lets hosted nodes with equal states share one allocation (found by
    /// replica digest, confirmed by comparison): memory, and every cached
    /// digest is computed once per distinct state.
    fn share_equal_states(&mut self) {
        let mut first: std::collections::BTreeMap<Digest, usize> =
            std::collections::BTreeMap::new();
        for i in 0..self.nodes.len() {
            let d = self.nodes[i].replica_digest();
            match first.get(&d) {
                None => {
                    first.insert(d, i);
                }
                Some(&j) => {
                    if !Arc::ptr_eq(&self.nodes[i], &self.nodes[j])
                        && self.nodes[i].same_as(&self.nodes[j])
                    {
                        let shared = Arc::clone(&self.nodes[j]);
                        self.spare
                            .recycle(std::mem::replace(&mut self.nodes[i], shared));
                    }
                }
            }
        }
    }

    /// Statuses of all hosted nodes after `round`.
    fn statuses(&self, round: u32) -> Vec<NodeStatus> {
        self.hosted
            .clone()
            .zip(&self.nodes)
            .map(|(i, s)| NodeStatus {
                node: i,
                digest: s.replica_digest(),
                live: self.live(round, i),
            })
            .collect()
    }

    /// Start of `round`: restarts, then churn (updates and removes of the
    /// nodes' own contributions).
    fn begin_round(&mut self, round: u32) {
        let plan = Arc::clone(&self.plan);
        for f in &plan.nodes {
            if f.end == round && f.kind == NodeFaultKind::CrashLoseState && self.hosts(f.node) {
                let slot = self.slot(f.node);
                self.nodes[slot] = Arc::new(ContributionSet::new());
                self.meta[slot].incarnation += 1;
            }
        }
        let policy = self.source.policy();
        let hosted = self.hosted.clone();
        for c in plan
            .churn
            .iter()
            .filter(|c| c.round == round && hosted.contains(&c.node))
        {
            let mut log = AppliedChurn {
                round,
                node: c.node,
                action: c.action,
                version: 0,
                applied: false,
            };
            if self.live(round, c.node) {
                let slot = self.slot(c.node);
                let meta = &mut self.meta[slot];
                let replica = replica_id(c.node, meta.incarnation);
                let set = Arc::make_mut(&mut self.nodes[slot]);
                log.applied = match c.action {
                    ChurnAction::Update => {
                        meta.version += 1;
                        log.version = meta.version;
                        let stamp = meta.clock.tick(round as u64);
                        let value = self.source.version(c.node, meta.version, stamp);
                        set.add(replica, value, policy).is_ok()
                    }
                    ChurnAction::Remove => set.remove(&self.source.model_id(c.node)),
                };
            }
            assert!(
                self.churn_log.len() < faults::FAULT_EVENTS_MAX,
                "churn log limit"
            );
            self.churn_log.push(log);
        }
    }

    /// Churn events of hosted nodes as applied so far.
    pub fn churn_log(&self) -> &[AppliedChurn] {
        &self.churn_log
    }

    /// Phase 1 of `round`: the messages hosted nodes send, computed from
    /// their state at the start of the round.
    pub fn emit(&mut self, round: u32) -> Emission {
        let sch = self.schedule;
        assert!(
            sch.protocol != Protocol::AllPairs,
            "all-pairs has no rounds"
        );
        self.begin_round(round);
        match self.anti_entropy {
            AntiEntropy::Delta => return self.emit_delta(round),
            AntiEntropy::Merkle => return self.emit_merkle(round),
            AntiEntropy::Full => {}
        }
        let mut out = Emission::default();
        for node in self.hosted.clone() {
            if !self.live(round, node) {
                continue;
            }
            for peer in self.peers(round, node) {
                if sch.protocol.pushes() {
                    self.send_state(&mut out, round, node, peer, MsgKind::Push);
                }
                if sch.protocol.pulls() {
                    out.counters.messages += 1;
                    out.counters.metadata_bytes += pull_request_bytes(self.node(node));
                }
            }
        }
        if sch.protocol.pulls() {
            // Replies: every live node (hosted anywhere) whose request to a
            // hosted, live peer got through.
            for requester in 0..sch.nodes {
                if !self.live(round, requester) {
                    continue;
                }
                for peer in self.peers(round, requester) {
                    if self.hosts(peer)
                        && self.live(round, peer)
                        && self.request_arrives(round, requester, peer)
                    {
                        self.send_state(&mut out, round, peer, requester, MsgKind::PullReply);
                    }
                }
            }
        }
        out
    }

    /// Delta mode: answer last round's requests with deltas, then send this
    /// round's requests (for push-pull, both ends of every contact request).
    fn emit_delta(&mut self, round: u32) -> Emission {
        let sch = self.schedule;
        let mut out = Emission::default();
        for (responder, requester, since) in std::mem::take(&mut self.requests) {
            if !self.live(round, responder) {
                continue;
            }
            let delta = Arc::new(self.node(responder).delta_since(&since));
            let payload = Payload::Delta { since, delta };
            self.send(
                &mut out,
                round,
                responder,
                requester,
                MsgKind::DeltaReply,
                payload,
            );
        }
        for requester in 0..sch.nodes {
            if !self.live(round, requester) {
                continue;
            }
            for peer in self.peers(round, requester) {
                if self.hosts(requester) {
                    let ctx = Arc::new(self.node(requester).context().clone());
                    self.send(
                        &mut out,
                        round,
                        requester,
                        peer,
                        MsgKind::PullRequest,
                        Payload::Request(ctx),
                    );
                }
                if sch.protocol.pushes() && self.hosts(peer) && self.live(round, peer) {
                    let ctx = Arc::new(self.node(peer).context().clone());
                    self.send(
                        &mut out,
                        round,
                        peer,
                        requester,
                        MsgKind::PullRequest,
                        Payload::Request(ctx),
                    );
                }
            }
        }
        out
    }

    /// Merkle mode: answer the parts received last round (computed from the
    /// current state), then open this round's sessions; everything one node
    /// sends one peer this round travels as one message.
    fn emit_merkle(&mut self, round: u32) -> Emission {
        let sch = self.schedule;
        let mut bundles: std::collections::BTreeMap<(u32, u32), Vec<MerklePart>> =
            std::collections::BTreeMap::new();
        for (me, peer, msg) in std::mem::take(&mut self.merkle_inbox) {
            if !self.live(round, me) {
                continue;
            }
            let state = Arc::clone(&self.nodes[self.slot(me)]);
            for part in &msg.parts {
                if let Some(reply) = merkle::respond(&state, part) {
                    bundles.entry((me, peer)).or_default().push(reply);
                }
            }
        }
        for node in self.hosted.clone() {
            if !self.live(round, node) {
                continue;
            }
            let root = self.node(node).trie().root();
            for peer in self.peers(round, node) {
                bundles
                    .entry((node, peer))
                    .or_default()
                    .push(MerklePart::open(
                        root,
                        sch.protocol.pulls(),
                        sch.protocol.pushes(),
                    ));
            }
        }
        let mut out = Emission::default();
        for ((from, to), mut parts) in bundles {
            assert!(
                parts.len() <= merkle::PARTS_MAX,
                "merkle parts per message limit"
            );
            parts.truncate(merkle::PARTS_MAX);
            let payload = Payload::Merkle(Arc::new(MerkleMsg { parts }));
            self.send(&mut out, round, from, to, MsgKind::Merkle, payload);
        }
        out
    }

    /// Whether a pull request gets to the peer (partition and link loss;
    /// requests are never delayed or duplicated).
    fn request_arrives(&self, round: u32, from: u32, to: u32) -> bool {
        if !self.reaches(round, from, to) {
            return false;
        }
        match &self.plan.link {
            None => true,
            Some(l) => {
                let fate = l.fate(
                    self.schedule.seed,
                    self.schedule.ordering,
                    round,
                    from,
                    to,
                    PULL_REQUEST_TAG,
                );
                fate.delays[0].is_some()
            }
        }
    }

    fn send_state(&self, out: &mut Emission, round: u32, from: u32, to: u32, kind: MsgKind) {
        let payload = Payload::State(Arc::clone(&self.nodes[self.slot(from)]));
        self.send(out, round, from, to, kind, payload);
    }

    fn send(
        &self,
        out: &mut Emission,
        round: u32,
        from: u32,
        to: u32,
        kind: MsgKind,
        payload: Payload,
    ) {
        assert!(
            out.envelopes.len() < MESSAGES_PER_ROUND_MAX,
            "messages per round limit"
        );
        out.counters.messages += 1;
        out.counters.metadata_bytes += payload.wire_bytes();
        out.counters.digest_bytes += payload.digest_bytes();
        if !self.reaches(round, from, to) {
            out.counters.dropped += 1;
            return;
        }
        let fate = match &self.plan.link {
            None => LinkFate {
                delays: [Some(0), None],
            },
            Some(l) => l.fate(
                self.schedule.seed,
                self.schedule.ordering,
                round,
                from,
                to,
                kind.tag(),
            ),
        };
        if fate.delays[0].is_none() {
            out.counters.dropped += 1;
        }
        for (copy, delay) in fate.delays.iter().enumerate() {
            if let Some(d) = delay {
                out.envelopes.push(Envelope {
                    from,
                    to,
                    kind,
                    deliver_at: round + d,
                    copy: copy as u8,
                    payload: payload.clone(),
                });
            }
        }
    }

    /// Phase 2 of `round`: queues `inbox` (every envelope addressed to a
    /// hosted node, in any order), applies those due this round and reports
    /// the nodes' digests.
    pub fn deliver(&mut self, round: u32, inbox: Vec<Envelope>) -> RoundReport {
        for e in &inbox {
            assert!(
                self.hosts(e.to),
                "envelope for node {} routed to the wrong executor",
                e.to
            );
            assert!(e.deliver_at >= round, "envelope delivered after its round");
        }
        self.pending.extend(inbox);
        assert!(
            self.pending.len() <= MESSAGES_PER_ROUND_MAX,
            "pending message limit"
        );
        let (mut due, later): (Vec<Envelope>, Vec<Envelope>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|e| e.deliver_at == round);
        self.pending = later;
        // Canonical order first, so the result never depends on arrival order.
        due.sort_by_key(Envelope::order_key);
        let mut counters = Counters::default();
        // Each node's batch is owned and dropped once applied, so the state
        // snapshots the envelopes share are freed as the round goes.
        let mut due = due.into_iter().peekable();
        while let Some(first) = due.next() {
            let to = first.to;
            let mut batch = vec![first];
            while let Some(e) = due.next_if(|e| e.to == to) {
                batch.push(e);
            }
            if !self.live(round, to) {
                counters.dropped += batch.len() as u64;
                continue;
            }
            let slot = self.slot(to);
            for k in self.schedule.delivery_order(round, to, batch.len()) {
                let e = &batch[k];
                match &e.payload {
                    Payload::Request(ctx) => {
                        assert!(
                            self.requests.len() < MESSAGES_PER_ROUND_MAX,
                            "pending request limit"
                        );
                        self.requests.push((to, e.from, Arc::clone(ctx)));
                    }
                    Payload::State(state) => {
                        counters.joins += 1;
                        let churn = !self.plan.churn.is_empty();
                        if churn {
                            observe_stamps(&mut self.meta[slot].clock, state.rows());
                        }
                        let (changed, admitted) =
                            join_cow(&mut self.nodes[slot], state, churn, &mut self.spare);
                        if changed {
                            counters.joins_changed += 1;
                        }
                        counters.tensor_fetches += admitted;
                        counters.tensor_bytes += admitted * self.tensor_bytes;
                    }
                    Payload::Merkle(msg) => {
                        let churn = !self.plan.churn.is_empty();
                        for data in msg.parts.iter().filter_map(|p| p.data.as_ref()) {
                            counters.joins += 1;
                            if churn {
                                observe_stamps(&mut self.meta[slot].clock, data.rows());
                            }
                            let (changed, admitted) =
                                join_cow(&mut self.nodes[slot], data, churn, &mut self.spare);
                            if changed {
                                counters.joins_changed += 1;
                            }
                            counters.tensor_fetches += admitted;
                            counters.tensor_bytes += admitted * self.tensor_bytes;
                        }
                        if msg.parts.iter().any(|p| {
                            p.root.is_some() || !p.probes.is_empty() || !p.wants.is_empty()
                        }) {
                            assert!(
                                self.merkle_inbox.len() < MESSAGES_PER_ROUND_MAX,
                                "pending merkle part limit"
                            );
                            self.merkle_inbox.push((to, e.from, Arc::clone(msg)));
                        }
                    }
                    Payload::Delta { since, delta } => {
                        if !since.le(self.nodes[slot].context()) {
                            counters.stale += 1;
                            continue;
                        }
                        counters.joins += 1;
                        if !self.plan.churn.is_empty() {
                            observe_stamps(&mut self.meta[slot].clock, delta.rows());
                        }
                        let (changed, admitted) =
                            Arc::make_mut(&mut self.nodes[slot]).join_delta_admitted(delta);
                        if changed {
                            counters.joins_changed += 1;
                        }
                        counters.tensor_fetches += admitted;
                        counters.tensor_bytes += admitted * self.tensor_bytes;
                    }
                }
            }
            for e in batch {
                if let Payload::State(s) = e.payload {
                    self.spare.recycle(s);
                }
            }
        }
        counters.pending = self.pending.len() as u64;
        self.share_equal_states();
        RoundReport {
            counters,
            nodes: self.statuses(round),
        }
    }

    /// The seed lab's sequential schedule for this ordering: a shuffled node
    /// order; each node, in turn, joins every other node's *current* state in
    /// a shuffled target order. Requires hosting every node; no faults.
    pub fn run_all_pairs(&mut self) -> RoundReport {
        self.run_all_pairs_where(|_, _| true)
    }

    /// The all-pairs schedule restricted to the pairs `(receiver, sender)`
    /// that `keep` accepts (the seed lab's partition phase keeps pairs inside
    /// one partition).
    pub fn run_all_pairs_where(&mut self, keep: impl Fn(u32, u32) -> bool) -> RoundReport {
        let sch = self.schedule;
        assert_eq!(sch.protocol, Protocol::AllPairs);
        assert!(self.plan.is_empty(), "all-pairs runs without faults");
        assert!(
            self.hosted.start == 0 && self.hosted.end == sch.nodes,
            "all-pairs needs every node in one executor"
        );
        let mut counters = Counters::default();
        for (i, j) in all_pairs_order(&sch)
            .into_iter()
            .filter(|&(i, j)| keep(i, j))
        {
            let (dst, src) = pair_mut(&mut self.nodes, i as usize, j as usize);
            counters.messages += 1;
            counters.metadata_bytes += src.encoded_len() as u64;
            counters.joins += 1;
            let (changed, admitted) = join_cow(dst, src, false, &mut Spare::default());
            if changed {
                counters.joins_changed += 1;
            }
            counters.tensor_fetches += admitted;
            counters.tensor_bytes += admitted * self.tensor_bytes;
        }
        RoundReport {
            counters,
            nodes: self.statuses(1),
        }
    }
}

/// Advances a node's clock past every stamp in received rows.
fn observe_stamps(clock: &mut Hlc, rows: &[crate::crdt::Row]) {
    for r in rows {
        clock.observe(r.value.stamp());
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
        Stream::new(
            sch.seed,
            Purpose::Schedule,
            &[sch.ordering as u64, 1, i as u64],
        )
        .shuffle(&mut targets);
        out.extend(targets.into_iter().map(|j| (i, j)));
    }
    out
}

/// Joins `other` into a node state, copying the state first only while an
/// emitted snapshot of it is still referenced.
///
/// When the other state already contains this one, the node adopts it by
/// reference, so converged nodes share one allocation.
///
/// Returns whether the node changed and how many rows it admitted (rows
/// whose dot it had never seen). `may_drop` says rows can have been removed
/// or superseded (churn); without it, adopting a larger state admits exactly
/// the extra rows, counted without a walk.
fn join_cow(
    node: &mut Arc<ContributionSet>,
    other: &Arc<ContributionSet>,
    may_drop: bool,
    spare: &mut Spare,
) -> (bool, u64) {
    if Arc::ptr_eq(node, other) {
        return (false, 0);
    }
    if node.same_as(other) {
        // Equal content: share one allocation (and its cached digests).
        spare.recycle(std::mem::replace(node, Arc::clone(other)));
        return (false, 0);
    }
    if node.subsumes_unequal(other) {
        return (false, 0);
    }
    if other.subsumes_unequal(node) {
        let admitted = if may_drop {
            other.admitted_over(node)
        } else {
            other.rows().len().saturating_sub(node.rows().len()) as u64
        };
        spare.recycle(std::mem::replace(node, Arc::clone(other)));
        return (true, admitted);
    }
    // A fresh set: no copy of a state an envelope or another node shares.
    let (joined, changed, admitted) = node.joined_reusing(other, spare);
    if changed {
        spare.recycle(std::mem::replace(node, Arc::new(joined)));
    } else {
        spare.recycle(Arc::new(joined));
    }
    (changed, admitted)
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
        match &e.payload {
            Payload::State(s) => s.check_invariants(),
            Payload::Delta { delta, .. } => delta.check_invariants(),
            Payload::Request(_) => Ok(()),
            Payload::Merkle(m) => m.check(),
        }
        .map_err(WireError::Invariant)?;
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
