//! The negative control: what happens *without* Layer 1.
//!
//! Each node holds a merged model instead of a contribution set. When it
//! hears from a peer it replaces its model by `strategy(own, peer)` — the
//! strategy applied *pairwise*, in gossip order, as a naive system would.
//! The schedule is the seed lab's all-pairs schedule of the same ordering the
//! CRDT path uses. Most strategies are not associative, so nodes end with
//! different models, and none equals the strategy applied once to the whole
//! set; this module measures by how much.

use crate::error::MergeError;
use crate::sim::{all_pairs_order, Protocol, Schedule};
use crate::strategy::{self, MergeInputs, Params};
use crate::tensor::Tensor;
use crate::workload::model_id;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What the negative control measured for one strategy and ordering.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NegativeControl {
    /// Distinct final models (bitwise) across the nodes.
    pub distinct_models: u32,
    /// Largest relative deviation of any node's model from the Layer-2
    /// result: max_j |m_j − r_j| / max_j |r_j| (absolute if r is all zero).
    pub max_deviation_from_layer2: f64,
    /// Largest relative deviation between two nodes' models (same measure,
    /// relative to the Layer-2 result's scale).
    pub max_deviation_between_nodes: f64,
    /// Pairwise merges performed.
    pub merges: u64,
}

/// Runs the pairwise (naive) merge for `tensors` (one per node, node `i`'s
/// model id is [`model_id`]`(i)`), with the all-pairs schedule of
/// `(seed, ordering)`. `layer2` is the strategy applied once to the whole set.
pub fn pairwise_gossip(
    strategy_name: &str,
    tensors: &[Tensor],
    base: Option<&Tensor>,
    seed: u64,
    ordering: u32,
    layer2: &Tensor,
) -> Result<NegativeControl, MergeError> {
    let n = tensors.len() as u32;
    assert!(n >= 2, "the negative control needs at least two nodes");
    let mut models: Vec<Tensor> = tensors.to_vec();
    let sch = Schedule {
        nodes: n,
        protocol: Protocol::AllPairs,
        fanout: 1,
        seed,
        ordering,
    };
    let ids: Vec<String> = (0..n).map(model_id).collect();
    let mut merges = 0u64;
    for (dst, src) in all_pairs_order(&sch) {
        let (a, b) = (dst as usize, src as usize);
        // Canonical order of the two inputs, as Layer 2 would use.
        let (first, second) = if ids[a] < ids[b] { (a, b) } else { (b, a) };
        let pair_ids = [ids[first].as_str(), ids[second].as_str()];
        let pair = [&models[first], &models[second]];
        let inputs = MergeInputs {
            ids: &pair_ids,
            tensors: &pair,
            weights: &[1.0, 1.0],
            base,
            seed,
            tensor_key: "",
        };
        models[a] = strategy::merge_by_name(strategy_name, &inputs, &Params::new())?;
        merges += 1;
    }
    let distinct: BTreeSet<_> = models.iter().map(Tensor::digest).collect();
    let scale = layer2.data().iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let rel = |x: &Tensor, y: &Tensor| {
        let diff = x
            .data()
            .iter()
            .zip(y.data())
            .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()));
        if scale > 0.0 {
            diff / scale
        } else {
            diff
        }
    };
    let from_layer2 = models.iter().fold(0.0f64, |m, t| m.max(rel(t, layer2)));
    let mut between = 0.0f64;
    for i in 0..models.len() {
        for j in i + 1..models.len() {
            between = between.max(rel(&models[i], &models[j]));
        }
    }
    Ok(NegativeControl {
        distinct_models: distinct.len() as u32,
        max_deviation_from_layer2: from_layer2,
        max_deviation_between_nodes: between,
        merges,
    })
}
