//! Task-vector sparsification strategies: `ties` (spec §2.15), `dare`
//! (§2.16), `della` (§2.17), `dare_ties` (§2.18), `model_breadcrumbs`
//! (§2.19) and `emr` (§2.20). All are elementwise folds in model order with
//! the exact numpy percentile and the CPython RNG, hence class E.

use super::util::{
    abs_all, add, apply_mask, base, f64_param, max_of, np_sign, percentile_linear, prelude,
    str_param, task_vectors, weighted_fold, weights_hat, SEED_PARAM,
};
use crate::error::MergeError;
use crate::pyrandom::PyRandom;
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
        let trimmed: Vec<Vec<f64>> = task_vectors(inputs, b)
            .iter()
            .map(|t| ties_trim(t, density))
            .collect();
        let by_magnitude = param_str(params, "majority_sign_method") == "magnitude";
        let delta = ties_disjoint(&trimmed, &w, by_magnitude);
        Ok(b.with_data(add(b.data(), &delta)))
    }
}

/// Keeps the entries whose magnitude is at least the `(1 − density)`
/// percentile of the *non-zero* magnitudes (all zeros stay as they are).
fn ties_trim(tau: &[f64], density: f64) -> Vec<f64> {
    let nz: Vec<f64> = tau.iter().filter(|v| **v != 0.0).map(|v| v.abs()).collect();
    if nz.is_empty() {
        return tau.to_vec();
    }
    let theta = percentile_linear(&nz, (1.0 - density) * 100.0);
    apply_mask(tau, |j| tau[j].abs() >= theta)
}

/// Sign election and the disjoint merge: `Σ ((ŵ_i·t_ij)·A_ij) / max(cnt, 1)`.
/// Loops are model-major (cache-friendly); each element still folds over
/// the models in order.
fn ties_disjoint(trimmed: &[Vec<f64>], w: &[f64], by_magnitude: bool) -> Vec<f64> {
    let d = trimmed[0].len();
    let mut votes = vec![0.0; d];
    for (t, &wi) in trimmed.iter().zip(w) {
        for (v, &x) in votes.iter_mut().zip(t) {
            *v += if by_magnitude { wi * x } else { np_sign(x) };
        }
    }
    let elected: Vec<f64> = votes.into_iter().map(np_sign).collect();
    let (mut num, mut cnt) = (vec![0.0; d], vec![0.0; d]);
    for (t, &wi) in trimmed.iter().zip(w) {
        for j in 0..d {
            let agree = np_sign(t[j]) == elected[j] && t[j] != 0.0;
            let a = if agree { 1.0 } else { 0.0 };
            num[j] += (wi * t[j]) * a;
            cnt[j] += a;
        }
    }
    num.iter()
        .zip(&cnt)
        .map(|(n, c)| n / f64::max(*c, 1.0))
        .collect()
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
        let mut delta = vec![0.0; b.len()];
        for (tau, &wi) in task_vectors(inputs, b).iter().zip(&w) {
            let keep: Vec<bool> = tau.iter().map(|_| rng.random() >= p).collect();
            accumulate_kept(&mut delta, tau, wi, &keep, rho);
        }
        Ok(b.with_data(add(b.data(), &delta)))
    }
}

/// `δ = δ + ((w·τ)·m)·ρ`, elementwise.
fn accumulate_kept(delta: &mut [f64], tau: &[f64], w: f64, keep: &[bool], rho: f64) {
    for ((acc, &t), &k) in delta.iter_mut().zip(tau).zip(keep) {
        *acc += ((w * t) * if k { 1.0 } else { 0.0 }) * rho;
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
        let mut delta = vec![0.0; b.len()];
        for (k, (tau, &wi)) in task_vectors(inputs, b).iter().zip(&w).enumerate() {
            let mut rng = PyRandom::new(i128::from(inputs.seed) + k as i128);
            let a = abs_all(tau);
            let m = match max_of(&a) {
                0.0 => 1.0,
                x => x,
            };
            let keep: Vec<bool> = a
                .iter()
                .map(|&aj| {
                    let q = (p * (1.0 - aj / m) + eps).clamp(0.0, 1.0);
                    rng.random() >= q
                })
                .collect();
            accumulate_kept(&mut delta, tau, wi, &keep, rho);
        }
        Ok(b.with_data(add(b.data(), &delta)))
    }
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
        let trimmed: Vec<Vec<f64>> = task_vectors(inputs, b)
            .iter()
            .map(|tau| {
                let dropped: Vec<f64> = tau
                    .iter()
                    .map(|&t| (t * if rng.random() >= p { 1.0 } else { 0.0 }) * rho)
                    .collect();
                ties_trim(&dropped, density)
            })
            .collect();
        let delta = ties_disjoint(&trimmed, &w, false);
        Ok(b.with_data(add(b.data(), &delta)))
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
        let masked: Vec<Vec<f64>> = task_vectors(inputs, b)
            .iter()
            .enumerate()
            .map(|(k, tau)| {
                if random {
                    let mut rng = PyRandom::new(seed + k as i128);
                    let keep_p = 1.0 - s;
                    let keep: Vec<bool> = tau.iter().map(|_| rng.random() < keep_p).collect();
                    apply_mask(tau, |j| keep[j])
                } else {
                    magnitude_keep(tau, s * 100.0)
                }
            })
            .collect();
        let delta = weighted_fold(
            b.len(),
            w.iter().copied().zip(masked.iter().map(Vec::as_slice)),
        );
        Ok(b.with_data(add(b.data(), &delta)))
    }
}

/// Keeps `|τ| ≥ percentile(|τ|, pct)` over all entries; everything when
/// `max |τ| = 0`.
fn magnitude_keep(tau: &[f64], pct: f64) -> Vec<f64> {
    let a = abs_all(tau);
    if a.is_empty() || max_of(&a) == 0.0 {
        return tau.to_vec();
    }
    let theta = percentile_linear(&a, pct);
    apply_mask(tau, |j| a[j] >= theta)
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
        let elected: Vec<Vec<f64>> = task_vectors(inputs, b)
            .iter()
            .map(|tau| magnitude_keep(tau, (1.0 - r) * 100.0))
            .collect();
        let mut m = weighted_fold(
            b.len(),
            w.iter().copied().zip(elected.iter().map(Vec::as_slice)),
        );
        let active = m.iter().filter(|v| **v != 0.0).count();
        if active > 0 {
            let factor = f64::min(b.len() as f64 / active as f64, 1.0 / r);
            m.iter_mut().for_each(|v| *v *= factor);
        }
        Ok(b.with_data(add(b.data(), &m)))
    }
}
