//! The registry's metadata, separated from the implementations.
//!
//! [`super::registry`] and [`super::find`] hand out [`Registered`] handles:
//! reading a strategy's [`StrategyInfo`] goes through a statically
//! dispatched `info()` of each strategy type, so code that only needs
//! metadata (the web page's controls, config validation, permalinks) links
//! no merge implementation. Only [`Registered::merge`] reaches the
//! implementations (the trait objects in `reference::ALL` and
//! `literature::ALL`), and only the engine calls it.

use super::literature::{
    BreadcrumbsPaper, DarePaper, DareTiesPaper, DellaPaper, KarcherPaper, MedianPaper,
    ModelStockPaper, SlerpMergekit, TiesPaper,
};
use super::reference::{
    AdaMerging, AdaRank, Dam, Dare, DareTies, Della, DualProjection, Emr, EvolutionaryMerge,
    FisherMerge, GeneticMerge, LedMerge, Linear, ModelBreadcrumbs, NegativeMerge, RegressionMean,
    RepresentationSurgery, SafeMerge, Slerp, SplitUnlearnMerge, Star, SvdKnotTying, TaskArithmetic,
    Ties, WeightAverage, WeightScopeAlignment,
};
use super::{literature, reference, MergeInputs, Params, Strategy, StrategyInfo};
use crate::error::MergeError;
use crate::tensor::Tensor;

/// One `fn` per strategy returning its metadata by static dispatch (no
/// vtable, hence no `merge`), in registry order: `reference::ALL`, then
/// `literature::ALL` (a test checks both orders agree).
macro_rules! info_fns {
    ($($ty:ident),* $(,)?) => {
        [$({
            fn info() -> &'static StrategyInfo {
                Strategy::info(&$ty)
            }
            info as fn() -> &'static StrategyInfo
        }),*]
    };
}

static INFO: [fn() -> &'static StrategyInfo; 35] = info_fns![
    // Reference family (spec order, as `reference::ALL`).
    WeightAverage,
    Slerp,
    TaskArithmetic,
    Linear,
    FisherMerge,
    RegressionMean,
    AdaMerging,
    Dam,
    WeightScopeAlignment,
    RepresentationSurgery,
    EvolutionaryMerge,
    GeneticMerge,
    SafeMerge,
    LedMerge,
    Ties,
    Dare,
    Della,
    DareTies,
    ModelBreadcrumbs,
    Emr,
    Star,
    SvdKnotTying,
    AdaRank,
    NegativeMerge,
    SplitUnlearnMerge,
    DualProjection,
    // Literature family (as `literature::ALL`).
    TiesPaper,
    DarePaper,
    DareTiesPaper,
    DellaPaper,
    BreadcrumbsPaper,
    ModelStockPaper,
    MedianPaper,
    SlerpMergekit,
    KarcherPaper,
];

/// Number of registered strategies.
pub(super) const COUNT: usize = INFO.len();

/// A registered strategy: its metadata, and (for the engine) its merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registered(pub(super) usize);

impl Registered {
    /// The strategy's metadata (links no implementation).
    pub fn info(self) -> &'static StrategyInfo {
        INFO[self.0]()
    }

    /// The implementation, as a trait object.
    pub fn implementation(self) -> &'static dyn Strategy {
        let n = reference::ALL.len();
        if self.0 < n {
            reference::ALL[self.0]
        } else {
            literature::ALL[self.0 - n]
        }
    }

    /// Applies the strategy; see [`Strategy::merge`].
    pub fn merge(self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        self.implementation().merge(inputs, params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_and_implementations_agree_in_registry_order() {
        let all: Vec<&dyn Strategy> = reference::ALL
            .iter()
            .chain(literature::ALL.iter())
            .copied()
            .collect();
        assert_eq!(all.len(), COUNT);
        for (i, s) in all.iter().enumerate() {
            let r = Registered(i);
            assert!(std::ptr::eq(r.info(), s.info()), "{}", s.info().name);
            assert!(std::ptr::eq(r.implementation().info(), s.info()));
        }
    }
}
