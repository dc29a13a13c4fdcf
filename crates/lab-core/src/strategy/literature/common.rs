//! Building blocks shared by the literature family: input preparation, task
//! vectors, rank masks, the TIES elect/disjoint-mean step, norms and the keyed
//! random streams. Every reduction here is a left-to-right loop in a fixed
//! order, and every transcendental comes from `libm`.

use crate::error::MergeError;
use crate::rng::{Purpose, Stream};
use crate::strategy::reference::util::total_key;
use crate::strategy::{check_inputs, resolve_params, MergeInputs, Params, StrategyInfo};
use crate::tensor::Tensor;

/// Completes the parameters and validates the inputs, so a strategy called
/// directly (not through `merge_by_name`) still returns an error instead of
/// panicking on bad input.
pub(crate) fn prepare(
    info: &StrategyInfo,
    inputs: &MergeInputs<'_>,
    params: &Params,
) -> Result<Params, MergeError> {
    let params = resolve_params(info, params)?;
    check_inputs(info, inputs)?;
    Ok(params)
}

/// The base tensor of a strategy whose `needs_base` made `check_inputs`
/// guarantee it exists.
pub(crate) fn base<'a>(
    info: &StrategyInfo,
    inputs: &MergeInputs<'a>,
) -> Result<&'a Tensor, MergeError> {
    inputs
        .base
        .ok_or_else(|| MergeError::MissingBase(info.name.to_string()))
}

/// Task vectors `τ_i = x_i − b`, one per contribution in canonical order.
/// A difference that overflows to infinity is an input error.
pub(crate) fn task_vectors(
    inputs: &MergeInputs<'_>,
    base: &Tensor,
) -> Result<Vec<Vec<f64>>, MergeError> {
    let mut out = Vec::with_capacity(inputs.tensors.len());
    for (i, t) in inputs.tensors.iter().enumerate() {
        let tau: Vec<f64> = t
            .data()
            .iter()
            .zip(base.data())
            .map(|(x, b)| x - b)
            .collect();
        if let Some(index) = tau.iter().position(|v| !v.is_finite()) {
            return Err(MergeError::NonFinite {
                what: format!("task vector of '{}'", inputs.ids[i]),
                index,
            });
        }
        out.push(tau);
    }
    Ok(out)
}

/// Wraps the merged data in the input's shape, refusing a result that
/// overflowed (finite inputs can still produce an infinite output).
pub(crate) fn finish(
    info: &StrategyInfo,
    like: &Tensor,
    data: Vec<f64>,
) -> Result<Tensor, MergeError> {
    if let Some(index) = data.iter().position(|v| !v.is_finite()) {
        return Err(MergeError::NonFinite {
            what: format!("result of '{}'", info.name),
            index,
        });
    }
    Ok(like.with_data(data))
}

/// `b + λ·δ`, elementwise.
pub(crate) fn add_scaled(base: &[f64], lambda: f64, delta: &[f64]) -> Vec<f64> {
    base.iter()
        .zip(delta)
        .map(|(b, d)| b + lambda * d)
        .collect()
}

/// The number of elements that a fraction of `len` stands for, rounded to
/// the nearest integer (halves away from zero) and clamped to `0..=len`.
/// Rounding rather than truncating keeps `0.7 · 10` (7.000000000000001 in
/// f64) and `0.29 · 100` (28.999999999999996) at 7 and 29.
pub fn count_of(fraction: f64, len: usize) -> usize {
    let c = (fraction * len as f64).round();
    if c <= 0.0 {
        0
    } else if c >= len as f64 {
        len
    } else {
        c as usize
    }
}

/// The magnitude order of the family's rank masks: ascending `|v|` (IEEE
/// total order); among equal magnitudes the lower index counts as the
/// larger (comes later), so a top-k keeps the earlier of tied entries. This
/// is a strict total order, so ranks are unique. `magnitude_key` maps `|v|`
/// to an integer with the same order (`total_cmp` on `|v|`).
#[inline]
pub(crate) fn magnitude_key(v: f64) -> u64 {
    total_key(v.abs())
}

/// Zeroes every element whose ascending magnitude rank (see
/// [`magnitude_key`]; ties ranked by descending index) lies outside
/// `lo..hi`. Works by selection, not sorting: the magnitude at rank `lo − 1`
/// and at rank `hi` are found with `select_nth_unstable`, entries strictly
/// outside them are zeroed, and within a tied magnitude the ranks are handed
/// out by index exactly as the sort order would (the bottom ranks go to the
/// highest indices, the top ranks to the lowest).
pub(crate) fn keep_rank_range(values: &mut [f64], lo: usize, hi: usize) {
    let d = values.len();
    if lo == 0 && hi >= d {
        return;
    }
    let hi = hi.min(d);
    if lo >= hi {
        values.fill(0.0);
        return;
    }
    let mut keys: Vec<u64> = values.iter().map(|&v| magnitude_key(v)).collect();
    // Rank lo − 1 (the largest zeroed at the bottom) and rank hi (the
    // smallest zeroed at the top); 0 and u64::MAX stand for "none".
    let low = if lo > 0 {
        *keys.select_nth_unstable(lo - 1).1
    } else {
        0
    };
    let high = if hi < d {
        *keys[lo..].select_nth_unstable(hi - lo).1
    } else {
        u64::MAX
    };
    let (mut below, mut above, mut tied_low) = (0, 0, 0);
    for &k in &keys {
        below += usize::from(k < low);
        above += usize::from(k > high);
        tied_low += usize::from(k == low);
    }
    // How many entries of each tied magnitude are zeroed.
    let need_low = lo - below;
    let need_high = (d - hi) - above;
    let skip_low = if need_low > 0 { tied_low - need_low } else { 0 };
    let (mut seen_low, mut seen_high) = (0, 0);
    for v in values.iter_mut() {
        let k = magnitude_key(*v);
        let mut zero = k < low || k > high;
        if need_high > 0 && k == high {
            zero |= seen_high < need_high;
            seen_high += 1;
        }
        if need_low > 0 && k == low {
            zero |= seen_low >= skip_low;
            seen_low += 1;
        }
        if zero {
            *v = 0.0;
        }
    }
}

/// TIES trim: keeps the `k` largest-magnitude entries (ties broken towards
/// the lower index) and zeroes the rest. `k = count_of(density, d)`, raised to
/// 1 when the density is positive so a non-empty tensor always keeps its
/// largest entry.
pub fn trim_top_k(values: &mut [f64], density: f64) {
    let d = values.len();
    let mut k = count_of(density, d);
    if density > 0.0 && k == 0 && d > 0 {
        k = 1;
    }
    keep_rank_range(values, d - k, d);
}

/// `sign(x)` with `sign(±0) = 0` (and 0 for NaN). Selects, not branches,
/// so loops over it vectorise.
#[inline(always)]
pub(crate) fn sign(x: f64) -> f64 {
    (if x > 0.0 { 1.0 } else { 0.0 }) - (if x < 0.0 { 1.0 } else { 0.0 })
}

/// Elements per block of [`elect_disjoint_mean`]: one block of every
/// vector stays in cache while each element folds over the vectors in order.
const BLOCK: usize = 256;

/// TIES steps 2–3 (Yadav et al. 2023): elect `γ_j = sign(Σ_i v_ij)` from the
/// summed mass, then average the entries that are non-zero with sign `γ_j`
/// (the disjoint mean). An elected sign of 0 merges nothing at that position.
/// All sums are folds in contribution order (computed block by block).
pub fn elect_disjoint_mean(vectors: &[Vec<f64>]) -> Vec<f64> {
    let d = vectors.first().map_or(0, Vec::len);
    let mut out = vec![0.0; d];
    let (mut elected, mut num, mut count) = ([0.0; BLOCK], [0.0; BLOCK], [0u64; BLOCK]);
    for (b, out) in out.chunks_mut(BLOCK).enumerate() {
        let (start, len) = (b * BLOCK, out.len());
        let elected = &mut elected[..len];
        elected.fill(0.0);
        for v in vectors {
            let v = &v[start..start + len];
            elected.iter_mut().zip(v).for_each(|(m, x)| *m += x);
        }
        elected.iter_mut().for_each(|m| *m = sign(*m));
        let (num, count) = (&mut num[..len], &mut count[..len]);
        num.fill(0.0);
        count.fill(0);
        for v in vectors {
            let v = &v[start..start + len];
            for (((n, c), &e), &x) in num.iter_mut().zip(count.iter_mut()).zip(&*elected).zip(v) {
                let agree = (e != 0.0) & (sign(x) == e);
                *n += if agree { x } else { 0.0 };
                *c += u64::from(agree);
            }
        }
        for (((o, &e), &n), &c) in out.iter_mut().zip(&*elected).zip(&*num).zip(&*count) {
            if e != 0.0 {
                *o = n / c as f64;
            }
        }
    }
    out
}

/// `Σ_i w_i·v_i`, a fold from zeros in contribution order.
pub(crate) fn weighted_sum(vectors: &[Vec<f64>], weights: &[f64], d: usize) -> Vec<f64> {
    let mut acc = vec![0.0; d];
    for (v, &w) in vectors.iter().zip(weights) {
        for (a, x) in acc.iter_mut().zip(v) {
            *a += w * x;
        }
    }
    acc
}

/// Euclidean norm, computed as `m·sqrt(Σ (x/m)²)` with `m = max |x|` so it
/// neither overflows nor underflows for any finite input. 0 for a zero (or
/// empty) vector.
pub fn l2_norm(v: &[f64]) -> f64 {
    let m = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if m == 0.0 {
        return 0.0;
    }
    let mut s = 0.0;
    for x in v {
        let y = x / m;
        s += y * y;
    }
    m * s.sqrt()
}

/// Dot product, a left-to-right sum.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for (x, y) in a.iter().zip(b) {
        s += x * y;
    }
    s
}

/// `v / ‖v‖`, or `None` when the norm is zero.
pub(crate) fn unit(v: &[f64]) -> Option<Vec<f64>> {
    let n = l2_norm(v);
    if n == 0.0 {
        None
    } else {
        Some(v.iter().map(|x| x / n).collect())
    }
}

/// Stream tag of DARE's drop masks (shared by `dare:paper` and
/// `dare_ties:paper`, so their masks coincide for the same seed).
pub const TAG_DARE: u64 = 1;
/// Stream tag of DELLA's MagPrune masks.
pub const TAG_DELLA: u64 = 2;

/// The random stream of one contribution's mask, keyed by
/// `(seed, method tag, model id, tensor key)` and by nothing else, so adding
/// or removing another contribution never changes this one's mask. The key
/// bytes are `model_id ‖ 0 ‖ tensor_key`; the id's length is also part of the
/// key so that ids containing a NUL byte cannot collide.
pub fn mask_stream(seed: u64, tag: u64, model_id: &str, tensor_key: &str) -> Stream {
    let mut key = Vec::with_capacity(model_id.len() + 1 + tensor_key.len());
    key.extend_from_slice(model_id.as_bytes());
    key.push(0);
    key.extend_from_slice(tensor_key.as_bytes());
    Stream::keyed(seed, Purpose::Strategy, &[tag, model_id.len() as u64], &key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l2_norm_neither_overflows_nor_underflows() {
        assert_eq!(l2_norm(&[3.0, -4.0]), 5.0);
        assert_eq!(l2_norm(&[3e300, 4e300]), 5e300);
        assert_eq!(l2_norm(&[3e-300, 4e-300]), 5e-300);
        assert_eq!(l2_norm(&[0.0, -0.0]), 0.0);
        assert_eq!(l2_norm(&[]), 0.0);
    }

    #[test]
    fn count_of_rounds_and_clamps() {
        assert_eq!(count_of(0.7, 10), 7);
        assert_eq!(count_of(0.25, 10), 3);
        assert_eq!(count_of(0.0, 10), 0);
        assert_eq!(count_of(1.0, 10), 10);
        assert_eq!(count_of(0.5, 0), 0);
    }

    #[test]
    fn disjoint_mean_averages_only_agreeing_non_zero_entries() {
        let v = vec![
            vec![1.0, 0.0, 2.0],
            vec![3.0, -1.0, -2.0],
            vec![-1.0, 0.0, 0.0],
        ];
        // j0: mass 3 → +, mean of {1, 3}; j1: −; j2: mass 0 → nothing.
        assert_eq!(elect_disjoint_mean(&v), vec![2.0, -1.0, 0.0]);
    }

    /// The sort-based definitions the selection-based code replaced.
    fn keep_rank_range_by_sort(values: &mut [f64], lo: usize, hi: usize) {
        if lo == 0 && hi >= values.len() {
            return;
        }
        let mut order: Vec<usize> = (0..values.len()).collect();
        order
            .sort_unstable_by(|&a, &b| values[a].abs().total_cmp(&values[b].abs()).then(b.cmp(&a)));
        for (rank, &j) in order.iter().enumerate() {
            if rank < lo || rank >= hi {
                values[j] = 0.0;
            }
        }
    }

    fn elect_disjoint_mean_by_element(vectors: &[Vec<f64>]) -> Vec<f64> {
        let d = vectors.first().map_or(0, Vec::len);
        let mut out = vec![0.0; d];
        for (j, o) in out.iter_mut().enumerate() {
            let mut mass = 0.0;
            for v in vectors {
                mass += v[j];
            }
            let elected = sign(mass);
            if elected == 0.0 {
                continue;
            }
            let mut num = 0.0;
            let mut count = 0u64;
            for v in vectors {
                if sign(v[j]) == elected {
                    num += v[j];
                    count += 1;
                }
            }
            *o = num / count as f64;
        }
        out
    }

    /// Selection with tie handling gives the sort's masks bit for bit, on
    /// data with many tied magnitudes, signed zeros and every rank window.
    #[test]
    fn rank_masks_and_disjoint_mean_match_the_sort_based_definitions() {
        let mut rng = crate::pyrandom::PyRandom::new(17);
        for _ in 0..3000 {
            let d = rng.randint(0, 700) as usize;
            let levels = rng.randint(1, 6);
            let v: Vec<f64> = (0..d)
                .map(|_| {
                    let x = rng.randint(-levels, levels) as f64 * 0.5;
                    if x == 0.0 && rng.random() < 0.5 {
                        -0.0
                    } else {
                        x
                    }
                })
                .collect();
            let lo = rng.randint(0, d as i64 + 2) as usize;
            let hi = rng.randint(0, d as i64 + 2) as usize;
            let (mut a, mut b) = (v.clone(), v.clone());
            keep_rank_range(&mut a, lo, hi);
            keep_rank_range_by_sort(&mut b, lo, hi);
            let bits = |x: &[f64]| x.iter().map(|y| y.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "d {d} lo {lo} hi {hi}");
            let n = rng.randint(1, 5) as usize;
            let vs: Vec<Vec<f64>> = (0..n)
                .map(|_| {
                    (0..d)
                        .map(|j| v[(j * 7 + n) % d.max(1)] * rng.random())
                        .collect()
                })
                .collect();
            assert_eq!(
                bits(&elect_disjoint_mean(&vs)),
                bits(&elect_disjoint_mean_by_element(&vs))
            );
        }
    }

    #[test]
    fn mask_streams_are_keyed_by_id_and_tensor() {
        let first = |id: &str, key: &str| mask_stream(9, TAG_DARE, id, key).next_u64();
        assert_eq!(first("a", "w"), first("a", "w"));
        assert_ne!(first("a", "w"), first("b", "w"));
        assert_ne!(first("a", "w"), first("a", "v"));
        assert_ne!(first("ab", ""), first("a", "b"));
        assert_ne!(
            mask_stream(9, TAG_DELLA, "a", "w").next_u64(),
            first("a", "w")
        );
    }
}
