//! CPython-compatible `random.Random` (spec `strategies.md` §1.4).
//!
//! The reference library draws every random number from a `random.Random(seed)`
//! object created inside the strategy call, so reproducing its stochastic
//! strategies bit for bit needs the same generator: MT19937 seeded through
//! `init_by_array` with the 32-bit words of `|seed|`, and the exact
//! `random()`, `gauss()` (with its one-value cache) and `randint()` built on
//! top of it. Transcendental functions come from `libm` so that results do
//! not depend on the platform's C library (see spec §1.9 for the caveat that
//! glibc may round a few values differently).

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// A CPython `random.Random` instance: MT19937 state plus the `gauss` cache.
#[derive(Clone, Debug)]
pub struct PyRandom {
    mt: [u32; N],
    index: usize,
    gauss_next: Option<f64>,
}

impl PyRandom {
    /// `random.Random(seed)` for an integer seed. The sign is dropped, as in
    /// CPython; seeds up to 2^127 in magnitude are representable.
    pub fn new(seed: i128) -> PyRandom {
        PyRandom::from_key(&seed_words(seed.unsigned_abs()))
    }

    /// Seeds from an explicit `init_by_array` key (the 32-bit words of
    /// `|seed|`, least significant first). An empty key is treated as `[0]`,
    /// which is what CPython uses for seed 0. This is the entry point for
    /// seeds of arbitrary size.
    pub fn from_key(key: &[u32]) -> PyRandom {
        let key: &[u32] = if key.is_empty() { &[0] } else { key };
        let mut mt = init_genrand(19_650_218);
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        PyRandom {
            mt,
            index: N,
            gauss_next: None,
        }
    }

    /// Seeds from a decimal integer string (optionally with a leading `-`),
    /// as stored in `python_random.json`. Returns `None` if it is not an
    /// integer.
    pub fn from_decimal(s: &str) -> Option<PyRandom> {
        let digits = s.strip_prefix('-').unwrap_or(s);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut words: Vec<u32> = vec![0];
        for b in digits.bytes() {
            let mut carry = u64::from(b - b'0');
            for w in words.iter_mut() {
                let v = u64::from(*w) * 10 + carry;
                *w = v as u32;
                carry = v >> 32;
            }
            if carry > 0 {
                words.push(carry as u32);
            }
        }
        while words.len() > 1 && words[words.len() - 1] == 0 {
            words.pop();
        }
        Some(PyRandom::from_key(&words))
    }

    /// `getrandbits(32)`: the next tempered 32-bit output.
    pub fn getrandbits32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `random()`: a multiple of 2^-53 in [0, 1) from two 32-bit outputs.
    pub fn random(&mut self) -> f64 {
        let a = f64::from(self.getrandbits32() >> 5);
        let b = f64::from(self.getrandbits32() >> 6);
        (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `gauss(mu, sigma)`: Box–Muller with CPython's one-value cache, so
    /// only every other call consumes random draws.
    pub fn gauss(&mut self, mu: f64, sigma: f64) -> f64 {
        let z = match self.gauss_next.take() {
            Some(z) => z,
            None => {
                let x2pi = self.random() * (2.0 * core::f64::consts::PI);
                let g2rad = (-2.0 * libm::log(1.0 - self.random())).sqrt();
                self.gauss_next = Some(libm::sin(x2pi) * g2rad);
                libm::cos(x2pi) * g2rad
            }
        };
        mu + z * sigma
    }

    /// `randint(a, b)`: uniform integer in `[a, b]` by rejection sampling on
    /// the top `bit_length(b − a + 1)` bits. Requires `a ≤ b` and a range
    /// below 2^32 (all the reference needs); returns `a` otherwise.
    pub fn randint(&mut self, a: i64, b: i64) -> i64 {
        let width = i128::from(b) - i128::from(a) + 1;
        if width <= 0 || width > i128::from(u32::MAX) + 1 {
            return a;
        }
        a + self.below(width as u64) as i64
    }

    /// `_randbelow(m)` for `1 ≤ m ≤ 2^32`.
    fn below(&mut self, m: u64) -> u64 {
        let k = 64 - m.leading_zeros();
        loop {
            let r = u64::from(self.getrandbits32() >> (32 - k));
            if r < m {
                return r;
            }
        }
    }

    /// Regenerates the block of 624 words.
    fn twist(&mut self) {
        for k in 0..N {
            let y = (self.mt[k] & UPPER_MASK) | (self.mt[(k + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            self.mt[k] = self.mt[(k + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }
}

/// `init_genrand(s)`: the linear-congruential fill of the state.
fn init_genrand(s: u32) -> [u32; N] {
    let mut mt = [0u32; N];
    mt[0] = s;
    for i in 1..N {
        let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
        mt[i] = 1_812_433_253u32.wrapping_mul(prev).wrapping_add(i as u32);
    }
    mt
}

/// The 32-bit words of `v`, least significant first, at least one word.
fn seed_words(mut v: u128) -> Vec<u32> {
    let mut words = Vec::with_capacity(4);
    loop {
        words.push(v as u32);
        v >>= 32;
        if v == 0 {
            return words;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_words_split_least_significant_first() {
        assert_eq!(seed_words(0), vec![0]);
        assert_eq!(seed_words(42), vec![42]);
        assert_eq!(seed_words((1u128 << 32) + 5), vec![5, 1]);
    }

    #[test]
    fn sign_is_dropped_and_decimal_matches_integer() {
        let mut a = PyRandom::new(-3);
        let mut b = PyRandom::new(3);
        let mut c = PyRandom::from_decimal("18446744073709551619").unwrap();
        let mut d = PyRandom::new((1i128 << 64) + 3);
        for _ in 0..700 {
            assert_eq!(a.getrandbits32(), b.getrandbits32());
            assert_eq!(c.getrandbits32(), d.getrandbits32());
        }
        assert!(PyRandom::from_decimal("12a").is_none());
    }

    #[test]
    fn randint_stays_in_range() {
        let mut r = PyRandom::new(42);
        for _ in 0..1000 {
            let v = r.randint(0, 0);
            assert_eq!(v, 0);
            let w = r.randint(-2, 5);
            assert!((-2..=5).contains(&w));
        }
    }
}
