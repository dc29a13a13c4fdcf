//! `slerp` (spec §2.2) and `linear` (§2.4): pairwise interpolation kernels
//! applied as a left fold over the contributions in canonical order, so the
//! last model dominates. Weights are ignored by both.

use super::util::{dot, f64_param, norm, prelude};
use crate::error::MergeError;
use crate::strategy::{
    param_f64, Family, MergeInputs, ParamSpec, Params, ReproClass, Strategy, StrategyInfo,
};
use crate::tensor::Tensor;

/// `slerp`: spherical interpolation of directions times linear
/// interpolation of norms, folded left to right.
pub struct Slerp;

static SLERP_PARAMS: [ParamSpec; 1] = [f64_param(
    "t",
    0.5,
    0.0,
    1.0,
    "Interpolation position: 0 keeps the accumulated result, 1 takes the next model.",
)];

static SLERP_INFO: StrategyInfo = StrategyInfo {
    name: "slerp",
    family: Family::Reference,
    needs_base: false,
    stochastic: false,
    uses_weights: false,
    class: ReproClass::R,
    params: &SLERP_PARAMS,
    summary: "Left fold of spherical interpolation (directions) with linear interpolation of norms; the last model dominates.",
};

impl Strategy for Slerp {
    fn info(&self) -> &StrategyInfo {
        &SLERP_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&SLERP_INFO, inputs)? {
            return Ok(done);
        }
        let t = param_f64(params, "t");
        let mut acc = inputs.tensors[0].data().to_vec();
        for x in &inputs.tensors[1..] {
            acc = slerp_pair(&acc, x.data(), t);
        }
        Ok(inputs.tensors[0].with_data(acc))
    }
}

/// The pairwise kernel σ(a, c; t) on flattened tensors, with the
/// reference's absolute norm thresholds and its Ω ≈ 0 lerp fallback.
/// Antiparallel inputs are deliberately not special-cased (spec §2.2 bug).
pub(crate) fn slerp_pair(a: &[f64], c: &[f64], t: f64) -> Vec<f64> {
    let (na, nc) = (norm(a), norm(c));
    if na < 1e-12 && nc < 1e-12 {
        return vec![0.0; a.len()];
    }
    if na < 1e-12 {
        return c.iter().map(|v| t * v).collect();
    }
    if nc < 1e-12 {
        return a.iter().map(|v| (1.0 - t) * v).collect();
    }
    let ah: Vec<f64> = a.iter().map(|v| v / na).collect();
    let ch: Vec<f64> = c.iter().map(|v| v / nc).collect();
    let delta = dot(&ah, &ch).clamp(-1.0, 1.0);
    let omega = libm::acos(delta);
    if omega.abs() < 1e-8 {
        return lerp(a, c, t);
    }
    let so = libm::sin(omega);
    let p = libm::sin((1.0 - t) * omega) / so;
    let q = libm::sin(t * omega) / so;
    let scale = (1.0 - t) * na + t * nc;
    ah.iter()
        .zip(&ch)
        .map(|(x, y)| (p * x + q * y) * scale)
        .collect()
}

/// `(1 − t)·a + t·c`, elementwise.
fn lerp(a: &[f64], c: &[f64], t: f64) -> Vec<f64> {
    let s = 1.0 - t;
    a.iter().zip(c).map(|(x, y)| s * x + t * y).collect()
}

/// `linear`: the left fold `r = (1 − t)·r + t·x_i`; for n = 2 this is lerp.
pub struct Linear;

static LINEAR_PARAMS: [ParamSpec; 1] = [f64_param(
    "t",
    0.5,
    0.0,
    1.0,
    "Interpolation position of each fold step.",
)];

static LINEAR_INFO: StrategyInfo = StrategyInfo {
    name: "linear",
    family: Family::Reference,
    needs_base: false,
    stochastic: false,
    uses_weights: false,
    class: ReproClass::E,
    params: &LINEAR_PARAMS,
    summary: "Left fold of linear interpolation: x_1 gets (1−t)^(n−1), the last model t.",
};

impl Strategy for Linear {
    fn info(&self) -> &StrategyInfo {
        &LINEAR_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&LINEAR_INFO, inputs)? {
            return Ok(done);
        }
        let t = param_f64(params, "t");
        let mut acc = inputs.tensors[0].data().to_vec();
        for x in &inputs.tensors[1..] {
            acc = lerp(&acc, x.data(), t);
        }
        Ok(inputs.tensors[0].with_data(acc))
    }
}
