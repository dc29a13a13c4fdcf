//! Identities: deterministic Ed25519 key pairs and the roster.
//!
//! Node `i` of a run with seed `s` has the 32-byte Ed25519 secret drawn from
//! the ChaCha stream keyed by `(s, Purpose::Other, [i], "convergence-lab
//! 2026-11 ed25519-identity v1")`. Anyone who knows the seed can recompute
//! every secret — that is what makes a run reproducible, and it is fine for a
//! *simulation* whose security model is "a node only uses its own secret". It
//! is not a way to make real keys.
//!
//! The [`Roster`] is the membership list every node knows at start: node id →
//! public key. An identity outside it (an index past its end, or a key that is
//! not in it) is rejected before anything else is looked at.

use super::ctx;
use super::sig::{KeyError, PublicKey, SignatureBytes};
use crate::crdt::ReplicaId;
use crate::hash::Digest;
use crate::rng::{Purpose, Stream};
use ed25519_dalek::{Signer, SigningKey};
use std::fmt;
use thiserror::Error;

/// A node's identity on the roster (the same numbers as the CRDT's replica ids).
pub type NodeId = ReplicaId;

/// Most members a roster may have.
pub const ROSTER_MAX: usize = 100_000;

/// A node's key pair. The secret is not printed and not serialised, and is
/// zeroised on drop by `ed25519-dalek`; [`Identity::dalek`] exposes the
/// key only for benchmarks and tests that compare against `ed25519-dalek`.
pub struct Identity {
    node: NodeId,
    signing: SigningKey,
    public: PublicKey,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("node", &self.node)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// The identity of `node` in a run with `seed`.
    pub fn derive(seed: u64, node: NodeId) -> Identity {
        let mut stream = Stream::keyed(seed, Purpose::Other, &[node as u64], ctx::IDENTITY_KEY);
        let mut secret = [0u8; 32];
        for chunk in secret.chunks_mut(8) {
            chunk.copy_from_slice(&stream.next_u64().to_le_bytes());
        }
        Identity::from_secret(node, secret)
    }

    /// An identity from explicit secret bytes (tests, outsiders, forgers).
    pub fn from_secret(node: NodeId, secret: [u8; 32]) -> Identity {
        let signing = SigningKey::from_bytes(&secret);
        let public = PublicKey::from_dalek(&signing.verifying_key());
        Identity {
            node,
            signing,
            public,
        }
    }

    /// The node id this identity *claims*. Only the roster makes it true.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs raw bytes. Every message the trust layer signs is either a
    /// 32-byte digest from a dedicated BLAKE3 derive-key context or the
    /// 64-byte PCO `aggregate ‖ metadata`, so messages of different kinds
    /// can never be confused.
    pub fn sign_bytes(&self, msg: &[u8]) -> SignatureBytes {
        SignatureBytes(self.signing.sign(msg).to_bytes())
    }

    /// The underlying `ed25519-dalek` key (benchmarks compare against it).
    pub fn dalek(&self) -> &SigningKey {
        &self.signing
    }
}

/// Why a roster could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RosterError {
    #[error("a roster must have 1..={ROSTER_MAX} members, got {0}")]
    Size(usize),
    #[error("member {index}: {reason}")]
    BadKey { index: usize, reason: KeyError },
    #[error("members {first} and {second} share one public key")]
    DuplicateKey { first: usize, second: usize },
}

/// The membership list: node id (= index) → public key.
#[derive(Clone, Debug)]
pub struct Roster {
    keys: Vec<PublicKey>,
    digest: Digest,
}

impl Roster {
    /// The roster of nodes `0..n` of a run with `seed`, and their identities.
    pub fn derive(seed: u64, n: u32) -> Result<(Roster, Vec<Identity>), RosterError> {
        if n == 0 || n as usize > ROSTER_MAX {
            return Err(RosterError::Size(n as usize));
        }
        let ids: Vec<Identity> = (0..n).map(|i| Identity::derive(seed, i)).collect();
        let roster = Roster::build(ids.iter().map(|i| i.public.clone()).collect())?;
        Ok((roster, ids))
    }

    /// A roster from public keys received from elsewhere (each key checked).
    pub fn from_public_keys(keys: &[[u8; 32]]) -> Result<Roster, RosterError> {
        if keys.is_empty() || keys.len() > ROSTER_MAX {
            return Err(RosterError::Size(keys.len()));
        }
        let mut parsed = Vec::with_capacity(keys.len());
        for (index, k) in keys.iter().enumerate() {
            parsed.push(
                PublicKey::from_bytes(*k)
                    .map_err(|reason| RosterError::BadKey { index, reason })?,
            );
        }
        Roster::build(parsed)
    }

    fn build(keys: Vec<PublicKey>) -> Result<Roster, RosterError> {
        let mut sorted: Vec<(&[u8; 32], usize)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_bytes(), i))
            .collect();
        sorted.sort();
        for w in sorted.windows(2) {
            if w[0].0 == w[1].0 {
                let (a, b) = (w[0].1.min(w[1].1), w[0].1.max(w[1].1));
                return Err(RosterError::DuplicateKey {
                    first: a,
                    second: b,
                });
            }
        }
        let mut h = blake3::Hasher::new_derive_key(ctx::ROSTER);
        h.update(&(keys.len() as u64).to_le_bytes());
        for k in &keys {
            h.update(k.as_bytes());
        }
        Ok(Roster {
            keys,
            digest: Digest(*h.finalize().as_bytes()),
        })
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the roster is empty (never, once built).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key of `node`, or `None` for an identity outside the roster.
    pub fn key(&self, node: NodeId) -> Option<&PublicKey> {
        self.keys.get(node as usize)
    }

    /// Whether `node` is a member.
    pub fn contains(&self, node: NodeId) -> bool {
        (node as usize) < self.keys.len()
    }

    /// Which member holds `key`, if any.
    pub fn member_of(&self, key: &[u8; 32]) -> Option<NodeId> {
        self.keys
            .iter()
            .position(|k| k.as_bytes() == key)
            .map(|i| i as NodeId)
    }

    /// Digest of the whole membership list (ordered keys).
    pub fn digest(&self) -> Digest {
        self.digest
    }
}
