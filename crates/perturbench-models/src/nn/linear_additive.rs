//! `linear-additive` (spec §3.4): `ŷ = softplus(c + W·[p ; covariates] + b)`.

use super::inputs::{concat, Inputs};
use super::layers::{dense, softplus};
use crate::config::LinearAdditiveConfig;
use burn::module::Module;
use burn::nn::Linear;

use burn::tensor::{Device, Tensor};
use rand::Rng;

/// The fitted weights.
#[derive(Module, Debug)]
pub struct LinearAdditive {
    /// `[p ; covariates] → genes`.
    pub shift: Linear,
    /// Covariates are part of the input.
    pub inject_covariates: bool,
    /// Softplus on the output.
    pub softplus_output: bool,
}

impl LinearAdditive {
    /// Fresh weights for `genes` genes, `perts` perturbations and `covs` covariate levels.
    pub fn new<R: Rng>(
        c: &LinearAdditiveConfig,
        genes: usize,
        perts: usize,
        covs: usize,
        rng: &mut R,
        device: &Device,
    ) -> Self {
        let input = perts + if c.inject_covariates { covs } else { 0 };
        LinearAdditive {
            shift: dense(input, genes, rng, device),
            inject_covariates: c.inject_covariates,
            softplus_output: c.softplus_output,
        }
    }

    /// Predicted cells.
    pub fn forward(&self, x: &Inputs) -> Tensor<2> {
        let input = if self.inject_covariates {
            concat(x.perturbations.clone(), x.covariates.clone())
        } else {
            x.perturbations.clone()
        };
        let y = x.controls.clone() + self.shift.forward(input);
        if self.softplus_output {
            softplus(y)
        } else {
            y
        }
    }
}
