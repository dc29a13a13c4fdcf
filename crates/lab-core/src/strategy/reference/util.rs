//! Numeric and plumbing helpers shared by the reference strategies.
//!
//! Everything here reproduces a specific numpy or Python behaviour that the
//! spec (`strategies.md` §1) says matters for bitwise or near-bitwise
//! agreement: numpy's pairwise summation, its "linear" percentile, the k-th
//! largest/smallest threshold rules, left folds in model order, and the
//! input rules (n = 0, n = 1, missing base) common to all 26 strategies.

use crate::error::MergeError;
use crate::strategy::{normalised_weights, MergeInputs, ParamDefault, ParamSpec, StrategyInfo};
use crate::tensor::Tensor;

/// Structural checks every strategy runs even when called directly (not
/// through `merge_by_name`): n ≥ 1, aligned lengths, equal shapes, and a base
/// of the right shape when the strategy requires one. Values are not scanned
/// (non-finite values cannot make a strategy panic; `check_inputs` rejects
/// them on the registry path).
pub(crate) fn check_structure(
    info: &StrategyInfo,
    inputs: &MergeInputs<'_>,
) -> Result<(), MergeError> {
    let n = inputs.tensors.len();
    if n == 0 {
        return Err(MergeError::Empty);
    }
    if inputs.weights.len() != n {
        return Err(MergeError::WeightCount {
            expected: n,
            got: inputs.weights.len(),
        });
    }
    let shape = inputs.tensors[0].shape();
    for t in inputs.tensors {
        if t.shape() != shape {
            return Err(shape_mismatch("contribution", shape, t.shape()));
        }
    }
    if info.needs_base {
        let b = inputs
            .base
            .ok_or_else(|| MergeError::MissingBase(info.name.to_string()))?;
        if b.shape() != shape {
            return Err(shape_mismatch("base", shape, b.shape()));
        }
    }
    Ok(())
}

/// The common prologue: structural checks, then the n = 1 rule (spec §1.2:
/// a single contribution is returned unchanged, after the base check).
/// `Some(result)` means the strategy is done.
pub(crate) fn prelude(
    info: &StrategyInfo,
    inputs: &MergeInputs<'_>,
) -> Result<Option<Tensor>, MergeError> {
    check_structure(info, inputs)?;
    if inputs.tensors.len() == 1 {
        return Ok(Some(inputs.tensors[0].clone()));
    }
    Ok(None)
}

/// A `ShapeMismatch` error for `what`.
pub(crate) fn shape_mismatch(what: &str, expected: &[usize], got: &[usize]) -> MergeError {
    MergeError::ShapeMismatch {
        what: what.to_string(),
        expected: expected.to_vec(),
        got: got.to_vec(),
    }
}

/// The base, which `check_structure` guaranteed for base-required strategies.
pub(crate) fn base<'a>(
    info: &StrategyInfo,
    inputs: &MergeInputs<'a>,
) -> Result<&'a Tensor, MergeError> {
    inputs
        .base
        .ok_or_else(|| MergeError::MissingBase(info.name.to_string()))
}

/// An optional base for strategies that do not require one: its shape must
/// still match the contributions.
pub(crate) fn optional_base<'a>(
    inputs: &MergeInputs<'a>,
) -> Result<Option<&'a Tensor>, MergeError> {
    match inputs.base {
        Some(b) if b.shape() != inputs.tensors[0].shape() => {
            Err(shape_mismatch("base", inputs.tensors[0].shape(), b.shape()))
        }
        other => Ok(other),
    }
}

/// Normalised weights ŵ (spec §1.1).
pub(crate) fn weights_hat(inputs: &MergeInputs<'_>) -> Result<Vec<f64>, MergeError> {
    normalised_weights(inputs.weights)
}

/// Task vectors `τ_i = x_i − b`, elementwise.
pub(crate) fn task_vectors(inputs: &MergeInputs<'_>, b: &Tensor) -> Vec<Vec<f64>> {
    inputs
        .tensors
        .iter()
        .map(|t| sub(t.data(), b.data()))
        .collect()
}

/// `a − c`, elementwise.
pub(crate) fn sub(a: &[f64], c: &[f64]) -> Vec<f64> {
    a.iter().zip(c).map(|(x, y)| x - y).collect()
}

/// `a + c`, elementwise.
pub(crate) fn add(a: &[f64], c: &[f64]) -> Vec<f64> {
    a.iter().zip(c).map(|(x, y)| x + y).collect()
}

/// `Σ_i w_i·y_i` as a left fold from zeros: `acc = acc + (w_i * y_i)`.
pub(crate) fn weighted_fold<'a, I>(d: usize, terms: I) -> Vec<f64>
where
    I: IntoIterator<Item = (f64, &'a [f64])>,
{
    // Blocked over elements so the accumulator block stays in L1 while
    // every term streams past it, and four terms per pass so each
    // accumulator is loaded and stored once per four terms. Each element
    // still adds its terms one at a time, in order, so the bits are those
    // of the plain loop.
    const BLOCK: usize = 2048;
    let terms: Vec<(f64, &[f64])> = terms.into_iter().collect();
    let mut acc = vec![0.0; d];
    for (start, block) in (0..).step_by(BLOCK).zip(acc.chunks_mut(BLOCK)) {
        let end = start + block.len();
        let mut quads = terms.chunks_exact(4);
        for q in &mut quads {
            let [(w0, y0), (w1, y1), (w2, y2), (w3, y3)] =
                [0, 1, 2, 3].map(|i| (q[i].0, &q[i].1[start..end]));
            for ((((a, &v0), &v1), &v2), &v3) in block.iter_mut().zip(y0).zip(y1).zip(y2).zip(y3) {
                *a = (((*a + w0 * v0) + w1 * v1) + w2 * v2) + w3 * v3;
            }
        }
        for &(w, y) in quads.remainder() {
            for (a, &v) in block.iter_mut().zip(&y[start..end]) {
                *a += w * v;
            }
        }
    }
    acc
}

/// `Σ_i ŵ_i·x_i` over the raw contributions, a fold from zeros.
pub(crate) fn weighted_mean_of(inputs: &MergeInputs<'_>, w: &[f64]) -> Vec<f64> {
    let d = inputs.tensors[0].len();
    weighted_fold(
        d,
        w.iter()
            .copied()
            .zip(inputs.tensors.iter().map(|t| t.data())),
    )
}

/// numpy's pairwise summation of a contiguous f64 block
/// (`pairwise_sum` in numpy's loops: 8 accumulators up to 128 elements,
/// halving above), plus the reduction's initial 0.0.
pub(crate) fn np_sum(a: &[f64]) -> f64 {
    0.0 + pairwise(a)
}

fn pairwise(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = -0.0;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let full = n - n % 8;
        let mut i = 8;
        while i < full {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[full..] {
            res += x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise(&a[..n2]) + pairwise(&a[n2..])
    }
}

/// numpy `mean` over a whole tensor: pairwise sum divided by d.
pub(crate) fn np_mean(a: &[f64]) -> f64 {
    np_sum(a) / a.len() as f64
}

/// numpy `var` (population) over a whole tensor: `mean((a − mean a)²)`.
pub(crate) fn np_var(a: &[f64]) -> f64 {
    let m = np_mean(a);
    let sq: Vec<f64> = a
        .iter()
        .map(|x| {
            let c = x - m;
            c * c
        })
        .collect();
    np_sum(&sq) / a.len() as f64
}

/// numpy `std` (population): `sqrt(var)`.
pub(crate) fn np_std(a: &[f64]) -> f64 {
    np_var(a).sqrt()
}

/// Euclidean norm `sqrt(Σ v²)`. The reference uses BLAS `ddot` (SIMD
/// accumulators, FMA); this is numpy's pairwise order instead, which agrees
/// to class R (spec §1.7).
pub(crate) fn norm(a: &[f64]) -> f64 {
    let sq: Vec<f64> = a.iter().map(|x| x * x).collect();
    np_sum(&sq).sqrt()
}

/// Dot product in numpy's pairwise order (see [`norm`]).
pub(crate) fn dot(a: &[f64], c: &[f64]) -> f64 {
    let p: Vec<f64> = a.iter().zip(c).map(|(x, y)| x * y).collect();
    np_sum(&p)
}

/// Mean of a short Python list of floats through numpy (`np.mean(list)`),
/// i.e. pairwise sum over the list divided by its length.
pub(crate) fn list_mean(a: &[f64]) -> f64 {
    np_mean(a)
}

/// Largest value (NaN-free inputs); `-inf` for an empty slice.
pub(crate) fn max_of(a: &[f64]) -> f64 {
    a.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// `|v|` elementwise.
pub(crate) fn abs_all(a: &[f64]) -> Vec<f64> {
    a.iter().map(|x| x.abs()).collect()
}

/// The key of `x` in IEEE total order (`f64::total_cmp`) as an unsigned
/// integer: `total_key(a) < total_key(b)` exactly when `a.total_cmp(&b)` is
/// `Less`. Selecting on these keys (plain integer compares) finds the same
/// order statistics, bit for bit, as selecting with `total_cmp`.
#[inline(always)]
pub(crate) fn total_key(x: f64) -> u64 {
    let b = x.to_bits();
    // Negative: flip every bit; non-negative: set the sign bit.
    b ^ (((b as i64 >> 63) as u64) | (1 << 63))
}

/// Inverse of [`total_key`].
#[inline]
pub(crate) fn from_total_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// The `i`-th smallest value (0-based, IEEE total order, no panics on NaN):
/// `sorted_ascending[i]`, found by selection in O(len) instead of a sort.
/// `values` must be non-empty and `i < len`.
pub(crate) fn kth_smallest(values: &[f64], i: usize) -> f64 {
    let mut keys: Vec<u64> = values.iter().map(|&x| total_key(x)).collect();
    from_total_key(*keys.select_nth_unstable(i).1)
}

/// numpy `percentile(values, pct)` with the default "linear" method
/// (spec §1.5), including numpy's two-sided lerp. `values` must be
/// non-empty. The two order statistics are found by selection. (The
/// strategies call [`percentile_linear_keys`] on a reused buffer.)
#[cfg(test)]
pub(crate) fn percentile_linear(values: &[f64], pct: f64) -> f64 {
    let mut keys: Vec<u64> = values.iter().map(|&x| total_key(x)).collect();
    percentile_linear_keys(&mut keys, pct)
}

/// [`percentile_linear`] over the [`total_key`]s of the values (reordered in
/// place), so callers can fill a reused buffer in the same pass that
/// computes the values. `keys` must be non-empty.
pub(crate) fn percentile_linear_keys(keys: &mut [u64], pct: f64) -> f64 {
    percentile_linear_keys_above(keys, 0, None, pct)
}

/// [`percentile_linear_keys`] of all keys but the `skip` smallest (which
/// the caller knows are the smallest, e.g. the keys of zero magnitudes
/// among magnitude keys). `keys.len() > skip` is required. `top`, when
/// given, must be at least every key: it enables the bucketed selection
/// of [`select_pair`].
pub(crate) fn percentile_linear_keys_above(
    keys: &mut [u64],
    skip: usize,
    top: Option<u64>,
    pct: f64,
) -> f64 {
    let m = keys.len() - skip;
    let q = pct / 100.0;
    let v = (m - 1) as f64 * q;
    if v >= (m - 1) as f64 {
        return keys.iter().copied().max().map_or(f64::NAN, from_total_key);
    }
    let lo = if v < 0.0 { 0.0 } else { v.floor() };
    let (a, next) = select_pair(keys, top, skip + lo as usize);
    let a = from_total_key(a);
    if v < 0.0 {
        return a;
    }
    let c = next.map_or(a, from_total_key);
    let gamma = v - lo;
    let delta = c - a;
    if gamma >= 0.5 {
        c - delta * (1.0 - gamma)
    } else {
        a + delta * gamma
    }
}

/// Selections on fewer keys than this go straight to `select_nth_unstable`:
/// the bucketing's fixed cost does not pay off.
const HIST_MIN_LEN: usize = 4096;
/// Bucket width of [`select_pair_hist`] in key units, as a shift: for
/// positive normal floats one binade spans 2^52 keys, so 2^47 is 1/32 of a
/// binade.
const HIST_SHIFT: u32 = 47;
/// Buckets of [`select_pair_hist`] (one byte per key); the last one
/// collects everything further than `(HIST_BUCKETS − 1) << HIST_SHIFT`
/// below the bound (8 binades).
const HIST_BUCKETS: usize = 256;
/// Keys per group of the gathering pass of [`select_pair_hist`].
const GATHER_GROUP: usize = 16;

/// The `r`-th smallest key (0-based) and the `(r + 1)`-th (`None` when
/// `r` is the last rank): `sorted[r]` and `sorted[r + 1]`, exactly. The
/// keys are scratch and may be reordered in place. `top`, when given, is
/// an upper bound of every key (the tighter, the better).
pub(crate) fn select_pair(keys: &mut [u64], top: Option<u64>, r: usize) -> (u64, Option<u64>) {
    if let Some(top) = top {
        if keys.len() >= HIST_MIN_LEN {
            if let Some(found) = select_pair_hist(keys, top, r) {
                return found;
            }
        }
    }
    let (_, a, upper) = keys.select_nth_unstable(r);
    (*a, upper.iter().copied().min())
}

/// [`select_pair`] by bucket counts: the keys are bucketed by their distance
/// below `top` (buckets of 2^[`HIST_SHIFT`] keys, the far tail clamped into
/// the last bucket); the bucket counts locate the bucket(s) holding ranks
/// `r` and `r + 1`, and only the keys of those buckets are gathered and
/// selected among. Bucketing is monotone (a larger key never lands in a
/// further bucket), so the result is exactly the order statistics of all
/// keys. `None` when the wanted ranks fall in the clamped tail or the
/// candidates are too many for the shortcut to pay.
fn select_pair_hist(keys: &[u64], top: u64, r: usize) -> Option<(u64, Option<u64>)> {
    let n = keys.len();
    // Bucket indices first, then the counts. With `top`'s low half all
    // ones, `(top − k) >> 32` is exactly the difference of the high halves
    // (no borrow), which is 32-bit work. The loop runs over fixed groups of
    // 16 keys (one vector of 16 bytes out): written as one plain loop it
    // vectorised only 4 keys wide, at about twice the cost.
    let top = top | u64::from(u32::MAX);
    let top_hi = (top >> 32) as u32;
    let last = HIST_BUCKETS as u32 - 1;
    // The distance is below 2^17 (up to 2^32 − 1 before the shift), so the
    // clamp must come before narrowing: a truncated distance would put a
    // far key into a near bucket.
    let bucket = |k: u64| ((top_hi - (k >> 32) as u32) >> (HIST_SHIFT - 32)).min(last) as u8;
    let mut idx = vec![0u8; n];
    let mut ic = idx.chunks_exact_mut(16);
    let kc = keys.chunks_exact(16);
    let kr = kc.remainder();
    for (ig, kg) in (&mut ic).zip(kc) {
        for (i, &k) in ig.iter_mut().zip(kg) {
            *i = bucket(k);
        }
    }
    for (i, &k) in ic.into_remainder().iter_mut().zip(kr) {
        *i = bucket(k);
    }
    // Rank r from the top (bucket 0 holds the largest keys): its bucket is
    // the first whose cumulative count exceeds t, found by bisection with
    // counting passes over the indices (which vectorise, unlike a
    // histogram's scattered increments).
    let t = n - 1 - r;
    let (hit, larger, through) = first_bucket_past(&idx, t);
    if hit == HIST_BUCKETS - 1 {
        return None;
    }
    let in_hit = through - larger;
    // Rank r + 1 is rank t − 1 from the top: in the same bucket, or the
    // smallest key of the last non-empty bucket before it.
    let (first, count) = if t >= 1 && t - 1 < larger {
        // The buckets strictly between `first` and `hit` are empty.
        let (first, before, _) = first_bucket_past(&idx, t - 1);
        (first, through - before)
    } else {
        (hit, in_hit)
    };
    let smaller = n - through;
    if count > n / 8 {
        return None;
    }
    // Gather the keys of buckets first..=hit (those between are empty):
    // a branch-free test per group of indices, and a scan of the few
    // groups that hold any.
    let (lo, span) = (first as u8, (hit - first) as u8);
    let inside = |i: u8| i.wrapping_sub(lo) <= span;
    let mut cand = Vec::with_capacity(count);
    for (ig, kg) in idx.chunks(GATHER_GROUP).zip(keys.chunks(GATHER_GROUP)) {
        if ig.iter().fold(false, |any, &i| any | inside(i)) {
            cand.extend(
                ig.iter()
                    .zip(kg)
                    .filter(|(&i, _)| inside(i))
                    .map(|(_, &k)| k),
            );
        }
    }
    debug_assert_eq!(cand.len(), count);
    let (_, a, upper) = cand.select_nth_unstable(r - smaller);
    Some((*a, upper.iter().copied().min()))
}

/// How many bucket indices are at most `b`. Counted in byte lanes over
/// chunks short enough that they cannot overflow, so the loop vectorises.
fn count_le(idx: &[u8], b: u8) -> usize {
    idx.chunks(128)
        .map(|c| usize::from(c.iter().fold(0u8, |a, &i| a + u8::from(i <= b))))
        .sum()
}

/// The first bucket `B` whose cumulative count exceeds `t`
/// (`t < idx.len()`), by bisection over [`count_le`], with the number of
/// indices below `B` and the number at most `B`.
fn first_bucket_past(idx: &[u8], t: usize) -> (usize, usize, usize) {
    // Invariant: c_lo = #(indices < lo) ≤ t < c_hi = #(indices ≤ hi).
    let (mut lo, mut hi) = (0usize, HIST_BUCKETS - 1);
    let (mut c_lo, mut c_hi) = (0, idx.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        let c = count_le(idx, mid as u8);
        if c > t {
            (hi, c_hi) = (mid, c);
        } else {
            (lo, c_lo) = (mid + 1, c);
        }
    }
    (lo, c_lo, c_hi)
}

/// Threshold for "keep the k largest, ties included" on a descending sort
/// (star, adarank 1-D): `sorted_desc[idx]` where `idx` follows Python's
/// indexing, so −1 wraps to the smallest value.
pub(crate) fn kth_largest_py(values: &[f64], idx: i64) -> f64 {
    let m = values.len() as i64;
    let i = if idx < 0 {
        (m + idx).max(0)
    } else {
        idx.min(m - 1)
    };
    kth_smallest(values, (m - 1 - i) as usize)
}

/// numpy `sign`: −1, 0 or +1 (0 for ±0; NaN stays NaN). Written with
/// selects instead of branches so that loops over it vectorise.
#[inline(always)]
pub(crate) fn np_sign(x: f64) -> f64 {
    let s = (if x > 0.0 { 1.0 } else { 0.0 }) - (if x < 0.0 { 1.0 } else { 0.0 });
    if x.is_nan() {
        x
    } else {
        s
    }
}

/// `int(x)` for a non-negative finite float (truncation), saturating.
pub(crate) fn py_int(x: f64) -> usize {
    if x.is_finite() && x > 0.0 {
        x as usize
    } else {
        0
    }
}

/// Python's `round(x)` (half to even) for a non-negative float.
pub(crate) fn py_round_half_even(x: f64) -> i64 {
    let f = x.floor();
    let diff = x - f;
    let even = (f / 2.0).floor() * 2.0 == f;
    let r = if diff > 0.5 || (diff == 0.5 && !even) {
        f + 1.0
    } else {
        f
    };
    r as i64
}

/// True when the star/adarank/svd_knot_tying "1-D path" applies (spec
/// §2.21): one dimension, or any dimension equal to 1.
pub(crate) fn is_vector_like(shape: &[usize]) -> bool {
    shape.len() == 1 || shape.contains(&1)
}

/// Rows and columns of the matrix view `(shape[0], product of the rest)`.
pub(crate) fn matrix_dims(shape: &[usize]) -> (usize, usize) {
    let rows = shape[0];
    let cols = shape[1..].iter().product();
    (rows, cols)
}

/// A float parameter spec, usable in a `static`.
pub(crate) const fn f64_param(
    name: &'static str,
    default: f64,
    lo: f64,
    hi: f64,
    doc: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        default: ParamDefault::F64(default),
        range: Some((lo, hi)),
        choices: &[],
        doc,
    }
}

/// An integer parameter spec, usable in a `static`.
pub(crate) const fn i64_param(
    name: &'static str,
    default: i64,
    lo: f64,
    hi: f64,
    doc: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        default: ParamDefault::I64(default),
        range: Some((lo, hi)),
        choices: &[],
        doc,
    }
}

/// A string parameter spec (`choices` empty = free-form), usable in a
/// `static`.
pub(crate) const fn str_param(
    name: &'static str,
    default: &'static str,
    choices: &'static [&'static str],
    doc: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        default: ParamDefault::Str(default),
        range: None,
        choices,
        doc,
    }
}

/// The `seed` parameter of the strategies whose random mode the CRDT layer
/// never seeds (model_breadcrumbs, split_unlearn_merge): Python's default 42.
pub(crate) const SEED_PARAM: ParamSpec = i64_param(
    "seed",
    42,
    -9.0e15,
    9.0e15,
    "Seed of the random mode (Python random.Random; the state never passes it).",
);

/// A `BadParameter` error.
pub(crate) fn bad_param(info: &StrategyInfo, name: &str, reason: String) -> MergeError {
    MergeError::BadParameter {
        strategy: info.name.to_string(),
        name: name.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_numpy_linear() {
        let v: Vec<f64> = (1..=24).map(f64::from).collect();
        // q = 0.8, v = 18.4 → 19 + 0.4.
        let p = percentile_linear(&v, (1.0 - 0.2) * 100.0);
        assert!((p - 19.4).abs() < 1e-12);
        assert_eq!(percentile_linear(&[3.0], 50.0), 3.0);
        assert_eq!(percentile_linear(&[1.0, 2.0], 100.0), 2.0);
        assert_eq!(percentile_linear(&[1.0, 2.0], 0.0), 1.0);
    }

    #[test]
    fn pairwise_sum_is_exact_on_integers_and_blocks_large_inputs() {
        let v: Vec<f64> = (0..1000).map(f64::from).collect();
        assert_eq!(np_sum(&v), 499_500.0);
        assert_eq!(np_sum(&[]), 0.0);
        // Pairwise differs from left-to-right on this input: the 1.0s are
        // added to each other before they meet 1e16.
        let w = [1e16, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let seq = w.iter().fold(0.0, |a, x| a + x);
        assert_eq!(np_sum(&w), 1e16 + 6.0);
        assert_ne!(np_sum(&w), seq);
    }

    /// The selection-based percentile equals the sort-based definition of
    /// spec §1.5 on data with many ties.
    #[test]
    fn percentile_by_selection_equals_sorted_definition() {
        let mut rng = crate::pyrandom::PyRandom::new(9);
        for _ in 0..500 {
            let m = 1 + rng.randint(0, 40) as usize;
            let v: Vec<f64> = (0..m).map(|_| rng.randint(0, 8) as f64 * 0.25).collect();
            let pct = rng.random() * 100.0;
            let mut s = v.clone();
            s.sort_by(f64::total_cmp);
            let x = (m - 1) as f64 * (pct / 100.0);
            let want = if x >= (m - 1) as f64 {
                s[m - 1]
            } else {
                let lo = x.floor();
                let (a, c, g) = (s[lo as usize], s[lo as usize + 1], x - lo);
                if g >= 0.5 {
                    c - (c - a) * (1.0 - g)
                } else {
                    a + (c - a) * g
                }
            };
            assert_eq!(percentile_linear(&v, pct).to_bits(), want.to_bits());
            let k = rng.randint(0, m as i64 - 1) as usize;
            assert_eq!(kth_smallest(&v, k), s[k]);
        }
    }

    /// `select_pair` (histogram path and its fallbacks) equals sorting, on
    /// long inputs with heavy ties, zeros, NaNs, spread-out magnitudes and
    /// loose or tight bounds, at every kind of rank.
    #[test]
    fn select_pair_equals_sorting() {
        let mut rng = crate::pyrandom::PyRandom::new(11);
        for case in 0..60 {
            let n = 4096 + rng.randint(0, 3000) as usize;
            let one = total_key(1.0);
            let v: Vec<f64> = (0..n)
                .map(|_| match case % 5 {
                    0 => rng.random(),
                    // With the largest key that of 1.0, these negative
                    // values sit 2^31 high-half units below it: exactly
                    // where a distance narrowed before clamping would wrap
                    // to the nearest bucket.
                    4 if rng.randint(0, 9) == 0 => f64::from_bits(0xC00F_FFFF_0000_0000),
                    4 => 0.5 + rng.random() * 0.5,
                    1 => rng.randint(0, 40) as f64 * 0.125,
                    2 => (rng.random() * 60.0 - 50.0).exp2(),
                    _ => match rng.randint(0, 50) {
                        0 => f64::NAN,
                        1 => f64::INFINITY,
                        2 => 0.0,
                        _ => rng.random() * 1e-3,
                    },
                })
                .collect();
            let keys: Vec<u64> = v.iter().map(|&x| total_key(x)).collect();
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            let max = *sorted.last().unwrap();
            for r in [0, 1, n / 2, n * 7 / 10, n * 9 / 10, n - 2, n - 1]
                .into_iter()
                .chain((0..5).map(|_| rng.randint(0, n as i64 - 1) as usize))
            {
                let want = (sorted[r], sorted.get(r + 1).copied());
                for top in [None, Some(max), Some(u64::MAX), Some(one.max(max))] {
                    let mut k = keys.clone();
                    assert_eq!(select_pair(&mut k, top, r), want, "case {case} r {r}");
                }
            }
        }
    }

    /// `total_key` is a strictly increasing bijection for `total_cmp`.
    #[test]
    fn total_key_orders_like_total_cmp() {
        let v = [
            f64::NEG_INFINITY,
            -1.5,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            5e-324,
            1.0,
            f64::INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        for a in v {
            assert_eq!(from_total_key(total_key(a)).to_bits(), a.to_bits());
            for b in v {
                assert_eq!(total_key(a).cmp(&total_key(b)), a.total_cmp(&b));
            }
        }
    }

    #[test]
    fn python_round_is_half_even() {
        assert_eq!(py_round_half_even(0.5), 0);
        assert_eq!(py_round_half_even(1.5), 2);
        assert_eq!(py_round_half_even(2.5), 2);
        assert_eq!(py_round_half_even(3.5), 4);
        assert_eq!(py_round_half_even(1.0), 1);
    }

    #[test]
    fn kth_largest_wraps_negative_index() {
        let v = [3.0, 1.0, 2.0];
        assert_eq!(kth_largest_py(&v, 0), 3.0);
        assert_eq!(kth_largest_py(&v, 1), 2.0);
        assert_eq!(kth_largest_py(&v, -1), 1.0);
        assert_eq!(kth_largest_py(&v, 9), 1.0);
    }
}
