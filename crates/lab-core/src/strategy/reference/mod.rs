//! The reference family: the 26 strategy names of crdt-merge 0.9.5 with the
//! reference's semantics (spec `strategies.md` §2), including its quirks.
//!
//! Each strategy reproduces what `CRDTMergeState.resolve()` computes with
//! default parameters, and the direct API's keyword arguments through its
//! [`ParamSpec`](crate::strategy::ParamSpec)s. The spec's reproducibility
//! class (§1.9) is recorded in each [`StrategyInfo`](crate::strategy::StrategyInfo);
//! [`crate::conformance`] checks every strategy against the reference
//! vectors at that class.

mod adaptive;
mod elementwise;
mod evolve;
mod interp;
pub(crate) mod linalg;
pub(crate) mod lowrank;
mod moments;
mod sparsify;
mod task_vectors;
pub(crate) mod util;
mod weight_average;

use super::Strategy;

pub use adaptive::{AdaMerging, Dam};
pub use elementwise::{fisher_merge_with, FisherMerge, LedMerge, RegressionMean, SafeMerge};
pub use evolve::{EvolutionaryMerge, GeneticMerge};
pub use interp::{Linear, Slerp};
pub use lowrank::{AdaRank, DualProjection, Star, SvdKnotTying};
pub use moments::{RepresentationSurgery, WeightScopeAlignment};
pub use sparsify::{Dare, DareTies, Della, Emr, ModelBreadcrumbs, Ties};
pub use task_vectors::{NegativeMerge, SplitUnlearnMerge, TaskArithmetic};
pub use weight_average::WeightAverage;

/// Every reference-family strategy, in the spec's order (§2.1–§2.26).
pub static ALL: &[&dyn Strategy] = &[
    &WeightAverage,
    &Slerp,
    &TaskArithmetic,
    &Linear,
    &FisherMerge,
    &RegressionMean,
    &AdaMerging,
    &Dam,
    &WeightScopeAlignment,
    &RepresentationSurgery,
    &EvolutionaryMerge,
    &GeneticMerge,
    &SafeMerge,
    &LedMerge,
    &Ties,
    &Dare,
    &Della,
    &DareTies,
    &ModelBreadcrumbs,
    &Emr,
    &Star,
    &SvdKnotTying,
    &AdaRank,
    &NegativeMerge,
    &SplitUnlearnMerge,
    &DualProjection,
];
