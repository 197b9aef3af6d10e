//! The trainable models behind one type, built from their [`ModelConfig`].

use super::decoder_only::DecoderOnly;
use super::inputs::Inputs;
use super::latent_additive::LatentAdditive;
use super::linear_additive::LinearAdditive;
use crate::config::ModelConfig;
use crate::ModelError;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Input and output widths of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dims {
    /// Genes (input and output).
    pub genes: usize,
    /// Perturbation vocabulary size.
    pub perturbations: usize,
    /// Σ covariate levels.
    pub covariates: usize,
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
}

impl Net {
    /// Fresh weights for `config` drawn from `rng`; an error for configurations that are not
    /// trainable or not valid.
    pub fn new<R: Rng>(
        config: &ModelConfig,
        dims: Dims,
        rng: &mut R,
        device: &Device,
    ) -> Result<Net, ModelError> {
        let (g, p, c) = (dims.genes, dims.perturbations, dims.covariates);
        Ok(match config {
            ModelConfig::LinearAdditive(cfg) => {
                Net::LinearAdditive(LinearAdditive::new(cfg, g, p, c, rng, device))
            }
            ModelConfig::LatentAdditive(cfg) => {
                if cfg.embedding_key.is_some() {
                    return Err(ModelError::Config(
                        "model.embedding_key: input embeddings are not supported yet; leave it unset"
                            .into(),
                    ));
                }
                if cfg.latent_dim == 0 || cfg.encoder_width == 0 {
                    return Err(ModelError::Config(
                        "model.latent_dim and model.encoder_width must be positive".into(),
                    ));
                }
                check_dropout(cfg.dropout)?;
                Net::LatentAdditive(LatentAdditive::new(cfg, g, p, c, rng, device))
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
            other => {
                return Err(ModelError::Config(format!(
                    "model '{}' has no trainable network",
                    other.name()
                )))
            }
        })
    }

    /// Whether the model reads the paired control cell.
    pub fn uses_controls(&self) -> bool {
        !matches!(self, Net::DecoderOnly(_))
    }

    /// Predicted cells; `rng` is `Some` while training (dropout), `mask_rng` feeds stochastic
    /// masks.
    pub fn forward<R: Rng, M: Rng>(
        &self,
        x: &Inputs,
        rng: Option<&mut R>,
        mask_rng: &mut M,
    ) -> Tensor<2> {
        match self {
            Net::LinearAdditive(m) => m.forward(x),
            Net::LatentAdditive(m) => m.forward(x, rng, mask_rng),
            Net::DecoderOnly(m) => m.forward(x, rng),
        }
    }
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
