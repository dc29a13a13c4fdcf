//! Seeded random streams. Every random choice in the lab comes from a ChaCha8
//! stream whose key is derived from `(seed, purpose, ids)` — never from a
//! thread-local or OS generator, never from timing. Two streams with
//! different purposes or ids are independent; the same key always yields the
//! same sequence on every platform.
//!
//! The sampling helpers (uniform f64, bounded integers, Gaussians, shuffles)
//! are written here rather than taken from `rand`, so that a dependency
//! upgrade can never change a fingerprint. Transcendentals come from `libm`.

use crate::hash::{Domain, Hasher};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// What a stream is used for; part of its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Synthetic tensor data for one contribution.
    Tensor,
    /// The base model of a synthetic workload.
    Base,
    /// The all-pairs schedule of one ordering (node order, target orders).
    Schedule,
    /// Peer choices of one node in one round.
    Peers,
    /// The order in which one node applies its deliveries in one round.
    DeliveryOrder,
    /// Message faults (loss, duplication, delay) on one link in one round.
    Faults,
    /// Stochastic merge strategies (literature family).
    Strategy,
    /// Anything else a caller needs; give it distinct ids.
    Other,
}

impl Purpose {
    fn tag(self) -> &'static [u8] {
        match self {
            Purpose::Tensor => b"tensor",
            Purpose::Base => b"base",
            Purpose::Schedule => b"schedule",
            Purpose::Peers => b"peers",
            Purpose::DeliveryOrder => b"delivery-order",
            Purpose::Faults => b"faults",
            Purpose::Strategy => b"strategy",
            Purpose::Other => b"other",
        }
    }
}

/// A deterministic random stream.
pub struct Stream(ChaCha8Rng);

impl Stream {
    /// The stream for `(seed, purpose, ids)`.
    pub fn new(seed: u64, purpose: Purpose, ids: &[u64]) -> Stream {
        let mut h = Hasher::new(Domain::Rng);
        h.u64(seed).field(purpose.tag()).u64(ids.len() as u64);
        for &id in ids {
            h.u64(id);
        }
        Stream(ChaCha8Rng::from_seed(h.finish().0))
    }

    /// The stream for `(seed, purpose, ids)` with an extra byte-string key
    /// (e.g. a model id or tensor name).
    pub fn keyed(seed: u64, purpose: Purpose, ids: &[u64], key: &[u8]) -> Stream {
        let mut h = Hasher::new(Domain::Rng);
        h.u64(seed).field(purpose.tag()).u64(ids.len() as u64);
        for &id in ids {
            h.u64(id);
        }
        h.field(key);
        Stream(ChaCha8Rng::from_seed(h.finish().0))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform on the multiples of 2^-53 in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n` (n ≥ 1), unbiased (rejection sampling).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n >= 1, "below(0) has no valid result");
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let r = self.next_u64();
            if r < zone {
                return r % n;
            }
        }
    }

    /// True with probability `p` (p outside [0, 1] is clamped).
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// A standard normal deviate (Box–Muller with libm, one value per call so
    /// the stream position never depends on hidden state).
    pub fn gaussian(&mut self) -> f64 {
        // u1 in (0, 1] so ln(u1) is finite and the root's argument is +x or
        // -0.0. IEEE 754 requires a correctly rounded square root, so the
        // hardware instruction (`f64.sqrt` in wasm, `sqrtsd` on x86-64)
        // gives libm's bits, several times faster than libm's software root.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * libm::log(u1)).sqrt() * libm::cos(core::f64::consts::TAU * u2)
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// `k` distinct values drawn uniformly from `0..n` excluding `exclude`,
    /// in draw order. Requires `k < n` when `exclude < n`.
    pub fn distinct_excluding(&mut self, n: u32, k: u32, exclude: u32) -> Vec<u32> {
        let available = if exclude < n { n - 1 } else { n };
        assert!(
            k <= available,
            "cannot draw {k} distinct peers from {available}"
        );
        let mut out: Vec<u32> = Vec::with_capacity(k as usize);
        while (out.len() as u32) < k {
            let mut c = self.below(available as u64) as u32;
            if exclude < n && c >= exclude {
                c += 1;
            }
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_separated() {
        let a: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Stream::new(42, Purpose::Peers, &[1, 2]), |s, _| {
                Some(s.next_u64())
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Stream::new(42, Purpose::Peers, &[1, 2]), |s, _| {
                Some(s.next_u64())
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Stream::new(42, Purpose::Peers, &[2, 1]), |s, _| {
                Some(s.next_u64())
            })
            .collect();
        let d: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Stream::new(42, Purpose::Tensor, &[1, 2]), |s, _| {
                Some(s.next_u64())
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn below_and_distinct_stay_in_range() {
        let mut s = Stream::new(7, Purpose::Other, &[]);
        for n in 1..50u64 {
            assert!(s.below(n) < n);
        }
        for _ in 0..200 {
            let v = s.distinct_excluding(10, 3, 4);
            assert_eq!(v.len(), 3);
            assert!(v.iter().all(|&x| x < 10 && x != 4));
            let mut w = v.clone();
            w.sort();
            w.dedup();
            assert_eq!(w.len(), 3);
        }
    }

    #[test]
    fn gaussian_moments_are_plausible() {
        let mut s = Stream::new(1, Purpose::Tensor, &[0]);
        let n = 20000;
        let xs: Vec<f64> = (0..n).map(|_| s.gaussian()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
    }
}
