//! The trust state: a grow-only set of verified evidence, and the trust
//! scores as a pure function of it.
//!
//! **CRDT.** The state is a set of [`VerifiedEvidence`] keyed by the record
//! digest (a `BTreeMap`). Join is set union: commutative, associative and
//! idempotent; delivering a record twice changes nothing, so nothing can be
//! counted twice. Every record in the set has been verified (the only way
//! in is [`TrustState::ingest`], which verifies, or [`TrustState::insert`] /
//! [`TrustState::join`], which take already-verified values).
//!
//! **Scores.** For each peer and each of the reference's six dimensions a
//! score starts at 1.0 and only decreases as proven offences are added
//! (several records of one offence count once):
//!
//! | dimension | decreased by |
//! |---|---|
//! | integrity | any proven equivocation, invalid content or dot reuse → 0 |
//! | causality | any proven dot reuse → 0 |
//! | consistency | −0.25 per equivocated `(model_id, version)` |
//! | model | −0.5 per operation with proven invalid content |
//! | context | −0.25 per PCO whose context is behind its own dots |
//! | gossip | never: omission is not provable, so there is no evidence for it |
//!
//! (all clamped at 0). The overall score is the *minimum* of the six — a
//! proven equivocator is out, whatever its other dimensions say (the
//! reference's mean would leave it at 0.83). A peer is rejected when its
//! overall score is below [`REJECT_THRESHOLD`]. All values are small
//! multiples of 1/4, so the arithmetic is exact.
//!
//! **Trust root.** The RFC 6962 Merkle root ([`crate::hash::merkle_root`])
//! over `merkle_leaf(record digest)` in ascending digest order. Because the
//! scores are a function of the set, equal roots mean equal scores;
//! [`TrustState::scores_digest`] hashes the derived scores with fixed
//! formatting (peer id u32 LE, then each dimension's and the overall
//! score's IEEE-754 bits, u64 LE) for reports.

use super::ctx;
use super::error::EvidenceError;
use super::evidence::{Evidence, Offence, VerifiedEvidence};
use super::identity::{NodeId, Roster};
use super::Enc;
use crate::hash::{merkle_leaf, merkle_root, Digest};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

/// Overall trust below this excludes a peer from the merged model.
pub const REJECT_THRESHOLD: f64 = 0.5;
/// Most records one trust state may hold.
pub const EVIDENCE_MAX: usize = 100_000;

/// A trust dimension (the reference's six).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dimension {
    Integrity,
    Causality,
    Consistency,
    Gossip,
    Model,
    Context,
}

impl Dimension {
    /// All six, in their fixed order.
    pub const ALL: [Dimension; 6] = [
        Dimension::Integrity,
        Dimension::Causality,
        Dimension::Consistency,
        Dimension::Gossip,
        Dimension::Model,
        Dimension::Context,
    ];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Integrity => "integrity",
            Dimension::Causality => "causality",
            Dimension::Consistency => "consistency",
            Dimension::Gossip => "gossip",
            Dimension::Model => "model",
            Dimension::Context => "context",
        }
    }
}

/// One peer's scores, indexed like [`Dimension::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PeerTrust {
    pub dims: [f64; 6],
}

impl PeerTrust {
    /// Full trust: every dimension 1.0.
    pub const FULL: PeerTrust = PeerTrust { dims: [1.0; 6] };

    /// The score in one dimension.
    pub fn get(&self, d: Dimension) -> f64 {
        self.dims[d as usize]
    }

    /// The overall score: the minimum dimension.
    pub fn overall(&self) -> f64 {
        self.dims.iter().copied().fold(1.0, f64::min)
    }

    /// Whether the peer is excluded (overall below the threshold).
    pub fn rejected(&self) -> bool {
        self.overall() < REJECT_THRESHOLD
    }

    fn from_offences(offences: &BTreeSet<Offence>) -> PeerTrust {
        let (mut equiv, mut invalid, mut reuse, mut context) = (0u32, 0u32, 0u32, 0u32);
        for o in offences {
            match o {
                Offence::Equivocation { .. } => equiv += 1,
                Offence::InvalidContent { .. } => invalid += 1,
                Offence::DotReuse { .. } => reuse += 1,
                Offence::ContextBehindDot { .. } => context += 1,
            }
        }
        let less = |step: f64, n: u32| (1.0 - step * n.min(8) as f64).max(0.0);
        let mut t = PeerTrust::FULL;
        if equiv + invalid + reuse > 0 {
            t.dims[Dimension::Integrity as usize] = 0.0;
        }
        if reuse > 0 {
            t.dims[Dimension::Causality as usize] = 0.0;
        }
        t.dims[Dimension::Consistency as usize] = less(0.25, equiv);
        t.dims[Dimension::Model as usize] = less(0.5, invalid);
        t.dims[Dimension::Context as usize] = less(0.25, context);
        t
    }
}

/// Scores of every peer with evidence against it (all others: full trust).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TrustScores {
    peers: BTreeMap<NodeId, PeerTrust>,
}

impl TrustScores {
    /// The scores of `peer`.
    pub fn peer(&self, peer: NodeId) -> PeerTrust {
        self.peers.get(&peer).copied().unwrap_or(PeerTrust::FULL)
    }

    /// The overall trust of `peer` (1.0 without evidence).
    pub fn trust(&self, peer: NodeId) -> f64 {
        self.peer(peer).overall()
    }

    /// Whether `peer` is excluded.
    pub fn rejected(&self, peer: NodeId) -> bool {
        self.peer(peer).rejected()
    }

    /// Peers with evidence against them, ascending, with their scores.
    pub fn accused(&self) -> impl Iterator<Item = (NodeId, PeerTrust)> + '_ {
        self.peers.iter().map(|(&n, &t)| (n, t))
    }

    /// Digest of the scores with fixed formatting (see the module docs).
    pub fn digest(&self) -> Digest {
        let mut e = Enc::new();
        e.u64(self.peers.len() as u64);
        for (&peer, t) in &self.peers {
            e.u32(peer);
            for d in t.dims {
                e.u64(d.to_bits());
            }
            e.u64(t.overall().to_bits());
        }
        e.digest_in(ctx::TRUST_SCORES)
    }
}

#[derive(Debug, Default)]
struct Cache {
    root: OnceLock<Digest>,
    scores: OnceLock<Arc<TrustScores>>,
}

/// The grow-only set of verified evidence.
#[derive(Debug, Default)]
pub struct TrustState {
    records: BTreeMap<Digest, VerifiedEvidence>,
    cache: Cache,
}

impl Clone for TrustState {
    fn clone(&self) -> Self {
        let cache = Cache::default();
        if let Some(r) = self.cache.root.get() {
            let _ = cache.root.set(*r);
        }
        if let Some(s) = self.cache.scores.get() {
            let _ = cache.scores.set(s.clone());
        }
        TrustState {
            records: self.records.clone(),
            cache,
        }
    }
}

impl PartialEq for TrustState {
    fn eq(&self, other: &Self) -> bool {
        self.records.len() == other.records.len() && self.records.keys().eq(other.records.keys())
    }
}

impl TrustState {
    /// The empty state.
    pub fn new() -> TrustState {
        TrustState::default()
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there is no evidence.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Whether a record with this digest is held.
    pub fn contains(&self, digest: &Digest) -> bool {
        self.records.contains_key(digest)
    }

    /// The records in digest order.
    pub fn records(&self) -> impl Iterator<Item = &VerifiedEvidence> + '_ {
        self.records.values()
    }

    /// The records' digests, ascending.
    pub fn digests(&self) -> impl Iterator<Item = &Digest> + '_ {
        self.records.keys()
    }

    /// The records as they travel (the receiver verifies each one again).
    pub fn to_wire(&self) -> Vec<Evidence> {
        self.records
            .values()
            .map(|v| v.evidence().clone())
            .collect()
    }

    /// The records `other` holds and this state does not (what a peer
    /// needs), in digest order.
    pub fn missing_from(&self, other: &TrustState) -> Vec<Evidence> {
        self.records
            .iter()
            .filter(|(d, _)| !other.records.contains_key(d))
            .map(|(_, v)| v.evidence().clone())
            .collect()
    }

    fn changed(&mut self) {
        self.cache = Cache::default();
    }

    /// Adds a verified record. Returns whether it was new.
    pub fn insert(&mut self, v: VerifiedEvidence) -> Result<bool, EvidenceError> {
        if self.records.contains_key(&v.digest()) {
            return Ok(false);
        }
        if self.records.len() >= EVIDENCE_MAX {
            return Err(EvidenceError::Full(EVIDENCE_MAX));
        }
        self.records.insert(v.digest(), v);
        self.changed();
        Ok(true)
    }

    /// Verifies a record received from elsewhere and adds it. A record
    /// already held is not verified again. Returns whether it was new.
    pub fn ingest(&mut self, roster: &Roster, e: Evidence) -> Result<bool, EvidenceError> {
        if self.records.contains_key(&e.digest()) {
            return Ok(false);
        }
        let v = e.verify(roster)?;
        self.insert(v)
    }

    /// Join (set union) with another state whose records were verified.
    /// Returns whether this state changed. On `Err` nothing changed.
    pub fn join(&mut self, other: &TrustState) -> Result<bool, EvidenceError> {
        let new = other
            .records
            .keys()
            .filter(|d| !self.records.contains_key(d))
            .count();
        if new == 0 {
            return Ok(false);
        }
        if self.records.len() + new > EVIDENCE_MAX {
            return Err(EvidenceError::Full(EVIDENCE_MAX));
        }
        for (d, v) in &other.records {
            self.records.entry(*d).or_insert_with(|| v.clone());
        }
        self.changed();
        Ok(true)
    }

    /// The trust root: RFC 6962 Merkle root over the sorted record digests.
    pub fn root(&self) -> Digest {
        *self.cache.root.get_or_init(|| {
            let leaves: Vec<Digest> = self.records.keys().map(|d| merkle_leaf(&d.0)).collect();
            merkle_root(&leaves)
        })
    }

    /// The scores derived from the set.
    pub fn scores(&self) -> Arc<TrustScores> {
        self.cache
            .scores
            .get_or_init(|| {
                let mut offences: BTreeMap<NodeId, BTreeSet<Offence>> = BTreeMap::new();
                for v in self.records.values() {
                    offences
                        .entry(v.accused())
                        .or_default()
                        .insert(v.offence().clone());
                }
                Arc::new(TrustScores {
                    peers: offences
                        .iter()
                        .map(|(&n, o)| (n, PeerTrust::from_offences(o)))
                        .collect(),
                })
            })
            .clone()
    }

    /// Overall trust of `peer`.
    pub fn trust(&self, peer: NodeId) -> f64 {
        self.scores().trust(peer)
    }

    /// Digest of the derived scores (fixed formatting).
    pub fn scores_digest(&self) -> Digest {
        self.scores().digest()
    }
}
