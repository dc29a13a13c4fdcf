//! `dare:paper` and `dare_ties:paper` — DARE's drop-and-rescale, combined by
//! task arithmetic or by TIES sign election.

use super::common::{
    add_scaled, base, elect_disjoint_mean, finish, mask_stream, prepare, task_vectors, trim_top_k,
    weighted_sum, TAG_DARE,
};
use crate::error::MergeError;
use crate::strategy::{
    param_f64, Family, MergeInputs, ParamDefault, ParamSpec, Params, ReproClass, Strategy,
    StrategyInfo,
};
use crate::tensor::Tensor;

/// DARE's drop-and-rescale of one task vector: each element is dropped with
/// probability `drop_rate` (one uniform draw per element, in C order, from
/// the stream of [`mask_stream`] keyed by
/// `(seed, model_id, tensor_key)`), and survivors are multiplied by
/// `1/(1 − drop_rate)`, so `E[τ̃] = τ`. With `drop_rate = 1` everything is
/// dropped and nothing is rescaled.
pub fn drop_and_rescale(
    seed: u64,
    model_id: &str,
    tensor_key: &str,
    tau: &[f64],
    drop_rate: f64,
) -> Vec<f64> {
    if drop_rate >= 1.0 {
        return vec![0.0; tau.len()];
    }
    let rescale = 1.0 / (1.0 - drop_rate);
    let mut stream = mask_stream(seed, TAG_DARE, model_id, tensor_key);
    tau.iter()
        .map(|&t| {
            if stream.next_f64() >= drop_rate {
                t * rescale
            } else {
                0.0
            }
        })
        .collect()
}

/// The dropped-and-rescaled task vector of every contribution.
fn dropped_deltas(inputs: &MergeInputs<'_>, taus: &[Vec<f64>], drop_rate: f64) -> Vec<Vec<f64>> {
    taus.iter()
        .zip(inputs.ids)
        .map(|(tau, id)| drop_and_rescale(inputs.seed, id, inputs.tensor_key, tau, drop_rate))
        .collect()
}

const DROP_RATE: ParamSpec = ParamSpec {
    name: "drop_rate",
    default: ParamDefault::F64(0.9),
    range: Some((0.0, 1.0)),
    choices: &[],
    doc: "Probability p of dropping each delta element; survivors are rescaled by 1/(1−p).",
};

const LAMBDA: ParamSpec = ParamSpec {
    name: "lambda",
    default: ParamDefault::F64(1.0),
    range: Some((-10.0, 10.0)),
    choices: &[],
    doc: "Global scale λ of the combined task vector.",
};

/// `dare:paper` — DARE (Drop And REscale) with task arithmetic: Yu, Yu, Yu,
/// Huang & Li, "Language Models are Super Mario: Absorbing Abilities from
/// Homologous Models as a Free Lunch", ICML 2024 (arXiv:2311.03099).
///
/// Result `b + λ·Σ_i w_i·τ̃_i`, where `τ̃_i` is [`drop_and_rescale`] of
/// `τ_i = x_i − b` and `w_i` is the contribution's *raw* weight acting as its
/// per-model scale (mergekit's per-model `weight`; all weights 1 gives the
/// paper's `b + λ·Σ τ̃_i`). Unbiased: `E = b + λ·Σ w_i τ_i`, task arithmetic.
///
/// How it differs from the reference `dare` (spec §2.16):
/// - deltas are *summed* with raw weights (task arithmetic), not averaged
///   with normalised weights, so the expectation is task arithmetic and not
///   the weighted average; a zero weight sum is therefore not an error;
/// - each contribution's mask comes from its own stream keyed by
///   `(seed, model id, tensor key)`: adding, removing or reordering other
///   contributions never changes it (the reference draws all masks from one
///   MT19937 stream, so masks shift with position);
/// - there is a λ, and a single contribution is dropped like any other.
///
/// Against mergekit's `dare_linear`: survivors are rescaled by the paper's
/// `1/(1 − p)`, not by matching the L1 norm; `drop_rate` is mergekit's
/// `1 − density`.
pub struct DarePaper;

static DARE_PARAMS: [ParamSpec; 2] = [DROP_RATE, LAMBDA];

static DARE_INFO: StrategyInfo = StrategyInfo {
    name: "dare:paper",
    family: Family::Literature,
    needs_base: true,
    stochastic: true,
    uses_weights: true,
    class: ReproClass::M,
    params: &DARE_PARAMS,
    summary:
        "DARE as published: drop deltas with probability p, rescale by 1/(1−p), task arithmetic.",
};

impl Strategy for DarePaper {
    fn info(&self) -> &StrategyInfo {
        &DARE_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        let params = prepare(&DARE_INFO, inputs, params)?;
        let drop_rate = param_f64(&params, "drop_rate");
        let lambda = param_f64(&params, "lambda");
        let b = base(&DARE_INFO, inputs)?;
        let taus = task_vectors(inputs, b)?;
        let dropped = dropped_deltas(inputs, &taus, drop_rate);
        let sum = weighted_sum(&dropped, inputs.weights, b.len());
        finish(&DARE_INFO, b, add_scaled(b.data(), lambda, &sum))
    }
}

/// `dare_ties:paper` — DARE followed by TIES sign election and disjoint
/// merge, as in the DARE paper's DARE + TIES-Merging combination (Yu et al.,
/// ICML 2024, arXiv:2311.03099; TIES: Yadav et al., NeurIPS 2023) and
/// mergekit's `dare_ties`.
///
/// Steps: `τ̃_i` = [`drop_and_rescale`] of `τ_i` (the same masks as
/// `dare:paper` for the same seed); optionally the TIES trim to `density`
/// (1.0, the default, keeps everything, as mergekit does; the DARE paper's
/// experiments also trimmed with TIES's k); `v_i = w_i·τ̃_i` with raw
/// weights; elect `γ = sign(Σ_i v_i)`; disjoint mean of the `v_i` that are
/// non-zero with sign γ; result `b + λ·δ`.
///
/// How it differs from the reference `dare_ties` (spec §2.18):
/// - sign elected from summed mass, not a count vote;
/// - disjoint *mean* with no second normalisation (the reference divides a
///   normalised-weight sum by the count, shrinking the delta);
/// - no magnitude trim after dropping by default (the reference keeps the
///   top 20 % of the survivors);
/// - masks keyed per `(seed, model id, tensor key)`, independent of the other
///   contributions; there is a λ; a single contribution is dropped too.
///
/// Against mergekit's `dare_ties`: `1/(1 − p)` rescale instead of the L1
/// rescale, a disjoint *mean* (mergekit's default, `normalize: false`, is a
/// weighted sum), and an elected sign of 0 merges nothing.
pub struct DareTiesPaper;

static DARE_TIES_PARAMS: [ParamSpec; 3] = [
    DROP_RATE,
    ParamSpec {
        name: "density",
        default: ParamDefault::F64(1.0),
        range: Some((0.0, 1.0)),
        choices: &[],
        doc: "TIES trim after dropping: fraction of each dropped delta kept by magnitude (1 = no trim, as mergekit).",
    },
    LAMBDA,
];

static DARE_TIES_INFO: StrategyInfo = StrategyInfo {
    name: "dare_ties:paper",
    family: Family::Literature,
    needs_base: true,
    stochastic: true,
    uses_weights: true,
    class: ReproClass::M,
    params: &DARE_TIES_PARAMS,
    summary:
        "DARE drop-and-rescale, then TIES sign election by summed mass and disjoint mean, b + λ·δ.",
};

impl Strategy for DareTiesPaper {
    fn info(&self) -> &StrategyInfo {
        &DARE_TIES_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        let params = prepare(&DARE_TIES_INFO, inputs, params)?;
        let drop_rate = param_f64(&params, "drop_rate");
        let density = param_f64(&params, "density");
        let lambda = param_f64(&params, "lambda");
        let b = base(&DARE_TIES_INFO, inputs)?;
        let taus = task_vectors(inputs, b)?;
        let mut scaled = dropped_deltas(inputs, &taus, drop_rate);
        for (v, &w) in scaled.iter_mut().zip(inputs.weights) {
            if density < 1.0 {
                trim_top_k(v, density);
            }
            v.iter_mut().for_each(|x| *x *= w);
        }
        let merged = elect_disjoint_mean(&scaled);
        finish(&DARE_TIES_INFO, b, add_scaled(b.data(), lambda, &merged))
    }
}
