//! The strategies whose fold starts from the base (spec §1.1):
//! `task_arithmetic` (§2.3), `negative_merge` (§2.24) and
//! `split_unlearn_merge` (§2.25).

use super::util::{
    abs_all, bad_param, base, check_structure, f64_param, kth_smallest, prelude, py_int, str_param,
    task_vectors, weights_hat, SEED_PARAM,
};
use crate::error::MergeError;
use crate::pyrandom::PyRandom;
use crate::strategy::{
    param_f64, param_i64, param_str, Family, MergeInputs, ParamSpec, Params, ReproClass, Strategy,
    StrategyInfo,
};
use crate::tensor::Tensor;

/// `task_arithmetic`: `r = b; r = r + λ_i·(x_i − b)`. Weights are ignored,
/// so n task vectors move the base n times as far as one.
pub struct TaskArithmetic;

static TA_PARAMS: [ParamSpec; 1] = [str_param(
    "scaling_coefficients",
    "",
    &[],
    "Comma-separated λ_i, one per model in canonical order; empty = all 1.0.",
)];

static TA_INFO: StrategyInfo = StrategyInfo {
    name: "task_arithmetic",
    family: Family::Reference,
    needs_base: true,
    stochastic: false,
    uses_weights: false,
    class: ReproClass::E,
    params: &TA_PARAMS,
    summary: "Base plus the sum of the task vectors (each scaled by λ_i, default 1).",
};

impl Strategy for TaskArithmetic {
    fn info(&self) -> &StrategyInfo {
        &TA_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        check_structure(&TA_INFO, inputs)?;
        let b = base(&TA_INFO, inputs)?;
        let n = inputs.tensors.len();
        let lambdas = parse_floats(param_str(params, "scaling_coefficients"))
            .map_err(|r| bad_param(&TA_INFO, "scaling_coefficients", r))?
            .unwrap_or_else(|| vec![1.0; n]);
        if lambdas.len() != n {
            return Err(bad_param(
                &TA_INFO,
                "scaling_coefficients",
                format!("{} coefficients for {n} models", lambdas.len()),
            ));
        }
        let mut r = b.data().to_vec();
        for (x, &l) in inputs.tensors.iter().zip(&lambdas) {
            for ((acc, &xv), &bv) in r.iter_mut().zip(x.data()).zip(b.data()) {
                *acc += l * (xv - bv);
            }
        }
        Ok(b.with_data(r))
    }
}

/// Parses a comma-separated list of finite floats; `None` for an empty
/// string (the reference's `None` default).
fn parse_floats(s: &str) -> Result<Option<Vec<f64>>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    s.split(',')
        .map(|p| match p.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(format!("'{}' is not a finite number", p.trim())),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `negative_merge`: `r = b; r = r − (α·ŵ_i)·τ_i` for negated models (all by
/// default), `r + ŵ_i·τ_i` otherwise. The only strategy whose n = 1 result
/// is not the input: `b − α·(x − b)`.
pub struct NegativeMerge;

static NEG_PARAMS: [ParamSpec; 2] = [
    f64_param(
        "scaling",
        1.0,
        0.0,
        100.0,
        "α: how strongly negated task vectors are subtracted.",
    ),
    str_param(
        "models_to_negate",
        "all",
        &[],
        "Positions (canonical order) to negate, comma-separated; 'all' (default) or '' for none.",
    ),
];

static NEG_INFO: StrategyInfo = StrategyInfo {
    name: "negative_merge",
    family: Family::Reference,
    needs_base: true,
    stochastic: false,
    uses_weights: true,
    class: ReproClass::E,
    params: &NEG_PARAMS,
    summary: "Moves away from the contributions: base minus the weighted average task vector.",
};

impl Strategy for NegativeMerge {
    fn info(&self) -> &StrategyInfo {
        &NEG_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        check_structure(&NEG_INFO, inputs)?;
        let b = base(&NEG_INFO, inputs)?;
        let alpha = param_f64(params, "scaling");
        let negated = parse_positions(param_str(params, "models_to_negate"))
            .map_err(|r| bad_param(&NEG_INFO, "models_to_negate", r))?;
        let is_negated = |i: usize| negated.as_ref().is_none_or(|v| v.contains(&(i as i64)));
        if inputs.tensors.len() == 1 {
            if !is_negated(0) {
                return Ok(inputs.tensors[0].clone());
            }
            let r = b
                .data()
                .iter()
                .zip(inputs.tensors[0].data())
                .map(|(&bv, &x)| bv - alpha * (x - bv))
                .collect();
            return Ok(b.with_data(r));
        }
        let w = weights_hat(inputs)?;
        let taus = task_vectors(inputs, b);
        let mut r = b.data().to_vec();
        for (i, (tau, &wi)) in taus.iter().zip(&w).enumerate() {
            if is_negated(i) {
                let c = alpha * wi;
                r.iter_mut().zip(tau).for_each(|(a, t)| *a -= c * t);
            } else {
                r.iter_mut().zip(tau).for_each(|(a, t)| *a += wi * t);
            }
        }
        Ok(b.with_data(r))
    }
}

/// Parses `models_to_negate`: `None` = all (`"all"`), otherwise a possibly
/// empty list of integer positions.
fn parse_positions(s: &str) -> Result<Option<Vec<i64>>, String> {
    let s = s.trim();
    if s == "all" {
        return Ok(None);
    }
    if s.is_empty() {
        return Ok(Some(Vec::new()));
    }
    s.split(',')
        .map(|p| {
            p.trim()
                .parse::<i64>()
                .map_err(|_| format!("'{}' is not an integer position", p.trim()))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `split_unlearn_merge`: the weighted average of the task vectors with a
/// "subspace" (the ~10 % least-changed positions by default) reset to the
/// base; the fold starts from the base.
pub struct SplitUnlearnMerge;

static SPLIT_PARAMS: [ParamSpec; 3] = [
    f64_param(
        "target_fraction",
        0.1,
        0.0,
        1.0,
        "Fraction of positions put back to the base.",
    ),
    str_param(
        "subspace_method",
        "magnitude",
        &["magnitude", "random"],
        "magnitude: the positions with the smallest mean |τ|; random: Bernoulli(target_fraction).",
    ),
    SEED_PARAM,
];

static SPLIT_INFO: StrategyInfo = StrategyInfo {
    name: "split_unlearn_merge",
    family: Family::Reference,
    needs_base: true,
    stochastic: false,
    uses_weights: true,
    class: ReproClass::E,
    params: &SPLIT_PARAMS,
    summary: "Weighted average of the task vectors with the least-changed ~10 % of positions reset to the base.",
};

impl Strategy for SplitUnlearnMerge {
    fn info(&self) -> &StrategyInfo {
        &SPLIT_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&SPLIT_INFO, inputs)? {
            return Ok(done);
        }
        let b = base(&SPLIT_INFO, inputs)?;
        let w = weights_hat(inputs)?;
        let taus = task_vectors(inputs, b);
        let f = param_f64(params, "target_fraction");
        let unlearn = match param_str(params, "subspace_method") {
            "random" => random_subspace(b.len(), f, param_i64(params, "seed")),
            _ => magnitude_subspace(&taus, f),
        };
        let mut r = b.data().to_vec();
        for (tau, &wi) in taus.iter().zip(&w) {
            for (j, (a, &t)) in r.iter_mut().zip(tau).enumerate() {
                // Zeroed by selection (+0.0), as the reference does: it
                // shows only in the sign of exactly-zero outputs.
                let zeroed = if unlearn[j] { 0.0 } else { t };
                *a += wi * zeroed;
            }
        }
        Ok(b.with_data(r))
    }
}

/// Positions whose mean |τ| is at most the k-th smallest, `k = max(1,
/// ⌊d·f⌋)` (ties included).
fn magnitude_subspace(taus: &[Vec<f64>], f: f64) -> Vec<bool> {
    let d = taus[0].len();
    if d == 0 {
        return Vec::new();
    }
    let n = taus.len() as f64;
    let mut sum = vec![0.0; d];
    for tau in taus {
        for (s, a) in sum.iter_mut().zip(abs_all(tau)) {
            *s += a;
        }
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let k = py_int(d as f64 * f).max(1);
    let theta = kth_smallest(&mean, (k - 1).min(d - 1));
    mean.iter().map(|&m| m <= theta).collect()
}

/// One `random.Random(seed)`; position j is selected when `random() < f`.
fn random_subspace(d: usize, f: f64, seed: i64) -> Vec<bool> {
    let mut rng = PyRandom::new(i128::from(seed));
    (0..d).map(|_| rng.random() < f).collect()
}
