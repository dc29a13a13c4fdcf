//! Coefficient-refinement strategies: `ada_merging` (spec §2.7) and `dam`
//! (§2.8). Both iterate an inverse-distance heuristic on the raw models;
//! they use means and logarithms over whole tensors, hence class R.

use super::util::{abs_all, f64_param, i64_param, max_of, np_mean, np_sum, prelude};
use crate::error::MergeError;
use crate::strategy::{
    param_f64, param_i64, Family, MergeInputs, ParamSpec, Params, ReproClass, Strategy,
    StrategyInfo,
};
use crate::tensor::Tensor;

/// `ada_merging`: entropy-based initial coefficients, then `steps` rounds
/// of inverse-distance refinement. Weights and base are ignored.
pub struct AdaMerging;

static ADA_PARAMS: [ParamSpec; 2] = [
    f64_param(
        "learning_rate",
        0.01,
        0.0,
        10.0,
        "η: step toward the inverse-distance target each round.",
    ),
    i64_param("steps", 100, 0.0, 100_000.0, "Number of refinement rounds."),
];

static ADA_INFO: StrategyInfo = StrategyInfo {
    name: "ada_merging",
    family: Family::Reference,
    needs_base: false,
    stochastic: false,
    uses_weights: false,
    class: ReproClass::R,
    params: &ADA_PARAMS,
    summary:
        "Coefficients from weight-magnitude entropy, refined toward the models closest to the mix.",
};

impl Strategy for AdaMerging {
    fn info(&self) -> &StrategyInfo {
        &ADA_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&ADA_INFO, inputs)? {
            return Ok(done);
        }
        let c = entropy_coefficients(inputs);
        Ok(refine_and_mix(inputs, c, params))
    }
}

/// `dam`: the same refinement as `ada_merging`, from uniform coefficients,
/// 50 steps by default.
pub struct Dam;

static DAM_PARAMS: [ParamSpec; 2] = [
    f64_param(
        "learning_rate",
        0.01,
        0.0,
        10.0,
        "η: step toward the inverse-distance target each round.",
    ),
    i64_param("steps", 50, 0.0, 100_000.0, "Number of refinement rounds."),
];

static DAM_INFO: StrategyInfo = StrategyInfo {
    name: "dam",
    family: Family::Reference,
    needs_base: false,
    stochastic: false,
    uses_weights: false,
    class: ReproClass::R,
    params: &DAM_PARAMS,
    summary: "Uniform coefficients refined toward the models closest to the mix.",
};

impl Strategy for Dam {
    fn info(&self) -> &StrategyInfo {
        &DAM_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&DAM_INFO, inputs)? {
            return Ok(done);
        }
        let n = inputs.tensors.len();
        Ok(refine_and_mix(inputs, vec![1.0 / n as f64; n], params))
    }
}

/// `H_i = −Σ p·ln(p + 1e-12)` with `p ∝ |x_i| + 1e-12`; coefficients
/// `∝ H* − H_i + 1e-6`, or uniform when `H* < 1e-12`.
fn entropy_coefficients(inputs: &MergeInputs<'_>) -> Vec<f64> {
    let n = inputs.tensors.len();
    let h: Vec<f64> = inputs.tensors.iter().map(|t| entropy(t.data())).collect();
    let h_max = max_of(&h);
    if h_max < 1e-12 {
        return vec![1.0 / n as f64; n];
    }
    let raw: Vec<f64> = h.iter().map(|hi| h_max - hi + 1e-6).collect();
    let s = np_sum(&raw);
    raw.iter().map(|r| r / s).collect()
}

/// Entropy of the normalised magnitude histogram of one tensor.
fn entropy(x: &[f64]) -> f64 {
    let a: Vec<f64> = abs_all(x).iter().map(|v| v + 1e-12).collect();
    let total = np_sum(&a);
    let terms: Vec<f64> = a
        .iter()
        .map(|v| {
            let p = v / total;
            p * libm::log(p + 1e-12)
        })
        .collect();
    -np_sum(&terms)
}

/// Runs the refinement loop, then returns `Σ c_i x_i`.
fn refine_and_mix(inputs: &MergeInputs<'_>, mut c: Vec<f64>, params: &Params) -> Tensor {
    let eta = param_f64(params, "learning_rate");
    let steps = param_i64(params, "steps").max(0);
    for _ in 0..steps {
        refine_step(inputs, &mut c, eta);
    }
    inputs.tensors[0].with_data(mix(inputs, &c))
}

/// `Σ c_i x_i`, a fold from zeros.
fn mix(inputs: &MergeInputs<'_>, c: &[f64]) -> Vec<f64> {
    super::util::weighted_fold(
        inputs.tensors[0].len(),
        c.iter()
            .copied()
            .zip(inputs.tensors.iter().map(|t| t.data())),
    )
}

/// One round: `v_i = mean((m − x_i)²)`; if `max v > 0`, move `c` toward
/// `g ∝ 1/(v + 1e-12)`, clip at 0 and renormalise.
fn refine_step(inputs: &MergeInputs<'_>, c: &mut [f64], eta: f64) {
    let m = mix(inputs, c);
    let v: Vec<f64> = inputs
        .tensors
        .iter()
        .map(|t| {
            let sq: Vec<f64> = m
                .iter()
                .zip(t.data())
                .map(|(a, x)| {
                    let e = a - x;
                    e * e
                })
                .collect();
            np_mean(&sq)
        })
        .collect();
    let any_positive = max_of(&v) > 0.0;
    if !any_positive {
        return;
    }
    let inv: Vec<f64> = v.iter().map(|vi| 1.0 / (vi + 1e-12)).collect();
    let inv_sum = np_sum(&inv);
    for (ci, gi) in c.iter_mut().zip(&inv) {
        let g = gi / inv_sum;
        *ci = (*ci + eta * (g - *ci)).max(0.0);
    }
    let s = np_sum(c);
    if s > 0.0 {
        c.iter_mut().for_each(|ci| *ci /= s);
    }
}
