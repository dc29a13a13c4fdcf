//! Moment-matching strategies: `weight_scope_alignment` (spec §2.9) and
//! `representation_surgery` (§2.10). They use whole-tensor means,
//! variances and norms (numpy pairwise sums), hence class R; the `whiten`
//! correction uses a symmetric eigendecomposition (class S).

use super::linalg::psd_eigh;
use super::util::{
    list_mean, norm, np_mean, np_std, np_var, optional_base, prelude, str_param, weighted_fold,
    weighted_mean_of, weights_hat,
};
use crate::error::MergeError;
use crate::strategy::{
    param_str, Family, MergeInputs, ParamSpec, Params, ReproClass, Strategy, StrategyInfo,
};
use crate::tensor::Tensor;

/// `weight_scope_alignment`: standardise each model, take the weighted
/// average, and map it back to target statistics (the average mean and
/// spread by default).
pub struct WeightScopeAlignment;

static WSA_PARAMS: [ParamSpec; 2] = [
    str_param(
        "scope_method",
        "zscore",
        &["zscore", "minmax", "unit"],
        "How each model is standardised before averaging.",
    ),
    str_param(
        "target_distribution",
        "mean",
        &["mean", "first", "base"],
        "Whose statistics the result is mapped back to (base: the replica's base, else mean).",
    ),
];

static WSA_INFO: StrategyInfo = StrategyInfo {
    name: "weight_scope_alignment",
    family: Family::Reference,
    needs_base: false,
    stochastic: false,
    uses_weights: true,
    class: ReproClass::R,
    params: &WSA_PARAMS,
    summary: "Weighted average of standardised models, mapped back to the average mean and spread.",
};

/// Whole-tensor statistics of one model.
#[derive(Clone, Copy)]
struct Stats {
    mean: f64,
    std: f64,
    lo: f64,
    hi: f64,
    norm: f64,
}

impl Stats {
    fn of(x: &[f64]) -> Stats {
        Stats {
            mean: np_mean(x),
            std: np_std(x),
            lo: x.iter().copied().fold(f64::INFINITY, f64::min),
            hi: x.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            norm: norm(x),
        }
    }

    /// The unweighted average of each statistic over the models.
    fn average(all: &[Stats]) -> Stats {
        let avg = |f: fn(&Stats) -> f64| list_mean(&all.iter().map(f).collect::<Vec<_>>());
        Stats {
            mean: avg(|s| s.mean),
            std: avg(|s| s.std),
            lo: avg(|s| s.lo),
            hi: avg(|s| s.hi),
            norm: avg(|s| s.norm),
        }
    }
}

impl Strategy for WeightScopeAlignment {
    fn info(&self) -> &StrategyInfo {
        &WSA_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&WSA_INFO, inputs)? {
            return Ok(done);
        }
        let w = weights_hat(inputs)?;
        let stats: Vec<Stats> = inputs.tensors.iter().map(|t| Stats::of(t.data())).collect();
        let target = match (
            param_str(params, "target_distribution"),
            optional_base(inputs)?,
        ) {
            ("first", _) => stats[0],
            ("base", Some(b)) => Stats::of(b.data()),
            _ => Stats::average(&stats),
        };
        let method = param_str(params, "scope_method");
        let z: Vec<Vec<f64>> = inputs
            .tensors
            .iter()
            .zip(&stats)
            .map(|(t, s)| standardise(t.data(), s, method))
            .collect();
        let m = weighted_fold(
            inputs.tensors[0].len(),
            w.iter().copied().zip(z.iter().map(Vec::as_slice)),
        );
        let out = match method {
            "minmax" => m
                .iter()
                .map(|v| v * (target.hi - target.lo) + target.lo)
                .collect(),
            // Reference quirk: `unit` always maps back to the *average*
            // norm, whatever `target_distribution` says.
            "unit" => {
                let norm = Stats::average(&stats).norm;
                m.iter().map(|v| v * norm).collect()
            }
            _ => {
                let sigma = target.std.max(1e-12);
                m.iter().map(|v| v * sigma + target.mean).collect()
            }
        };
        Ok(inputs.tensors[0].with_data(out))
    }
}

/// One model's standardised values (zeros when its scale is below 1e-12).
fn standardise(x: &[f64], s: &Stats, method: &str) -> Vec<f64> {
    match method {
        "minmax" => {
            let range = s.hi - s.lo;
            if range < 1e-12 {
                return vec![0.0; x.len()];
            }
            x.iter().map(|v| (v - s.lo) / range).collect()
        }
        "unit" => {
            if s.norm < 1e-12 {
                return vec![0.0; x.len()];
            }
            x.iter().map(|v| v / s.norm).collect()
        }
        _ => {
            if s.std < 1e-12 {
                return vec![0.0; x.len()];
            }
            x.iter().map(|v| (v - s.mean) / s.std).collect()
        }
    }
}

/// `representation_surgery`: the weighted average corrected toward the
/// average first (and optionally second) moments of the inputs.
pub struct RepresentationSurgery;

static RS_PARAMS: [ParamSpec; 1] = [str_param(
    "correction_method",
    "center",
    &["center", "rescale", "whiten"],
    "center: shift the mean; rescale: match mean and variance; whiten: decorrelate columns (2-D only).",
)];

static RS_INFO: StrategyInfo = StrategyInfo {
    name: "representation_surgery",
    family: Family::Reference,
    needs_base: false,
    stochastic: false,
    uses_weights: true,
    class: ReproClass::R,
    params: &RS_PARAMS,
    summary: "Weighted average shifted (or rescaled) to the inputs' average mean and variance.",
};

impl Strategy for RepresentationSurgery {
    fn info(&self) -> &StrategyInfo {
        &RS_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&RS_INFO, inputs)? {
            return Ok(done);
        }
        let w = weights_hat(inputs)?;
        let m = weighted_mean_of(inputs, &w);
        let means: Vec<f64> = inputs.tensors.iter().map(|t| np_mean(t.data())).collect();
        let vars: Vec<f64> = inputs.tensors.iter().map(|t| np_var(t.data())).collect();
        let (mu_bar, v_bar) = (list_mean(&means), list_mean(&vars));
        let shape = inputs.tensors[0].shape();
        let out = match param_str(params, "correction_method") {
            "rescale" => rescale(m, mu_bar, v_bar),
            "whiten" if shape.len() == 2 && shape[0] > 1 && shape[1] > 1 => {
                whiten(&m, shape[0], shape[1], mu_bar, v_bar).ok_or_else(|| {
                    MergeError::Invalid("whiten: eigendecomposition did not converge".into())
                })?
            }
            "whiten" => rescale(m, mu_bar, v_bar),
            _ => {
                let shift = np_mean(&m) - mu_bar;
                m.iter().map(|v| v - shift).collect()
            }
        };
        Ok(inputs.tensors[0].with_data(out))
    }
}

/// `m` if `var(m) < 1e-12`, else `(m − mean m)·sqrt(v̄/var m) + μ̄`.
fn rescale(m: Vec<f64>, mu_bar: f64, v_bar: f64) -> Vec<f64> {
    let var = np_var(&m);
    if var < 1e-12 {
        return m;
    }
    let mean = np_mean(&m);
    let scale = (v_bar / var).sqrt();
    m.iter().map(|v| (v - mean) * scale + mu_bar).collect()
}

/// `(m − μ_c)·W·s + μ̄` with `W = QΛ^{-1/2}Qᵀ` from the clamped column
/// covariance (spec §2.10).
fn whiten(m: &[f64], rows: usize, cols: usize, mu_bar: f64, v_bar: f64) -> Option<Vec<f64>> {
    let mut mu_c = vec![0.0; cols];
    for r in 0..rows {
        for c in 0..cols {
            mu_c[c] += m[r * cols + c];
        }
    }
    mu_c.iter_mut().for_each(|v| *v /= rows as f64);
    let centered: Vec<f64> = (0..rows * cols).map(|i| m[i] - mu_c[i % cols]).collect();
    let denom = (rows.saturating_sub(1)).max(1) as f64;
    let mut cov = vec![0.0; cols * cols];
    for a in 0..cols {
        for b in 0..cols {
            let s = (0..rows).fold(0.0, |acc, r| {
                acc + centered[r * cols + a] * centered[r * cols + b]
            });
            cov[a * cols + b] = s / denom;
        }
    }
    let (vals, q) = psd_eigh(cols, &cov)?;
    let inv_sqrt: Vec<f64> = vals.iter().map(|l| 1.0 / l.max(1e-12).sqrt()).collect();
    let w = |a: usize, b: usize| {
        (0..cols).fold(0.0, |acc, k| acc + q[(a, k)] * inv_sqrt[k] * q[(b, k)])
    };
    let wm: Vec<f64> = (0..cols * cols).map(|i| w(i / cols, i % cols)).collect();
    let s = if v_bar > 0.0 { v_bar.sqrt() } else { 1.0 };
    let out = (0..rows * cols)
        .map(|i| {
            let (r, c) = (i / cols, i % cols);
            let v = (0..cols).fold(0.0, |acc, k| {
                acc + centered[r * cols + k] * wm[k * cols + c]
            });
            v * s + mu_bar
        })
        .collect();
    Some(out)
}
