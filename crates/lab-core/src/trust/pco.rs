//! Proof-carrying operations (PCOs).
//!
//! # Wire layout (128 bytes, the reference's layout with real contents)
//!
//! ```text
//! offset  size  field
//!      0    64  Ed25519 signature over bytes 64..128 (aggregate ‖ metadata)
//!     64    32  aggregate (BLAKE3 derive-key, see below)
//!     96     2  metadata.version       u16 LE, = 1
//!     98     2  metadata.flags         u16 LE, = 0 (all bits reserved; others rejected)
//!    100     8  metadata.logical_time  u64 LE, = Σ of the claimed causal context
//!                                      (a Lamport-style count of the events in the
//!                                      originator's causal past — never wall time)
//!    108     4  metadata.originator    u32 LE, roster index of the signer
//!    112     8  metadata.lo            u64 LE, first dot counter of the delta
//!    120     8  metadata.hi            u64 LE, last dot counter of the delta
//! ```
//!
//! The aggregate is BLAKE3 in derive-key mode with the context
//! `"convergence-lab 2026-11 pco-aggregate v1"` over these fields, each
//! length-prefixed (u64 LE length, then the bytes):
//! originator id (u32 LE) ‖ payload digest ‖ Merkle root after applying ‖
//! causal-context digest ‖ trust root ‖ delta bounds lo (u64 LE) ‖ hi (u64 LE).
//!
//! - **payload digest**: BLAKE3 (`"… pco-payload v1"`) over the count and the
//!   [`OpBody::digest`] of each payload operation, in order. The payload (the
//!   delta) is the originator's own operations with dot counters `lo..=hi`.
//! - **Merkle root after applying**: the RFC 6962 Merkle root
//!   ([`crate::hash::merkle_root`]) over `merkle_leaf(op digest)` of the
//!   originator's operations `1..=hi` — its signed log after applying the
//!   delta. A verifier that knows the operations `1..lo` recomputes it.
//! - **causal-context digest**: [`VersionVector::digest`] of the
//!   originator's context when it built the PCO.
//! - **trust root**: the originator's [`super::TrustState::root`].
//!
//! The signature covers aggregate ‖ metadata, so it binds every claimed
//! field and the payload; the claims themselves ([`PcoClaims`]) travel next
//! to the 128 bytes.

use super::error::{BuildError, PcoError, WireError};
use super::identity::{Identity, NodeId, Roster};
use super::sig::{self, SignatureBytes};
use super::signed::OpBody;
use super::{ctx, wire_bytes, Enc};
use crate::crdt::VersionVector;
use crate::hash::{merkle_leaf, merkle_node, merkle_root, Digest};
use serde::{Deserialize, Serialize};

/// Size of a PCO header on the wire.
pub const PCO_LEN: usize = 128;
/// The only metadata version this code reads and writes.
pub const PCO_VERSION: u16 = 1;
/// Most operations one PCO may carry.
pub const PCO_OPS_MAX: usize = 256;

/// The 32 metadata bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Metadata {
    pub version: u16,
    pub flags: u16,
    /// Σ of the claimed causal context (logical, never wall time).
    pub logical_time: u64,
    pub originator: NodeId,
    /// Delta bounds: the payload is the originator's operations `lo..=hi`.
    pub lo: u64,
    pub hi: u64,
}

impl Metadata {
    /// Fixed little-endian layout (see the module docs).
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[0..2].copy_from_slice(&self.version.to_le_bytes());
        b[2..4].copy_from_slice(&self.flags.to_le_bytes());
        b[4..12].copy_from_slice(&self.logical_time.to_le_bytes());
        b[12..16].copy_from_slice(&self.originator.to_le_bytes());
        b[16..24].copy_from_slice(&self.lo.to_le_bytes());
        b[24..32].copy_from_slice(&self.hi.to_le_bytes());
        b
    }

    /// Parses and checks version and flags.
    pub fn from_bytes(b: &[u8; 32]) -> Result<Metadata, WireError> {
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(x)
        };
        let m = Metadata {
            version: u16_at(0),
            flags: u16_at(2),
            logical_time: u64_at(4),
            originator: u32_at(12),
            lo: u64_at(16),
            hi: u64_at(24),
        };
        if m.version != PCO_VERSION {
            return Err(WireError::Version(m.version));
        }
        if m.flags != 0 {
            return Err(WireError::Flags(m.flags));
        }
        Ok(m)
    }
}

/// The 128-byte PCO header: signature ‖ aggregate ‖ metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pco {
    pub signature: SignatureBytes,
    pub aggregate: Digest,
    pub metadata: Metadata,
}

impl Pco {
    /// The 128 wire bytes.
    pub fn to_bytes(&self) -> [u8; PCO_LEN] {
        let mut b = [0u8; PCO_LEN];
        b[..64].copy_from_slice(&self.signature.0);
        b[64..].copy_from_slice(&self.signed_message());
        b
    }

    /// Parses 128 wire bytes (length, version and flags checked).
    pub fn from_bytes(b: &[u8]) -> Result<Pco, WireError> {
        if b.len() != PCO_LEN {
            return Err(WireError::Length(b.len()));
        }
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&b[..64]);
        let mut aggregate = [0u8; 32];
        aggregate.copy_from_slice(&b[64..96]);
        let mut meta = [0u8; 32];
        meta.copy_from_slice(&b[96..]);
        Ok(Pco {
            signature: SignatureBytes(signature),
            aggregate: Digest(aggregate),
            metadata: Metadata::from_bytes(&meta)?,
        })
    }

    /// The signed message: aggregate ‖ metadata (64 bytes).
    pub fn signed_message(&self) -> [u8; 64] {
        let mut m = [0u8; 64];
        m[..32].copy_from_slice(&self.aggregate.0);
        m[32..].copy_from_slice(&self.metadata.to_bytes());
        m
    }

    /// Level 0: the originator is on the roster and signed these bytes.
    pub fn verify_signature(&self, roster: &Roster) -> Result<(), PcoError> {
        let originator = self.metadata.originator;
        let key = roster
            .key(originator)
            .ok_or(PcoError::UnknownIdentity(originator))?;
        sig::verify(key, &self.signed_message(), &self.signature)
            .map_err(|reason| PcoError::BadSignature { originator, reason })
    }
}

impl Serialize for Pco {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        wire_bytes::serialize(&self.to_bytes(), s)
    }
}

impl<'de> Deserialize<'de> for Pco {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let b = wire_bytes::deserialize::<D, PCO_LEN>(d)?;
        Pco::from_bytes(&b).map_err(serde::de::Error::custom)
    }
}

/// The fields a PCO's aggregate commits to, carried next to the header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PcoClaims {
    /// The delta: the originator's operations `lo..=hi`, ascending.
    pub payload: Vec<OpBody>,
    /// The originator's causal context when it built the PCO.
    pub context: VersionVector,
    /// Merkle root of the originator's log `1..=hi` (after applying).
    pub log_root: Digest,
    /// The originator's trust root when it built the PCO.
    pub trust_root: Digest,
}

/// A PCO header with its claims: what travels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PcoBundle {
    pub header: Pco,
    pub claims: PcoClaims,
}

/// Digest of a payload: count, then each operation's signed digest.
pub fn payload_digest(payload: &[OpBody]) -> Digest {
    let mut e = Enc::new();
    e.u64(payload.len() as u64);
    for op in payload {
        e.digest(&op.digest());
    }
    e.digest_in(ctx::PCO_PAYLOAD)
}

/// The aggregate over length-prefixed fields (see the module docs).
pub fn aggregate(
    originator: NodeId,
    payload: &Digest,
    log_root: &Digest,
    context: &Digest,
    trust_root: &Digest,
    lo: u64,
    hi: u64,
) -> Digest {
    let mut e = Enc::new();
    e.u32(originator)
        .digest(payload)
        .digest(log_root)
        .digest(context)
        .digest(trust_root)
        .u64(lo)
        .u64(hi);
    e.digest_in(ctx::PCO_AGGREGATE)
}

/// Σ of a context's counters, the PCO's logical time; `None` on overflow.
pub fn logical_time(context: &VersionVector) -> Option<u64> {
    context
        .entries()
        .iter()
        .try_fold(0u64, |acc, &(_, c)| acc.checked_add(c))
}

/// Structural check of a causal context received from the wire.
pub fn check_context(context: &VersionVector, roster: &Roster) -> Result<(), PcoError> {
    let entries = context.entries();
    if entries.len() > roster.len() {
        return Err(PcoError::BadContext("more entries than roster members"));
    }
    for w in entries.windows(2) {
        if w[0].0 >= w[1].0 {
            return Err(PcoError::BadContext("entries are not sorted by replica"));
        }
    }
    for &(r, c) in entries {
        if c == 0 {
            return Err(PcoError::BadContext("zero counter"));
        }
        if !roster.contains(r) {
            return Err(PcoError::BadContext("names a replica outside the roster"));
        }
    }
    Ok(())
}

impl PcoBundle {
    /// Builds and signs a PCO **without protocol checks** (what a Byzantine
    /// node can do). Honest nodes build through [`super::Originator`].
    pub fn build_unchecked(
        identity: &Identity,
        payload: Vec<OpBody>,
        context: VersionVector,
        log_root: Digest,
        trust_root: Digest,
        lo: u64,
        hi: u64,
    ) -> Result<PcoBundle, BuildError> {
        if payload.is_empty() || payload.len() > PCO_OPS_MAX {
            return Err(BuildError::PayloadSize {
                got: payload.len(),
                max: PCO_OPS_MAX,
            });
        }
        let logical_time = logical_time(&context).ok_or(BuildError::LogicalTimeOverflow)?;
        let originator = identity.node();
        let agg = aggregate(
            originator,
            &payload_digest(&payload),
            &log_root,
            &context.digest(),
            &trust_root,
            lo,
            hi,
        );
        let metadata = Metadata {
            version: PCO_VERSION,
            flags: 0,
            logical_time,
            originator,
            lo,
            hi,
        };
        let mut header = Pco {
            signature: SignatureBytes::ZERO,
            aggregate: agg,
            metadata,
        };
        header.signature = identity.sign_bytes(&header.signed_message());
        Ok(PcoBundle {
            header,
            claims: PcoClaims {
                payload,
                context,
                log_root,
                trust_root,
            },
        })
    }

    /// The signer named in the metadata.
    pub fn originator(&self) -> NodeId {
        self.header.metadata.originator
    }

    /// Delta bounds `(lo, hi)`.
    pub fn bounds(&self) -> (u64, u64) {
        (self.header.metadata.lo, self.header.metadata.hi)
    }

    /// The aggregate recomputed from the claims and the metadata.
    pub fn recompute_aggregate(&self) -> Digest {
        let m = &self.header.metadata;
        aggregate(
            m.originator,
            &payload_digest(&self.claims.payload),
            &self.claims.log_root,
            &self.claims.context.digest(),
            &self.claims.trust_root,
            m.lo,
            m.hi,
        )
    }

    /// Everything level 1 checks that needs no verifier state: payload size
    /// and structure, every operation by the signer, context well-formed,
    /// aggregate and logical time consistent with the claims. After this
    /// (and the signature) every claim is bound to the signer.
    pub fn check_claims(&self, roster: &Roster) -> Result<(), PcoError> {
        let originator = self.originator();
        let payload = &self.claims.payload;
        if payload.is_empty() || payload.len() > PCO_OPS_MAX {
            return Err(PcoError::PayloadSize {
                got: payload.len(),
                max: PCO_OPS_MAX,
            });
        }
        for (index, op) in payload.iter().enumerate() {
            op.validate()
                .map_err(|reason| PcoError::Malformed { index, reason })?;
            if op.originator != originator {
                return Err(PcoError::ForeignOp {
                    index,
                    originator,
                    found: op.originator,
                });
            }
        }
        check_context(&self.claims.context, roster)?;
        if self.recompute_aggregate() != self.header.aggregate {
            return Err(PcoError::AggregateMismatch);
        }
        let computed = logical_time(&self.claims.context)
            .ok_or(PcoError::BadContext("logical time overflows"))?;
        if computed != self.header.metadata.logical_time {
            return Err(PcoError::LogicalTimeMismatch {
                claimed: self.header.metadata.logical_time,
                computed,
            });
        }
        Ok(())
    }

    /// Signature and claims: the bundle is an authentic statement of its
    /// originator (used to verify evidence built from PCOs).
    pub fn check_binding(&self, roster: &Roster) -> Result<(), PcoError> {
        self.header.verify_signature(roster)?;
        self.check_claims(roster)
    }

    pub(crate) fn encode(&self, e: &mut Enc) {
        e.field(&self.header.to_bytes());
        e.u64(self.claims.payload.len() as u64);
        for op in &self.claims.payload {
            op.encode(e);
        }
        e.u64(self.claims.context.entries().len() as u64);
        for &(r, c) in self.claims.context.entries() {
            e.u32(r).u64(c);
        }
        e.digest(&self.claims.log_root)
            .digest(&self.claims.trust_root);
    }
}

/// How much of a PCO a verifier checks. Each level includes the ones below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    /// 0 — the header: decodes, the originator is on the roster, the
    /// Ed25519 signature over aggregate ‖ metadata holds. The payload is *not*
    /// bound at this level, so a level-0 PCO is never applied.
    Signature = 0,
    /// 1 — + the claims: payload size and structure, every operation by the
    /// signer, context well-formed, the aggregate recomputed from the claims
    /// and payload equals the signed one, the logical time equals Σ context,
    /// and the Merkle root after applying the delta to the verifier's copy of
    /// the originator's log equals the claimed root.
    Content = 1,
    /// 2 — + causality and trust: the delta bounds are minimal (the payload is
    /// exactly the operations `lo, lo+1, …, hi`, ascending, nothing else);
    /// every payload operation the verifier already knows is identical to it
    /// (a different operation with the same dot is dot reuse → evidence); the
    /// context's entry for the originator is ≥ hi (else it contradicts its
    /// own dots → evidence); the context claims no more events of the
    /// verifier than it made; and the originator's trust is ≥ the reject
    /// threshold.
    Causal = 2,
    /// 3 — level 2, but an originator below the reject threshold does not get
    /// a plain rejection: once every other level-2 check passed, its PCO is
    /// *quarantined* — authenticated and kept (its operations still feed
    /// replay and evidence detection) but reported as not to be applied to
    /// the merged model and not to be forwarded.
    Quarantine = 3,
}

impl Level {
    /// All levels, in order.
    pub const ALL: [Level; 4] = [
        Level::Signature,
        Level::Content,
        Level::Causal,
        Level::Quarantine,
    ];

    /// The level with number `n` (0–3).
    pub fn from_u8(n: u8) -> Option<Level> {
        Level::ALL.get(n as usize).copied()
    }

    /// The level's number.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// The lab's policy: full checks (2) for peers at or above the reject
    /// threshold, quarantine (3) below it. The lab never lowers the level for
    /// "trusted" peers: trust is a statement about the past, and skipping
    /// the causality checks would let one bad PCO through unproven.
    pub fn for_trust(trust: f64) -> Level {
        if trust >= super::state::REJECT_THRESHOLD {
            Level::Causal
        } else {
            Level::Quarantine
        }
    }

    /// The reference's mapping from overall trust to level (t < 0.1 → 3,
    /// t < 0.4 → 2, t < 0.8 → 1, else 0), for the contrast mode.
    pub fn reference_for_trust(trust: f64) -> Level {
        if trust < 0.1 {
            Level::Quarantine
        } else if trust < 0.4 {
            Level::Causal
        } else if trust < 0.8 {
            Level::Content
        } else {
            Level::Signature
        }
    }
}

/// An append-only RFC 6962 Merkle log: the roots of the perfect subtrees of
/// the binary decomposition of its size (largest first), so appending costs
/// O(log n) hashes and the root equals [`merkle_root`] over all leaves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogFrontier {
    size: u64,
    peaks: Vec<Digest>,
}

impl LogFrontier {
    /// An empty log.
    pub fn new() -> LogFrontier {
        LogFrontier::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends the leaf `merkle_leaf(data)`.
    pub fn push(&mut self, data: &Digest) {
        let mut node = merkle_leaf(&data.0);
        for _ in 0..self.size.trailing_ones() {
            let left = self.peaks.pop().expect("one peak per set bit of the size");
            node = merkle_node(&left, &node);
        }
        self.peaks.push(node);
        self.size += 1;
    }

    /// The RFC 6962 root of all leaves so far.
    pub fn root(&self) -> Digest {
        let mut it = self.peaks.iter().rev();
        match it.next() {
            None => merkle_root(&[]),
            Some(last) => it.fold(*last, |acc, p| merkle_node(p, &acc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{merkle_leaf, merkle_root};

    #[test]
    fn frontier_root_equals_merkle_root() {
        let mut f = LogFrontier::new();
        let mut leaves = Vec::new();
        assert_eq!(f.root(), merkle_root(&[]));
        for i in 0u8..40 {
            let d = Digest([i; 32]);
            f.push(&d);
            leaves.push(merkle_leaf(&d.0));
            assert_eq!(f.root(), merkle_root(&leaves), "size {}", i + 1);
        }
    }

    #[test]
    fn metadata_round_trips_and_rejects_unknown() {
        let m = Metadata {
            version: PCO_VERSION,
            flags: 0,
            logical_time: 77,
            originator: 5,
            lo: 3,
            hi: 9,
        };
        assert_eq!(Metadata::from_bytes(&m.to_bytes()), Ok(m));
        let mut b = m.to_bytes();
        b[0] = 2;
        assert_eq!(Metadata::from_bytes(&b), Err(WireError::Version(2)));
        let mut b = m.to_bytes();
        b[2] = 1;
        assert_eq!(Metadata::from_bytes(&b), Err(WireError::Flags(1)));
        assert_eq!(Pco::from_bytes(&[0u8; 127]), Err(WireError::Length(127)));
    }
}
