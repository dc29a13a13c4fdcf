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
    /// The tempered outputs of the current block (`temper(mt[k])`), filled
    /// by [`PyRandom::twist`] in one pass the compiler can vectorise.
    out: [u32; N],
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
            out: [0; N],
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
    #[inline]
    pub fn getrandbits32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let y = self.out[self.index];
        self.index += 1;
        y
    }

    /// Fills `words` with the next outputs, exactly as that many
    /// [`PyRandom::getrandbits32`] calls would, copying whole runs of the
    /// tempered block at a time.
    pub fn fill_u32(&mut self, mut words: &mut [u32]) {
        while !words.is_empty() {
            if self.index >= N {
                self.twist();
            }
            let take = words.len().min(N - self.index);
            let (head, rest) = words.split_at_mut(take);
            head.copy_from_slice(&self.out[self.index..self.index + take]);
            self.index += take;
            words = rest;
        }
    }

    /// `random()`: a multiple of 2^-53 in [0, 1) from two 32-bit outputs.
    /// Both words are read with one bounds check when the block has two
    /// left (every time but once per 312 calls).
    #[inline]
    pub fn random(&mut self) -> f64 {
        let i = self.index;
        let (a, b) = if i + 2 <= N {
            self.index = i + 2;
            (self.out[i], self.out[i + 1])
        } else {
            let a = self.getrandbits32();
            (a, self.getrandbits32())
        };
        random_of(a, b)
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

    /// Regenerates the block of 624 words (in place, in order, so word k
    /// reads the new words k + M − N and the old k + 1: the usual three
    /// loops without index wrapping) and tempers all of them.
    #[cold]
    #[inline(never)]
    fn twist(&mut self) {
        let mt = &mut self.mt;
        let next = |cur: u32, succ: u32, far: u32| {
            let y = (cur & UPPER_MASK) | (succ & LOWER_MASK);
            far ^ (y >> 1) ^ (if y & 1 == 1 { MATRIX_A } else { 0 })
        };
        for k in 0..N - M {
            mt[k] = next(mt[k], mt[k + 1], mt[k + M]);
        }
        for k in N - M..N - 1 {
            mt[k] = next(mt[k], mt[k + 1], mt[k + M - N]);
        }
        mt[N - 1] = next(mt[N - 1], mt[0], mt[M - 1]);
        for (o, &y) in self.out.iter_mut().zip(self.mt.iter()) {
            *o = temper(y);
        }
        self.index = 0;
    }
}

/// MT19937's output tempering.
#[inline]
fn temper(mut y: u32) -> u32 {
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c_5680;
    y ^= (y << 15) & 0xefc6_0000;
    y ^ (y >> 18)
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

/// `random()`'s value from its two 32-bit words, in draw order: 27 bits of
/// the first and 26 of the second make a multiple of 2^-53 in [0, 1)
/// (CPython's `random_random`; every step is exact).
#[inline]
pub fn random_of(a: u32, b: u32) -> f64 {
    let (a, b) = (f64::from(a >> 5), f64::from(b >> 6));
    (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0)
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

    /// The textbook MT19937 twist (index wrapping by `%`), for comparison.
    fn twist_by_modulo(mt: &mut [u32; N]) {
        for k in 0..N {
            let y = (mt[k] & UPPER_MASK) | (mt[(k + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            mt[k] = mt[(k + M) % N] ^ (y >> 1) ^ mag;
        }
    }

    #[test]
    fn fill_u32_equals_one_call_per_word() {
        let mut one = PyRandom::new(2024);
        let mut bulk = PyRandom::new(2024);
        one.random(); // start mid-block
        bulk.random();
        for len in [0, 1, 7, 311, 312, 313, 1000, 5] {
            let mut words = vec![0; len];
            bulk.fill_u32(&mut words);
            let expected: Vec<u32> = (0..len).map(|_| one.getrandbits32()).collect();
            assert_eq!(words, expected, "{len} words");
        }
        assert_eq!(one.random().to_bits(), bulk.random().to_bits());
    }

    #[test]
    fn twist_and_random_match_the_textbook_form() {
        let mut r = PyRandom::new(2024);
        let mut mt = r.mt;
        for block in 0..5 {
            r.twist();
            twist_by_modulo(&mut mt);
            assert_eq!(r.mt, mt, "block {block}");
            assert!(r.out.iter().zip(&mt).all(|(&o, &y)| o == temper(y)));
        }
        // random() at every offset within a block (including the one whose
        // two words straddle a twist) equals two getrandbits32() calls.
        let (mut x, mut y) = (PyRandom::new(7), PyRandom::new(7));
        x.getrandbits32();
        y.getrandbits32();
        for _ in 0..2000 {
            let a = f64::from(y.getrandbits32() >> 5);
            let b = f64::from(y.getrandbits32() >> 6);
            let want = (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0);
            assert_eq!(x.random().to_bits(), want.to_bits());
        }
        // CPython: random.Random(42).random() == 0.6394267984578837.
        assert_eq!(PyRandom::new(42).random(), 0.6394267984578837);
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
