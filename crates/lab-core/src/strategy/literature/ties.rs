//! `ties:paper` — TIES-Merging as published.

use super::common::{
    add_scaled, base, elect_disjoint_mean, finish, prepare, task_vectors, trim_top_k,
};
use crate::error::MergeError;
use crate::strategy::{
    param_f64, Family, MergeInputs, ParamDefault, ParamSpec, Params, ReproClass, Strategy,
    StrategyInfo,
};
use crate::tensor::Tensor;

/// `ties:paper` — TIES-Merging: Yadav, Tam, Choshen, Raffel & Bansal,
/// "TIES-Merging: Resolving Interference When Merging Models", NeurIPS 2023
/// (arXiv:2306.01708).
///
/// Per tensor: (1) *trim* each task vector `τ_i = x_i − b` to its top-k
/// fraction by magnitude (`density`, the paper's k = 20 %); (2) *elect* the
/// sign `γ = sign(Σ_i τ̂_i)` from the summed trimmed mass; (3) *disjoint
/// mean*: average, per element, the trimmed entries that are non-zero with
/// sign γ; result `b + λ·τ_m`.
///
/// Exactly `round(density·d)` entries are kept (at least one when
/// density > 0), ties in magnitude going to the lower index. The paper's code
/// trims over the whole flattened model; the lab merges one tensor at a time,
/// so the trim is per tensor (per layer).
///
/// How it differs from the reference `ties` (spec §2.15):
/// - the sign is elected from summed mass, not by a count vote;
/// - the disjoint step is an unweighted *mean* over the agreeing models, with
///   no second normalisation, so merging k copies of x gives x back (the
///   reference shrinks the delta to τ/k);
/// - the trim keeps a count of entries over all entries, not a percentile of
///   the non-zero magnitudes;
/// - there is a λ, and contribution weights are ignored (the paper has none);
/// - a single contribution is trimmed like any other (no n = 1 shortcut).
///
/// Against mergekit's `ties`: the mean is unweighted (mergekit divides by
/// `Σ w_i` of the agreeing models) and an elected sign of 0 merges nothing
/// (mergekit resolves it to +).
pub struct TiesPaper;

static PARAMS: [ParamSpec; 2] = [
    ParamSpec {
        name: "density",
        default: ParamDefault::F64(0.2),
        range: Some((0.0, 1.0)),
        choices: &[],
        doc: "Fraction k of each task vector kept by magnitude (the paper's top-k%, default 20%).",
    },
    ParamSpec {
        name: "lambda",
        default: ParamDefault::F64(1.0),
        range: Some((-10.0, 10.0)),
        choices: &[],
        doc: "Scale λ of the merged task vector: result b + λ·τ_m.",
    },
];

static INFO: StrategyInfo = StrategyInfo {
    name: "ties:paper",
    family: Family::Literature,
    needs_base: true,
    stochastic: false,
    uses_weights: false,
    class: ReproClass::E,
    params: &PARAMS,
    summary:
        "TIES-Merging as published: trim top-k, elect sign by summed mass, disjoint mean, b + λ·τ.",
};

impl Strategy for TiesPaper {
    fn info(&self) -> &StrategyInfo {
        &INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        let params = prepare(&INFO, inputs, params)?;
        let density = param_f64(&params, "density");
        let lambda = param_f64(&params, "lambda");
        let b = base(&INFO, inputs)?;
        let mut taus = task_vectors(inputs, b)?;
        for tau in &mut taus {
            trim_top_k(tau, density);
        }
        let merged = elect_disjoint_mean(&taus);
        finish(&INFO, b, add_scaled(b.data(), lambda, &merged))
    }
}
