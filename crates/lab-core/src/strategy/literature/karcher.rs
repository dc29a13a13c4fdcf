//! `karcher:paper` — the weighted Karcher (Fréchet) mean of the contributions'
//! directions on the unit sphere, scaled by the weighted mean of their norms.

use super::common::{dot, finish, l2_norm, prepare, unit};
use crate::error::MergeError;
use crate::strategy::{
    normalised_weights, param_f64, param_i64, Family, MergeInputs, ParamDefault, ParamSpec, Params,
    ReproClass, Strategy, StrategyInfo,
};
use crate::tensor::Tensor;

/// Below this norm the weighted Euclidean mean of the unit directions is
/// taken to vanish: the directions cancel and the spherical mean is not
/// unique (e.g. two antipodal inputs with equal weights).
pub const CANCELLED_MEAN_NORM_MAX: f64 = 1e-12;

/// Below this `sin θ` a direction is treated as coincident with (θ < π/2) or
/// antipodal to (θ > π/2) the current estimate.
const SIN_MIN: f64 = 1e-12;

/// Iteration limits of [`karcher_direction`].
#[derive(Clone, Copy, Debug)]
pub struct KarcherLimits {
    /// Largest number of tangent-space steps.
    pub iterations_max: u32,
    /// Stop once a step is shorter than this (radians).
    pub step_min: f64,
}

/// The weighted Karcher mean of unit vectors `units` (weights `a_i ≥ 0`
/// summing to 1), by the fixed-point iteration of Buss & Fillmore (2001):
/// start from the normalised weighted Euclidean mean `m`, then repeat
/// `u ← exp_u(Σ_i a_i·log_u(u_i))` until the step is shorter than
/// `step_min` or `iterations_max` steps were taken. `log_u(v) =
/// θ/sin θ·(v − cos θ·u)` with `θ = acos(u·v)`. The mean is unique, and the
/// iteration converges, for directions inside an open hemisphere (Buss &
/// Fillmore); the non-unique cases it can detect are errors
/// (`MergeError::Invalid`): directions that cancel (`‖m‖ ≤`
/// [`CANCELLED_MEAN_NORM_MAX`]) and a direction antipodal to the running
/// estimate, whose logarithm is undefined.
pub fn karcher_direction(
    units: &[Vec<f64>],
    a: &[f64],
    limits: KarcherLimits,
) -> Result<Vec<f64>, MergeError> {
    let d = units.first().map_or(0, Vec::len);
    let mut mean = vec![0.0; d];
    for (u, &w) in units.iter().zip(a) {
        for (m, x) in mean.iter_mut().zip(u) {
            *m += w * x;
        }
    }
    if l2_norm(&mean) <= CANCELLED_MEAN_NORM_MAX {
        return Err(MergeError::Invalid(
            "the directions cancel out: their spherical mean is not unique".into(),
        ));
    }
    let mut u = unit(&mean).unwrap_or(mean);
    for _ in 0..limits.iterations_max {
        let step = tangent_mean(&u, units, a).ok_or_else(|| {
            MergeError::Invalid(
                "a direction is antipodal to the running mean: the spherical mean is not unique"
                    .into(),
            )
        })?;
        let len = l2_norm(&step);
        if len < limits.step_min || len == 0.0 {
            break;
        }
        let (c, s) = (libm::cos(len), libm::sin(len));
        let moved: Vec<f64> = u
            .iter()
            .zip(&step)
            .map(|(x, t)| c * x + s * (t / len))
            .collect();
        u = unit(&moved).unwrap_or(moved);
    }
    Ok(u)
}

/// `Σ_i a_i·log_u(u_i)`, a fold in contribution order; `None` when a
/// direction is antipodal to `u` (its logarithm is undefined).
fn tangent_mean(u: &[f64], units: &[Vec<f64>], a: &[f64]) -> Option<Vec<f64>> {
    let mut step = vec![0.0; u.len()];
    for (v, &w) in units.iter().zip(a) {
        let c = dot(u, v).clamp(-1.0, 1.0);
        let theta = libm::acos(c);
        let s = libm::sin(theta);
        let factor = if s > SIN_MIN {
            theta / s
        } else if theta < core::f64::consts::FRAC_PI_2 {
            1.0
        } else {
            return None;
        };
        let f = w * factor;
        for ((t, x), y) in step.iter_mut().zip(v).zip(u) {
            *t += f * (x - c * y);
        }
    }
    Some(step)
}

/// `karcher:paper` — multi-model spherical mean. The Karcher (Riemannian,
/// Fréchet) mean: Karcher, "Riemannian center of mass and mollifier
/// smoothing", Comm. Pure Appl. Math. 30(5), 1977; computed by the
/// fixed-point algorithm of Buss & Fillmore, "Spherical averages and
/// applications to spherical splines and interpolation", ACM Trans. Graph.
/// 20(2), 2001 ([`karcher_direction`]). Magnitudes as mergekit's `karcher`
/// method handles them (spec §5.3): the mean direction is scaled by the
/// weighted mean of the contributions' L2 norms.
///
/// With normalised weights `ŵ` (non-negative; a zero sum is
/// `MergeError::ZeroWeightSum`, a negative weight `MergeError::Invalid`):
/// result `(Σ_i ŵ_i‖x_i‖)·u*`, `u*` the `ŵ`-weighted Karcher mean of
/// `x_i/‖x_i‖` over the whole flattened tensor. Deterministic: a fixed
/// iteration cap and step tolerance, sequential sums, `libm`.
///
/// Defined edge cases:
/// - n = 1 returns the contribution unchanged (the mean of one point);
/// - a zero-norm contribution has no direction: it is left out of the
///   spherical mean but counts with norm 0 in the magnitude, so
///   `{v, 0}` with equal weights gives `v/2`, like the linear mean;
/// - if the magnitude is 0 (all inputs zero, or all weight on zero inputs)
///   the result is zeros;
/// - directions that cancel (weighted Euclidean mean of the unit vectors of
///   norm ≤ 1e-12, e.g. `{v, −v}` equally weighted) or a direction antipodal
///   to the running mean (e.g. `{v, −v}` weighted 1 : 3) have no unique mean:
///   `MergeError::Invalid`. Nearly antipodal inputs are ill-conditioned: the
///   result is deterministic but sensitive to rounding.
///
/// How it differs from the reference: the reference has no multi-model
/// spherical mean; its `slerp` (spec §2.2) is a left fold of pairwise SLERPs
/// that ignores weights and in which the last model carries about half the
/// result. This mean is symmetric in the contributions (order-independent up
/// to rounding) and uses the weights.
pub struct KarcherPaper;

static PARAMS: [ParamSpec; 2] = [
    ParamSpec {
        name: "max_iter",
        default: ParamDefault::I64(50),
        range: Some((1.0, 1000.0)),
        choices: &[],
        doc: "Largest number of fixed-point (tangent-space) steps.",
    },
    ParamSpec {
        name: "tol",
        default: ParamDefault::F64(1e-12),
        range: Some((0.0, 1.0)),
        choices: &[],
        doc: "Stop when a step is shorter than this angle (radians).",
    },
];

static INFO: StrategyInfo = StrategyInfo {
    name: "karcher:paper",
    family: Family::Literature,
    needs_base: false,
    stochastic: false,
    uses_weights: true,
    class: ReproClass::R,
    params: &PARAMS,
    summary:
        "Weighted Karcher mean of the directions on the sphere, scaled by the weighted mean norm.",
};

impl Strategy for KarcherPaper {
    fn info(&self) -> &StrategyInfo {
        &INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        let params = prepare(&INFO, inputs, params)?;
        let first = inputs.tensors[0];
        if inputs.tensors.len() == 1 {
            return Ok(first.clone());
        }
        let w = normalised_weights(inputs.weights)?;
        if let Some(i) = inputs.weights.iter().position(|&x| x < 0.0) {
            return Err(MergeError::Invalid(format!(
                "'{}' needs non-negative weights; '{}' has weight {}",
                INFO.name, inputs.ids[i], inputs.weights[i]
            )));
        }
        let limits = KarcherLimits {
            iterations_max: param_i64(&params, "max_iter") as u32,
            step_min: param_f64(&params, "tol"),
        };
        let mut magnitude = 0.0;
        let (mut units, mut a) = (Vec::new(), Vec::new());
        for (t, &wi) in inputs.tensors.iter().zip(&w) {
            magnitude += wi * l2_norm(t.data());
            if let (Some(u), true) = (unit(t.data()), wi > 0.0) {
                units.push(u);
                a.push(wi);
            }
        }
        if magnitude == 0.0 {
            return finish(&INFO, first, vec![0.0; first.len()]);
        }
        let total: f64 = a.iter().fold(0.0, |s, x| s + x);
        a.iter_mut().for_each(|x| *x /= total);
        let u = karcher_direction(&units, &a, limits)?;
        finish(&INFO, first, u.iter().map(|x| magnitude * x).collect())
    }
}
