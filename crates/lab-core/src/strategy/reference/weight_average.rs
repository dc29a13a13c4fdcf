//! `weight_average` (spec §2.1): `Σ ŵ_i·x_i`, a left fold from zeros with
//! normalised weights. FedAvg / a uniform model soup when weights are equal.

use super::util::{prelude, weighted_mean_of};
use crate::error::MergeError;
use crate::strategy::{
    normalised_weights, Family, MergeInputs, Params, ReproClass, Strategy, StrategyInfo,
};
use crate::tensor::Tensor;

/// `weight_average`: the normalised weighted mean, folded from zeros.
pub struct WeightAverage;

static INFO: StrategyInfo = StrategyInfo {
    name: "weight_average",
    family: Family::Reference,
    needs_base: false,
    stochastic: false,
    uses_weights: true,
    class: ReproClass::E,
    params: &[],
    summary: "Weighted mean of the contributions (weights normalised to sum 1).",
};

impl Strategy for WeightAverage {
    fn info(&self) -> &StrategyInfo {
        &INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, _params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&INFO, inputs)? {
            return Ok(done);
        }
        let w = normalised_weights(inputs.weights)?;
        Ok(inputs.tensors[0].with_data(weighted_mean_of(inputs, &w)))
    }
}
