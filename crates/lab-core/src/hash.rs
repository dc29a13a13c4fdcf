//! Digests: BLAKE3 with domain separation, and an RFC 6962-style Merkle tree.
//!
//! Every digest the lab computes names its purpose through a [`Domain`]: two
//! byte strings that are equal but mean different things (a tensor, a Merkle
//! leaf, a report) never hash to the same value. Merkle trees follow RFC 6962
//! §2.1: a leaf is `H(0x00 ‖ data)`, an inner node `H(0x01 ‖ left ‖ right)`,
//! and a tree of n leaves splits at the largest power of two below n.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A 32-byte BLAKE3 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The all-zero digest, used as "absent" (e.g. no base model).
    pub const ZERO: Digest = Digest([0u8; 32]);

    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(char::from_digit((b >> 4) as u32, 16).unwrap_or('0'));
            s.push(char::from_digit((b & 15) as u32, 16).unwrap_or('0'));
        }
        s
    }

    /// The first 8 hex characters, for tables.
    pub fn short(&self) -> String {
        self.to_hex()[..8].to_string()
    }

    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Option<Digest> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Some(Digest(out))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.short())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// What a digest is about. Each domain is a distinct BLAKE3 derive-key
/// context, so digests of different kinds can never collide by construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// Canonical bytes of a tensor (shape + data).
    Tensor,
    /// A leaf or inner node of the contribution Merkle tree.
    Merkle,
    /// The replica configuration leaf (strategy, parameters, base, seed).
    Config,
    /// A contribution record (id, version, weight, tensor digest, stamp).
    Contribution,
    /// A causal context (version vector).
    Context,
    /// A whole replica (state digest + causal context).
    Replica,
    /// An experiment report fingerprint.
    Fingerprint,
    /// Seed material for ChaCha streams.
    Rng,
}

impl Domain {
    const ALL: [Domain; 8] = [
        Domain::Tensor,
        Domain::Merkle,
        Domain::Config,
        Domain::Contribution,
        Domain::Context,
        Domain::Replica,
        Domain::Fingerprint,
        Domain::Rng,
    ];

    /// A hasher already keyed for this domain (deriving the key costs a
    /// compression; cloning the keyed state is a copy).
    fn prototype(self) -> &'static blake3::Hasher {
        static PROTOTYPES: std::sync::OnceLock<Vec<blake3::Hasher>> = std::sync::OnceLock::new();
        let all = PROTOTYPES.get_or_init(|| {
            Domain::ALL
                .iter()
                .map(|d| blake3::Hasher::new_derive_key(d.context()))
                .collect()
        });
        &all[self as usize]
    }

    fn context(self) -> &'static str {
        match self {
            Domain::Tensor => "convergence-lab 2026-11 tensor v1",
            Domain::Merkle => "convergence-lab 2026-11 merkle v1",
            Domain::Config => "convergence-lab 2026-11 replica-config v1",
            Domain::Contribution => "convergence-lab 2026-11 contribution v1",
            Domain::Context => "convergence-lab 2026-11 causal-context v1",
            Domain::Replica => "convergence-lab 2026-11 replica v1",
            Domain::Fingerprint => "convergence-lab 2026-11 report-fingerprint v1",
            Domain::Rng => "convergence-lab 2026-11 rng-stream v1",
        }
    }
}

/// An incremental hasher bound to one domain. Variable-length fields should
/// be written with [`Hasher::field`] (length-prefixed) so that field
/// boundaries are unambiguous.
pub struct Hasher(blake3::Hasher);

impl Hasher {
    pub fn new(domain: Domain) -> Hasher {
        Hasher(domain.prototype().clone())
    }

    /// Appends raw bytes (for fixed-width fields).
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(bytes);
        self
    }

    /// Appends a length-prefixed variable-length field.
    pub fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }

    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.raw(&v.to_bits().to_le_bytes())
    }

    pub fn digest(&mut self, d: &Digest) -> &mut Self {
        self.raw(&d.0)
    }

    pub fn finish(&self) -> Digest {
        Digest(*self.0.finalize().as_bytes())
    }
}

/// One-shot digest of a byte string in a domain.
pub fn digest(domain: Domain, bytes: &[u8]) -> Digest {
    let mut h = Hasher::new(domain);
    h.raw(bytes);
    h.finish()
}

/// RFC 6962 leaf hash: `H(0x00 ‖ data)`.
pub fn merkle_leaf(data: &[u8]) -> Digest {
    let mut h = Hasher::new(Domain::Merkle);
    h.raw(&[0x00]).raw(data);
    h.finish()
}

/// RFC 6962 inner node hash: `H(0x01 ‖ left ‖ right)`.
pub fn merkle_node(left: &Digest, right: &Digest) -> Digest {
    let mut h = Hasher::new(Domain::Merkle);
    h.raw(&[0x01]).raw(&left.0).raw(&right.0);
    h.finish()
}

/// Merkle tree hash of already-hashed leaves (RFC 6962 §2.1). The empty tree
/// hashes as `H()` in the Merkle domain.
pub fn merkle_root(leaves: &[Digest]) -> Digest {
    match leaves.len() {
        0 => Hasher::new(Domain::Merkle).finish(),
        1 => leaves[0],
        n => {
            let k = largest_power_of_two_below(n);
            let left = merkle_root(&leaves[..k]);
            let right = merkle_root(&leaves[k..]);
            merkle_node(&left, &right)
        }
    }
}

/// Largest power of two strictly less than `n` (n ≥ 2).
fn largest_power_of_two_below(n: usize) -> usize {
    debug_assert!(n >= 2);
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prototypes_match_fresh_derive_keys() {
        for d in Domain::ALL {
            let mut fresh = blake3::Hasher::new_derive_key(d.context());
            fresh.update(b"abc");
            let mut h = Hasher::new(d);
            h.raw(b"abc");
            assert_eq!(h.finish().0, *fresh.finalize().as_bytes(), "{d:?}");
        }
    }

    #[test]
    fn domains_separate_equal_bytes() {
        assert_ne!(digest(Domain::Tensor, b"x"), digest(Domain::Config, b"x"));
    }

    #[test]
    fn leaf_and_node_prefixes_differ() {
        // A node over (a, b) must not equal a leaf whose data is a ‖ b.
        let a = merkle_leaf(b"a");
        let b = merkle_leaf(b"b");
        let mut cat = Vec::new();
        cat.extend_from_slice(&a.0);
        cat.extend_from_slice(&b.0);
        assert_ne!(merkle_node(&a, &b), merkle_leaf(&cat));
    }

    #[test]
    fn split_point_matches_rfc6962() {
        assert_eq!(largest_power_of_two_below(2), 1);
        assert_eq!(largest_power_of_two_below(3), 2);
        assert_eq!(largest_power_of_two_below(4), 2);
        assert_eq!(largest_power_of_two_below(5), 4);
        assert_eq!(largest_power_of_two_below(9), 8);
        let l: Vec<Digest> = (0u8..5).map(|i| merkle_leaf(&[i])).collect();
        let expect = merkle_node(
            &merkle_node(&merkle_node(&l[0], &l[1]), &merkle_node(&l[2], &l[3])),
            &l[4],
        );
        assert_eq!(merkle_root(&l), expect);
    }

    #[test]
    fn hex_round_trip() {
        let d = digest(Domain::Tensor, b"hello");
        assert_eq!(Digest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(Digest::from_hex("zz"), None);
    }
}
