//! Task-vector sparsification strategies: `ties` (spec §2.15), `dare`
//! (§2.16), `della` (§2.17), `dare_ties` (§2.18), `model_breadcrumbs`
//! (§2.19) and `emr` (§2.20). All are elementwise folds in model order with
//! the exact numpy percentile and the CPython RNG, hence class E.

use super::util::{
    base, f64_param, np_sign, percentile_linear_keys, percentile_linear_keys_above, prelude,
    str_param, total_key, weights_hat, SEED_PARAM,
};
use crate::error::MergeError;
use crate::pyrandom::{random_of, PyRandom};
use crate::strategy::{
    param_f64, param_i64, param_str, Family, MergeInputs, ParamSpec, Params, ReproClass, Strategy,
    StrategyInfo,
};
use crate::tensor::Tensor;

const DENSITY_DOC: &str =
    "Fraction of each model's non-zero task-vector entries kept by magnitude.";
const DROP_DOC: &str = "Probability of dropping each task-vector entry.";

/// `ties`: trim, elect a sign, disjoint merge (divided again by the count of
/// agreeing models: the §2.15 double normalisation).
pub struct Ties;

static TIES_PARAMS: [ParamSpec; 2] = [
    f64_param("density", 0.2, 0.0, 1.0, DENSITY_DOC),
    str_param(
        "majority_sign_method",
        "count",
        &["count", "magnitude"],
        "count: sign of the unweighted vote; magnitude: sign of the weighted sum.",
    ),
];

static TIES_INFO: StrategyInfo = StrategyInfo {
    name: "ties",
    family: Family::Reference,
    needs_base: true,
    stochastic: false,
    uses_weights: true,
    class: ReproClass::E,
    params: &TIES_PARAMS,
    summary:
        "Trim small task-vector entries, elect a sign per position, average the agreeing ones.",
};

impl Strategy for Ties {
    fn info(&self) -> &StrategyInfo {
        &TIES_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&TIES_INFO, inputs)? {
            return Ok(done);
        }
        let b = base(&TIES_INFO, inputs)?;
        let w = weights_hat(inputs)?;
        let density = param_f64(params, "density");
        let by_magnitude = param_str(params, "majority_sign_method") == "magnitude";
        let bd = b.data();
        let mut keys = Vec::new();
        let cuts: Vec<Cut> = inputs
            .tensors
            .iter()
            .map(|x| ties_cut_dense(x.data(), bd, density, &mut keys))
            .collect();
        let out = ties_disjoint(bd, &w, by_magnitude, |i, start, row| {
            let x = &inputs.tensors[i].data()[start..start + row.len()];
            cuts[i].fill(row, x.iter().zip(&bd[start..]).map(|(x, b)| x - b));
        });
        Ok(b.with_data(out))
    }
}

/// Elements per block of the element-major passes (sign election and
/// disjoint merge): one block of every model's values stays in cache while
/// each element still folds over the models in order.
const BLOCK: usize = 256;

/// Elements whose sign election and disjoint sums [`ties_disjoint`] keeps
/// in registers at once (four SSE2 or wasm SIMD vectors each).
const LANES: usize = 8;
const _: () = assert!(BLOCK.is_multiple_of(LANES));

/// Which entries of one task vector a magnitude cut keeps.
#[derive(Clone, Copy, Debug)]
enum Cut {
    /// Keep every entry unchanged (no threshold was computed).
    All,
    /// Keep `|τ| ≥ θ`, applied by multiplication with 1.0 or 0.0 (§1.1).
    AtLeast(f64),
}

impl Cut {
    /// `row[j] = cut(τ_j)` for the task-vector values `tau`.
    #[inline]
    fn fill(self, row: &mut [f64], tau: impl Iterator<Item = f64>) {
        match self {
            Cut::All => row.iter_mut().zip(tau).for_each(|(r, t)| *r = t),
            Cut::AtLeast(theta) => row
                .iter_mut()
                .zip(tau)
                .for_each(|(r, t)| *r = t * if t.abs() >= theta { 1.0 } else { 0.0 }),
        }
    }

    /// `acc_j = acc_j + w·cut(τ_j)`, the step of a fold from zeros.
    #[inline]
    fn accumulate(self, acc: &mut [f64], w: f64, tau: impl Iterator<Item = f64>) {
        match self {
            Cut::All => acc.iter_mut().zip(tau).for_each(|(a, t)| *a += w * t),
            Cut::AtLeast(theta) => acc
                .iter_mut()
                .zip(tau)
                .for_each(|(a, t)| *a += w * (t * if t.abs() >= theta { 1.0 } else { 0.0 })),
        }
    }
}

/// The TIES trim of one task vector: keep the entries whose magnitude is at
/// least the `(1 − density)` percentile of the *non-zero* magnitudes (all
/// entries, i.e. all zeros, when there are none). `keys` is scratch.
/// (`dare_ties` inlines it into its drop pass; the tests keep it as the
/// reference for the dense variant.)
#[cfg(test)]
fn ties_cut(tau: &[f64], density: f64, keys: &mut Vec<u64>) -> Cut {
    // Branch-free compaction into a buffer as long as τ: every key is
    // written, only the non-zero entries advance (so `m ≤ j < len`).
    keys.resize(tau.len(), 0);
    let mut m = 0;
    for &v in tau {
        keys[m] = total_key(v.abs());
        m += usize::from(v != 0.0);
    }
    if m == 0 {
        return Cut::All;
    }
    Cut::AtLeast(percentile_linear_keys(
        &mut keys[..m],
        (1.0 - density) * 100.0,
    ))
}

/// [`ties_cut`] of `τ = x − b`, without compaction: the magnitude keys
/// of all entries are taken, and as zero magnitudes have the smallest key,
/// the order statistics of the non-zero magnitudes are those of all keys
/// shifted by the number of zeros.
fn ties_cut_dense(x: &[f64], b: &[f64], density: f64, keys: &mut Vec<u64>) -> Cut {
    let d = x.len().min(b.len());
    let scan = magnitude_keys(x, b, keys);
    if scan.zeros == d {
        return Cut::All;
    }
    Cut::AtLeast(percentile_linear_keys_above(
        keys,
        scan.zeros,
        Some(scan.top),
        (1.0 - density) * 100.0,
    ))
}

/// The magnitude cut of breadcrumbs and emr on `τ = x − b`: keep
/// `|τ| ≥ percentile(|τ|, pct)` over all entries; everything when
/// `max |τ| = 0` (or τ is empty).
fn magnitude_cut(x: &[f64], b: &[f64], pct: f64, keys: &mut Vec<u64>) -> Cut {
    let d = x.len().min(b.len());
    let scan = magnitude_keys(x, b, keys);
    // `max |τ|` (NaN-ignoring, from −∞) is 0 exactly when some |τ| is 0
    // and none is positive.
    if d == 0 || (scan.zeros > 0 && !scan.positive) {
        return Cut::All;
    }
    Cut::AtLeast(percentile_linear_keys_above(keys, 0, Some(scan.top), pct))
}

/// What [`magnitude_keys`] learns about the magnitudes besides their keys.
struct MagnitudeScan {
    /// How many magnitudes are zero.
    zeros: usize,
    /// Whether some magnitude is positive (non-zero and not NaN).
    positive: bool,
    /// An upper bound of every key: the largest high half of the keys
    /// with every bit of the low half set.
    top: u64,
}

/// `keys[j] = total_key(|x_j − b_j|)` (keys resized to the common length)
/// in one pass that vectorises, noting the zeros, whether any magnitude is
/// positive, and an upper bound of the keys (from the 32-bit high halves,
/// whose maximum vectorises where a 64-bit one does not; a NaN's high half
/// is above any number's, so the bound covers NaNs too).
fn magnitude_keys(x: &[f64], b: &[f64], keys: &mut Vec<u64>) -> MagnitudeScan {
    let d = x.len().min(b.len());
    keys.resize(d, 0);
    // `hi` tracks the high halves of the magnitudes' bits, which are
    // non-negative as i32 (the sign bit is clear) and order like them.
    let (mut zeros, mut positive, mut hi) = (0, false, 0i32);
    for ((k, &xv), &bv) in keys.iter_mut().zip(x).zip(b) {
        let a = (xv - bv).abs();
        zeros += usize::from(a == 0.0);
        positive |= a > 0.0;
        hi = hi.max((a.to_bits() >> 32) as i32);
        *k = total_key(a);
    }
    // The key of a non-negative float is its bits with the sign bit set.
    MagnitudeScan {
        zeros,
        positive,
        top: total_key(f64::from_bits((hi as u64) << 32 | u64::from(u32::MAX))),
    }
}

/// Sign election and the disjoint merge, returning `b + δ` with
/// `δ_j = Σ_i ((ŵ_i·t_ij)·A_ij) / max(cnt_j, 1)`. `fill(i, start, row)`
/// writes model i's trimmed values `t_i[start..start + row.len()]`. The
/// work is done block by block; within a block every sum folds over the
/// models in order, exactly as a whole-vector pass would.
fn ties_disjoint(
    bd: &[f64],
    w: &[f64],
    by_magnitude: bool,
    mut fill: impl FnMut(usize, usize, &mut [f64]),
) -> Vec<f64> {
    let d = bd.len();
    let mut out = Vec::with_capacity(d);
    let mut block = vec![0.0; w.len() * BLOCK];
    let mut start = 0;
    while start < d {
        let len = BLOCK.min(d - start);
        for (i, row) in block.chunks_exact_mut(BLOCK).enumerate() {
            fill(i, start, &mut row[..len]);
        }
        // Groups of LANES elements, each folding over the models with its
        // sums in registers. A last partial group also reads the rows'
        // stale tail (values of an earlier block, or the initial zeros)
        // and discards those lanes.
        for o in (0..len).step_by(LANES) {
            let lanes = |row: &[f64]| -> [f64; LANES] {
                row[o..o + LANES]
                    .try_into()
                    .expect("BLOCK is a multiple of LANES")
            };
            let mut votes = [0.0; LANES];
            for (row, &wi) in block.chunks_exact(BLOCK).zip(w) {
                let t = lanes(row);
                if by_magnitude {
                    votes.iter_mut().zip(t).for_each(|(v, x)| *v += wi * x);
                } else {
                    votes.iter_mut().zip(t).for_each(|(v, x)| *v += np_sign(x));
                }
            }
            let elected = votes.map(np_sign);
            let (mut num, mut cnt) = ([0.0; LANES], [0.0; LANES]);
            for (row, &wi) in block.chunks_exact(BLOCK).zip(w) {
                for (((nj, cj), e), x) in num.iter_mut().zip(&mut cnt).zip(elected).zip(lanes(row))
                {
                    // `sign(x) = e` and `x ≠ 0`, for e ∈ {−1, 0, 1, NaN}: `x·e`
                    // is exact for e = ±1 (then positive exactly when x is
                    // non-zero with e's sign, NaN x failing), and 0 or NaN
                    // for e = 0 or NaN: never positive.
                    let a = if x * e > 0.0 { 1.0 } else { 0.0 };
                    *nj += (wi * x) * a;
                    *cj += a;
                }
            }
            let kept = LANES.min(len - o);
            out.extend(
                bd[start + o..start + o + kept]
                    .iter()
                    .zip(num)
                    .zip(cnt)
                    .map(|((b, n), c)| b + n / f64::max(c, 1.0)),
            );
        }
        start += len;
    }
    out
}

/// `b + δ`, elementwise.
fn base_plus(bd: &[f64], delta: &[f64]) -> Vec<f64> {
    bd.iter().zip(delta).map(|(b, x)| b + x).collect()
}

/// Uniform draws per chunk of [`for_each_random_chunk`]: small enough for
/// the stack and L1, large enough to amortise the calls.
const RANDOM_CHUNK: usize = 256;
const _: () = assert!(RANDOM_CHUNK.is_multiple_of(64));

/// Draws `d` values of `rng.random()`, in order, and hands them to
/// `f(range, u)` chunk by chunk (`range` is where `u` falls in `0..d`).
///
/// Each value is exactly `PyRandom::random()`: the same two 32-bit words
/// in the same order, combined by the same (exact) float expression. Doing
/// the word draws in a tight loop first and the conversion afterwards lets
/// the conversion, and the caller's mask loop over `u`, vectorise, where a
/// `random()` call per entry kept the whole mask loop scalar.
fn for_each_random_chunk(
    rng: &mut PyRandom,
    d: usize,
    mut f: impl FnMut(std::ops::Range<usize>, &[f64]),
) {
    let mut words = [0u32; 2 * RANDOM_CHUNK];
    let mut u = [0.0; RANDOM_CHUNK];
    let mut start = 0;
    while start < d {
        let len = RANDOM_CHUNK.min(d - start);
        let words = &mut words[..2 * len];
        rng.fill_u32(words);
        for (o, ab) in u.iter_mut().zip(words.chunks_exact(2)) {
            *o = random_of(ab[0], ab[1]);
        }
        f(start..start + len, &u[..len]);
        start += len;
    }
}

/// DARE's rescale `1/(1 − p)`, or 1 when `p ≥ 1`.
fn dare_rescale(p: f64) -> f64 {
    if p < 1.0 {
        1.0 / (1.0 - p)
    } else {
        1.0
    }
}

/// `dare`: one `random.Random(seed)` stream; each entry is kept when
/// `random() ≥ p`, then `δ = δ + ((ŵ_i·τ_i)·m_i)·ρ`. In expectation this is
/// the weighted average, not task arithmetic.
pub struct Dare;

static DARE_PARAMS: [ParamSpec; 1] = [f64_param("drop_rate", 0.9, 0.0, 1.0, DROP_DOC)];

static DARE_INFO: StrategyInfo = StrategyInfo {
    name: "dare",
    family: Family::Reference,
    needs_base: true,
    stochastic: true,
    uses_weights: true,
    class: ReproClass::E,
    params: &DARE_PARAMS,
    summary: "Randomly drops 90 % of each task vector, rescales the rest, and averages.",
};

impl Strategy for Dare {
    fn info(&self) -> &StrategyInfo {
        &DARE_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&DARE_INFO, inputs)? {
            return Ok(done);
        }
        let b = base(&DARE_INFO, inputs)?;
        let w = weights_hat(inputs)?;
        let p = param_f64(params, "drop_rate");
        let rho = dare_rescale(p);
        let mut rng = PyRandom::new(i128::from(inputs.seed));
        let bd = b.data();
        let mut delta = vec![0.0; bd.len()];
        for (x, &wi) in inputs.tensors.iter().zip(&w) {
            let x = x.data();
            for_each_random_chunk(&mut rng, bd.len(), |r, u| {
                let (acc, x, b) = (&mut delta[r.clone()], &x[r.clone()], &bd[r]);
                for (((acc, &xv), &bv), &u) in acc.iter_mut().zip(x).zip(b).zip(u) {
                    let keep = if u >= p { 1.0 } else { 0.0 };
                    *acc += ((wi * (xv - bv)) * keep) * rho;
                }
            });
        }
        Ok(b.with_data(base_plus(bd, &delta)))
    }
}

/// `della`: magnitude-dependent drop probabilities with a fresh
/// `random.Random(seed + k)` per model and DARE's uniform rescale (biased,
/// §2.17).
pub struct Della;

static DELLA_PARAMS: [ParamSpec; 2] = [
    f64_param("drop_rate", 0.9, 0.0, 1.0, DROP_DOC),
    f64_param(
        "epsilon",
        0.1,
        0.0,
        1.0,
        "Added to every drop probability (before clipping to [0, 1]).",
    ),
];

static DELLA_INFO: StrategyInfo = StrategyInfo {
    name: "della",
    family: Family::Reference,
    needs_base: true,
    stochastic: true,
    uses_weights: true,
    class: ReproClass::E,
    params: &DELLA_PARAMS,
    summary:
        "Drops small task-vector entries more often than large ones, rescales uniformly, averages.",
};

impl Strategy for Della {
    fn info(&self) -> &StrategyInfo {
        &DELLA_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&DELLA_INFO, inputs)? {
            return Ok(done);
        }
        let b = base(&DELLA_INFO, inputs)?;
        let w = weights_hat(inputs)?;
        let p = param_f64(params, "drop_rate");
        let eps = param_f64(params, "epsilon");
        let rho = dare_rescale(p);
        let bd = b.data();
        let mut delta = vec![0.0; bd.len()];
        for (k, (x, &wi)) in inputs.tensors.iter().zip(&w).enumerate() {
            let mut rng = PyRandom::new(i128::from(inputs.seed) + k as i128);
            let x = x.data();
            let m = match max_abs_diff(x, bd) {
                0.0 => 1.0,
                x => x,
            };
            for_each_random_chunk(&mut rng, bd.len(), |r, u| {
                let (acc, x, b) = (&mut delta[r.clone()], &x[r.clone()], &bd[r]);
                for (((acc, &xv), &bv), &u) in acc.iter_mut().zip(x).zip(b).zip(u) {
                    let t = xv - bv;
                    let q = (p * (1.0 - t.abs() / m) + eps).clamp(0.0, 1.0);
                    let keep = if u >= q { 1.0 } else { 0.0 };
                    *acc += ((wi * t) * keep) * rho;
                }
            });
        }
        Ok(b.with_data(base_plus(bd, &delta)))
    }
}

/// `max |x − b|` with `f64::max` from −∞ (NaN entries ignored; −∞ when
/// there is no other entry). The maximum of a set of non-negative values
/// does not depend on the order in which it is taken, so four running
/// maxima (which vectorise) give exactly the left fold's value.
fn max_abs_diff(x: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [f64::NEG_INFINITY; 4];
    let (xc, bc) = (x.chunks_exact(4), b.chunks_exact(4));
    let (xr, br) = (xc.remainder(), bc.remainder());
    for (xs, bs) in xc.zip(bc) {
        for (m, (xv, bv)) in lanes.iter_mut().zip(xs.iter().zip(bs)) {
            *m = f64::max(*m, (xv - bv).abs());
        }
    }
    for (xv, bv) in xr.iter().zip(br) {
        lanes[0] = f64::max(lanes[0], (xv - bv).abs());
    }
    f64::max(f64::max(lanes[0], lanes[1]), f64::max(lanes[2], lanes[3]))
}

/// `dare_ties`: DARE's random drop and rescale (no weight yet), then the
/// TIES trim, count election and disjoint merge.
pub struct DareTies;

static DARE_TIES_PARAMS: [ParamSpec; 2] = [
    f64_param("drop_rate", 0.9, 0.0, 1.0, DROP_DOC),
    f64_param("density", 0.2, 0.0, 1.0, DENSITY_DOC),
];

static DARE_TIES_INFO: StrategyInfo = StrategyInfo {
    name: "dare_ties",
    family: Family::Reference,
    needs_base: true,
    stochastic: true,
    uses_weights: true,
    class: ReproClass::E,
    params: &DARE_TIES_PARAMS,
    summary: "DARE's random drop and rescale followed by the TIES trim, sign election and disjoint merge.",
};

impl Strategy for DareTies {
    fn info(&self) -> &StrategyInfo {
        &DARE_TIES_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&DARE_TIES_INFO, inputs)? {
            return Ok(done);
        }
        let b = base(&DARE_TIES_INFO, inputs)?;
        let w = weights_hat(inputs)?;
        let p = param_f64(params, "drop_rate");
        let density = param_f64(params, "density");
        let rho = dare_rescale(p);
        let mut rng = PyRandom::new(i128::from(inputs.seed));
        let bd = b.data();
        let d = bd.len();
        // The keep masks, one byte (0 or 1) per entry, model-major, drawn
        // in the reference's order; `D_ij = (τ_ij·m_ij)·ρ` is recomputed
        // from them. A byte rather than a bit per entry (an eighth of the
        // inputs' size) lets the recomputation vectorise.
        let mut kept = vec![0u8; d * inputs.tensors.len()];
        // The TIES trim's keys of the non-zero dropped values `D_ij`, in
        // index order (as [`ties_cut`] compacts them), are collected in the
        // drop pass itself, so the dropped values are never stored.
        let mut keys = vec![0u64; d];
        let mut cuts = Vec::with_capacity(inputs.tensors.len());
        // The uniform draws' words, chunk by chunk, exactly as
        // [`for_each_random_chunk`] draws them.
        let mut words = [0u32; 2 * RANDOM_CHUNK];
        for (x, mask) in inputs.tensors.iter().zip(kept.chunks_exact_mut(d.max(1))) {
            let x = x.data();
            let mut m = 0;
            let mut start = 0;
            while start < d {
                let len = RANDOM_CHUNK.min(d - start);
                let words = &mut words[..2 * len];
                rng.fill_u32(words);
                let r = start..start + len;
                let (mj, x, b) = (&mut mask[r.clone()], &x[r.clone()], &bd[r]);
                // Groups of 64 entries: the keep decisions (and the mask) in
                // one pass, with a bit set for every entry whose dropped
                // value `((x − b)·keep)·ρ` can be non-zero: the kept ones
                // and those with a non-finite τ (∞·0 is NaN). Only those are
                // visited to compact their keys, in index order.
                for (g, ((mg, xg), bg)) in mj
                    .chunks_mut(64)
                    .zip(x.chunks(64))
                    .zip(b.chunks(64))
                    .enumerate()
                {
                    let wg = &words[g * 128..g * 128 + 2 * mg.len()];
                    let mut bits = 0u64;
                    for (j, (((mj, &xv), &bv), ab)) in mg
                        .iter_mut()
                        .zip(xg)
                        .zip(bg)
                        .zip(wg.chunks_exact(2))
                        .enumerate()
                    {
                        let keep = random_of(ab[0], ab[1]) >= p;
                        *mj = u8::from(keep);
                        let live = keep | !(xv - bv).is_finite();
                        bits |= u64::from(live) << j;
                    }
                    while bits != 0 {
                        let j = bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        let keep = if mg[j] != 0 { 1.0 } else { 0.0 };
                        let v = ((xg[j] - bg[j]) * keep) * rho;
                        keys[m] = total_key(v.abs());
                        m += usize::from(v != 0.0);
                    }
                }
                start += len;
            }
            cuts.push(if m == 0 {
                Cut::All
            } else {
                Cut::AtLeast(percentile_linear_keys(
                    &mut keys[..m],
                    (1.0 - density) * 100.0,
                ))
            });
        }
        let out = ties_disjoint(bd, &w, false, |i, start, row| {
            let r = start..start + row.len();
            let (x, mask) = (
                &inputs.tensors[i].data()[r.clone()],
                &kept[i * d..][r.clone()],
            );
            let dropped = x
                .iter()
                .zip(&bd[r])
                .zip(mask)
                .map(|((xv, bv), &m)| ((xv - bv) * if m != 0 { 1.0 } else { 0.0 }) * rho);
            cuts[i].fill(row, dropped);
        });
        Ok(b.with_data(out))
    }
}

/// `model_breadcrumbs`: keep the top ~10 % of each task vector by
/// magnitude (or a random subset), then average the deltas.
pub struct ModelBreadcrumbs;

static CRUMBS_PARAMS: [ParamSpec; 3] = [
    f64_param(
        "sparsity",
        0.9,
        0.0,
        1.0,
        "Fraction of each task vector removed (the smallest magnitudes).",
    ),
    str_param(
        "mask_method",
        "magnitude",
        &["magnitude", "random"],
        "magnitude: keep |τ| ≥ the sparsity percentile; random: keep with probability 1 − sparsity.",
    ),
    SEED_PARAM,
];

static CRUMBS_INFO: StrategyInfo = StrategyInfo {
    name: "model_breadcrumbs",
    family: Family::Reference,
    needs_base: true,
    stochastic: false,
    uses_weights: true,
    class: ReproClass::E,
    params: &CRUMBS_PARAMS,
    summary: "Magnitude-prunes each task vector to its top 10 % and averages the deltas.",
};

impl Strategy for ModelBreadcrumbs {
    fn info(&self) -> &StrategyInfo {
        &CRUMBS_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&CRUMBS_INFO, inputs)? {
            return Ok(done);
        }
        let b = base(&CRUMBS_INFO, inputs)?;
        let w = weights_hat(inputs)?;
        let s = param_f64(params, "sparsity");
        let random = param_str(params, "mask_method") == "random";
        let seed = i128::from(param_i64(params, "seed"));
        let bd = b.data();
        let mut delta = vec![0.0; bd.len()];
        let mut keys = Vec::new();
        for (k, (x, &wi)) in inputs.tensors.iter().zip(&w).enumerate() {
            let tau = || x.data().iter().zip(bd).map(|(x, b)| x - b);
            if random {
                let mut rng = PyRandom::new(seed + k as i128);
                let keep_p = 1.0 - s;
                let x = x.data();
                for_each_random_chunk(&mut rng, bd.len(), |r, u| {
                    let (acc, x, b) = (&mut delta[r.clone()], &x[r.clone()], &bd[r]);
                    for (((acc, &xv), &bv), &u) in acc.iter_mut().zip(x).zip(b).zip(u) {
                        *acc += wi * ((xv - bv) * if u < keep_p { 1.0 } else { 0.0 });
                    }
                });
            } else {
                magnitude_cut(x.data(), bd, s * 100.0, &mut keys).accumulate(&mut delta, wi, tau());
            }
        }
        Ok(b.with_data(base_plus(bd, &delta)))
    }
}

/// `emr`: elect the top 30 % of each task vector, average, and rescale by
/// `min(d/K, 1/r)` where K counts the non-zero entries of the average.
pub struct Emr;

static EMR_PARAMS: [ParamSpec; 1] = [f64_param(
    "elect_ratio",
    0.3,
    1e-9,
    1.0,
    "r: fraction of each task vector elected by magnitude (also caps the rescale at 1/r).",
)];

static EMR_INFO: StrategyInfo = StrategyInfo {
    name: "emr",
    family: Family::Reference,
    needs_base: true,
    stochastic: false,
    uses_weights: true,
    class: ReproClass::E,
    params: &EMR_PARAMS,
    summary:
        "Elects the top 30 % of each task vector, averages, and rescales by the union's sparsity.",
};

impl Strategy for Emr {
    fn info(&self) -> &StrategyInfo {
        &EMR_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&EMR_INFO, inputs)? {
            return Ok(done);
        }
        let b = base(&EMR_INFO, inputs)?;
        let w = weights_hat(inputs)?;
        let r = param_f64(params, "elect_ratio");
        let bd = b.data();
        let mut m = vec![0.0; bd.len()];
        let mut keys = Vec::new();
        for (x, &wi) in inputs.tensors.iter().zip(&w) {
            let tau = || x.data().iter().zip(bd).map(|(x, b)| x - b);
            magnitude_cut(x.data(), bd, (1.0 - r) * 100.0, &mut keys).accumulate(&mut m, wi, tau());
        }
        let active = m.iter().filter(|v| **v != 0.0).count();
        if active > 0 {
            let factor = f64::min(b.len() as f64 / active as f64, 1.0 / r);
            m.iter_mut().for_each(|v| *v *= factor);
        }
        Ok(b.with_data(base_plus(bd, &m)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theta(c: Cut) -> u64 {
        match c {
            Cut::All => u64::MAX,
            Cut::AtLeast(t) => t.to_bits(),
        }
    }

    /// The chunked draws are `random()`'s values, bit for bit, across
    /// MT19937 block boundaries and for lengths that are not a multiple of
    /// the chunk.
    #[test]
    fn random_chunks_equal_random_calls() {
        for (seed, d) in [(0, 0), (1, 1), (7, 255), (42, 257), (9, 5000)] {
            let mut chunked = PyRandom::new(seed);
            let mut single = PyRandom::new(seed);
            let mut seen = 0;
            for_each_random_chunk(&mut chunked, d, |r, u| {
                assert_eq!(r.start, seen);
                assert_eq!(r.len(), u.len());
                for &v in u {
                    assert_eq!(v.to_bits(), single.random().to_bits());
                }
                seen = r.end;
            });
            assert_eq!(seen, d);
            assert_eq!(chunked.getrandbits32(), single.getrandbits32());
        }
    }

    /// Skipping the zero keys gives the compacted percentile, bit for bit,
    /// on data with many zeros (both signs) and tied magnitudes.
    #[test]
    fn dense_ties_cut_equals_the_compacted_one() {
        let mut rng = PyRandom::new(3);
        let mut keys = Vec::new();
        for _ in 0..2000 {
            let d = rng.randint(0, 300) as usize;
            let zero_p = rng.random();
            let x: Vec<f64> = (0..d)
                .map(|_| match rng.random() {
                    u if u < zero_p => -0.0,
                    _ => rng.randint(-6, 6) as f64 * 0.125,
                })
                .collect();
            let b: Vec<f64> = (0..d)
                .map(|j| if j % 3 == 0 { 0.0 } else { -0.0 })
                .collect();
            let density = rng.random();
            let tau: Vec<f64> = x.iter().zip(&b).map(|(x, b)| x - b).collect();
            let compact = ties_cut(&tau, density, &mut keys);
            let dense = ties_cut_dense(&x, &b, density, &mut keys);
            assert_eq!(theta(compact), theta(dense), "d {d} density {density}");
        }
    }
}
