//! Per-element strategies without randomness: `fisher_merge` (spec §2.5),
//! `regression_mean` (§2.6), `led_merge` (§2.14) and `safe_merge` (§2.13).
//! All are folds in model order, hence class E.

use super::util::{
    base, f64_param, kth_smallest, max_of, prelude, py_int, shape_mismatch, weights_hat,
};
use crate::error::MergeError;
use crate::strategy::{
    param_f64, Family, MergeInputs, ParamSpec, Params, ReproClass, Strategy, StrategyInfo,
};
use crate::tensor::Tensor;

/// `fisher_merge`: `Σ F_i·x_i / max(Σ F_i, 1e-12)` with the "Fisher"
/// defaulting to `x_i²`. Weights are ignored.
pub struct FisherMerge;

static FISHER_INFO: StrategyInfo = StrategyInfo {
    name: "fisher_merge",
    family: Family::Reference,
    needs_base: false,
    stochastic: false,
    uses_weights: false,
    class: ReproClass::E,
    params: &[],
    summary: "Per-element average weighted by x² (a stand-in for the diagonal Fisher).",
};

impl Strategy for FisherMerge {
    fn info(&self) -> &StrategyInfo {
        &FISHER_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, _params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&FISHER_INFO, inputs)? {
            return Ok(done);
        }
        let fisher: Vec<Vec<f64>> = inputs
            .tensors
            .iter()
            .map(|t| t.data().iter().map(|x| x * x).collect())
            .collect();
        Ok(fisher_fold(inputs, &fisher))
    }
}

/// `fisher_merge` with user-supplied Fisher matrices (the reference's
/// `fisher_matrices` keyword, which no `ParamValue` can carry): one tensor
/// per model, in the inputs' order, of the inputs' shape.
pub fn fisher_merge_with(
    inputs: &MergeInputs<'_>,
    fisher: &[&Tensor],
) -> Result<Tensor, MergeError> {
    if let Some(done) = prelude(&FISHER_INFO, inputs)? {
        return Ok(done);
    }
    if fisher.len() != inputs.tensors.len() {
        return Err(MergeError::Invalid(format!(
            "{} Fisher matrices for {} models",
            fisher.len(),
            inputs.tensors.len()
        )));
    }
    let shape = inputs.tensors[0].shape();
    if let Some(f) = fisher.iter().find(|f| f.shape() != shape) {
        return Err(shape_mismatch("Fisher matrix", shape, f.shape()));
    }
    let fisher: Vec<Vec<f64>> = fisher.iter().map(|f| f.data().to_vec()).collect();
    Ok(fisher_fold(inputs, &fisher))
}

/// `num = Σ F_i·x_i`, `den = Σ F_i` (folds from zero), `num / max(den, 1e-12)`.
fn fisher_fold(inputs: &MergeInputs<'_>, fisher: &[Vec<f64>]) -> Tensor {
    let d = inputs.tensors[0].len();
    let mut num = vec![0.0; d];
    let mut den = vec![0.0; d];
    for (x, f) in inputs.tensors.iter().zip(fisher) {
        for j in 0..d {
            num[j] += f[j] * x.data()[j];
            den[j] += f[j];
        }
    }
    let out = num
        .iter()
        .zip(&den)
        .map(|(a, b)| a / np_maximum(*b, 1e-12))
        .collect();
    inputs.tensors[0].with_data(out)
}

/// numpy `maximum(a, c)` (NaN-propagating).
fn np_maximum(a: f64, c: f64) -> f64 {
    if a.is_nan() || a >= c {
        a
    } else {
        c
    }
}

/// `regression_mean`: `Σ u_i·x_i / max(Σ u_i, 1e-12)` with `u_i = x_i² + λ`.
pub struct RegressionMean;

static REGMEAN_PARAMS: [ParamSpec; 1] = [f64_param(
    "regularization",
    0.01,
    0.0,
    1.0e6,
    "λ added to x² (absolute, so behaviour depends on the weights' scale).",
)];

static REGMEAN_INFO: StrategyInfo = StrategyInfo {
    name: "regression_mean",
    family: Family::Reference,
    needs_base: false,
    stochastic: false,
    uses_weights: false,
    class: ReproClass::E,
    params: &REGMEAN_PARAMS,
    summary: "Per-element average weighted by x² + λ (a data-free stand-in for RegMean).",
};

impl Strategy for RegressionMean {
    fn info(&self) -> &StrategyInfo {
        &REGMEAN_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&REGMEAN_INFO, inputs)? {
            return Ok(done);
        }
        let lambda = param_f64(params, "regularization");
        let u: Vec<Vec<f64>> = inputs
            .tensors
            .iter()
            .map(|t| t.data().iter().map(|x| x * x + lambda).collect())
            .collect();
        Ok(fisher_fold(inputs, &u))
    }
}

/// `led_merge`: per element, the input value closest to the mean of the
/// inputs (ties to the smaller value). Weights are ignored.
pub struct LedMerge;

static LED_INFO: StrategyInfo = StrategyInfo {
    name: "led_merge",
    family: Family::Reference,
    needs_base: false,
    stochastic: false,
    uses_weights: false,
    class: ReproClass::E,
    params: &[],
    summary: "Per element, picks the input value closest to the mean of the inputs.",
};

impl Strategy for LedMerge {
    fn info(&self) -> &StrategyInfo {
        &LED_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, _params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&LED_INFO, inputs)? {
            return Ok(done);
        }
        let n = inputs.tensors.len() as f64;
        let d = inputs.tensors[0].len();
        let out = (0..d)
            .map(|j| {
                let vals = inputs.tensors.iter().map(|t| t.data()[j]);
                let mu = vals.clone().fold(0.0, |a, v| a + v) / n;
                closest_to(vals, mu)
            })
            .collect();
        Ok(inputs.tensors[0].with_data(out))
    }
}

/// Scans in order, replacing the pick when strictly closer to `mu`, or
/// equally close and smaller in value.
fn closest_to(vals: impl Iterator<Item = f64>, mu: f64) -> f64 {
    let mut best: Option<(f64, f64)> = None;
    for v in vals {
        let dist = (v - mu).abs();
        best = match best {
            Some((bv, bd)) if !(dist < bd || (dist == bd && v < bv)) => Some((bv, bd)),
            _ => Some((v, dist)),
        };
    }
    best.map_or(0.0, |(v, _)| v)
}

/// `safe_merge`: the weighted average, except at the ~10 % of positions
/// where the models disagree most, which are reset to the base.
pub struct SafeMerge;

static SAFE_PARAMS: [ParamSpec; 1] = [f64_param(
    "safety_threshold",
    0.1,
    0.0,
    1.0,
    "Fraction of positions (largest cross-model variance) frozen to the base.",
)];

static SAFE_INFO: StrategyInfo = StrategyInfo {
    name: "safe_merge",
    family: Family::Reference,
    needs_base: true,
    stochastic: false,
    uses_weights: true,
    class: ReproClass::E,
    params: &SAFE_PARAMS,
    summary: "Weighted average with the highest-disagreement positions reset to the base.",
};

impl Strategy for SafeMerge {
    fn info(&self) -> &StrategyInfo {
        &SAFE_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&SAFE_INFO, inputs)? {
            return Ok(done);
        }
        let b = base(&SAFE_INFO, inputs)?;
        let w = weights_hat(inputs)?;
        let var = cross_model_variance(inputs);
        let frozen = frozen_positions(&var, param_f64(params, "safety_threshold"));
        let merged = super::util::weighted_mean_of(inputs, &w);
        let out = merged
            .iter()
            .zip(b.data())
            .zip(&frozen)
            .map(|((&m, &bv), &f)| if f { bv } else { m })
            .collect();
        Ok(b.with_data(out))
    }
}

/// Per element: `μ = Σ x_i / n`, `v = Σ (x_i − μ)² / n` (sequential sums
/// over the models).
fn cross_model_variance(inputs: &MergeInputs<'_>) -> Vec<f64> {
    let n = inputs.tensors.len() as f64;
    let d = inputs.tensors[0].len();
    (0..d)
        .map(|j| {
            let mu = inputs.tensors.iter().fold(0.0, |a, t| a + t.data()[j]) / n;
            let ss = inputs.tensors.iter().fold(0.0, |a, t| {
                let c = t.data()[j] - mu;
                a + c * c
            });
            ss / n
        })
        .collect()
}

/// Positions with `v ≥` the k-th largest variance, `k = max(1, ⌊d·f⌋)`;
/// nothing when `max v = 0` (no tolerance, the §2.13 bug).
fn frozen_positions(var: &[f64], f: f64) -> Vec<bool> {
    let d = var.len();
    let any_positive = max_of(var) > 0.0;
    if d == 0 || !any_positive {
        return vec![false; d];
    }
    let k = py_int(d as f64 * f).max(1).min(d);
    let theta = kth_smallest(var, d - k);
    var.iter().map(|&v| v >= theta).collect()
}
