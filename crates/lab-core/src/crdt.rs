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

    /// A reader for many [`covers`](Self::covers) queries: it remembers
    /// where the last one landed and gallops from there, so queries in
    /// (nearly) increasing replica order cost O(1) each.
    pub fn cursor(&self) -> Cursor<'_> {
        Cursor {
            entries: &self.0,
            at: std::cell::Cell::new(0),
        }
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

    /// `self ⊔ other` as a new vector (one pass, one allocation), and
    /// whether it is above `self`.
    pub fn joined_with(&self, other: &VersionVector) -> (VersionVector, bool) {
        let (v, grew, _) = self.joined_counting(other, Vec::new());
        (v, grew)
    }

    /// [`joined_with`](Self::joined_with), also returning the change of
    /// the entry sums.
    fn joined_counting(
        &self,
        other: &VersionVector,
        mut out: Vec<(ReplicaId, u64)>,
    ) -> (VersionVector, bool, Sums) {
        let mut delta = Sums::default();
        out.clear();
        if other.0.is_empty() {
            out.extend_from_slice(&self.0);
            return (VersionVector(out), false, delta);
        }
        out.reserve(self.0.len().max(other.0.len()));
        let mut grew = false;
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
                    delta.entry(b[j].0, b[j].1, true);
                    grew = true;
                    j += 1;
                }
                Ordering::Equal => {
                    if b[j].1 > a[i].1 {
                        grew = true;
                        delta.entry(a[i].0, a[i].1, false);
                        delta.entry(b[j].0, b[j].1, true);
                    }
                    out.push((a[i].0, a[i].1.max(b[j].1)));
                    i += 1;
                    j += 1;
                }
            }
        }
        out.extend_from_slice(&a[i..]);
        grew |= j < b.len();
        for &(r, c) in &b[j..] {
            delta.entry(r, c, true);
        }
        out.extend_from_slice(&b[j..]);
        assert!(out.len() <= REPLICAS_MAX, "version vector replica limit");
        (VersionVector(out), grew, delta)
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

    /// Digest of the vector (fixed-width encoding). The bytes are gathered
    /// first and hashed in one call (same digest, SIMD-parallel hashing).
    pub fn digest(&self) -> Digest {
        let mut buf = Vec::with_capacity(8 + 12 * self.0.len());
        buf.extend_from_slice(&(self.0.len() as u64).to_le_bytes());
        for &(r, c) in &self.0 {
            buf.extend_from_slice(&r.to_le_bytes());
            buf.extend_from_slice(&c.to_le_bytes());
        }
        let mut h = Hasher::new(Domain::Context);
        h.raw(&buf);
        h.finish()
    }

    /// Encoded size in bytes (postcard: varint length, varint entries).
    pub fn encoded_len(&self) -> usize {
        varint_len(self.0.len() as u64)
            + self
                .0
                .iter()
                .map(|&(r, c)| varint_len(r as u64) + varint_len(c))
                .sum::<usize>()
    }
}

/// See [`VersionVector::cursor`].
pub struct Cursor<'a> {
    entries: &'a [(ReplicaId, u64)],
    at: std::cell::Cell<usize>,
}

impl Cursor<'_> {
    /// Highest counter seen from `replica` (0 if none).
    pub fn get(&self, replica: ReplicaId) -> u64 {
        let e = self.entries;
        let at = self.at.get();
        // The common cases first: the same entry again, or the next one.
        for (i, entry) in e.iter().enumerate().skip(at).take(2) {
            if entry.0 == replica {
                self.at.set(i);
                return entry.1;
            }
        }
        let mut lo = at;
        if lo >= e.len() || e[lo].0 > replica {
            lo = 0;
        }
        // Gallop forward from `lo` to bracket the replica, then search.
        let mut step = 1;
        let mut hi = lo;
        while hi < e.len() && e[hi].0 < replica {
            lo = hi;
            hi += step;
            step *= 2;
        }
        let hi = hi.min(e.len());
        let i = lo + e[lo..hi].partition_point(|x| x.0 < replica);
        self.at.set(i);
        match e.get(i) {
            Some(&(r, c)) if r == replica => c,
            _ => 0,
        }
    }

    /// Whether `dot` is in the causal past the vector describes.
    pub fn covers(&self, dot: Dot) -> bool {
        self.get(dot.replica) >= dot.counter
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
    /// Postcard-encoded size of the fields above (for byte accounting).
    wire_len: u32,
    /// `merkle_leaf(record)`, computed on first use.
    leaf: LeafCache,
    /// The first 8 bytes of the model id, big-endian, zero-padded: when two
    /// differ they order the ids as their bytes do (a fast path of the
    /// canonical order).
    id_prefix: u64,
}

/// A lazily computed Merkle leaf; derived data, so it never affects
/// equality.
#[derive(Clone, Debug, Default)]
struct LeafCache(OnceLock<Digest>);

impl PartialEq for LeafCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
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
        let mut prefix = [0u8; 8];
        let head = &model_id.as_bytes()[..model_id.len().min(8)];
        prefix[..head.len()].copy_from_slice(head);
        let id_prefix = u64::from_be_bytes(prefix);
        let wire_len = (varint_len(model_id.len() as u64)
            + model_id.len()
            + varint_len(version as u64)
            + 8
            + 32
            + varint_len(stamp.time)
            + varint_len(stamp.logical as u64)
            + varint_len(stamp.node as u64)) as u32;
        Contribution {
            model_id,
            version,
            weight,
            tensor,
            stamp,
            record,
            wire_len,
            leaf: LeafCache::default(),
            id_prefix,
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

    /// The contribution's leaf in the state digest, `merkle_leaf(record)`.
    pub fn leaf(&self) -> Digest {
        *self.leaf.0.get_or_init(|| merkle_leaf(&self.record.0))
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
        match self.value.id_prefix.cmp(&other.value.id_prefix) {
            Ordering::Equal => self
                .value
                .model_id
                .as_bytes()
                .cmp(other.value.model_id.as_bytes())
                .then(self.dot.cmp(&other.dot)),
            unequal => unequal,
        }
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
    context_len: OnceLock<usize>,
    sums: OnceLock<Sums>,
    /// The replica-keyed Merkle trie (digest-diff anti-entropy).
    trie: OnceLock<Arc<ReplicaTrie>>,
    /// The last state digest computed, with the configuration and policy it
    /// was computed for (converged nodes share one state, so resolving every
    /// node hashes it once).
    state_digest: OnceLock<(ReplicaConfigDigest, ConflictPolicy, Digest)>,
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
        if let Some(n) = self.context_len.get() {
            let _ = c.context_len.set(*n);
        }
        if let Some(n) = self.sums.get() {
            let _ = c.sums.set(*n);
        }
        if let Some(t) = self.trie.get() {
            let _ = c.trie.set(Arc::clone(t));
        }
        if let Some(d) = self.state_digest.get() {
            let _ = c.state_digest.set(*d);
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
        self.join_admitted(other).0
    }

    /// [`join`](Self::join), also returning how many rows of `other` were
    /// admitted — rows whose dot `self` had never seen. A dot names one
    /// `(model id, version)` write and the context remembers every dot ever
    /// seen, so this is exactly the number of contributions received for the
    /// first time (what a node would fetch tensors for).
    pub fn join_admitted(&mut self, other: &ContributionSet) -> (bool, u64) {
        if self.subsumes(other) {
            return (false, 0);
        }
        let (theirs_seen, ours_seen) = (other.context.cursor(), self.context.cursor());
        let (rows, admitted, dropped, delta) = merge_rows(
            &self.rows,
            &other.rows,
            |ours| !theirs_seen.covers(ours.dot),
            |theirs| !ours_seen.covers(theirs.dot),
            Vec::new(),
        );
        let _ = delta; // in place: the cache is reset and recomputed lazily
        (
            self.install(rows, &other.context, admitted + dropped > 0),
            admitted,
        )
    }

    /// Rows of `self` whose dot `older` has never seen, assuming `self`
    /// subsumes `older` (so `self = older ⊔ self`): what `older` admits by
    /// adopting `self`. Linear in the rows.
    pub fn admitted_over(&self, older: &ContributionSet) -> u64 {
        let seen = older.context.cursor();
        self.rows.iter().filter(|r| !seen.covers(r.dot)).count() as u64
    }

    /// Whether `self ⊔ other == self`, decided without allocating: the
    /// other context must be below ours (then none of its rows can add
    /// anything, since we have seen their dots), and every row of ours whose
    /// dot the other has seen must still be alive there (else it was removed).
    pub fn subsumes(&self, other: &ContributionSet) -> bool {
        self.same_as(other) || self.subsumes_unequal(other)
    }

    /// [`subsumes`](Self::subsumes) without the equality fast path (for
    /// callers that already know the states differ).
    pub fn subsumes_unequal(&self, other: &ContributionSet) -> bool {
        if !other.context.le(&self.context) {
            return false;
        }
        let theirs = &other.rows;
        let seen = other.context.cursor();
        let mut j = 0;
        for row in &self.rows {
            if !seen.covers(row.dot) {
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

    /// Whether the two states are equal, decided by a linear walk (equal
    /// contexts and the same rows — the common case once gossip has
    /// converged).
    pub fn same_as(&self, other: &ContributionSet) -> bool {
        self.rows.len() == other.rows.len()
            && self.context == other.context
            && self.rows.iter().zip(&other.rows).all(|(a, b)| {
                a.dot == b.dot
                    && (Arc::ptr_eq(&a.value, &b.value) || a.key_cmp(b) == Ordering::Equal)
            })
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
        self.join_delta_admitted(delta).0
    }

    /// [`join_delta`](Self::join_delta), also returning how many rows were
    /// admitted (see [`join_admitted`](Self::join_admitted)).
    pub fn join_delta_admitted(&mut self, delta: &Delta) -> (bool, u64) {
        let (theirs_seen, ours_seen) = (delta.context.cursor(), self.context.cursor());
        let (rows, admitted, dropped, _sums) = merge_rows(
            &self.rows,
            &delta.rows,
            |ours| !theirs_seen.covers(ours.dot) || delta.keep.binary_search(&ours.dot).is_ok(),
            |theirs| !ours_seen.covers(theirs.dot),
            Vec::new(),
        );
        (
            self.install(rows, &delta.context, admitted + dropped > 0),
            admitted,
        )
    }

    /// Installs merged rows (`rows_changed`: some row was admitted or
    /// dropped — otherwise the merge reproduced our rows) and joins the
    /// context.
    fn install(
        &mut self,
        rows: Vec<Row>,
        other_context: &VersionVector,
        rows_changed: bool,
    ) -> bool {
        assert!(rows.len() <= SET_ROWS_MAX, "contribution set row limit");
        let (context, grew) = self.context.joined_with(other_context);
        let changed = rows_changed || grew;
        self.context = context;
        self.rows = rows;
        if changed {
            self.changed();
        }
        changed
    }

    /// Digest of the whole replica state (all rows, dots and the causal
    /// context). Equal iff the CRDT states are equal (up to BLAKE3). Cached.
    ///
    /// Computed from the state's row and context sums ([`Sums`]), which
    /// joins keep up to date, so a new state costs O(1) here. Never part of
    /// a fingerprint: only which nodes agree is reported.
    pub fn replica_digest(&self) -> Digest {
        *self.cache.replica_digest.get_or_init(|| {
            let s = self.sums();
            let mut h = Hasher::new(Domain::Replica);
            h.u64(self.context.0.len() as u64);
            for l in s.ctx {
                h.u64(l);
            }
            h.u64(self.rows.len() as u64);
            for l in s.rows {
                h.u64(l);
            }
            h.finish()
        })
    }

    fn sums(&self) -> Sums {
        *self.cache.sums.get_or_init(|| Sums::full(self))
    }

    /// The state digest: Merkle root over `[config leaf, visible
    /// contributions in model-id order]`. Covers everything that determines
    /// the resolved model.
    pub fn state_digest(&self, config: &ReplicaConfigDigest, policy: ConflictPolicy) -> Digest {
        if let Some((c, p, d)) = self.cache.state_digest.get() {
            if c == config && *p == policy {
                return *d;
            }
        }
        let mut leaves = Vec::with_capacity(self.rows.len() + 1);
        leaves.push(merkle_leaf(&config.0 .0));
        for c in self.visible(policy) {
            leaves.push(c.leaf());
        }
        let d = merkle_root(&leaves);
        let _ = self.cache.state_digest.set((*config, policy, d));
        d
    }

    /// The replica-keyed Merkle trie of this state (built once per state).
    pub fn trie(&self) -> &ReplicaTrie {
        self.cache
            .trie
            .get_or_init(|| Arc::new(ReplicaTrie::build(self)))
    }

    /// The components (see [`ReplicaTrie`]) under any of `paths`, as a set:
    /// the rows whose dot's replica lies under a path, and the context
    /// restricted to those replicas. It is below `self` in the lattice, so
    /// joining it anywhere is always safe; joining it into a state whose
    /// components outside `paths` equal ours gives exactly `self ⊔ that`.
    pub fn trie_projection(&self, paths: &[TriePath]) -> ContributionSet {
        let trie = self.trie();
        let mut comps: Vec<usize> = paths.iter().flat_map(|p| trie.range(*p)).collect();
        comps.sort_unstable();
        comps.dedup();
        let mut entries: Vec<(ReplicaId, u64)> = Vec::with_capacity(comps.len());
        let mut rows: Vec<Row> = Vec::new();
        for &k in &comps {
            let c = &trie.comps[k];
            entries.push((c.replica, c.counter));
            for &r in &trie.row_order[c.rows.start as usize..c.rows.end as usize] {
                rows.push(self.rows[r as usize].clone());
            }
        }
        entries.sort_unstable();
        rows.sort_by(Row::key_cmp);
        ContributionSet {
            rows,
            context: VersionVector(entries),
            cache: Cache::default(),
        }
    }

    /// Encoded size in bytes (postcard), i.e. what a full-state message costs.
    pub fn encoded_len(&self) -> usize {
        *self.cache.encoded_len.get_or_init(|| {
            // From the per-row sizes the sums keep (each contribution knows
            // its own) instead of walking the serializer; checked in debug
            // builds.
            let n = varint_len(self.rows.len() as u64)
                + self.sums().rows_wire as usize
                + self.context_encoded_len();
            debug_assert_eq!(
                n,
                postcard::experimental::serialized_size(self).expect("sizing a set cannot fail")
            );
            n
        })
    }

    /// Encoded size of the causal context alone (what a pull request
    /// carries). Cached.
    pub fn context_encoded_len(&self) -> usize {
        *self
            .cache
            .context_len
            .get_or_init(|| varint_len(self.context.0.len() as u64) + self.sums().ctx_wire as usize)
    }

    /// `self ⊔ other` as a new set (without copying `self` first), with
    /// whether it differs from `self` and how many rows it admitted.
    pub fn joined(&self, other: &ContributionSet) -> (ContributionSet, bool, u64) {
        self.joined_reusing(other, &mut Spare::default())
    }

    /// [`joined`](Self::joined), building the new set in allocations taken
    /// from `spare` (large buffers reused instead of freed and allocated
    /// again every join).
    pub fn joined_reusing(
        &self,
        other: &ContributionSet,
        spare: &mut Spare,
    ) -> (ContributionSet, bool, u64) {
        let (theirs_seen, ours_seen) = (other.context.cursor(), self.context.cursor());
        let (rows, admitted, dropped, delta) = merge_rows(
            &self.rows,
            &other.rows,
            |ours| !theirs_seen.covers(ours.dot),
            |theirs| !ours_seen.covers(theirs.dot),
            spare.rows.pop().unwrap_or_default(),
        );
        let (context, grew, ctx_delta) = self
            .context
            .joined_counting(&other.context, spare.ctx.pop().unwrap_or_default());
        let changed = admitted + dropped > 0 || grew;
        assert!(rows.len() <= SET_ROWS_MAX, "contribution set row limit");
        let set = ContributionSet {
            rows,
            context,
            cache: Cache::default(),
        };
        if let Some(before) = self.cache.sums.get() {
            let after = before.plus(&delta).plus(&ctx_delta);
            debug_assert_eq!(after, Sums::full(&set), "incremental sums");
            let _ = set.cache.sums.set(after);
        }
        (set, changed, admitted)
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

/// Bytes of `v` as a postcard (LEB128) varint.
fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
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
    mut out: Vec<Row>,
) -> (Vec<Row>, u64, u64, Sums) {
    out.clear();
    out.reserve(ours.len().max(theirs.len()));
    let mut admitted = 0u64;
    let mut delta = Sums::default();
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
                } else {
                    delta.row(a, false);
                }
                i += 1;
            }
            Ordering::Greater => {
                if keep_theirs(b) {
                    out.push(b.clone());
                    delta.row(b, true);
                    admitted += 1;
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
    for a in &ours[i..] {
        if keep_ours(a) {
            out.push(a.clone());
        } else {
            delta.row(a, false);
        }
    }
    for b in &theirs[j..] {
        if keep_theirs(b) {
            out.push(b.clone());
            delta.row(b, true);
            admitted += 1;
        }
    }
    // Every row of ours is either kept or dropped; kept ones plus the
    // admitted ones make the output.
    let dropped = ours.len() as u64 + admitted - out.len() as u64;
    (out, admitted, dropped, delta)
}

/// Allocations of dropped states, kept for building new ones.
#[derive(Debug, Default)]
pub struct Spare {
    rows: Vec<Vec<Row>>,
    ctx: Vec<Vec<(ReplicaId, u64)>>,
}

impl Spare {
    /// Buffers of each kind kept at most.
    pub const KEEP: usize = 8;

    /// Takes the allocations of `set` if this was its last reference.
    pub fn recycle(&mut self, set: Arc<ContributionSet>) {
        if let Ok(set) = Arc::try_unwrap(set) {
            let ContributionSet {
                mut rows, context, ..
            } = set;
            if self.rows.len() < Spare::KEEP && rows.capacity() > 0 {
                rows.clear();
                self.rows.push(rows);
            }
            let mut ctx = context.0;
            if self.ctx.len() < Spare::KEEP && ctx.capacity() > 0 {
                ctx.clear();
                self.ctx.push(ctx);
            }
        }
    }
}

/// Order-independent sums over a state's rows and context entries, kept up
/// to date through joins (a join adds what it admits and subtracts what it
/// drops): the replica digest and the encoded size then cost O(1) per new
/// state instead of a pass over every row. Lanes are wrapping sums of
/// per-element values — a row's from its record digest (BLAKE3) mixed with
/// its dot, a context entry's from a 64-bit mix of (replica, counter) —
/// so equal states always have equal sums and different ones collide only
/// by accident (about 2^-64 per pair; nothing adversarial gets to choose
/// rows, every row's record is a BLAKE3 digest).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Sums {
    rows: [u64; 4],
    ctx: [u64; 4],
    rows_wire: u64,
    ctx_wire: u64,
}

impl Sums {
    fn full(set: &ContributionSet) -> Sums {
        let mut s = Sums::default();
        for r in &set.rows {
            s.row(r, true);
        }
        for &(r, c) in &set.context.0 {
            s.entry(r, c, true);
        }
        s
    }

    fn apply(&mut self, lanes: [u64; 4], wire: u64, into_ctx: bool, add: bool) {
        let (acc, w) = if into_ctx {
            (&mut self.ctx, &mut self.ctx_wire)
        } else {
            (&mut self.rows, &mut self.rows_wire)
        };
        for (a, l) in acc.iter_mut().zip(lanes) {
            *a = if add {
                a.wrapping_add(l)
            } else {
                a.wrapping_sub(l)
            };
        }
        *w = if add {
            w.wrapping_add(wire)
        } else {
            w.wrapping_sub(wire)
        };
    }

    fn row(&mut self, r: &Row, add: bool) {
        let rec = &r.value.record.0;
        let lane =
            |k: usize| u64::from_le_bytes(rec[8 * k..8 * k + 8].try_into().expect("8 bytes"));
        let m = mix64(mix64(r.dot.replica as u64) ^ r.dot.counter);
        let lanes = [lane(0) ^ m, lane(1) ^ mix64(m), lane(2), lane(3)];
        let wire = (varint_len(r.dot.replica as u64)
            + varint_len(r.dot.counter)
            + r.value.wire_len as usize) as u64;
        self.apply(lanes, wire, false, add);
    }

    fn entry(&mut self, replica: ReplicaId, counter: u64, add: bool) {
        let a = mix64(mix64(replica as u64 ^ 0x5851_F42D_4C95_7F2D) ^ counter);
        let b = mix64(a);
        let (c, d) = (a.rotate_left(21) ^ b, b.rotate_left(43) ^ a);
        let wire = (varint_len(replica as u64) + varint_len(counter)) as u64;
        self.apply([a, b, c, d], wire, true, add);
    }

    fn plus(mut self, d: &Sums) -> Sums {
        for k in 0..4 {
            self.rows[k] = self.rows[k].wrapping_add(d.rows[k]);
            self.ctx[k] = self.ctx[k].wrapping_add(d.ctx[k]);
        }
        self.rows_wire = self.rows_wire.wrapping_add(d.rows_wire);
        self.ctx_wire = self.ctx_wire.wrapping_add(d.ctx_wire);
        self
    }
}

/// A bijective 64-bit mix (the splitmix64 finalizer).
fn mix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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

/// Fan-out of the replica trie: one hex digit of the key per level.
pub const TRIE_FANOUT: u8 = 16;
/// Depth of the replica trie's leaves (64-bit keys, 4 bits per level).
pub const TRIE_DEPTH: u8 = 16;

/// Where a replica's component sits in the trie: a bijective 64-bit mix of
/// its id (the splitmix64 finalizer), so components spread evenly and two
/// replicas never share a key.
pub fn trie_key(replica: ReplicaId) -> u64 {
    mix64(replica as u64)
}

/// A node of the replica trie: the keys whose first `level` hex digits are
/// `prefix`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TriePath {
    pub level: u8,
    pub prefix: u64,
}

impl TriePath {
    pub const ROOT: TriePath = TriePath {
        level: 0,
        prefix: 0,
    };

    /// Whether the path names a node of the trie.
    pub fn is_valid(self) -> bool {
        self.level <= TRIE_DEPTH
            && (self.level == TRIE_DEPTH || self.prefix >> (4 * self.level) == 0)
    }

    /// Child `i` (`i < 16`, `level < 16`).
    pub fn child(self, i: u8) -> TriePath {
        debug_assert!(i < TRIE_FANOUT && self.level < TRIE_DEPTH);
        TriePath {
            level: self.level + 1,
            prefix: (self.prefix << 4) | i as u64,
        }
    }

    /// The inclusive key range under this node.
    fn keys(self) -> (u64, u64) {
        if self.level == 0 {
            return (0, u64::MAX);
        }
        let shift = 64 - 4 * self.level as u32;
        let lo = if shift == 64 { 0 } else { self.prefix << shift };
        let span = if shift == 0 {
            0
        } else {
            u64::MAX >> (64 - shift)
        };
        (lo, lo | span)
    }
}

/// One component of a state: a replica's context entry and the rows that
/// replica's dots name.
#[derive(Clone, Debug)]
struct TrieComp {
    key: u64,
    replica: ReplicaId,
    counter: u64,
    leaf: Digest,
    /// Range into [`ReplicaTrie::row_order`].
    rows: std::ops::Range<u32>,
}

/// A Merkle trie over a state's *components*, keyed by [`trie_key`] of the
/// replica. The ORSWOT join decides every row by its own dot and the two
/// contexts' entries for that dot's replica, so a state is the product of
/// its components and two states are joined component by component: any
/// set of components is a valid state (a projection) and joining it is
/// exactly the join restricted to those replicas.
///
/// Hashes (RFC 6962-style prefixes, Merkle domain): an empty node is
/// [`Digest::ZERO`]; a node holding one component is that component's leaf
/// `H(0x00 ‖ replica ‖ counter ‖ rows (counter, record)…)`; a node holding
/// more is `H(0x01 ‖ its 16 children's hashes)`. The shape depends only on
/// the set of components, so equal states have equal roots.
#[derive(Debug)]
pub struct ReplicaTrie {
    comps: Vec<TrieComp>,
    /// Row indices sorted by dot.
    row_order: Vec<u32>,
    /// Hashes of the nodes holding two components or more, sorted by path.
    inner: Vec<(TriePath, Digest)>,
}

impl ReplicaTrie {
    fn build(set: &ContributionSet) -> ReplicaTrie {
        let mut row_order: Vec<u32> = (0..set.rows.len() as u32).collect();
        row_order.sort_unstable_by_key(|&i| set.rows[i as usize].dot);
        let mut comps = Vec::with_capacity(set.context.0.len());
        let mut j = 0usize;
        for &(replica, counter) in &set.context.0 {
            let start = j;
            while j < row_order.len() && set.rows[row_order[j] as usize].dot.replica == replica {
                j += 1;
            }
            let mut h = Hasher::new(Domain::Merkle);
            h.raw(&[0x00])
                .u32(replica)
                .u64(counter)
                .u64((j - start) as u64);
            for &r in &row_order[start..j] {
                let row = &set.rows[r as usize];
                h.u64(row.dot.counter).digest(&row.value.record);
            }
            comps.push(TrieComp {
                key: trie_key(replica),
                replica,
                counter,
                leaf: h.finish(),
                rows: start as u32..j as u32,
            });
        }
        debug_assert_eq!(j, row_order.len(), "every row's replica is in the context");
        comps.sort_unstable_by_key(|c| c.key);
        let mut trie = ReplicaTrie {
            comps,
            row_order,
            inner: Vec::new(),
        };
        let n = trie.comps.len();
        let mut inner = Vec::new();
        trie.build_node(TriePath::ROOT, 0, n, &mut inner);
        inner.sort_unstable_by_key(|e| e.0);
        trie.inner = inner;
        trie
    }

    fn build_node(
        &self,
        path: TriePath,
        lo: usize,
        hi: usize,
        inner: &mut Vec<(TriePath, Digest)>,
    ) -> Digest {
        match hi - lo {
            0 => Digest::ZERO,
            1 => self.comps[lo].leaf,
            _ => {
                let mut h = Hasher::new(Domain::Merkle);
                h.raw(&[0x01]);
                let mut start = lo;
                for i in 0..TRIE_FANOUT {
                    let child = path.child(i);
                    let top = child.keys().1;
                    let end = start + self.comps[start..hi].partition_point(|c| c.key <= top);
                    h.digest(&self.build_node(child, start, end, inner));
                    start = end;
                }
                let d = h.finish();
                inner.push((path, d));
                d
            }
        }
    }

    /// Indices of the components under `path`.
    fn range(&self, path: TriePath) -> std::ops::Range<usize> {
        let (lo, hi) = path.keys();
        let a = self.comps.partition_point(|c| c.key < lo);
        let b = a + self.comps[a..].partition_point(|c| c.key <= hi);
        a..b
    }

    /// Number of components under `path`.
    pub fn count(&self, path: TriePath) -> usize {
        self.range(path).len()
    }

    /// Number of components (context entries) in the state.
    pub fn len(&self) -> usize {
        self.comps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.comps.is_empty()
    }

    /// The hash of the node at `path`.
    pub fn hash(&self, path: TriePath) -> Digest {
        let r = self.range(path);
        match r.len() {
            0 => Digest::ZERO,
            1 => self.comps[r.start].leaf,
            _ => {
                let i = self
                    .inner
                    .binary_search_by_key(&path, |e| e.0)
                    .expect("every node with two components is hashed");
                self.inner[i].1
            }
        }
    }

    /// The root hash: equal iff the states are equal (up to BLAKE3).
    pub fn root(&self) -> Digest {
        self.hash(TriePath::ROOT)
    }

    /// The non-empty children of `path` (`level < 16`) with their hashes.
    pub fn children(&self, path: TriePath) -> Vec<(u8, Digest)> {
        if self.range(path).is_empty() {
            return Vec::new();
        }
        (0..TRIE_FANOUT)
            .map(|i| (i, self.hash(path.child(i))))
            .filter(|(_, d)| *d != Digest::ZERO)
            .collect()
    }
}
