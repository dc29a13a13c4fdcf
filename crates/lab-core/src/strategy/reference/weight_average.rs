//! `weight_average` (spec §2.1): `Σ ŵ_i·x_i`, a left fold from zeros with
//! normalised weights. FedAvg / a uniform model soup when weights are equal.

use crate::error::MergeError;
use crate::strategy::{
    normalised_weights, Family, MergeInputs, Params, ReproClass, Strategy, StrategyInfo,
};
use crate::tensor::Tensor;

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
        if inputs.tensors.len() == 1 {
            return Ok(inputs.tensors[0].clone());
        }
        let w = normalised_weights(inputs.weights)?;
        let first = inputs.tensors[0];
        let mut acc = vec![0.0f64; first.len()];
        for (t, &wi) in inputs.tensors.iter().zip(&w) {
            for (a, &x) in acc.iter_mut().zip(t.data()) {
                *a += wi * x;
            }
        }
        Ok(first.with_data(acc))
    }
}
