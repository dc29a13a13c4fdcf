//! The E4 trust layer: identities, signed operations, proof-carrying
//! operations (PCOs), self-certifying evidence, a trust state that is a
//! CRDT, and trust-weighted resolve. `shared/spec/trust.md` has the facts
//! about the reference and the design this implements.
//!
//! # API for the simulator
//!
//! ```text
//! setup        let (roster, ids) = Roster::derive(seed, n)?;        // Ed25519 keys from (seed, node)
//!              let roster = Arc::new(roster);
//!              let mut node = TrustNode::new(ids[i], roster.clone()); // per node: signer + verifier
//!
//! (a) create   let dot = set.add(i, contribution.clone(), policy)?;
//!              let (op, pco) = node.publish(&contribution, dot, set.context())?;
//!              let att = node.originator.attest(&op.body, &tensor.canonical_bytes())?;
//!              // send `op` (or `pco`), and the tensor bytes with `att`
//!
//! (b) receive  node.verifier.ingest_op(&op)               -> Ok(OpOutcome { status: New | Replay | DotConflict, evidence })
//!              node.verifier.ingest_ops_batch(&ops)       -> one batch signature check, same results
//!              node.verifier.ingest_pco(&pco, level)      -> Ok(PcoOutcome { verdict, new_ops, evidence }) / Err(PcoError)
//!              node.verifier.ingest_pco_batch(&pcos, level)
//!              node.verifier.check_tensor(dot, &att, &bytes) -> Valid | Invalid { evidence }
//!              // Only rows whose operation came back `New` (or was already known) may
//!              // enter the contribution set; errors are counted in `counts()`, never evidence.
//!
//! (c) evidence node.verifier.trust().missing_from(peer_trust) -> Vec<Evidence>   // what to send
//!              node.verifier.ingest_evidence(e)         // verifies, then set union
//!              node.verifier.join_trust(&other_state)   // in-process join of verified states
//!
//! (d) resolve  let root = node.verifier.trust().root();            // byte-equal on honest nodes
//!              let scores = node.verifier.trust().scores();
//!              let w = trust_weighted_rows(&set, policy, &scores);  // weights × trust, rejected left out
//!              let merged = w.resolve(strategy, &params, |d| pool.get(d), base, seed, "")?;
//! ```
//!
//! Byzantine behaviours use the unchecked constructors: [`SignedOp::sign_unchecked`]
//! (equivocator, forger with its own key), [`TensorAttestation::sign_unchecked`]
//! (corrupter), [`PcoBundle::build_unchecked`], [`Identity::from_secret`]
//! (outsider/Sybil). A replayer just re-sends what it received.
//!
//! # Modules
//!
//! - [`identity`]: deterministic key pairs, the roster.
//! - [`sig`]: Ed25519 verification, one cofactored equation for single and
//!   batch checks (why: see the module docs).
//! - [`signed`]: signed contribution operations, tensor attestations.
//! - [`originator`]: the honest signer (refuses to sign contradictions).
//! - [`pco`]: the 128-byte PCO, its aggregate, verification [`Level`]s.
//! - [`evidence`]: self-certifying evidence records.
//! - [`state`]: the trust state (grow-only set CRDT), scores, trust root.
//! - [`verifier`]: a node's receiving side: ledger, evidence detection, counters.
//! - [`weighted`]: trust-weighted merge inputs.
//! - [`reference`]: *reference semantics* contrast model (not the lab's design).
//!
//! # Randomness and determinism
//!
//! No OS randomness anywhere: secrets come from ChaCha streams
//! ([`crate::rng::Stream`]), Ed25519 signing is deterministic (RFC 8032), and
//! batch-verification coefficients come from a ChaCha stream keyed by a
//! BLAKE3 transcript of the batch. All maps are `BTreeMap`s.

pub mod bench;
pub mod evidence;
pub mod identity;
pub mod originator;
pub mod pco;
pub mod reference;
pub mod sig;
pub mod signed;
pub mod state;
pub mod verifier;
pub mod weighted;

mod error;

pub use error::{
    BuildError, EvidenceError, MalformedOp, OpError, PcoError, SignError, TensorCheckError,
    WireError,
};
pub use evidence::{
    AuthOp, CausalityViolation, Evidence, EvidenceKind, Offence, OpProof, VerifiedEvidence,
};
pub use identity::{Identity, NodeId, Roster, RosterError, ROSTER_MAX};
pub use originator::Originator;
pub use pco::{
    Level, LogFrontier, Metadata, Pco, PcoBundle, PcoClaims, PCO_LEN, PCO_OPS_MAX, PCO_VERSION,
};
pub use sig::{KeyError, PublicKey, SigError, SignatureBytes};
pub use signed::{OpBody, SignedOp, TensorAttestation};
pub use state::{Dimension, PeerTrust, TrustScores, TrustState, EVIDENCE_MAX, REJECT_THRESHOLD};
pub use verifier::{
    DropCounts, OpOutcome, OpStatus, PcoOutcome, PcoVerdict, TensorOutcome, Verifier,
};
pub use weighted::{trust_weighted, trust_weighted_rows, Excluded, ResolveError, TrustWeighted};

use crate::crdt::{Contribution, Dot, VersionVector};
use crate::hash::Digest;
use std::sync::Arc;

/// BLAKE3 derive-key contexts of the trust layer (distinct from
/// `crate::hash::Domain`'s).
pub mod ctx {
    /// Signed-operation digest (the message an originator signs).
    pub const SIGNED_OP: &str = "convergence-lab 2026-11 signed-op v1";
    /// Tensor attestation message.
    pub const TENSOR_ATTESTATION: &str = "convergence-lab 2026-11 tensor-attestation v1";
    /// PCO aggregate.
    pub const PCO_AGGREGATE: &str = "convergence-lab 2026-11 pco-aggregate v1";
    /// PCO payload digest.
    pub const PCO_PAYLOAD: &str = "convergence-lab 2026-11 pco-payload v1";
    /// Evidence record key.
    pub const EVIDENCE: &str = "convergence-lab 2026-11 evidence v1";
    /// One member of an evidence pair (canonical ordering).
    pub const EVIDENCE_MEMBER: &str = "convergence-lab 2026-11 evidence-member v1";
    /// Derived trust scores.
    pub const TRUST_SCORES: &str = "convergence-lab 2026-11 trust-scores v1";
    /// Roster digest.
    pub const ROSTER: &str = "convergence-lab 2026-11 roster v1";
    /// Batch-verification transcript.
    pub const ED25519_BATCH: &str = "convergence-lab 2026-11 ed25519-batch v1";
    /// Key of the ChaCha stream that draws identity secrets.
    pub const IDENTITY_KEY: &[u8] = b"convergence-lab 2026-11 ed25519-identity v1";
    /// Reference-semantics contrast model's trust root.
    pub const REFERENCE_ROOT: &str = "convergence-lab 2026-11 reference-trust-root v1";
}

/// A length-prefixed field encoder: every field is `u64 LE length ‖ bytes`.
/// Used both for digests and for evidence encodings, so the two agree.
pub(crate) struct Enc(Vec<u8>);

impl Enc {
    pub(crate) fn new() -> Enc {
        Enc(Vec::with_capacity(256))
    }

    pub(crate) fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.0
            .extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.field(&v.to_le_bytes())
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.field(&v.to_le_bytes())
    }

    pub(crate) fn f64(&mut self, v: f64) -> &mut Self {
        self.field(&v.to_bits().to_le_bytes())
    }

    pub(crate) fn digest(&mut self, d: &Digest) -> &mut Self {
        self.field(&d.0)
    }

    /// BLAKE3 derive-key digest of everything written, in `context`.
    pub(crate) fn digest_in(&self, context: &str) -> Digest {
        let mut h = blake3::Hasher::new_derive_key(context);
        h.update(&self.0);
        Digest(*h.finalize().as_bytes())
    }
}

/// Fixed-size byte arrays as serde bytes (postcard: raw bytes; JSON: a list).
pub(crate) mod wire_bytes {
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer, const N: usize>(b: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(b)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        struct V<const N: usize>;
        impl<'de, const N: usize> Visitor<'de> for V<N> {
            type Value = [u8; N];
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "{N} bytes")
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<[u8; N], E> {
                v.try_into().map_err(|_| E::invalid_length(v.len(), &self))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[u8; N], A::Error> {
                let mut out = [0u8; N];
                for (i, slot) in out.iter_mut().enumerate() {
                    *slot = seq
                        .next_element()?
                        .ok_or_else(|| A::Error::invalid_length(i, &self))?;
                }
                if seq.next_element::<u8>()?.is_some() {
                    return Err(A::Error::invalid_length(N + 1, &self));
                }
                Ok(out)
            }
        }
        d.deserialize_bytes(V::<N>)
    }
}

/// One node's trust machinery: its honest signer and its verifier.
#[derive(Debug)]
pub struct TrustNode {
    pub originator: Originator,
    pub verifier: Verifier,
}

impl TrustNode {
    /// The trust machinery of the node `identity` belongs to.
    pub fn new(identity: Identity, roster: Arc<Roster>) -> TrustNode {
        let me = identity.node();
        TrustNode {
            originator: Originator::new(identity),
            verifier: Verifier::new(me, roster),
        }
    }

    /// Signs the add the node's contribution set just made with `dot`,
    /// records it in the node's own verifier, and builds the one-operation
    /// PCO for it with the set's `context` (after the add) and the node's
    /// current trust root.
    pub fn publish(
        &mut self,
        contribution: &Contribution,
        dot: Dot,
        context: &VersionVector,
    ) -> Result<(SignedOp, PcoBundle), SignError> {
        let op = self.originator.sign(contribution, dot)?;
        // Our own, freshly signed operation: it verifies by construction.
        let _ = self.verifier.ingest_op(&op);
        let pco = self.originator.build_pco(
            dot.counter,
            dot.counter,
            context,
            self.verifier.trust().root(),
        )?;
        Ok((op, pco))
    }
}
