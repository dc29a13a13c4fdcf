//! Layer 2: merge strategies. A strategy is a pure function of the *whole*
//! canonical contribution set — `(ids, tensors, weights, base, seed, params)`
//! in model-id byte order — to one tensor. It is applied once per resolve,
//! never pairwise; that is what makes every replica with the same Layer-1
//! state produce the same bits.
//!
//! Two families live side by side:
//! - [`reference`]: the 26 names of the reference library (crdt-merge 0.9.5),
//!   reproducing its semantics bit for bit where the spec says they can be;
//! - [`literature`]: the methods as their papers (and mergekit) define them,
//!   named `<method>:paper` / `<method>:mergekit`.
//!
//! The [`registry`] lists every strategy with the metadata the UI and the
//! sweep need. Its [`Registered`] handles read metadata without linking any
//! implementation (see `info.rs`), so the web page, which validates configs
//! but never merges, carries no strategy code.

mod info;
pub mod literature;
pub mod reference;

pub use info::Registered;

use crate::error::MergeError;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Largest number of contributions one resolve accepts.
pub const MERGE_INPUTS_MAX: usize = 100_000;

/// A parameter value. Canonical bytes (for the state digest) come from the
/// postcard encoding of the sorted parameter map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ParamValue {
    F64(f64),
    I64(i64),
    Bool(bool),
    Str(String),
}

impl ParamValue {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ParamValue::F64(v) => Some(*v),
            ParamValue::I64(v) => Some(*v as f64),
            _ => None,
        }
    }
}

/// Parameters by name; a `BTreeMap` so iteration (and hashing) is ordered.
pub type Params = BTreeMap<String, ParamValue>;

/// How a parameter may be set.
#[derive(Clone, Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub default: ParamDefault,
    /// Inclusive numeric range, for F64/I64 parameters.
    pub range: Option<(f64, f64)>,
    /// Allowed values, for string parameters.
    pub choices: &'static [&'static str],
    pub doc: &'static str,
}

/// A parameter default that can live in a `static`.
#[derive(Clone, Copy, Debug)]
pub enum ParamDefault {
    F64(f64),
    I64(i64),
    Bool(bool),
    Str(&'static str),
}

impl ParamDefault {
    pub fn value(self) -> ParamValue {
        match self {
            ParamDefault::F64(v) => ParamValue::F64(v),
            ParamDefault::I64(v) => ParamValue::I64(v),
            ParamDefault::Bool(v) => ParamValue::Bool(v),
            ParamDefault::Str(v) => ParamValue::Str(v.to_string()),
        }
    }
}

/// Which family a strategy belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Reproduces the reference library (crdt-merge 0.9.5).
    Reference,
    /// Follows the published method (and mergekit where stated).
    Literature,
}

/// How exactly a strategy can be reproduced across platforms (spec §1.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReproClass {
    /// Bitwise: elementwise operations in a fixed order.
    E,
    /// Reductions: within 1e-12 of the reference.
    R,
    /// SVD/eigen, sign-invariant: within ~1e-10.
    S,
    /// Depends on singular-vector signs: tested by properties.
    X,
    /// Statistical (as a distribution over seeds).
    M,
}

/// What the UI and the sweep need to know about a strategy.
#[derive(Clone, Debug)]
pub struct StrategyInfo {
    pub name: &'static str,
    pub family: Family,
    pub needs_base: bool,
    pub stochastic: bool,
    pub uses_weights: bool,
    pub class: ReproClass,
    pub params: &'static [ParamSpec],
    /// One sentence for the UI.
    pub summary: &'static str,
}

/// Everything a strategy sees: the canonical contribution set.
#[derive(Clone, Copy)]
pub struct MergeInputs<'a> {
    /// Model ids in canonical (byte) order.
    pub ids: &'a [&'a str],
    /// Tensors, aligned with `ids`.
    pub tensors: &'a [&'a Tensor],
    /// Raw weights, aligned with `ids`.
    pub weights: &'a [f64],
    /// The base model, when the replica has one.
    pub base: Option<&'a Tensor>,
    /// The replica's seed (stochastic strategies only).
    pub seed: u64,
    /// Name of the tensor being merged ("" for single-tensor workloads);
    /// literature-family randomness is keyed by (seed, model_id, tensor_key).
    pub tensor_key: &'a str,
}

/// A merge strategy: a pure function of the whole canonical set.
pub trait Strategy: Send + Sync {
    fn info(&self) -> &StrategyInfo;
    /// `params` has already been completed with defaults and range-checked by
    /// [`resolve_params`].
    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError>;
}

/// Every registered strategy, reference family first, in a fixed order
/// (`reference::ALL`, then `literature::ALL`).
pub fn registry() -> impl Iterator<Item = Registered> {
    (0..info::COUNT).map(Registered)
}

/// Looks a strategy up by name.
pub fn find(name: &str) -> Option<Registered> {
    registry().find(|s| s.info().name == name)
}

/// Completes `given` with defaults, rejecting unknown names, wrong types and
/// out-of-range values.
pub fn resolve_params(info: &StrategyInfo, given: &Params) -> Result<Params, MergeError> {
    let bad = |name: &str, reason: String| MergeError::BadParameter {
        strategy: info.name.to_string(),
        name: name.to_string(),
        reason,
    };
    for name in given.keys() {
        if !info.params.iter().any(|p| p.name == name) {
            return Err(bad(name, "unknown parameter".into()));
        }
    }
    let mut out = Params::new();
    for spec in info.params {
        let value = match given.get(spec.name) {
            None => spec.default.value(),
            Some(v) => coerce(spec, v).map_err(|r| bad(spec.name, r))?,
        };
        if let (Some((lo, hi)), Some(x)) = (spec.range, value.as_f64()) {
            if !(x >= lo && x <= hi) {
                return Err(bad(spec.name, format!("{x} is outside [{lo}, {hi}]")));
            }
        }
        if let ParamValue::Str(s) = &value {
            if !spec.choices.is_empty() && !spec.choices.contains(&s.as_str()) {
                return Err(bad(
                    spec.name,
                    format!("'{s}' is not one of {:?}", spec.choices),
                ));
            }
        }
        out.insert(spec.name.to_string(), value);
    }
    Ok(out)
}

fn coerce(spec: &ParamSpec, v: &ParamValue) -> Result<ParamValue, String> {
    match (spec.default, v) {
        (ParamDefault::F64(_), ParamValue::F64(x)) => Ok(ParamValue::F64(*x)),
        (ParamDefault::F64(_), ParamValue::I64(x)) => Ok(ParamValue::F64(*x as f64)),
        (ParamDefault::I64(_), ParamValue::I64(x)) => Ok(ParamValue::I64(*x)),
        (ParamDefault::I64(_), ParamValue::F64(x)) if x.fract() == 0.0 && x.abs() < 9.0e15 => {
            Ok(ParamValue::I64(*x as i64))
        }
        (ParamDefault::Bool(_), ParamValue::Bool(x)) => Ok(ParamValue::Bool(*x)),
        (ParamDefault::Str(_), ParamValue::Str(x)) => Ok(ParamValue::Str(x.clone())),
        (d, v) => Err(format!("expected a value like {d:?}, got {v:?}")),
    }
}

/// Canonical bytes of a parameter map (sorted by name), for digests.
pub fn params_bytes(params: &Params) -> Vec<u8> {
    postcard::to_allocvec(params).expect("encoding a parameter map cannot fail")
}

/// Reads an f64 parameter that [`resolve_params`] guaranteed to exist.
pub fn param_f64(params: &Params, name: &str) -> f64 {
    params
        .get(name)
        .and_then(ParamValue::as_f64)
        .unwrap_or_else(|| panic!("parameter '{name}' missing after resolve_params"))
}

/// Reads an i64 parameter that [`resolve_params`] guaranteed to exist.
pub fn param_i64(params: &Params, name: &str) -> i64 {
    match params.get(name) {
        Some(ParamValue::I64(v)) => *v,
        other => panic!("parameter '{name}' missing or not an integer: {other:?}"),
    }
}

/// Reads a bool parameter that [`resolve_params`] guaranteed to exist.
pub fn param_bool(params: &Params, name: &str) -> bool {
    match params.get(name) {
        Some(ParamValue::Bool(v)) => *v,
        other => panic!("parameter '{name}' missing or not a bool: {other:?}"),
    }
}

/// Reads a string parameter that [`resolve_params`] guaranteed to exist.
pub fn param_str<'p>(params: &'p Params, name: &str) -> &'p str {
    match params.get(name) {
        Some(ParamValue::Str(v)) => v,
        other => panic!("parameter '{name}' missing or not a string: {other:?}"),
    }
}

/// Checks shared by every strategy: n ≥ 1, aligned lengths, equal shapes,
/// finite values, and a base (of the same shape) when required.
pub fn check_inputs(info: &StrategyInfo, inputs: &MergeInputs<'_>) -> Result<(), MergeError> {
    let n = inputs.tensors.len();
    if n == 0 {
        return Err(MergeError::Empty);
    }
    if n > MERGE_INPUTS_MAX {
        return Err(MergeError::Invalid(format!(
            "{n} contributions exceed the limit of {MERGE_INPUTS_MAX}"
        )));
    }
    if inputs.weights.len() != n {
        return Err(MergeError::WeightCount {
            expected: n,
            got: inputs.weights.len(),
        });
    }
    if inputs.ids.len() != n {
        return Err(MergeError::Invalid(format!(
            "{} ids for {n} tensors",
            inputs.ids.len()
        )));
    }
    let shape = inputs.tensors[0].shape();
    for (i, t) in inputs.tensors.iter().enumerate() {
        if t.shape() != shape {
            return Err(MergeError::ShapeMismatch {
                what: format!("contribution '{}'", inputs.ids[i]),
                expected: shape.to_vec(),
                got: t.shape().to_vec(),
            });
        }
        if let Some(index) = t.first_non_finite() {
            return Err(MergeError::NonFinite {
                what: format!("contribution '{}'", inputs.ids[i]),
                index,
            });
        }
    }
    if let Some(i) = inputs.weights.iter().position(|w| !w.is_finite()) {
        return Err(MergeError::NonFinite {
            what: "weights".into(),
            index: i,
        });
    }
    match inputs.base {
        None if info.needs_base => return Err(MergeError::MissingBase(info.name.to_string())),
        Some(b) => {
            if b.shape() != shape && info.needs_base {
                return Err(MergeError::ShapeMismatch {
                    what: "base".into(),
                    expected: shape.to_vec(),
                    got: b.shape().to_vec(),
                });
            }
            if let Some(index) = b.first_non_finite() {
                return Err(MergeError::NonFinite {
                    what: "base".into(),
                    index,
                });
            }
        }
        None => {}
    }
    Ok(())
}

/// Normalised weights `w_i / S` with `S` summed left to right (spec §1.1).
pub fn normalised_weights(weights: &[f64]) -> Result<Vec<f64>, MergeError> {
    let mut sum = 0.0;
    for &w in weights {
        sum += w;
    }
    if sum == 0.0 {
        return Err(MergeError::ZeroWeightSum);
    }
    Ok(weights.iter().map(|w| w / sum).collect())
}

/// Resolves a strategy by name: lookup, parameter completion, input checks,
/// then the merge. This is the single entry point Layer 1 calls.
pub fn merge_by_name(
    name: &str,
    inputs: &MergeInputs<'_>,
    params: &Params,
) -> Result<Tensor, MergeError> {
    let strategy = find(name).ok_or_else(|| MergeError::UnknownStrategy(name.to_string()))?;
    let params = resolve_params(strategy.info(), params)?;
    check_inputs(strategy.info(), inputs)?;
    strategy.merge(inputs, &params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_unique() {
        let mut names: Vec<&str> = registry().map(|s| s.info().name).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
        assert!(find("weight_average").is_some());
    }

    #[test]
    fn unknown_params_are_rejected() {
        let info = find("weight_average").unwrap().info();
        let mut p = Params::new();
        p.insert("nope".into(), ParamValue::F64(1.0));
        assert!(matches!(
            resolve_params(info, &p),
            Err(MergeError::BadParameter { .. })
        ));
    }
}
