//! `decoder-only` (spec §3.6): `ŷ = MLP([p ; covariates])`, the control cell unused.

use super::inputs::{concat, Inputs};
use super::layers::{softplus, Mlp};
use super::network::{Dims, Network};
use crate::ModelError;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// `decoder-only` (§3.6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecoderOnlyConfig {
    /// Hidden blocks.
    pub n_layers: usize,
    /// Hidden width.
    pub encoder_width: usize,
    /// Softplus on the output.
    pub softplus_output: bool,
    /// Covariates as input.
    pub use_covariates: bool,
    /// Perturbations as input.
    pub use_perturbations: bool,
    /// Learning rate of Adam.
    pub lr: f64,
    /// L2 weight decay inside Adam.
    pub wd: f64,
    /// ReduceLROnPlateau factor.
    pub lr_scheduler_factor: f64,
    /// ReduceLROnPlateau patience (epochs).
    pub lr_scheduler_patience: usize,
}

impl Default for DecoderOnlyConfig {
    fn default() -> Self {
        DecoderOnlyConfig {
            n_layers: 3,
            encoder_width: 3072,
            softplus_output: true,
            use_covariates: true,
            use_perturbations: true,
            lr: 6.72e-05,
            wd: 7.90e-09,
            lr_scheduler_factor: 0.2,
            lr_scheduler_patience: 15,
        }
    }
}

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

impl Network for DecoderOnly {
    type Config = DecoderOnlyConfig;
    const NAME: &'static str = "decoder-only";
    const ALIASES: &'static [&'static str] = &["decoder_only"];
    const SUMMARY: &'static str =
        "decoder of perturbation and covariate embeddings (no control input)";
    const SEARCH_SPACE: Option<(&'static str, &'static str)> = Some((
        "decoder_only",
        include_str!("../../presets/hpo/decoder_only.yaml"),
    ));

    super::network::optim_from_fields!();

    fn init<R: Rng>(
        c: &DecoderOnlyConfig,
        dims: &Dims,
        rng: &mut R,
        device: &Device,
    ) -> Result<Self, ModelError> {
        if !c.use_covariates && !c.use_perturbations {
            return Err(ModelError::Config(
                "decoder-only needs use_covariates or use_perturbations (both are false)".into(),
            ));
        }
        if c.encoder_width == 0 {
            return Err(ModelError::Config(
                "model.encoder_width must be positive".into(),
            ));
        }
        let input = if c.use_perturbations {
            dims.perturbations
        } else {
            0
        } + if c.use_covariates { dims.covariates } else { 0 };
        Ok(DecoderOnly {
            decoder: Mlp::new(
                input,
                c.encoder_width,
                dims.genes,
                c.n_layers,
                0.0,
                rng,
                device,
            ),
            use_perturbations: c.use_perturbations,
            use_covariates: c.use_covariates,
            softplus_output: c.softplus_output,
        })
    }

    fn forward(&self, x: &Inputs, rng: Option<&mut ChaCha8Rng>, _: &mut ChaCha8Rng) -> Tensor<2> {
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
