//! Ed25519 verification with **one equation for single and batch checks**.
//!
//! Signing is RFC 8032 Ed25519 as implemented by `ed25519-dalek` (deterministic
//! nonces, no randomness). Verification uses the *cofactored* group equation of
//! RFC 8032 §5.1.7,
//!
//! ```text
//! [8]·(s·B − k·A − R) = 0,   k = SHA-512(R ‖ A ‖ M) mod ℓ,
//! ```
//!
//! both for one signature and, with random 128-bit coefficients `zᵢ`, for a
//! batch: `[8]·Σ zᵢ·(Rᵢ + kᵢ·Aᵢ − sᵢ·B) = 0`.
//!
//! Why not `ed25519_dalek::verify_strict` + `ed25519_dalek::verify_batch`? The
//! dalek batch equation is *cofactorless*: for a signature whose `R` carries a
//! small torsion component (which only the key's owner can make), whether the
//! batch passes depends on the random coefficient of that signature modulo the
//! torsion order — and dalek derives the coefficients from the whole batch.
//! Two honest nodes that receive the same operation in different batches could
//! then disagree about it, and their contribution sets would diverge for good.
//! With the cofactored equation single and batch verification accept exactly
//! the same signatures (up to the 2⁻¹²⁵ soundness error of the batch), so the
//! verdict never depends on how a node happened to group its work.
//! (`tests/trust.rs` demonstrates the difference on a torsion signature.)
//!
//! Additional strictness, identical in both paths: `R` and `A` must be
//! canonical encodings (y < p), neither may have small order, `s` must be
//! canonical (< ℓ), and roster keys must be torsion-free (checked once, when
//! the roster is built). No third party can produce a second valid signature
//! from a given one (no malleability); the key's owner can of course sign the
//! same message many times, so an operation is identified by its *signed
//! digest*, never by its signature bytes.
//!
//! The batch coefficients come from a ChaCha stream keyed by a BLAKE3
//! transcript of every input (Fiat–Shamir, as dalek does with merlin): no RNG
//! state, no OS randomness. The randomness only affects soundness (a batch of
//! forgeries passing with probability ≤ 2⁻¹²⁵), never the verdict on honest or
//! on individually invalid inputs: a failing batch falls back to one check per
//! signature.

use crate::rng::{Purpose, Stream};
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha512};
use std::fmt;
use thiserror::Error;

use super::{ctx, wire_bytes};

/// A 64-byte Ed25519 signature `R ‖ s`, as it travels on the wire.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SignatureBytes(pub [u8; 64]);

impl SignatureBytes {
    /// The all-zero "signature" the reference's 0.9.5 PCOs carried.
    pub const ZERO: SignatureBytes = SignatureBytes([0u8; 64]);
}

impl fmt::Debug for SignatureBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sig(")?;
        for b in &self.0[..6] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

impl Serialize for SignatureBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        wire_bytes::serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for SignatureBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        wire_bytes::deserialize::<D, 64>(d).map(SignatureBytes)
    }
}

/// Why a public key cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error("the key is not a canonical point encoding (y ≥ p)")]
    NonCanonical,
    #[error("the key does not decode to a curve point")]
    NotAPoint,
    #[error("the key is a point of small order")]
    SmallOrder,
    #[error("the key has a torsion component (not in the prime-order subgroup)")]
    Torsion,
}

/// Why a signature was rejected. None of these is evidence against anyone:
/// anybody can put any bytes next to any claimed sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SigError {
    #[error("R is not a canonical point encoding")]
    NonCanonicalR,
    #[error("R does not decode to a curve point")]
    InvalidR,
    #[error("R has small order")]
    SmallOrderR,
    #[error("s is not a canonical scalar (s ≥ ℓ)")]
    NonCanonicalS,
    #[error("the verification equation does not hold")]
    Equation,
}

/// A verified-usable Ed25519 public key: canonical encoding, prime order.
#[derive(Clone)]
pub struct PublicKey {
    bytes: [u8; 32],
    neg_point: EdwardsPoint,
    point: EdwardsPoint,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(")?;
        for b in &self.bytes[..6] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}
impl Eq for PublicKey {}

impl PublicKey {
    /// Parses and checks a 32-byte public key (canonical, not small order,
    /// torsion-free). External keys go through here.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<PublicKey, KeyError> {
        if !y_is_canonical(&bytes) {
            return Err(KeyError::NonCanonical);
        }
        let point = CompressedEdwardsY(bytes)
            .decompress()
            .ok_or(KeyError::NotAPoint)?;
        if point.is_small_order() {
            return Err(KeyError::SmallOrder);
        }
        if !point.is_torsion_free() {
            return Err(KeyError::Torsion);
        }
        Ok(PublicKey {
            bytes,
            neg_point: -point,
            point,
        })
    }

    /// A key computed from a secret (`A = a·B`): prime order by construction,
    /// so the expensive torsion check is skipped.
    pub(crate) fn from_dalek(key: &ed25519_dalek::VerifyingKey) -> PublicKey {
        let point = key.to_edwards();
        PublicKey {
            bytes: key.to_bytes(),
            neg_point: -point,
            point,
        }
    }

    /// The 32-byte encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The decompressed point (for tests and tooling).
    pub fn point(&self) -> EdwardsPoint {
        self.point
    }
}

/// Whether the y coordinate encoded in `b` (bit 255 is the sign of x) is
/// below p = 2²⁵⁵ − 19. The 19 non-canonical values are
/// `0x7fff…ffed ..= 0x7fff…ffff`.
fn y_is_canonical(b: &[u8; 32]) -> bool {
    let top = b[31] & 0x7f;
    !(top == 0x7f && b[1..31].iter().all(|&x| x == 0xff) && b[0] >= 0xed)
}

/// A signature parsed against its key and message, ready for the equation.
struct Prepared {
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

fn prepare(key: &PublicKey, msg: &[u8], sig: &SignatureBytes) -> Result<Prepared, SigError> {
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&sig.0[..32]);
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&sig.0[32..]);
    if !y_is_canonical(&r_bytes) {
        return Err(SigError::NonCanonicalR);
    }
    let r = CompressedEdwardsY(r_bytes)
        .decompress()
        .ok_or(SigError::InvalidR)?;
    if r.is_small_order() {
        return Err(SigError::SmallOrderR);
    }
    let s: Option<Scalar> = Scalar::from_canonical_bytes(s_bytes).into();
    let s = s.ok_or(SigError::NonCanonicalS)?;
    let h = Sha512::new()
        .chain_update(r_bytes)
        .chain_update(key.bytes)
        .chain_update(msg)
        .finalize();
    let mut wide = [0u8; 64];
    wide.copy_from_slice(h.as_slice());
    let k = Scalar::from_bytes_mod_order_wide(&wide);
    Ok(Prepared { r, s, k })
}

fn equation_holds(key: &PublicKey, p: &Prepared) -> bool {
    // s·B − k·A, then subtract R and clear the cofactor.
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&p.k, &key.neg_point, &p.s);
    (sb_minus_ka - p.r).mul_by_cofactor().is_identity()
}

/// Verifies one signature (cofactored equation, strict encodings).
pub fn verify(key: &PublicKey, msg: &[u8], sig: &SignatureBytes) -> Result<(), SigError> {
    let p = prepare(key, msg, sig)?;
    if equation_holds(key, &p) {
        Ok(())
    } else {
        Err(SigError::Equation)
    }
}

/// One item of a batch: key, message, signature.
pub type BatchItem<'a> = (&'a PublicKey, &'a [u8], &'a SignatureBytes);

/// Verifies many signatures at once. The result for every item is exactly
/// what [`verify`] would say (up to the batch's 2⁻¹²⁵ soundness error), in
/// input order. One multi-scalar multiplication checks all well-formed
/// items; only if it fails is each item checked on its own.
pub fn verify_batch(items: &[BatchItem<'_>]) -> Vec<Result<(), SigError>> {
    let mut out: Vec<Result<(), SigError>> = Vec::with_capacity(items.len());
    let mut prepared: Vec<(usize, Prepared)> = Vec::with_capacity(items.len());
    for (i, (key, msg, sig)) in items.iter().enumerate() {
        match prepare(key, msg, sig) {
            Ok(p) => {
                out.push(Ok(()));
                prepared.push((i, p));
            }
            Err(e) => out.push(Err(e)),
        }
    }
    match prepared.len() {
        0 => return out,
        1 => {
            let (i, p) = &prepared[0];
            if !equation_holds(items[*i].0, p) {
                out[*i] = Err(SigError::Equation);
            }
            return out;
        }
        _ => {}
    }
    // Fiat–Shamir coefficients from a transcript of every prepared input.
    let mut t = blake3::Hasher::new_derive_key(ctx::ED25519_BATCH);
    t.update(&(prepared.len() as u64).to_le_bytes());
    for (i, p) in &prepared {
        let (key, _, sig) = items[*i];
        t.update(&key.bytes);
        t.update(&sig.0);
        t.update(p.k.as_bytes());
    }
    let transcript = t.finalize();
    let mut stream = Stream::keyed(0, Purpose::Other, &[], transcript.as_bytes());
    let n = prepared.len();
    let mut scalars: Vec<Scalar> = Vec::with_capacity(2 * n + 1);
    let mut points: Vec<EdwardsPoint> = Vec::with_capacity(2 * n + 1);
    let mut b_coeff = Scalar::ZERO;
    scalars.push(Scalar::ZERO); // placeholder for −Σ zᵢsᵢ
    points.push(ED25519_BASEPOINT_POINT);
    for (i, p) in &prepared {
        let z = ((stream.next_u64() as u128) << 64 | stream.next_u64() as u128) | 1;
        let z = Scalar::from(z);
        b_coeff += z * p.s;
        scalars.push(z);
        points.push(p.r);
        scalars.push(z * p.k);
        points.push(items[*i].0.point);
    }
    scalars[0] = -b_coeff;
    let sum = EdwardsPoint::vartime_multiscalar_mul(scalars.iter(), points.iter());
    if sum.mul_by_cofactor().is_identity() {
        return out;
    }
    for (i, p) in &prepared {
        if !equation_holds(items[*i].0, p) {
            out[*i] = Err(SigError::Equation);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn key(i: u8) -> (SigningKey, PublicKey) {
        let sk = SigningKey::from_bytes(&[i; 32]);
        let pk = PublicKey::from_dalek(&sk.verifying_key());
        (sk, pk)
    }

    #[test]
    fn dalek_signatures_verify_and_tampering_fails() {
        let (sk, pk) = key(7);
        let sig = SignatureBytes(sk.sign(b"hello").to_bytes());
        assert_eq!(verify(&pk, b"hello", &sig), Ok(()));
        assert_eq!(verify(&pk, b"hellp", &sig), Err(SigError::Equation));
        let (_, other) = key(8);
        assert_eq!(verify(&other, b"hello", &sig), Err(SigError::Equation));
        assert!(verify(&pk, b"hello", &SignatureBytes::ZERO).is_err());
        assert_eq!(PublicKey::from_bytes(pk.bytes).unwrap(), pk);
    }

    #[test]
    fn batch_matches_single() {
        let keys: Vec<_> = (0..6).map(key).collect();
        let msgs: Vec<Vec<u8>> = (0..6).map(|i| vec![i as u8; 10 + i]).collect();
        let mut sigs: Vec<SignatureBytes> = keys
            .iter()
            .zip(&msgs)
            .map(|((sk, _), m)| SignatureBytes(sk.sign(m).to_bytes()))
            .collect();
        sigs[3].0[40] ^= 1;
        sigs[5] = SignatureBytes([0xff; 64]);
        let items: Vec<BatchItem> = (0..6)
            .map(|i| (&keys[i].1, msgs[i].as_slice(), &sigs[i]))
            .collect();
        let batch = verify_batch(&items);
        let single: Vec<_> = items.iter().map(|(k, m, s)| verify(k, m, s)).collect();
        assert_eq!(batch, single);
        assert!(batch[0].is_ok() && batch[3].is_err() && batch[5].is_err());
    }

    #[test]
    fn non_canonical_y_is_detected() {
        let mut b = [0xffu8; 32];
        b[31] = 0x7f;
        b[0] = 0xed;
        assert!(!y_is_canonical(&b));
        b[0] = 0xec;
        assert!(y_is_canonical(&b));
        b[31] = 0xff; // sign bit does not matter
        assert!(y_is_canonical(&b));
    }
}
