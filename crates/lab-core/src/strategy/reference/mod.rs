//! The reference family: the 26 strategy names of crdt-merge 0.9.5 with the
//! reference's semantics (spec `strategies.md` §2), including its quirks.

mod weight_average;

use super::Strategy;

pub use weight_average::WeightAverage;

/// Every reference-family strategy, in the spec's order.
pub static ALL: &[&dyn Strategy] = &[&WeightAverage];
