//! The honest signing side of a node.
//!
//! [`Originator`] is the only way an honest node signs. It keeps the node
//! from ever signing two statements that contradict each other — which is
//! exactly what evidence is made of — so an honest node cannot be accused:
//!
//! - operations are signed in dot order: counter 1, 2, 3, … (the CRDT's own
//!   dots are dense per replica, so this holds for every `ContributionSet::add`);
//! - one `(model_id, version)` is never signed with two different `(weight,
//!   tensor)` — to change content, use a higher version;
//! - a tensor is attested only if its bytes hash to the signed digest;
//! - a PCO's context always holds at least the originator's own events up to
//!   the end of the delta.
//!
//! Byzantine behaviours bypass it with [`SignedOp::sign_unchecked`],
//! [`TensorAttestation::sign_unchecked`] and [`PcoBundle::build_unchecked`].

use super::error::{BuildError, SignError};
use super::identity::{Identity, NodeId};
use super::pco::{LogFrontier, PcoBundle, PCO_OPS_MAX};
use super::signed::{check_own, OpBody, SignedOp, TensorAttestation};
use crate::crdt::{Contribution, Dot, VersionVector};
use crate::hash::{self, Digest, Domain};
use std::collections::BTreeMap;

/// An honest node's signer and its own operation log.
#[derive(Debug)]
pub struct Originator {
    identity: Identity,
    /// Own operations; `log[i]` has dot counter `i + 1`.
    log: Vec<OpBody>,
    /// `roots[i]`: Merkle root of the log after `i + 1` operations.
    roots: Vec<Digest>,
    frontier: LogFrontier,
    /// `(model_id, version)` → signed `(weight bits, tensor)`.
    signed: BTreeMap<(String, u32), (u64, Digest)>,
}

impl Originator {
    /// A signer with an empty log.
    pub fn new(identity: Identity) -> Originator {
        Originator {
            identity,
            log: Vec::new(),
            roots: Vec::new(),
            frontier: LogFrontier::new(),
            signed: BTreeMap::new(),
        }
    }

    /// The node's identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The node's id.
    pub fn node(&self) -> NodeId {
        self.identity.node()
    }

    /// The counter the next signed operation must have.
    pub fn next_counter(&self) -> u64 {
        self.log.len() as u64 + 1
    }

    /// Own operations signed so far (`ops()[i]` has counter `i + 1`).
    pub fn ops(&self) -> &[OpBody] {
        &self.log
    }

    /// Merkle root of the own log.
    pub fn log_root(&self) -> Digest {
        self.frontier.root()
    }

    /// Signs the add of `contribution` that the node's contribution set
    /// performed with `dot`.
    pub fn sign(&mut self, contribution: &Contribution, dot: Dot) -> Result<SignedOp, SignError> {
        self.sign_body(OpBody::new(self.node(), contribution, dot))
    }

    /// Signs `body` after the honest-signing checks (module docs).
    pub fn sign_body(&mut self, body: OpBody) -> Result<SignedOp, SignError> {
        let me = self.node();
        check_own(me, &body)?;
        if body.dot.counter != self.next_counter() {
            return Err(SignError::NotNextDot {
                me,
                expected: self.next_counter(),
                got: body.dot.counter,
            });
        }
        let key = (body.model_id.clone(), body.version);
        if let Some(content) = self.signed.get(&key) {
            if *content != body.content() {
                return Err(SignError::WouldEquivocate {
                    model_id: body.model_id.clone(),
                    version: body.version,
                });
            }
        }
        let op = SignedOp::sign_unchecked(&self.identity, body);
        self.signed.entry(key).or_insert_with(|| op.body.content());
        self.frontier.push(&op.digest());
        self.roots.push(self.frontier.root());
        self.log.push(op.body.clone());
        Ok(op)
    }

    /// Attests the canonical tensor bytes of one of the node's operations.
    pub fn attest(&self, op: &OpBody, bytes: &[u8]) -> Result<TensorAttestation, SignError> {
        check_own(self.node(), op)?;
        let got = hash::digest(Domain::Tensor, bytes);
        if got != op.tensor {
            return Err(SignError::TensorMismatch {
                expected: op.tensor,
                got,
            });
        }
        Ok(TensorAttestation::sign_unchecked(&self.identity, op, bytes))
    }

    /// Builds the PCO for own operations `lo..=hi`, with the node's current
    /// causal context and trust root.
    pub fn build_pco(
        &self,
        lo: u64,
        hi: u64,
        context: &VersionVector,
        trust_root: Digest,
    ) -> Result<PcoBundle, SignError> {
        if lo == 0 || lo > hi {
            return Err(SignError::BadBounds { lo, hi });
        }
        if hi > self.log.len() as u64 {
            return Err(SignError::UnknownCounter(hi));
        }
        let count = (hi - lo + 1) as usize;
        if count > PCO_OPS_MAX {
            return Err(BuildError::PayloadSize {
                got: count,
                max: PCO_OPS_MAX,
            }
            .into());
        }
        let own = context.get(self.node());
        if own < hi {
            return Err(SignError::ContextBehind { own, hi });
        }
        let payload = self.log[(lo - 1) as usize..hi as usize].to_vec();
        let root = self.roots[(hi - 1) as usize];
        Ok(PcoBundle::build_unchecked(
            &self.identity,
            payload,
            context.clone(),
            root,
            trust_root,
            lo,
            hi,
        )?)
    }
}
