//! Self-certifying evidence.
//!
//! A record is evidence only if anyone holding the roster can check it from
//! the record alone: it always consists of statements *signed by the
//! accused* (directly, or bound by a PCO it signed) that contradict each
//! other. An honest node never signs contradicting statements (the
//! [`super::Originator`] refuses to), so honest nodes cannot be accused.
//!
//! | kind | what it contains | what is checked |
//! |---|---|---|
//! | equivocation | two authenticated ops | same originator, same `(model_id, version)`, different `(weight, tensor)` |
//! | invalid content | an authenticated op + the originator's signed tensor attestation | the attestation names the op, and the attested bytes' digest (computed by the receiver from the bytes it got) differs from the signed tensor digest |
//! | causality: dot reuse | two authenticated ops | same dot, different operations |
//! | causality: context behind dot | one PCO | its signed context holds fewer events of the originator than its own delta ends at |
//!
//! Bad signatures, unknown identities and bytes that do not match an
//! attestation are *not* evidence (anyone can forge a "from" field or
//! corrupt a relay) — they are dropped and counted by the receiver.
//!
//! Pairs are stored in canonical order (by the digest of each member's
//! encoding), so the same two statements always make the same record.

use super::error::EvidenceError;
use super::identity::{NodeId, Roster};
use super::pco::PcoBundle;
use super::sig::SignatureBytes;
use super::signed::{OpBody, SignedOp, TensorAttestation};
use super::{ctx, Enc};
use crate::hash::Digest;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How an operation is authenticated: its own signature, or membership in
/// the payload of a PCO its originator signed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OpProof {
    Signature(SignatureBytes),
    Pco(Arc<PcoBundle>),
}

/// An operation with a proof that its originator stated it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthOp {
    pub body: OpBody,
    pub proof: OpProof,
}

impl From<SignedOp> for AuthOp {
    fn from(op: SignedOp) -> AuthOp {
        AuthOp {
            body: op.body,
            proof: OpProof::Signature(op.signature),
        }
    }
}

impl AuthOp {
    /// Checks the proof against the roster. `which` names the member in
    /// errors.
    pub fn verify(&self, roster: &Roster, which: &'static str) -> Result<(), EvidenceError> {
        match &self.proof {
            OpProof::Signature(sig) => SignedOp {
                body: self.body.clone(),
                signature: *sig,
            }
            .verify(roster)
            .map_err(|reason| EvidenceError::Op { which, reason }),
            OpProof::Pco(bundle) => {
                bundle
                    .check_binding(roster)
                    .map_err(|reason| EvidenceError::Pco { which, reason })?;
                if bundle.claims.payload.iter().any(|op| op == &self.body) {
                    Ok(())
                } else {
                    Err(EvidenceError::NotInPayload { which })
                }
            }
        }
    }

    pub(crate) fn encode(&self, e: &mut Enc) {
        self.body.encode(e);
        match &self.proof {
            OpProof::Signature(sig) => {
                e.field(b"signature").field(&sig.0);
            }
            OpProof::Pco(bundle) => {
                e.field(b"pco");
                bundle.encode(e);
            }
        }
    }

    /// Digest of the member's full encoding (orders pairs canonically).
    pub fn member_digest(&self) -> Digest {
        let mut e = Enc::new();
        self.encode(&mut e);
        e.digest_in(ctx::EVIDENCE_MEMBER)
    }
}

/// Contradictions about causality.
// Records are rare and short-lived on the stack; boxing the pair would only
// add an indirection to every encoding.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CausalityViolation {
    /// Two different operations with the same dot.
    DotReuse { a: AuthOp, b: AuthOp },
    /// A PCO whose signed context holds fewer events of its originator than
    /// the delta's upper bound.
    ContextBehindDot { pco: Arc<PcoBundle> },
}

/// A self-certifying record of misbehaviour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Evidence {
    /// Two authenticated operations by one originator for the same
    /// `(model_id, version)` with different weight or tensor.
    Equivocation { a: AuthOp, b: AuthOp },
    /// An authenticated operation and the originator's attestation of bytes
    /// that do not hash to the operation's signed tensor digest. The
    /// attestation's `bytes` is the digest the receiver computed from the
    /// bytes it received (it checked them before building the record).
    InvalidContent {
        op: AuthOp,
        attestation: TensorAttestation,
    },
    /// A causality violation.
    Causality(CausalityViolation),
}

/// The kind of a record (for reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    Equivocation,
    InvalidContent,
    DotReuse,
    ContextBehindDot,
}

/// What a record proves, reduced to the offence it establishes; several
/// records of one offence (e.g. the same fork seen with different
/// signatures) count once in the scores.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Offence {
    Equivocation { model_id: String, version: u32 },
    InvalidContent { op: Digest },
    DotReuse { counter: u64 },
    ContextBehindDot { aggregate: Digest },
}

fn ordered(a: AuthOp, b: AuthOp) -> (AuthOp, AuthOp) {
    if a.member_digest() <= b.member_digest() {
        (a, b)
    } else {
        (b, a)
    }
}

impl Evidence {
    /// An equivocation record (members put in canonical order).
    pub fn equivocation(a: AuthOp, b: AuthOp) -> Evidence {
        let (a, b) = ordered(a, b);
        Evidence::Equivocation { a, b }
    }

    /// A dot-reuse record (members put in canonical order).
    pub fn dot_reuse(a: AuthOp, b: AuthOp) -> Evidence {
        let (a, b) = ordered(a, b);
        Evidence::Causality(CausalityViolation::DotReuse { a, b })
    }

    /// The node the record accuses (as claimed; [`Evidence::verify`] proves it).
    pub fn accused(&self) -> NodeId {
        match self {
            Evidence::Equivocation { a, .. } => a.body.originator,
            Evidence::InvalidContent { op, .. } => op.body.originator,
            Evidence::Causality(CausalityViolation::DotReuse { a, .. }) => a.body.originator,
            Evidence::Causality(CausalityViolation::ContextBehindDot { pco }) => pco.originator(),
        }
    }

    /// The record's kind.
    pub fn kind(&self) -> EvidenceKind {
        match self {
            Evidence::Equivocation { .. } => EvidenceKind::Equivocation,
            Evidence::InvalidContent { .. } => EvidenceKind::InvalidContent,
            Evidence::Causality(CausalityViolation::DotReuse { .. }) => EvidenceKind::DotReuse,
            Evidence::Causality(CausalityViolation::ContextBehindDot { .. }) => {
                EvidenceKind::ContextBehindDot
            }
        }
    }

    fn encode(&self, e: &mut Enc) {
        match self {
            Evidence::Equivocation { a, b } => {
                e.field(b"equivocation");
                a.encode(e);
                b.encode(e);
            }
            Evidence::InvalidContent { op, attestation } => {
                e.field(b"invalid-content");
                op.encode(e);
                attestation.encode(e);
            }
            Evidence::Causality(CausalityViolation::DotReuse { a, b }) => {
                e.field(b"dot-reuse");
                a.encode(e);
                b.encode(e);
            }
            Evidence::Causality(CausalityViolation::ContextBehindDot { pco }) => {
                e.field(b"context-behind-dot");
                pco.encode(e);
            }
        }
    }

    /// The record's key in the trust state: BLAKE3 (`"… evidence v1"`) of
    /// its full length-prefixed encoding.
    pub fn digest(&self) -> Digest {
        let mut e = Enc::new();
        self.encode(&mut e);
        e.digest_in(ctx::EVIDENCE)
    }

    fn offence(&self) -> Offence {
        match self {
            Evidence::Equivocation { a, .. } => Offence::Equivocation {
                model_id: a.body.model_id.clone(),
                version: a.body.version,
            },
            Evidence::InvalidContent { op, .. } => Offence::InvalidContent {
                op: op.body.digest(),
            },
            Evidence::Causality(CausalityViolation::DotReuse { a, .. }) => Offence::DotReuse {
                counter: a.body.dot.counter,
            },
            Evidence::Causality(CausalityViolation::ContextBehindDot { pco }) => {
                Offence::ContextBehindDot {
                    aggregate: pco.header.aggregate,
                }
            }
        }
    }

    /// Checks the record from itself and the roster alone.
    pub fn verify(self, roster: &Roster) -> Result<VerifiedEvidence, EvidenceError> {
        match &self {
            Evidence::Equivocation { a, b } => {
                a.verify(roster, "a")?;
                b.verify(roster, "b")?;
                if a.body.originator != b.body.originator {
                    return Err(EvidenceError::DifferentOriginators);
                }
                if a.body.model_id != b.body.model_id || a.body.version != b.body.version {
                    return Err(EvidenceError::DifferentKeys);
                }
                if a.body.content() == b.body.content() {
                    return Err(EvidenceError::SameContent);
                }
                if a.member_digest() >= b.member_digest() {
                    return Err(EvidenceError::NotCanonical);
                }
            }
            Evidence::Causality(CausalityViolation::DotReuse { a, b }) => {
                a.verify(roster, "a")?;
                b.verify(roster, "b")?;
                // validate() ties each dot to its originator, so equal dots
                // mean one originator.
                if a.body.dot != b.body.dot {
                    return Err(EvidenceError::DifferentDots);
                }
                if a.body.digest() == b.body.digest() {
                    return Err(EvidenceError::SameOperation);
                }
                if a.member_digest() >= b.member_digest() {
                    return Err(EvidenceError::NotCanonical);
                }
            }
            Evidence::InvalidContent { op, attestation } => {
                op.verify(roster, "op")?;
                if attestation.originator != op.body.originator
                    || attestation.op != op.body.digest()
                {
                    return Err(EvidenceError::AttestationMismatch);
                }
                attestation.verify(roster).map_err(|e| match e {
                    super::error::OpError::BadSignature { reason, .. } => {
                        EvidenceError::AttestationSignature(reason)
                    }
                    other => EvidenceError::Op {
                        which: "attestation",
                        reason: other,
                    },
                })?;
                if attestation.bytes == op.body.tensor {
                    return Err(EvidenceError::ContentMatches);
                }
            }
            Evidence::Causality(CausalityViolation::ContextBehindDot { pco }) => {
                pco.check_binding(roster)
                    .map_err(|reason| EvidenceError::Pco {
                        which: "pco",
                        reason,
                    })?;
                let (_, hi) = pco.bounds();
                if pco.claims.context.get(pco.originator()) >= hi {
                    return Err(EvidenceError::ContextConsistent);
                }
            }
        }
        let digest = self.digest();
        let accused = self.accused();
        let offence = self.offence();
        Ok(VerifiedEvidence {
            evidence: Arc::new(self),
            digest,
            accused,
            offence,
        })
    }
}

/// A record that passed [`Evidence::verify`]; the only thing the trust
/// state accepts.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedEvidence {
    evidence: Arc<Evidence>,
    digest: Digest,
    accused: NodeId,
    offence: Offence,
}

impl VerifiedEvidence {
    /// The record.
    pub fn evidence(&self) -> &Evidence {
        &self.evidence
    }

    /// Its key.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The proven offender.
    pub fn accused(&self) -> NodeId {
        self.accused
    }

    /// The offence it proves.
    pub fn offence(&self) -> &Offence {
        &self.offence
    }
}
