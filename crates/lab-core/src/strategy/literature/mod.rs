//! The literature family: merge methods as their papers (and mergekit)
//! define them, named `<method>:paper` or `<method>:mergekit`, shown beside
//! the reference family's versions of the same names (spec §5).
//!
//! Conventions shared by the family (each strategy's doc lists how it
//! departs from the reference):
//! - `b` is the base, `τ_i = x_i − b` the task vector of contribution i, in
//!   canonical (model-id) order; every operation is per tensor (per layer).
//! - Where a method combines task vectors and uses weights, the raw weight
//!   `w_i` is contribution i's per-model scale (mergekit's per-model
//!   `weight`); with all weights 1 the formula is the paper's.
//! - Randomness (DARE and DELLA masks) comes from a ChaCha stream keyed by
//!   `(seed, method, model id, tensor key)` only, so adding or removing a
//!   contribution never changes another contribution's mask.
//! - No n = 1 shortcut unless stated: a single contribution goes through the
//!   method like any other count.
//! - Bad input is a typed `MergeError`, never a panic: every strategy
//!   completes its parameters and checks its inputs itself, so it is safe to
//!   call directly as well as through `merge_by_name`. A result that
//!   overflows is `MergeError::NonFinite`.
//! - 0-d tensors are treated as one element; empty tensors give empty results.

pub mod breadcrumbs;
pub mod common;
pub mod dare;
pub mod della;
pub mod karcher;
pub mod median;
pub mod model_stock;
pub mod slerp;
pub mod ties;

use super::Strategy;

pub use breadcrumbs::BreadcrumbsPaper;
pub use dare::{DarePaper, DareTiesPaper};
pub use della::DellaPaper;
pub use karcher::KarcherPaper;
pub use median::MedianPaper;
pub use model_stock::ModelStockPaper;
pub use slerp::SlerpMergekit;
pub use ties::TiesPaper;

/// Every literature-family strategy, in registry order.
pub static ALL: &[&dyn Strategy] = &[
    &TiesPaper,
    &DarePaper,
    &DareTiesPaper,
    &DellaPaper,
    &BreadcrumbsPaper,
    &ModelStockPaper,
    &MedianPaper,
    &SlerpMergekit,
    &KarcherPaper,
];
