//! The trainable models behind one type, built from their [`ModelConfig`].

use super::biolord::Biolord;
use super::cpa::{Cpa, Update};
use super::decoder_only::DecoderOnly;
use super::inputs::Inputs;
use super::latent_additive::LatentAdditive;
use super::linear_additive::LinearAdditive;
use super::sams_vae::SamsVae;
use super::sams_vae_modified::SamsVaeModified;
use crate::config::ModelConfig;
use crate::ModelError;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Input and output widths of a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dims {
    /// Genes (input and output).
    pub genes: usize,
    /// Perturbation vocabulary size.
    pub perturbations: usize,
    /// Σ covariate levels.
    pub covariates: usize,
    /// Levels per covariate key.
    pub covariate_levels: Vec<usize>,
    /// Width of the control input: genes, or an embedding's width.
    pub input_width: usize,
}

/// A trainable model.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // one value per run
pub enum Net {
    /// §3.4.
    LinearAdditive(LinearAdditive),
    /// §3.5.
    LatentAdditive(LatentAdditive),
    /// §3.6.
    DecoderOnly(DecoderOnly),
    /// §3.7.
    Cpa(Cpa),
    /// §3.8.
    SamsVae(SamsVae),
    /// §3.8 [newer].
    SamsVaeModified(SamsVaeModified),
    /// §3.9.
    Biolord(Biolord),
}

impl Net {
    /// Fresh weights for `config` drawn from `rng`; an error for configurations that are not
    /// trainable or not valid.
    pub fn new<R: Rng>(
        config: &ModelConfig,
        dims: &Dims,
        rng: &mut R,
        device: &Device,
    ) -> Result<Net, ModelError> {
        let (g, p, c) = (dims.genes, dims.perturbations, dims.covariates);
        Ok(match config {
            ModelConfig::LinearAdditive(cfg) => {
                Net::LinearAdditive(LinearAdditive::new(cfg, g, p, c, rng, device))
            }
            ModelConfig::LatentAdditive(cfg) => {
                if cfg.latent_dim == 0 || cfg.encoder_width == 0 {
                    return Err(ModelError::Config(
                        "model.latent_dim and model.encoder_width must be positive".into(),
                    ));
                }
                check_dropout(cfg.dropout)?;
                Net::LatentAdditive(LatentAdditive::new(
                    cfg,
                    dims.input_width,
                    g,
                    p,
                    c,
                    rng,
                    device,
                ))
            }
            ModelConfig::DecoderOnly(cfg) => {
                if !cfg.use_covariates && !cfg.use_perturbations {
                    return Err(ModelError::Config(
                        "decoder-only needs use_covariates or use_perturbations (both are false)"
                            .into(),
                    ));
                }
                if cfg.encoder_width == 0 {
                    return Err(ModelError::Config(
                        "model.encoder_width must be positive".into(),
                    ));
                }
                Net::DecoderOnly(DecoderOnly::new(cfg, g, p, c, rng, device))
            }
            ModelConfig::Cpa(cfg) => {
                check_dropout(cfg.dropout)?;
                if cfg.n_latent == 0 || cfg.hidden_dim == 0 || cfg.adv_classifier_hidden_dim == 0 {
                    return Err(ModelError::Config(
                        "model.n_latent, model.hidden_dim and model.adv_classifier_hidden_dim must be positive".into(),
                    ));
                }
                Net::Cpa(Cpa::new(cfg, g, p, &dims.covariate_levels, rng, device))
            }
            ModelConfig::SamsVae(cfg) => {
                check_dropout(cfg.dropout)?;
                if cfg.latent_dim == 0 || cfg.hidden_dim_x == 0 || cfg.hidden_dim_cond == 0 {
                    return Err(ModelError::Config(
                        "model.latent_dim, model.hidden_dim_x and model.hidden_dim_cond must be positive".into(),
                    ));
                }
                if !(0.0..=1.0).contains(&cfg.mask_prior_probability) {
                    return Err(ModelError::Config(format!(
                        "model.mask_prior_probability must be in [0, 1], got {}",
                        cfg.mask_prior_probability
                    )));
                }
                Net::SamsVae(SamsVae::new(cfg, g, p, c, rng, device))
            }
            ModelConfig::SamsVaeModified(cfg) => {
                check_dropout(cfg.dropout)?;
                if cfg.latent_dim == 0 || cfg.hidden_dim_x == 0 {
                    return Err(ModelError::Config(
                        "model.latent_dim and model.hidden_dim_x must be positive".into(),
                    ));
                }
                let valid = (0.0..=1.0).contains(&cfg.mask_prior_probability)
                    && cfg.mask_temperature > 0.0
                    && cfg.mask_temperature.is_finite();
                if !valid {
                    return Err(ModelError::Config(format!(
                        "model.mask_prior_probability must be in [0, 1] (got {}) and model.mask_temperature positive (got {})",
                        cfg.mask_prior_probability, cfg.mask_temperature
                    )));
                }
                Net::SamsVaeModified(SamsVaeModified::new(cfg, g, p, c, rng, device))
            }
            ModelConfig::Biolord(cfg) => {
                check_dropout(cfg.dropout)?;
                if cfg.latent_dim == 0 || cfg.encoder_width == 0 {
                    return Err(ModelError::Config(
                        "model.latent_dim and model.encoder_width must be positive".into(),
                    ));
                }
                Net::Biolord(Biolord::new(cfg, g, p, c, rng, device))
            }
            other => {
                return Err(ModelError::Config(format!(
                    "model '{}' has no trainable network",
                    other.name()
                )))
            }
        })
    }

    /// The loss of one training minibatch (`target` = the observed cells) and which
    /// parameters it updates; `drop` feeds dropout masks, `noise` every other random draw.
    pub fn training_loss(
        &self,
        x: &Inputs,
        target: Tensor<2>,
        epoch: usize,
        batch: usize,
        drop: &mut ChaCha8Rng,
        noise: &mut ChaCha8Rng,
    ) -> (Update, Tensor<1>) {
        match self {
            Net::Cpa(m) => m.training_loss(x, target, epoch, batch, Some(drop), noise),
            Net::SamsVae(m) => (Update::All, m.loss(x, target, Some(drop), noise)),
            Net::SamsVaeModified(m) => (Update::All, m.loss(x, target, Some(drop), noise)),
            Net::Biolord(m) => (Update::All, m.losses(x, target, Some(drop), noise).0),
            _ => (Update::All, mse(self.forward(x, Some(drop), noise), target)),
        }
    }

    /// The monitored validation loss of a minibatch (evaluation mode).
    pub fn validation_loss(
        &self,
        x: &Inputs,
        target: Tensor<2>,
        noise: &mut ChaCha8Rng,
    ) -> Tensor<1> {
        match self {
            Net::Cpa(m) => m.validation_loss(x, target, noise),
            Net::SamsVae(m) => m.loss::<ChaCha8Rng, _>(x, target, None, noise),
            Net::SamsVaeModified(m) => m.loss::<ChaCha8Rng, _>(x, target, None, noise),
            Net::Biolord(m) => m.losses::<ChaCha8Rng, _>(x, target, None, noise).1,
            _ => mse(self.forward::<ChaCha8Rng, _>(x, None, noise), target),
        }
    }

    /// Predicted cells (evaluation mode) from `x.controls`.
    pub fn predict(&self, x: &Inputs, noise: &mut ChaCha8Rng) -> Tensor<2> {
        self.forward::<ChaCha8Rng, _>(x, None, noise)
    }

    /// Predicted cells; `rng` is `Some` while training (dropout), `mask_rng` feeds stochastic
    /// masks and noise.
    fn forward<R: Rng, M: Rng>(
        &self,
        x: &Inputs,
        rng: Option<&mut R>,
        mask_rng: &mut M,
    ) -> Tensor<2> {
        match self {
            Net::LinearAdditive(m) => m.forward(x),
            Net::LatentAdditive(m) => m.forward(x, rng, mask_rng),
            Net::DecoderOnly(m) => m.forward(x, rng),
            Net::Cpa(m) => m.predict(x, mask_rng),
            Net::SamsVae(m) => m.predict(x, mask_rng),
            Net::SamsVaeModified(m) => m.predict(x, mask_rng),
            Net::Biolord(m) => m.forward(x, rng, mask_rng).0,
        }
    }
}

fn mse(pred: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
    (pred - target).square().mean().reshape([1])
}

fn check_dropout(p: f64) -> Result<(), ModelError> {
    if (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err(ModelError::Config(format!(
            "model.dropout must be in [0, 1), got {p}"
        )))
    }
}
