//! `slerp:mergekit` — two-model spherical interpolation as mergekit does it.

use super::common::{dot, finish, l2_norm, prepare};
use crate::error::MergeError;
use crate::strategy::{
    param_f64, Family, MergeInputs, ParamDefault, ParamSpec, Params, ReproClass, Strategy,
    StrategyInfo,
};
use crate::tensor::Tensor;

/// Below this norm a vector is used as is (not normalised) to measure the
/// angle, as mergekit does.
pub const NORMALISE_NORM_MIN: f64 = 1e-8;

/// Above this `|cos|` the vectors are treated as colinear (parallel *or*
/// antiparallel) and linearly interpolated.
pub const COLINEAR_DOT_MAX: f64 = 0.9995;

/// mergekit's `slerp(t, v0, v1)` on flat vectors: the angle is measured
/// between copies normalised by their L2 norms (only if the norm exceeds
/// [`NORMALISE_NORM_MIN`]); if `|cos| >` [`COLINEAR_DOT_MAX`] the result is
/// the lerp `(1 − t)·v0 + t·v1`; otherwise, with `θ0 = acos(cos)`,
/// `s0 = sin(θ0 − tθ0)/sin θ0` and `s1 = sin(tθ0)/sin θ0`, the result is
/// `s0·v0 + s1·v1` on the *raw* vectors. `t = 0` gives `v0` and `t = 1`
/// gives `v1` bitwise.
pub fn slerp_pair(t: f64, v0: &[f64], v1: &[f64]) -> Vec<f64> {
    // The formula gives the endpoints too, except that `−0.0 + 0.0·c` is
    // `+0.0`; returning them directly makes the endpoints exact.
    if t == 0.0 {
        return v0.to_vec();
    }
    if t == 1.0 {
        return v1.to_vec();
    }
    let cos = dot(&normalised(v0), &normalised(v1));
    if cos.abs() > COLINEAR_DOT_MAX {
        return v0
            .iter()
            .zip(v1)
            .map(|(a, c)| (1.0 - t) * a + t * c)
            .collect();
    }
    let theta0 = libm::acos(cos);
    let sin_theta0 = libm::sin(theta0);
    let theta_t = theta0 * t;
    let s0 = libm::sin(theta0 - theta_t) / sin_theta0;
    let s1 = libm::sin(theta_t) / sin_theta0;
    v0.iter().zip(v1).map(|(a, c)| s0 * a + s1 * c).collect()
}

fn normalised(v: &[f64]) -> Vec<f64> {
    let n = l2_norm(v);
    if n > NORMALISE_NORM_MIN {
        v.iter().map(|x| x / n).collect()
    } else {
        v.to_vec()
    }
}

/// `slerp:mergekit` — SLERP between two models as mergekit's `slerp` merge
/// method computes it (arcee-ai/mergekit; spec §5.3), after Shoemake,
/// "Animating rotation with quaternion curves", SIGGRAPH 1985. See
/// [`slerp_pair`] for the formula.
///
/// Exactly two contributions: the first in canonical (model-id) order is
/// `v0` (mergekit's base model, the `t = 0` end), the second `v1`. The
/// replica's base tensor and the weights are ignored. For other counts:
/// - n = 1 returns the contribution unchanged (interpolating a model with
///   itself gives that model, for every t);
/// - n > 2 is `MergeError::Invalid`: mergekit's SLERP is defined for two
///   models only, and any fold over more would be order-dependent and not
///   mergekit's method. Use `karcher:paper` for a multi-model spherical mean.
///
/// A (near-)zero endpoint (norm ≤ 1e-8) is not normalised, so its cosine
/// with the other is ≈ 0, `θ0 ≈ π/2`, and the result is
/// `sin((1 − t)·π/2)·v0` (or `sin(t·π/2)·v1`): mergekit's behaviour, kept.
///
/// How it differs from the reference `slerp` (spec §2.2):
/// - antiparallel inputs fall back to lerp (`|cos| > 0.9995` on both sides);
///   the reference handles only the parallel case and returns zeros or huge
///   values for (nearly) antiparallel inputs;
/// - the raw vectors are interpolated (`s0·v0 + s1·v1`) instead of
///   interpolating directions and multiplying by a lerp of the norms;
/// - two models only, instead of a left fold in which the last model
///   dominates; a zero endpoint is not special-cased to `t·c`.
pub struct SlerpMergekit;

static PARAMS: [ParamSpec; 1] = [ParamSpec {
    name: "t",
    default: ParamDefault::F64(0.5),
    range: Some((0.0, 1.0)),
    choices: &[],
    doc: "Interpolation position: 0 gives the first contribution (canonical order), 1 the second.",
}];

static INFO: StrategyInfo = StrategyInfo {
    name: "slerp:mergekit",
    family: Family::Literature,
    needs_base: false,
    stochastic: false,
    uses_weights: false,
    class: ReproClass::R,
    params: &PARAMS,
    summary: "mergekit's SLERP of exactly two models (lerp when nearly parallel or antiparallel).",
};

impl Strategy for SlerpMergekit {
    fn info(&self) -> &StrategyInfo {
        &INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        let params = prepare(&INFO, inputs, params)?;
        let t = param_f64(&params, "t");
        match inputs.tensors {
            [only] => Ok((*only).clone()),
            [v0, v1] => finish(&INFO, v0, slerp_pair(t, v0.data(), v1.data())),
            more => Err(MergeError::Invalid(format!(
                "'{}' interpolates exactly two models, got {}; use 'karcher:paper' for more",
                INFO.name,
                more.len()
            ))),
        }
    }
}
