//! `della:paper` — DELLA-Merging: MagPrune (rank-based drop probabilities),
//! per-element unbiased rescale, then TIES-style election and fusion.

use super::common::{
    add_scaled, ascending_by_magnitude, base, elect_disjoint_mean, finish, mask_stream, prepare,
    task_vectors, TAG_DELLA,
};
use crate::error::MergeError;
use crate::strategy::{
    param_f64, Family, MergeInputs, ParamDefault, ParamSpec, Params, ReproClass, Strategy,
    StrategyInfo,
};
use crate::tensor::Tensor;

/// MagPrune keep probabilities of one row: the entries are ranked by
/// ascending magnitude and entry j keeps with probability
/// `(density − ε) + 2ε·rank_norm_j`, `rank_norm_j = rank_j/(m − 1)` in
/// `[0, 1]`. Equal magnitudes share their average rank; a one-entry row keeps
/// with probability `density` (the window's centre). The caller guarantees
/// `0 < density − ε` and `density + ε ≤ 1`.
pub fn magprune_keep_probs(row: &[f64], density: f64, epsilon: f64) -> Vec<f64> {
    let m = row.len();
    let mut probs = vec![0.0; m];
    let order = ascending_by_magnitude(row);
    let mut start = 0;
    while start < m {
        let mut end = start + 1;
        while end < m && row[order[end]].abs() == row[order[start]].abs() {
            end += 1;
        }
        let rank_norm = if m == 1 {
            0.5
        } else {
            (start + end - 1) as f64 / 2.0 / (m - 1) as f64
        };
        let p = (density - epsilon) + 2.0 * epsilon * rank_norm;
        for &j in &order[start..end] {
            probs[j] = p.min(1.0);
        }
        start = end;
    }
    probs
}

/// MagPrune applied to one task vector of a tensor with rows of `row_len`
/// elements (the last dimension; a 1-D tensor is one row): each element is
/// kept with its [`magprune_keep_probs`] probability `k_j` (one uniform draw
/// per element, in C order, from the stream keyed by
/// `(seed, model_id, tensor_key)`) and a kept element becomes `τ_j / k_j`,
/// so `E[τ̃] = τ` elementwise.
pub fn magprune(
    seed: u64,
    model_id: &str,
    tensor_key: &str,
    tau: &[f64],
    row_len: usize,
    density: f64,
    epsilon: f64,
) -> Vec<f64> {
    let mut stream = mask_stream(seed, TAG_DELLA, model_id, tensor_key);
    let mut out = Vec::with_capacity(tau.len());
    for row in tau.chunks(row_len.max(1)) {
        for (&t, k) in row.iter().zip(magprune_keep_probs(row, density, epsilon)) {
            out.push(if stream.next_f64() < k { t / k } else { 0.0 });
        }
    }
    out
}

/// `della:paper` — DELLA-Merging: Deep, Bhardwaj & Poria, "DELLA-Merging:
/// Reducing Interference in Model Merging through Magnitude-Based Sampling",
/// 2024 (arXiv:2406.11617).
///
/// Steps: (1) *Drop* with MagPrune ([`magprune`]): per row of each task
/// vector, keep probabilities grow linearly with the magnitude rank inside a
/// window of half-width ε around `density`, and every kept entry is rescaled
/// by its own `1/keep-probability` (unbiased); (2) `v_i = w_i·τ̃_i` with raw
/// weights (all weights 1 is the paper); (3) *elect* `γ = sign(Σ_i v_i)`;
/// (4) *fuse*: disjoint mean of the `v_i` that are non-zero with sign γ;
/// result `b + λ·δ`. The window follows spec §5.2/§5.3 (half-width ε, as
/// mergekit); defaults density 0.2, ε 0.1 and λ 1 are the lab's choice (the
/// paper tunes them per task).
///
/// How it differs from the reference `della` (spec §2.17):
/// - drop probabilities are rank-based per row, not proportional to
///   magnitude over the whole tensor;
/// - each survivor is rescaled by its own keep probability (unbiased), not by
///   one uniform `1/(1 − p)` (biased towards large entries);
/// - signs are elected and agreeing entries averaged; there is a λ;
/// - raw weights scale the deltas instead of normalised weights averaging
///   them; masks are keyed per `(seed, model id, tensor key)` instead of
///   `random.Random(seed + position)`; a single contribution is dropped too.
///
/// Against mergekit's `della`: per-element `1/k` rescale instead of the
/// L1-norm rescale, an unweighted disjoint mean of the weighted deltas, ties
/// in magnitude share their average rank, and an elected sign of 0 merges
/// nothing.
pub struct DellaPaper;

static PARAMS: [ParamSpec; 3] = [
    ParamSpec {
        name: "density",
        default: ParamDefault::F64(0.2),
        range: Some((0.0, 1.0)),
        choices: &[],
        doc: "Mean keep probability (1 − the paper's drop rate p); needs density − ε > 0 and density + ε ≤ 1.",
    },
    ParamSpec {
        name: "epsilon",
        default: ParamDefault::F64(0.1),
        range: Some((0.0, 0.5)),
        choices: &[],
        doc: "Half-width ε of the keep-probability window: ranks map linearly onto [density − ε, density + ε].",
    },
    ParamSpec {
        name: "lambda",
        default: ParamDefault::F64(1.0),
        range: Some((-10.0, 10.0)),
        choices: &[],
        doc: "Scale λ of the fused task vector: result b + λ·δ.",
    },
];

static INFO: StrategyInfo = StrategyInfo {
    name: "della:paper",
    family: Family::Literature,
    needs_base: true,
    stochastic: true,
    uses_weights: true,
    class: ReproClass::M,
    params: &PARAMS,
    summary: "DELLA as published: rank-based MagPrune drop with 1/p rescale, sign election, disjoint mean, b + λ·δ.",
};

/// Rejects a window that would give a keep probability ≤ 0 or > 1.
fn check_window(density: f64, epsilon: f64) -> Result<(), MergeError> {
    if density - epsilon > 0.0 && density + epsilon <= 1.0 {
        return Ok(());
    }
    Err(MergeError::BadParameter {
        strategy: INFO.name.to_string(),
        name: "epsilon".to_string(),
        reason: format!(
            "needs 0 < density − ε and density + ε ≤ 1 (density {density}, ε {epsilon})"
        ),
    })
}

impl Strategy for DellaPaper {
    fn info(&self) -> &StrategyInfo {
        &INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        let params = prepare(&INFO, inputs, params)?;
        let density = param_f64(&params, "density");
        let epsilon = param_f64(&params, "epsilon");
        let lambda = param_f64(&params, "lambda");
        check_window(density, epsilon)?;
        let b = base(&INFO, inputs)?;
        let row_len = b.shape().last().copied().unwrap_or(1);
        let taus = task_vectors(inputs, b)?;
        let mut scaled = Vec::with_capacity(taus.len());
        for ((tau, id), &w) in taus.iter().zip(inputs.ids).zip(inputs.weights) {
            let mut v = magprune(
                inputs.seed,
                id,
                inputs.tensor_key,
                tau,
                row_len,
                density,
                epsilon,
            );
            v.iter_mut().for_each(|x| *x *= w);
            scaled.push(v);
        }
        let merged = elect_disjoint_mean(&scaled);
        finish(&INFO, b, add_scaled(b.data(), lambda, &merged))
    }
}
