//! `model_stock:paper` — Model Stock: interpolate between the average of the
//! fine-tunes and the base by a ratio set by the angle between their deltas.

use super::common::{base, dot, finish, prepare, task_vectors, unit};
use crate::error::MergeError;
use crate::strategy::{Family, MergeInputs, Params, ReproClass, Strategy, StrategyInfo};
use crate::tensor::Tensor;

/// The mean cosine over all `N(N − 1)/2` pairs of deltas. A pair involving
/// a zero delta (a fine-tune equal to the base) has no angle and counts as
/// cosine 0, as mergekit's `max(‖o_i‖‖o_j‖, ε)` guard gives. Computed in
/// O(N·d) rather than pair by pair, from `Σ_{i<j} û_i·û_j = (‖Σ_i û_i‖² −
/// #non-zero)/2` with the unit deltas `û_i` summed in contribution order;
/// the result is clamped to `[−1, 1]`. Fewer than two deltas have no pair
/// and give 0.
pub fn mean_pairwise_cosine(deltas: &[Vec<f64>]) -> f64 {
    let n = deltas.len();
    if n < 2 {
        return 0.0;
    }
    let mut sum = vec![0.0; deltas.first().map_or(0, Vec::len)];
    let mut units = 0u64;
    for u in deltas.iter().filter_map(|d| unit(d)) {
        sum.iter_mut().zip(&u).for_each(|(s, x)| *s += x);
        units += 1;
    }
    let pair_sum = (dot(&sum, &sum) - units as f64) / 2.0;
    let pairs = (n * (n - 1) / 2) as f64;
    (pair_sum / pairs).clamp(-1.0, 1.0)
}

/// Model Stock's interpolation ratio `t = N·cos θ / (1 + (N − 1)·cos θ)`,
/// with `cos θ` clamped to `[0, 1]` so that `t ∈ [0, 1]`: the paper's
/// geometry assumes fine-tunes at an acute angle; orthogonal or opposed
/// deltas give `t = 0`, the base (and no division by zero at
/// `cos θ = −1/(N − 1)`).
pub fn interpolation_ratio(n: usize, cos: f64) -> f64 {
    let c = cos.clamp(0.0, 1.0);
    let n = n as f64;
    n * c / (1.0 + (n - 1.0) * c)
}

/// `model_stock:paper` — Model Stock: Jang, Yun & Han, "Model Stock: All we
/// need is just a few fine-tuned models", ECCV 2024 (arXiv:2403.19522).
///
/// Per tensor (the paper works per layer): `θ` is the angle between the
/// fine-tuned deltas `x_i − b` — for N > 2 the mean of the pairwise cosines
/// ([`mean_pairwise_cosine`], as mergekit; the paper assumes all pairwise
/// angles equal) — then `t` = [`interpolation_ratio`] and the result is
/// `t·mean_i(x_i) + (1 − t)·b`. Needs the base and at least two fine-tunes
/// (one fine-tune has no angle): n = 1 is `MergeError::Invalid`. Weights are
/// ignored (the paper averages uniformly).
///
/// How it differs from the reference: the reference has **no** Model Stock
/// (the name exists only in its demo app, where it fails; spec §0, §5.1).
/// Against mergekit's `model_stock`: `cos θ` is clamped to `[0, 1]`, and a
/// zero delta counts as cosine 0 exactly.
pub struct ModelStockPaper;

static INFO: StrategyInfo = StrategyInfo {
    name: "model_stock:paper",
    family: Family::Literature,
    needs_base: true,
    stochastic: false,
    uses_weights: false,
    class: ReproClass::R,
    params: &[],
    summary:
        "Model Stock: t·mean(x) + (1−t)·b with t from the angle between the fine-tuned deltas.",
};

impl Strategy for ModelStockPaper {
    fn info(&self) -> &StrategyInfo {
        &INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        prepare(&INFO, inputs, params)?;
        let n = inputs.tensors.len();
        if n < 2 {
            return Err(MergeError::Invalid(format!(
                "'{}' needs at least two fine-tuned models to measure their angle, got {n}",
                INFO.name
            )));
        }
        let b = base(&INFO, inputs)?;
        let deltas = task_vectors(inputs, b)?;
        let t = interpolation_ratio(n, mean_pairwise_cosine(&deltas));
        let mut sum = vec![0.0; b.len()];
        for x in inputs.tensors {
            for (s, v) in sum.iter_mut().zip(x.data()) {
                *s += v;
            }
        }
        let out = sum
            .iter()
            .zip(b.data())
            .map(|(s, bj)| t * (s / n as f64) + (1.0 - t) * bj)
            .collect();
        finish(&INFO, b, out)
    }
}
