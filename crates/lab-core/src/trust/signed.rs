//! Signed contribution operations and tensor attestations.
//!
//! An [`OpBody`] is one add/update of a contribution exactly as it becomes a
//! row of the contribution set: `(originator, model_id, version, weight,
//! tensor digest, dot)` plus the HLC stamp. The stamp is signed too: it is
//! part of the contribution's record digest and decides last-writer-wins, so
//! a relay that could change it could change which value wins.
//!
//! The signed message is the 32-byte BLAKE3 derive-key digest (context
//! `"convergence-lab 2026-11 signed-op v1"`) of the fields, each
//! length-prefixed (u64 LE length, then the bytes; integers little-endian,
//! the weight as its IEEE-754 bits). An operation is identified by that
//! digest, never by its signature bytes.
//!
//! A [`TensorAttestation`] is the originator's signed statement "these
//! bytes (digest, length) are the tensor of operation X". Tensor payloads
//! travel with it. Without it, bytes that do not match an operation's digest
//! prove nothing (any relay could have sent them); with it, a mismatch is a
//! contradiction between two of the originator's own signatures — evidence
//! anyone can check.

use super::error::{MalformedOp, OpError, SignError};
use super::identity::{Identity, NodeId, Roster};
use super::sig::{self, SignatureBytes};
use super::{ctx, Enc};
use crate::crdt::{Contribution, Dot, Hlc, SetError, MODEL_ID_BYTES_MAX};
use crate::hash::{self, Digest, Domain};
use serde::{Deserialize, Serialize};

/// One add/update of a contribution, as signed by its originator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpBody {
    pub originator: NodeId,
    pub model_id: String,
    pub version: u32,
    pub weight: f64,
    /// Digest of the tensor's canonical bytes (`Tensor::digest`).
    pub tensor: Digest,
    /// The row's dot; `dot.replica` must be the originator.
    pub dot: Dot,
    /// The contribution's HLC stamp; `stamp.node` must be the originator.
    pub stamp: Hlc,
}

impl OpBody {
    /// The body for `contribution` added by `originator` with `dot`.
    pub fn new(originator: NodeId, contribution: &Contribution, dot: Dot) -> OpBody {
        OpBody {
            originator,
            model_id: contribution.model_id().to_string(),
            version: contribution.version(),
            weight: contribution.weight(),
            tensor: contribution.tensor(),
            dot,
            stamp: contribution.stamp(),
        }
    }

    /// Structural checks (no signature): what the CRDT requires of a
    /// contribution, plus dot and stamp belonging to the originator.
    pub fn validate(&self) -> Result<(), MalformedOp> {
        if self.model_id.is_empty() || self.model_id.len() > MODEL_ID_BYTES_MAX {
            return Err(MalformedOp::BadModelId(self.model_id.len()));
        }
        if self.version == 0 {
            return Err(MalformedOp::ZeroVersion);
        }
        if !self.weight.is_finite() {
            return Err(MalformedOp::NonFiniteWeight(self.weight));
        }
        if self.dot.counter == 0 {
            return Err(MalformedOp::ZeroCounter);
        }
        if self.dot.replica != self.originator {
            return Err(MalformedOp::ForeignDot {
                originator: self.originator,
                dot_replica: self.dot.replica,
            });
        }
        if self.stamp.node != self.originator {
            return Err(MalformedOp::ForeignStamp {
                originator: self.originator,
                stamp_node: self.stamp.node,
            });
        }
        Ok(())
    }

    /// The contribution this operation adds.
    pub fn contribution(&self) -> Result<Contribution, SetError> {
        Contribution::new(
            &self.model_id,
            self.version,
            self.weight,
            self.tensor,
            self.stamp,
        )
    }

    pub(crate) fn encode(&self, e: &mut Enc) {
        e.u32(self.originator)
            .field(self.model_id.as_bytes())
            .u32(self.version)
            .f64(self.weight)
            .digest(&self.tensor)
            .u32(self.dot.replica)
            .u64(self.dot.counter)
            .u64(self.stamp.time)
            .u32(self.stamp.logical)
            .u32(self.stamp.node);
    }

    /// The signed digest: the operation's identity.
    pub fn digest(&self) -> Digest {
        let mut e = Enc::new();
        self.encode(&mut e);
        e.digest_in(ctx::SIGNED_OP)
    }

    /// What equivocation compares: two operations of one `(model_id,
    /// version)` by one originator must carry the same weight and tensor.
    pub fn content(&self) -> (u64, Digest) {
        (self.weight.to_bits(), self.tensor)
    }
}

/// An operation with its originator's signature over [`OpBody::digest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignedOp {
    pub body: OpBody,
    pub signature: SignatureBytes,
}

impl SignedOp {
    /// Signs `body` with `identity` **without any protocol check** — what a
    /// Byzantine node uses. Honest nodes sign through [`super::Originator`].
    pub fn sign_unchecked(identity: &Identity, body: OpBody) -> SignedOp {
        let signature = identity.sign_bytes(&body.digest().0);
        SignedOp { body, signature }
    }

    /// The operation's identity (the signed digest).
    pub fn digest(&self) -> Digest {
        self.body.digest()
    }

    /// Structure, roster membership and signature.
    pub fn verify(&self, roster: &Roster) -> Result<(), OpError> {
        self.body.validate()?;
        let key = roster
            .key(self.body.originator)
            .ok_or(OpError::UnknownIdentity(self.body.originator))?;
        sig::verify(key, &self.body.digest().0, &self.signature).map_err(|reason| {
            OpError::BadSignature {
                originator: self.body.originator,
                reason,
            }
        })
    }
}

/// The originator's signed statement that tensor bytes with digest `bytes`
/// (in the tensor domain) and length `len` are the tensor of operation `op`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TensorAttestation {
    pub originator: NodeId,
    /// Digest of the operation ([`OpBody::digest`]).
    pub op: Digest,
    /// `hash::digest(Domain::Tensor, bytes)` of the bytes sent.
    pub bytes: Digest,
    pub len: u64,
    pub signature: SignatureBytes,
}

impl TensorAttestation {
    fn message(originator: NodeId, op: &Digest, bytes: &Digest, len: u64) -> Digest {
        let mut e = Enc::new();
        e.u32(originator).digest(op).digest(bytes).u64(len);
        e.digest_in(ctx::TENSOR_ATTESTATION)
    }

    /// Attests `bytes` for `op` **without checking** that they hash to the
    /// signed digest — what a corrupting node does. Honest nodes use
    /// [`super::Originator::attest`].
    pub fn sign_unchecked(identity: &Identity, op: &OpBody, bytes: &[u8]) -> TensorAttestation {
        let op_digest = op.digest();
        let bytes_digest = hash::digest(Domain::Tensor, bytes);
        let len = bytes.len() as u64;
        let msg = TensorAttestation::message(identity.node(), &op_digest, &bytes_digest, len);
        TensorAttestation {
            originator: identity.node(),
            op: op_digest,
            bytes: bytes_digest,
            len,
            signature: identity.sign_bytes(&msg.0),
        }
    }

    /// Checks the attestation's signature against the roster.
    pub fn verify(&self, roster: &Roster) -> Result<(), OpError> {
        let key = roster
            .key(self.originator)
            .ok_or(OpError::UnknownIdentity(self.originator))?;
        let msg = TensorAttestation::message(self.originator, &self.op, &self.bytes, self.len);
        sig::verify(key, &msg.0, &self.signature).map_err(|reason| OpError::BadSignature {
            originator: self.originator,
            reason,
        })
    }

    pub(crate) fn encode(&self, e: &mut Enc) {
        e.u32(self.originator)
            .digest(&self.op)
            .digest(&self.bytes)
            .u64(self.len)
            .field(&self.signature.0);
    }
}

/// Checks that the own-signing rules allow `body` (used by the originator).
pub(crate) fn check_own(me: NodeId, body: &OpBody) -> Result<(), SignError> {
    if body.originator != me {
        return Err(SignError::NotMine {
            me,
            claimed: body.originator,
        });
    }
    body.validate()?;
    Ok(())
}
