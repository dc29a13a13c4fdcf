//! Layer 1: the contribution set, an add-wins observed-remove set (ORSWOT,
//! Bieniusa et al. 2012) keyed by `model_id`.
//!
//! Representation: a sorted list of *rows* `(model_id, dot) → contribution`
//! plus a causal context (a version vector). Every add or update creates a
//! fresh dot at the acting replica and drops the rows of that id the replica
//! had observed; a remove drops the observed rows. The context remembers every
//! dot ever seen, so a dropped row cannot come back — and a concurrent add,
//! whose dot the remover never saw, survives (add wins).
//!
//! Join keeps a row iff both sides hold it, or the other side has never seen
//! its dot. That is a lattice join: commutative, associative, idempotent.
//! Concurrent values of one id are all kept as rows; which one is *visible* is
//! a deterministic total order — highest version, then the conflict policy
//! (last- or first-writer-wins on a hybrid logical clock), then the lower
//! record digest — so every replica with the same rows sees the same value.
//!
//! The state digest is an RFC 6962 Merkle root over a configuration leaf
//! (strategy, parameters, base digest, seed, policy) followed by the visible
//! contributions in model-id byte order: unlike the reference's `state_hash`,
//! two replicas with equal digests always resolve to the same bits.

use crate::hash::{merkle_leaf, merkle_root, Digest, Domain, Hasher};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::sync::{Arc, OnceLock};
use thiserror::Error;

/// A replica (node) identifier.
pub type ReplicaId = u32;

/// Most rows one set may hold.
pub const SET_ROWS_MAX: usize = 200_000;
/// Most replicas one version vector may name.
pub const REPLICAS_MAX: usize = 100_000;
/// Longest model id, in bytes.
pub const MODEL_ID_BYTES_MAX: usize = 256;

/// A unique event identifier: the `counter`-th event of `replica`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dot {
    pub replica: ReplicaId,
    pub counter: u64,
}

/// A version vector: for each replica, the highest counter seen. Sorted by
/// replica; counters are ≥ 1 (absent means 0).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionVector(Vec<(ReplicaId, u64)>);

impl VersionVector {
    pub fn new() -> VersionVector {
        VersionVector(Vec::new())
    }

    /// Highest counter seen from `replica` (0 if none).
    pub fn get(&self, replica: ReplicaId) -> u64 {
        match self.0.binary_search_by_key(&replica, |e| e.0) {
            Ok(i) => self.0[i].1,
            Err(_) => 0,
        }
    }

    /// Whether `dot` is in the causal past this vector describes.
    pub fn covers(&self, dot: Dot) -> bool {
        self.get(dot.replica) >= dot.counter
    }

    /// Allocates the next dot of `replica` and records it.
    pub fn next_dot(&mut self, replica: ReplicaId) -> Dot {
        match self.0.binary_search_by_key(&replica, |e| e.0) {
            Ok(i) => {
                self.0[i].1 += 1;
                Dot {
                    replica,
                    counter: self.0[i].1,
                }
            }
            Err(i) => {
                assert!(self.0.len() < REPLICAS_MAX, "version vector replica limit");
                self.0.insert(i, (replica, 1));
                Dot {
                    replica,
                    counter: 1,
                }
            }
        }
    }

    /// Pointwise maximum.
    pub fn join(&mut self, other: &VersionVector) {
        if other.0.is_empty() || self.0 == other.0 {
            return;
        }
        let mut out = Vec::with_capacity(self.0.len().max(other.0.len()));
        let (mut i, mut j) = (0, 0);
        let (a, b) = (&self.0, &other.0);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                Ordering::Less => {
                    out.push(a[i]);
                    i += 1;
                }
                Ordering::Greater => {
                    out.push(b[j]);
                    j += 1;
                }
                Ordering::Equal => {
                    out.push((a[i].0, a[i].1.max(b[j].1)));
                    i += 1;
                    j += 1;
                }
            }
        }
        out.extend_from_slice(&a[i..]);
        out.extend_from_slice(&b[j..]);
        assert!(out.len() <= REPLICAS_MAX, "version vector replica limit");
        self.0 = out;
    }

    /// `self ≤ other` pointwise.
    pub fn le(&self, other: &VersionVector) -> bool {
        if self.0.len() > other.0.len() {
            return false;
        }
        let mut j = 0;
        for &(r, c) in &self.0 {
            while j < other.0.len() && other.0[j].0 < r {
                j += 1;
            }
            if j == other.0.len() || other.0[j].0 != r || other.0[j].1 < c {
                return false;
            }
        }
        true
    }

    pub fn entries(&self) -> &[(ReplicaId, u64)] {
        &self.0
    }

    /// Digest of the vector (fixed-width encoding).
    pub fn digest(&self) -> Digest {
        let mut h = Hasher::new(Domain::Context);
        h.u64(self.0.len() as u64);
        for &(r, c) in &self.0 {
            h.u32(r).u64(c);
        }
        h.finish()
    }
}

/// A hybrid logical clock timestamp. `time` is the simulated physical time
/// (the round number — never the wall clock), `logical` breaks ties within
/// one time, `node` makes stamps unique. Ordered lexicographically.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Hlc {
    pub time: u64,
    pub logical: u32,
    pub node: ReplicaId,
}

impl Hlc {
    /// The next local stamp at simulated time `now`.
    pub fn tick(&mut self, now: u64) -> Hlc {
        if now > self.time {
            self.time = now;
            self.logical = 0;
        } else {
            self.logical = self.logical.checked_add(1).expect("HLC logical overflow");
        }
        *self
    }

    /// Advances past a stamp received from elsewhere.
    pub fn observe(&mut self, seen: Hlc) {
        if (seen.time, seen.logical) > (self.time, self.logical) {
            self.time = seen.time;
            self.logical = seen.logical;
        }
    }
}

/// How concurrent values of one `model_id` with the same version are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ConflictPolicy {
    /// The later HLC stamp wins.
    #[default]
    #[serde(rename = "lww")]
    LastWriterWins,
    /// The earlier HLC stamp wins.
    #[serde(rename = "fww")]
    FirstWriterWins,
}

impl ConflictPolicy {
    pub fn name(self) -> &'static str {
        match self {
            ConflictPolicy::LastWriterWins => "lww",
            ConflictPolicy::FirstWriterWins => "fww",
        }
    }
}

/// Why a local operation on the set was refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SetError {
    #[error("model id must be 1..={MODEL_ID_BYTES_MAX} bytes, got {0}")]
    BadModelId(usize),
    #[error("version must be at least 1")]
    ZeroVersion,
    #[error("weight must be finite, got {0}")]
    NonFiniteWeight(f64),
    #[error("'{id}' already holds version {have}; an update needs a higher version than {have}, got {got}")]
    StaleVersion { id: String, have: u32, got: u32 },
    #[error("the set is full ({SET_ROWS_MAX} rows)")]
    Full,
}

/// One model contribution: what Layer 2 merges. The tensor itself lives in a
/// content-addressed pool; the set carries only its digest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "ContributionWire", into = "ContributionWire")]
pub struct Contribution {
    model_id: String,
    version: u32,
    weight: f64,
    tensor: Digest,
    stamp: Hlc,
    /// Digest of all the fields above; the Merkle leaf data and the final
    /// conflict tie-breaker.
    record: Digest,
}

#[derive(Serialize, Deserialize)]
struct ContributionWire {
    model_id: String,
    version: u32,
    weight: f64,
    tensor: Digest,
    stamp: Hlc,
}

impl From<ContributionWire> for Contribution {
    fn from(w: ContributionWire) -> Contribution {
        Contribution::build(w.model_id, w.version, w.weight, w.tensor, w.stamp)
    }
}

impl From<Contribution> for ContributionWire {
    fn from(c: Contribution) -> ContributionWire {
        ContributionWire {
            model_id: c.model_id,
            version: c.version,
            weight: c.weight,
            tensor: c.tensor,
            stamp: c.stamp,
        }
    }
}

impl Contribution {
    /// A validated contribution.
    pub fn new(
        model_id: &str,
        version: u32,
        weight: f64,
        tensor: Digest,
        stamp: Hlc,
    ) -> Result<Contribution, SetError> {
        if model_id.is_empty() || model_id.len() > MODEL_ID_BYTES_MAX {
            return Err(SetError::BadModelId(model_id.len()));
        }
        if version == 0 {
            return Err(SetError::ZeroVersion);
        }
        if !weight.is_finite() {
            return Err(SetError::NonFiniteWeight(weight));
        }
        Ok(Contribution::build(
            model_id.to_string(),
            version,
            weight,
            tensor,
            stamp,
        ))
    }

    fn build(model_id: String, version: u32, weight: f64, tensor: Digest, stamp: Hlc) -> Self {
        let mut h = Hasher::new(Domain::Contribution);
        h.field(model_id.as_bytes())
            .u32(version)
            .f64(weight)
            .digest(&tensor)
            .u64(stamp.time)
            .u32(stamp.logical)
            .u32(stamp.node);
        let record = h.finish();
        Contribution {
            model_id,
            version,
            weight,
            tensor,
            stamp,
            record,
        }
    }

    pub fn model_id(&self) -> &str {
        &self.model_id
    }
    pub fn version(&self) -> u32 {
        self.version
    }
    pub fn weight(&self) -> f64 {
        self.weight
    }
    pub fn tensor(&self) -> Digest {
        self.tensor
    }
    pub fn stamp(&self) -> Hlc {
        self.stamp
    }
    pub fn record(&self) -> Digest {
        self.record
    }

    /// Whether `self` beats `other` (same model id) under `policy`.
    fn wins_over(&self, other: &Contribution, policy: ConflictPolicy) -> bool {
        let by_version = self.version.cmp(&other.version);
        let by_policy = match policy {
            ConflictPolicy::LastWriterWins => self.stamp.cmp(&other.stamp),
            ConflictPolicy::FirstWriterWins => other.stamp.cmp(&self.stamp),
        };
        // Lower record digest wins the last tie.
        let by_digest = other.record.cmp(&self.record);
        by_version.then(by_policy).then(by_digest) == Ordering::Greater
    }
}

/// One `(dot, contribution)` pair of the set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub dot: Dot,
    pub value: Arc<Contribution>,
}

impl Row {
    fn key_cmp(&self, other: &Row) -> Ordering {
        self.value
            .model_id
            .as_bytes()
            .cmp(other.value.model_id.as_bytes())
            .then(self.dot.cmp(&other.dot))
    }
}

/// The replicated contribution set.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ContributionSet {
    /// Sorted by (model_id bytes, dot); unique keys.
    rows: Vec<Row>,
    context: VersionVector,
    #[serde(skip)]
    cache: Cache,
}

/// Derived values, computed on first use and dropped on every change.
#[derive(Debug, Default)]
struct Cache {
    replica_digest: OnceLock<Digest>,
    encoded_len: OnceLock<usize>,
}

impl Clone for Cache {
    fn clone(&self) -> Self {
        let c = Cache::default();
        if let Some(d) = self.replica_digest.get() {
            let _ = c.replica_digest.set(*d);
        }
        if let Some(n) = self.encoded_len.get() {
            let _ = c.encoded_len.set(*n);
        }
        c
    }
}

impl Clone for ContributionSet {
    fn clone(&self) -> Self {
        ContributionSet {
            rows: self.rows.clone(),
            context: self.context.clone(),
            cache: self.cache.clone(),
        }
    }
}

impl PartialEq for ContributionSet {
    fn eq(&self, other: &Self) -> bool {
        self.rows == other.rows && self.context == other.context
    }
}

/// What a replica sends so that a peer whose context is `since` can catch up:
/// the rows the peer has not seen, the dots of the rows it has seen that are
/// still alive here (so it can tell removed from kept), and the full context.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    rows: Vec<Row>,
    keep: Vec<Dot>,
    context: VersionVector,
}

impl Delta {
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Checks what a decoded delta must satisfy before it is joined: rows
    /// sorted by key and covered by the context, keep-list sorted.
    pub fn check_invariants(&self) -> Result<(), String> {
        if self
            .rows
            .windows(2)
            .any(|w| w[0].key_cmp(&w[1]) != Ordering::Less)
        {
            return Err("delta rows are not sorted".into());
        }
        if self.keep.windows(2).any(|w| w[0] >= w[1]) {
            return Err("delta keep-list is not sorted".into());
        }
        if let Some(r) = self.rows.iter().find(|r| !self.context.covers(r.dot)) {
            return Err(format!(
                "delta row {:?} is not covered by its context",
                r.dot
            ));
        }
        if self.rows.len() > SET_ROWS_MAX || self.keep.len() > SET_ROWS_MAX {
            return Err("delta exceeds the set limits".into());
        }
        Ok(())
    }
}

impl ContributionSet {
    pub fn new() -> ContributionSet {
        ContributionSet::default()
    }

    pub fn context(&self) -> &VersionVector {
        &self.context
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    fn changed(&mut self) {
        self.cache = Cache::default();
    }

    /// Adds a contribution, or updates one (a higher version than the visible
    /// one). The acting replica's observed rows of that id are replaced by one
    /// new row with a fresh dot.
    pub fn add(
        &mut self,
        replica: ReplicaId,
        value: Contribution,
        policy: ConflictPolicy,
    ) -> Result<Dot, SetError> {
        if let Some(have) = self.visible_of(&value.model_id, policy) {
            if value.version <= have.version {
                return Err(SetError::StaleVersion {
                    id: value.model_id.clone(),
                    have: have.version,
                    got: value.version,
                });
            }
        }
        let (lo, hi) = self.id_range(&value.model_id);
        if self.rows.len() - (hi - lo) >= SET_ROWS_MAX {
            return Err(SetError::Full);
        }
        let dot = self.context.next_dot(replica);
        self.rows.splice(
            lo..hi,
            std::iter::once(Row {
                dot,
                value: Arc::new(value),
            }),
        );
        self.changed();
        Ok(dot)
    }

    /// Removes every observed row of `model_id`. Returns whether anything was
    /// removed. A concurrent add elsewhere (an unseen dot) survives the join.
    pub fn remove(&mut self, model_id: &str) -> bool {
        let (lo, hi) = self.id_range(model_id);
        if lo == hi {
            return false;
        }
        self.rows.drain(lo..hi);
        self.changed();
        true
    }

    /// Row index range of one model id.
    fn id_range(&self, model_id: &str) -> (usize, usize) {
        let id = model_id.as_bytes();
        let lo = self
            .rows
            .partition_point(|r| r.value.model_id.as_bytes() < id);
        let hi = lo
            + self.rows[lo..]
                .iter()
                .take_while(|r| r.value.model_id.as_bytes() == id)
                .count();
        (lo, hi)
    }

    fn visible_of(&self, model_id: &str, policy: ConflictPolicy) -> Option<&Contribution> {
        let (lo, hi) = self.id_range(model_id);
        pick_winner(&self.rows[lo..hi], policy)
    }

    /// The visible contributions, one per model id, in model-id byte order.
    pub fn visible(&self, policy: ConflictPolicy) -> Vec<&Contribution> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.rows.len() {
            let id = self.rows[i].value.model_id.as_bytes();
            let mut j = i + 1;
            while j < self.rows.len() && self.rows[j].value.model_id.as_bytes() == id {
                j += 1;
            }
            out.push(pick_winner(&self.rows[i..j], policy).expect("non-empty group"));
            i = j;
        }
        out
    }

    /// Lattice join: `self ← self ⊔ other`. Returns whether `self` changed.
    pub fn join(&mut self, other: &ContributionSet) -> bool {
        if self.subsumes(other) {
            return false;
        }
        let rows = merge_rows(
            &self.rows,
            &other.rows,
            |ours| !other.context.covers(ours.dot),
            |theirs| !self.context.covers(theirs.dot),
        );
        self.install(rows, &other.context)
    }

    /// Whether `self ⊔ other == self`, decided without allocating: the
    /// other context must be below ours (then none of its rows can add
    /// anything, since we have seen their dots), and every row of ours whose
    /// dot the other has seen must still be alive there (else it was removed).
    pub fn subsumes(&self, other: &ContributionSet) -> bool {
        if self.context == other.context && self.rows.len() == other.rows.len() {
            // Equal contexts: equal states iff the same rows (the common case
            // once gossip has converged).
            let same = self.rows.iter().zip(&other.rows).all(|(a, b)| {
                a.dot == b.dot
                    && (Arc::ptr_eq(&a.value, &b.value) || a.key_cmp(b) == Ordering::Equal)
            });
            if same {
                return true;
            }
        }
        if !other.context.le(&self.context) {
            return false;
        }
        let theirs = &other.rows;
        let mut j = 0;
        for row in &self.rows {
            if !other.context.covers(row.dot) {
                continue;
            }
            // Walk their rows (sorted like ours) up to this row's key.
            let present = loop {
                let Some(t) = theirs.get(j) else { break false };
                if t.dot == row.dot && Arc::ptr_eq(&t.value, &row.value) {
                    break true;
                }
                match t.key_cmp(row) {
                    Ordering::Less => j += 1,
                    Ordering::Equal => break true,
                    Ordering::Greater => break false,
                }
            };
            if !present {
                return false;
            }
            j += 1;
        }
        true
    }

    /// The delta a peer whose causal context is `since` needs. Joining it
    /// (with [`join_delta`](Self::join_delta)) into any state whose context
    /// is at least `since` gives the same result as joining the full state.
    pub fn delta_since(&self, since: &VersionVector) -> Delta {
        let mut rows = Vec::new();
        let mut keep = Vec::new();
        for r in &self.rows {
            if since.covers(r.dot) {
                keep.push(r.dot);
            } else {
                rows.push(r.clone());
            }
        }
        keep.sort_unstable();
        Delta {
            rows,
            keep,
            context: self.context.clone(),
        }
    }

    /// Joins a delta produced by [`delta_since`](Self::delta_since).
    pub fn join_delta(&mut self, delta: &Delta) -> bool {
        let rows = merge_rows(
            &self.rows,
            &delta.rows,
            |ours| !delta.context.covers(ours.dot) || delta.keep.binary_search(&ours.dot).is_ok(),
            |theirs| !self.context.covers(theirs.dot),
        );
        self.install(rows, &delta.context)
    }

    fn install(&mut self, rows: Vec<Row>, other_context: &VersionVector) -> bool {
        assert!(rows.len() <= SET_ROWS_MAX, "contribution set row limit");
        let before = self.context.clone();
        self.context.join(other_context);
        let changed = rows.len() != self.rows.len()
            || before != self.context
            || rows
                .iter()
                .zip(&self.rows)
                .any(|(a, b)| a.dot != b.dot || a.key_cmp(b) != Ordering::Equal);
        self.rows = rows;
        if changed {
            self.changed();
        }
        changed
    }

    /// Digest of the whole replica state (all rows, dots and the causal
    /// context). Equal iff the CRDT states are equal (up to BLAKE3). Cached.
    pub fn replica_digest(&self) -> Digest {
        *self.cache.replica_digest.get_or_init(|| {
            let mut h = Hasher::new(Domain::Replica);
            h.digest(&self.context.digest()).u64(self.rows.len() as u64);
            for r in &self.rows {
                h.u32(r.dot.replica)
                    .u64(r.dot.counter)
                    .digest(&r.value.record);
            }
            h.finish()
        })
    }

    /// The state digest: Merkle root over `[config leaf, visible
    /// contributions in model-id order]`. Covers everything that determines
    /// the resolved model.
    pub fn state_digest(&self, config: &ReplicaConfigDigest, policy: ConflictPolicy) -> Digest {
        let mut leaves = Vec::with_capacity(self.rows.len() + 1);
        leaves.push(merkle_leaf(&config.0 .0));
        for c in self.visible(policy) {
            leaves.push(merkle_leaf(&c.record.0));
        }
        merkle_root(&leaves)
    }

    /// Encoded size in bytes (postcard), i.e. what a full-state message costs.
    pub fn encoded_len(&self) -> usize {
        *self.cache.encoded_len.get_or_init(|| {
            postcard::experimental::serialized_size(self).expect("sizing a set cannot fail")
        })
    }

    /// Asserts the representation invariants (sorted unique keys, every dot
    /// covered by the context). Used by tests and after decoding.
    pub fn check_invariants(&self) -> Result<(), String> {
        for w in self.rows.windows(2) {
            if w[0].key_cmp(&w[1]) != Ordering::Less {
                return Err("rows are not sorted by (model id, dot)".into());
            }
        }
        for r in &self.rows {
            if !self.context.covers(r.dot) {
                return Err(format!("row dot {:?} is not covered by the context", r.dot));
            }
        }
        if self.rows.len() > SET_ROWS_MAX || self.context.0.len() > REPLICAS_MAX {
            return Err("set exceeds its limits".into());
        }
        if self.context.0.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err("context is not sorted".into());
        }
        Ok(())
    }
}

/// The highest-ranked value among rows of one model id.
fn pick_winner(rows: &[Row], policy: ConflictPolicy) -> Option<&Contribution> {
    let mut best: Option<&Contribution> = None;
    for r in rows {
        match best {
            Some(b) if !r.value.wins_over(b, policy) => {}
            _ => best = Some(&r.value),
        }
    }
    best
}

/// Merge-walk of two sorted row lists. Rows present on both sides are kept;
/// a row only on our side is kept iff `keep_ours`, only on theirs iff
/// `keep_theirs`.
fn merge_rows(
    ours: &[Row],
    theirs: &[Row],
    keep_ours: impl Fn(&Row) -> bool,
    keep_theirs: impl Fn(&Row) -> bool,
) -> Vec<Row> {
    let mut out = Vec::with_capacity(ours.len().max(theirs.len()));
    let (mut i, mut j) = (0, 0);
    while i < ours.len() && j < theirs.len() {
        let (a, b) = (&ours[i], &theirs[j]);
        // Fast path: the same row (shared allocation or equal key).
        let ord = if Arc::ptr_eq(&a.value, &b.value) && a.dot == b.dot {
            Ordering::Equal
        } else {
            a.key_cmp(b)
        };
        match ord {
            Ordering::Less => {
                if keep_ours(a) {
                    out.push(a.clone());
                }
                i += 1;
            }
            Ordering::Greater => {
                if keep_theirs(b) {
                    out.push(b.clone());
                }
                j += 1;
            }
            Ordering::Equal => {
                out.push(a.clone());
                i += 1;
                j += 1;
            }
        }
    }
    out.extend(ours[i..].iter().filter(|r| keep_ours(r)).cloned());
    out.extend(theirs[j..].iter().filter(|r| keep_theirs(r)).cloned());
    out
}

/// Digest of a replica's configuration (strategy, parameters, base, seed,
/// policy): the first leaf of the state digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaConfigDigest(pub Digest);

impl ReplicaConfigDigest {
    /// Hashes the configuration fields with fixed, length-prefixed encoding.
    pub fn compute(
        strategy: &str,
        params_bytes: &[u8],
        base: Option<Digest>,
        seed: u64,
        policy: ConflictPolicy,
    ) -> ReplicaConfigDigest {
        let mut h = Hasher::new(Domain::Config);
        h.field(strategy.as_bytes())
            .field(params_bytes)
            .raw(&[base.is_some() as u8])
            .digest(&base.unwrap_or(Digest::ZERO))
            .u64(seed)
            .field(policy.name().as_bytes());
        ReplicaConfigDigest(h.finish())
    }
}
