//! `median:paper` — the elementwise median of the contributions.

use super::common::{finish, prepare};
use crate::error::MergeError;
use crate::strategy::{Family, MergeInputs, Params, ReproClass, Strategy, StrategyInfo};
use crate::tensor::Tensor;

/// The median of `values` under `f64::total_cmp` (so `−0.0 < +0.0`); for an
/// even count, the mean of the two middle values, as numpy's `median`. The
/// mean is `(a + c)/2`, or `a/2 + c/2` if the sum overflows. `values` is
/// reordered. Empty input gives 0.
pub fn median_of(values: &mut [f64]) -> f64 {
    let m = values.len();
    if m == 0 {
        return 0.0;
    }
    values.sort_unstable_by(f64::total_cmp);
    if m % 2 == 1 {
        return values[m / 2];
    }
    let (a, c) = (values[m / 2 - 1], values[m / 2]);
    let s = a + c;
    if s.is_finite() {
        s / 2.0
    } else {
        a / 2.0 + c / 2.0
    }
}

/// `median:paper` — elementwise median of the contributions, the robust
/// merge used as a baseline in the merging literature (e.g. the coordinate
/// median of Yin, Chen, Ramchandran & Bartlett, "Byzantine-Robust
/// Distributed Learning: Towards Optimal Statistical Rates", ICML 2018,
/// arXiv:1803.01498); spec §5.2 defines it: for even n, the mean of the two
/// middle values, as numpy does.
///
/// No base, weights ignored. Because values are sorted under a total order
/// before the middle is taken, the result is bitwise independent of the
/// contributions' order, and the median of identical inputs is that input.
///
/// How it differs from the reference: the reference has **no** `median`
/// strategy (the name exists only in its demo app, where it fails; spec §0).
/// Its closest relative, `led_merge`, picks the value closest to the mean,
/// which is not the median (spec §2.14). mergekit has no median either.
pub struct MedianPaper;

static INFO: StrategyInfo = StrategyInfo {
    name: "median:paper",
    family: Family::Literature,
    needs_base: false,
    stochastic: false,
    uses_weights: false,
    class: ReproClass::E,
    params: &[],
    summary: "Elementwise median of the contributions (mean of the middle two for even n).",
};

impl Strategy for MedianPaper {
    fn info(&self) -> &StrategyInfo {
        &INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        prepare(&INFO, inputs, params)?;
        let first = inputs.tensors[0];
        let mut column = vec![0.0; inputs.tensors.len()];
        let out = (0..first.len())
            .map(|j| {
                for (c, t) in column.iter_mut().zip(inputs.tensors) {
                    *c = t.data()[j];
                }
                median_of(&mut column)
            })
            .collect();
        finish(&INFO, first, out)
    }
}
