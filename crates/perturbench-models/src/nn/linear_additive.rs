//! `linear-additive` (spec §3.4): `ŷ = softplus(c + W·[p ; covariates] + b)`.

use super::inputs::{concat, Inputs};
use super::layers::{dense, softplus};
use super::network::{Dims, Network};
use crate::ModelError;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// `linear-additive` (§3.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinearAdditiveConfig {
    /// Add the covariate one-hots to the input.
    pub inject_covariates: bool,
    /// Softplus on the output.
    pub softplus_output: bool,
    /// Learning rate of Adam.
    pub lr: f64,
    /// L2 weight decay inside Adam.
    pub wd: f64,
    /// ReduceLROnPlateau factor.
    pub lr_scheduler_factor: f64,
    /// ReduceLROnPlateau patience (epochs).
    pub lr_scheduler_patience: usize,
}

impl Default for LinearAdditiveConfig {
    fn default() -> Self {
        LinearAdditiveConfig {
            inject_covariates: true,
            softplus_output: true,
            lr: 1e-3,
            wd: 1e-4,
            lr_scheduler_factor: 0.2,
            lr_scheduler_patience: 15,
        }
    }
}

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

impl Network for LinearAdditive {
    type Config = LinearAdditiveConfig;
    const NAME: &'static str = "linear-additive";
    const ALIASES: &'static [&'static str] = &["linear_additive"];
    const SUMMARY: &'static str =
        "linear map of control expression plus additive perturbation effects";
    const SEARCH_SPACE: Option<(&'static str, &'static str)> = Some((
        "linear_additive",
        include_str!("../../presets/hpo/linear_additive.yaml"),
    ));

    super::network::optim_from_fields!();

    fn init<R: Rng>(
        c: &LinearAdditiveConfig,
        dims: &Dims,
        rng: &mut R,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let input = dims.perturbations
            + if c.inject_covariates {
                dims.covariates
            } else {
                0
            };
        Ok(LinearAdditive {
            shift: dense(input, dims.genes, rng, device),
            inject_covariates: c.inject_covariates,
            softplus_output: c.softplus_output,
        })
    }

    fn forward(&self, x: &Inputs, _: Option<&mut ChaCha8Rng>, _: &mut ChaCha8Rng) -> Tensor<2> {
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
