//! `decoder-only` (spec §3.6): `ŷ = MLP([p ; covariates])`, the control cell unused.

use super::inputs::{concat, Inputs};
use super::layers::{softplus, Mlp};
use crate::config::DecoderOnlyConfig;
use burn::module::Module;

use burn::tensor::{Device, Tensor};
use rand::Rng;

/// The fitted weights.
#[derive(Module, Debug)]
pub struct DecoderOnly {
    /// `[p ; covariates] → genes`.
    pub decoder: Mlp,
    /// Perturbations are part of the input.
    pub use_perturbations: bool,
    /// Covariates are part of the input.
    pub use_covariates: bool,
    /// Softplus on the output.
    pub softplus_output: bool,
}

impl DecoderOnly {
    /// Fresh weights (`use_perturbations` and `use_covariates` both false is rejected by the
    /// caller).
    pub fn new<R: Rng>(
        c: &DecoderOnlyConfig,
        genes: usize,
        perts: usize,
        covs: usize,
        rng: &mut R,
        device: &Device,
    ) -> Self {
        let input =
            if c.use_perturbations { perts } else { 0 } + if c.use_covariates { covs } else { 0 };
        DecoderOnly {
            decoder: Mlp::new(input, c.encoder_width, genes, c.n_layers, 0.0, rng, device),
            use_perturbations: c.use_perturbations,
            use_covariates: c.use_covariates,
            softplus_output: c.softplus_output,
        }
    }

    /// Predicted cells.
    pub fn forward<R: Rng>(&self, x: &Inputs, rng: Option<&mut R>) -> Tensor<2> {
        let input = match (self.use_perturbations, self.use_covariates) {
            (true, true) => concat(x.perturbations.clone(), x.covariates.clone()),
            (true, false) => x.perturbations.clone(),
            _ => x.covariates.clone(),
        };
        let y = self.decoder.forward(input, rng);
        if self.softplus_output {
            softplus(y)
        } else {
            y
        }
    }
}
