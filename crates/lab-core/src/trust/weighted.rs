//! Trust-weighted resolve: merge inputs as a function of (contribution set,
//! evidence set).
//!
//! Each contribution's weight is multiplied by its originator's overall
//! trust (`Contribution::stamp().node`, bound by the originator's signature),
//! and contributions of originators below [`super::REJECT_THRESHOLD`] are
//! left out. Trust is a pure function of the evidence set, so honest nodes
//! with the same contribution set and the same evidence set build identical
//! inputs and resolve identical bits. With no evidence every trust is 1.0
//! and the inputs equal the plain ones bit for bit (`w × 1.0 = w`).
//!
//! Two entry points:
//! - [`trust_weighted`] takes the *visible* contributions (one per model id,
//!   as [`ContributionSet::visible`] returns them);
//! - [`trust_weighted_rows`] looks at *every row* of the set and picks, per
//!   model id, the winner among rows of admitted originators (same order as
//!   the CRDT: highest version, then the conflict policy on the HLC stamp,
//!   then the lower record digest). A rejected peer can then not hide an
//!   honest contribution by writing a higher version under the same model id:
//!   the honest row wins again once the peer is excluded. This is the one the
//!   simulator should use.

use super::identity::NodeId;
use super::state::TrustScores;
use crate::crdt::{ConflictPolicy, Contribution, ContributionSet};
use crate::error::MergeError;
use crate::hash::Digest;
use crate::strategy::{merge_by_name, MergeInputs, Params};
use crate::tensor::Tensor;
use serde::Serialize;
use std::cmp::Ordering;
use thiserror::Error;

/// A contribution left out of the merge.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Excluded {
    pub model_id: String,
    pub originator: NodeId,
    pub trust: f64,
}

/// Why a trust-weighted resolve failed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ResolveError {
    #[error("tensor {0:?} is not in the pool")]
    MissingTensor(Digest),
    #[error("merge failed: {0}")]
    Merge(#[from] MergeError),
}

/// The inputs of a trust-weighted merge, in model-id byte order.
#[derive(Clone, Debug)]
pub struct TrustWeighted<'a> {
    /// The admitted contributions.
    pub contributions: Vec<&'a Contribution>,
    /// Their model ids.
    pub ids: Vec<&'a str>,
    /// `weight × trust(originator)`.
    pub weights: Vec<f64>,
    /// The originators' trust.
    pub trust: Vec<f64>,
    /// What was left out, in model-id order.
    pub excluded: Vec<Excluded>,
}

impl<'a> TrustWeighted<'a> {
    fn new() -> TrustWeighted<'a> {
        TrustWeighted {
            contributions: Vec::new(),
            ids: Vec::new(),
            weights: Vec::new(),
            trust: Vec::new(),
            excluded: Vec::new(),
        }
    }

    fn admit(&mut self, c: &'a Contribution, scores: &TrustScores) {
        let originator = c.stamp().node;
        let trust = scores.trust(originator);
        if trust < super::state::REJECT_THRESHOLD {
            self.excluded.push(Excluded {
                model_id: c.model_id().to_string(),
                originator,
                trust,
            });
        } else {
            self.contributions.push(c);
            self.ids.push(c.model_id());
            self.weights.push(c.weight() * trust);
            self.trust.push(trust);
        }
    }

    /// The tensors of the admitted contributions, looked up by digest.
    pub fn tensors<'t, F>(&self, lookup: F) -> Result<Vec<&'t Tensor>, ResolveError>
    where
        F: Fn(&Digest) -> Option<&'t Tensor>,
    {
        self.contributions
            .iter()
            .map(|c| lookup(&c.tensor()).ok_or(ResolveError::MissingTensor(c.tensor())))
            .collect()
    }

    /// The strategy inputs, given the tensors (aligned with `ids`).
    pub fn inputs<'s>(
        &'s self,
        tensors: &'s [&'s Tensor],
        base: Option<&'s Tensor>,
        seed: u64,
        tensor_key: &'s str,
    ) -> MergeInputs<'s> {
        MergeInputs {
            ids: &self.ids,
            tensors,
            weights: &self.weights,
            base,
            seed,
            tensor_key,
        }
    }

    /// Resolves with strategy `name`.
    pub fn resolve<'t, F>(
        &self,
        name: &str,
        params: &Params,
        lookup: F,
        base: Option<&Tensor>,
        seed: u64,
        tensor_key: &str,
    ) -> Result<Tensor, ResolveError>
    where
        F: Fn(&Digest) -> Option<&'t Tensor>,
    {
        let tensors = self.tensors(lookup)?;
        let inputs = MergeInputs {
            ids: &self.ids,
            tensors: &tensors,
            weights: &self.weights,
            base,
            seed,
            tensor_key,
        };
        Ok(merge_by_name(name, &inputs, params)?)
    }
}

/// Trust-weighted inputs from the visible contributions (kept in the order
/// given, which should be model-id byte order).
pub fn trust_weighted<'a>(visible: &[&'a Contribution], scores: &TrustScores) -> TrustWeighted<'a> {
    let mut out = TrustWeighted::new();
    for &c in visible {
        out.admit(c, scores);
    }
    out
}

/// Whether `a` beats `b` (same model id): the CRDT's visible-value order.
fn wins_over(a: &Contribution, b: &Contribution, policy: ConflictPolicy) -> bool {
    let by_version = a.version().cmp(&b.version());
    let by_policy = match policy {
        ConflictPolicy::LastWriterWins => a.stamp().cmp(&b.stamp()),
        ConflictPolicy::FirstWriterWins => b.stamp().cmp(&a.stamp()),
    };
    let by_digest = b.record().cmp(&a.record());
    by_version.then(by_policy).then(by_digest) == Ordering::Greater
}

/// Trust-weighted inputs from every row of `set`: per model id, the winner
/// among rows whose originator is not rejected. A model id whose rows are
/// all from rejected originators is reported in `excluded` (with its
/// CRDT-visible row's originator).
pub fn trust_weighted_rows<'a>(
    set: &'a ContributionSet,
    policy: ConflictPolicy,
    scores: &TrustScores,
) -> TrustWeighted<'a> {
    let mut out = TrustWeighted::new();
    let rows = set.rows();
    let mut i = 0;
    while i < rows.len() {
        let id = rows[i].value.model_id().as_bytes();
        let mut j = i + 1;
        while j < rows.len() && rows[j].value.model_id().as_bytes() == id {
            j += 1;
        }
        let mut best_admitted: Option<&'a Contribution> = None;
        let mut best_any: Option<&'a Contribution> = None;
        for r in &rows[i..j] {
            let c: &'a Contribution = &r.value;
            if best_any.is_none_or(|b| wins_over(c, b, policy)) {
                best_any = Some(c);
            }
            if !scores.rejected(c.stamp().node)
                && best_admitted.is_none_or(|b| wins_over(c, b, policy))
            {
                best_admitted = Some(c);
            }
        }
        match best_admitted {
            Some(c) => out.admit(c, scores),
            None => {
                if let Some(c) = best_any {
                    out.admit(c, scores);
                }
            }
        }
        i = j;
    }
    out
}
