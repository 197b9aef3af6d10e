//! What every trainable network provides ([`Network`]): its registry entry (name, aliases,
//! summary, search space), its settings, how it is built from them, its losses and its
//! prediction. Defaults cover what most networks share (paired feeding, the MSE losses, one
//! optimiser for every parameter).

use super::clipping::clip_global_norm;
use super::inputs::Inputs;
use crate::batches::Feeding;
use crate::config::Optim;
use crate::ModelError;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Gradients, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
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

/// How an epoch's loss is averaged over its minibatches. The reference's Lightning modules
/// differ here: most log their loss with `batch_size=len(batch)`, the field count of its
/// `Batch` tuple, a constant, so every minibatch weighs the same; SAMS-VAE logs without it, so
/// Lightning reads the minibatch's size and weighs each by its cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochMean {
    /// The mean of the minibatches' losses.
    PerBatch,
    /// The mean over cells: minibatch losses weighted by their sizes.
    PerCell,
}

/// Which parameters a training loss updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    /// Every parameter (one optimiser).
    All,
    /// The generator (first optimiser).
    Generator,
    /// The adversaries (second optimiser).
    Adversary,
}

/// A trainable network: its registry entry, its settings and its weights. Registered by one
/// line in [`crate::nn`]'s `networks!` list, which makes it a variant of
/// [`crate::ModelConfig`] and of [`crate::nn::Net`].
pub trait Network: Module + Sized {
    /// Its settings (`model.*`): serde with `deny_unknown_fields` and the model's defaults.
    type Config: Clone + std::fmt::Debug + Default + PartialEq + Serialize + DeserializeOwned;

    /// The name models are chosen by (`model=NAME`): the kebab-case of its variant name.
    const NAME: &'static str;
    /// Other accepted spellings (the reference's snake_case).
    const ALIASES: &'static [&'static str] = &[];
    /// What it is, in one line.
    const SUMMARY: &'static str;
    /// The built-in search space (`tune hpo=NAME`): its name and YAML.
    const SEARCH_SPACE: Option<(&'static str, &'static str)> = None;
    /// How training cells are served.
    const FEEDING: Feeding = Feeding::Paired;
    /// How an epoch's loss is averaged over its minibatches (what early stopping compares).
    const EPOCH_MEAN: EpochMean = EpochMean::PerBatch;

    /// The settings of the name or alias `name`.
    fn defaults(name: &str) -> Self::Config {
        let _ = name;
        Self::Config::default()
    }

    /// The optimiser settings.
    fn optim(config: &Self::Config) -> Optim;

    /// The obsm key of the embedding read instead of expression, if any.
    fn embedding_key(config: &Self::Config) -> Option<&str> {
        let _ = config;
        None
    }

    /// Fresh weights drawn from `rng`, or an error when `config` is not valid.
    fn init<R: Rng>(
        config: &Self::Config,
        dims: &Dims,
        rng: &mut R,
        device: &Device,
    ) -> Result<Self, ModelError>;

    /// Predicted cells from `x.controls`; `dropout` is `Some` while training and `noise` feeds
    /// every other random draw (masks, sampled latents).
    fn forward(
        &self,
        x: &Inputs,
        dropout: Option<&mut ChaCha8Rng>,
        noise: &mut ChaCha8Rng,
    ) -> Tensor<2>;

    /// The loss of minibatch `batch` of epoch `epoch` (`target` = the observed cells) and
    /// which parameters it updates: by default the mean squared error, every parameter.
    fn training_loss(
        &self,
        x: &Inputs,
        target: Tensor<2>,
        epoch: usize,
        batch: usize,
        dropout: Option<&mut ChaCha8Rng>,
        noise: &mut ChaCha8Rng,
    ) -> (Update, Tensor<1>) {
        let _ = (epoch, batch);
        (Update::All, mse(self.forward(x, dropout, noise), target))
    }

    /// The monitored validation loss of a minibatch (evaluation mode): by default the mean
    /// squared error.
    fn validation_loss(&self, x: &Inputs, target: Tensor<2>, noise: &mut ChaCha8Rng) -> Tensor<1> {
        mse(self.forward(x, None, noise), target)
    }

    /// Predicted cells in evaluation mode.
    fn predict(&self, x: &Inputs, noise: &mut ChaCha8Rng) -> Tensor<2> {
        self.forward(x, None, noise)
    }

    /// The gradients `update` applies, clipped to the global norm `clip` when given: by default
    /// those of every parameter.
    fn gradients(
        &self,
        update: Update,
        mut grads: Gradients,
        clip: Option<f64>,
    ) -> GradientsParams {
        let _ = update;
        gradients_of(self, &mut grads, clip)
    }
}

/// The gradients of `module`'s parameters, clipped to the global norm `clip` when given.
pub fn gradients_of<M: Module>(
    module: &M,
    grads: &mut Gradients,
    clip: Option<f64>,
) -> GradientsParams {
    let mut g = GradientsParams::from_module(grads, module);
    if let Some(max) = clip {
        clip_global_norm(module, &mut g, max);
    }
    g
}

/// Mean squared error over every entry.
pub fn mse(pred: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
    (pred - target).square().mean().reshape([1])
}

/// Checks a dropout probability (in [0, 1)).
pub fn check_dropout(p: f64) -> Result<(), ModelError> {
    if (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err(ModelError::Config(format!(
            "model.dropout must be in [0, 1), got {p}"
        )))
    }
}

/// The [`Network::optim`] of a config with the fields `lr`, `wd`, `lr_scheduler_factor` and
/// `lr_scheduler_patience` (every network's).
macro_rules! optim_from_fields {
    () => {
        fn optim(c: &Self::Config) -> $crate::config::Optim {
            $crate::config::Optim {
                lr: c.lr,
                wd: c.wd,
                lr_scheduler_factor: c.lr_scheduler_factor,
                lr_scheduler_patience: c.lr_scheduler_patience,
            }
        }
    };
}
pub(crate) use optim_from_fields;
