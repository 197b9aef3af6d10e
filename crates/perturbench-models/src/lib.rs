//! Models of perturbation responses: the encodings a model is trained with, the baselines, the
//! networks (burn) and their trainer, the model registry, counterfactual prediction from control
//! cells, and checkpoints. Baselines and networks both implement [`PerturbationModel`].

pub mod baselines;
pub mod batches;
pub mod checkpoint;
pub mod config;
pub mod counterfactual;
pub mod encoding;
pub mod nn;
pub mod registry;
pub mod truth;

pub use baselines::{Baseline, BaselineKind};
pub use batches::{Batch, CellSet, Epoch, Feeding};
pub use checkpoint::{load_checkpoint, load_model, save_checkpoint, Checkpoint};
pub use config::ModelConfig;
pub use counterfactual::{
    predict_targets, sample_controls, split_targets, SampledControls, Target,
};
pub use encoding::Encoding;
pub use truth::{Truth, TruthRow};

/// A fitted model that predicts perturbed cells from control cells.
pub trait PerturbationModel: Sync {
    /// The model's name (`additive`, `latent-additive`, ...).
    fn name(&self) -> &str;
    /// Whether [`PerturbationModel::predict`] may be called from several threads at once
    /// (false for models that run their own parallel kernels).
    fn parallel(&self) -> bool {
        true
    }
    /// One predicted cell per row of `controls` (dense, the encoding's genes) for the singles
    /// `singles` (encoding positions; empty for the control) in covariates `covariates`.
    fn predict(
        &self,
        singles: &[usize],
        covariates: &[String],
        controls: &[Vec<f32>],
    ) -> Result<Vec<Vec<f32>>, ModelError>;
}

impl PerturbationModel for Baseline {
    fn name(&self) -> &str {
        self.kind.name()
    }
    fn predict(
        &self,
        singles: &[usize],
        covariates: &[String],
        controls: &[Vec<f32>],
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        Baseline::predict(self, singles, covariates, controls)
    }
}

/// Why training or prediction failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A perturbation name was not seen in training.
    #[error("perturbation '{name}' was not seen in training ({known} known names); models cannot predict unseen perturbations")]
    UnknownPerturbation {
        /// The name.
        name: String,
        /// How many names the model knows.
        known: usize,
    },
    /// A covariate value was not seen in training.
    #[error("covariate {key}='{value}' was not seen in training")]
    UnknownCovariate {
        /// Covariate key.
        key: String,
        /// Its value.
        value: String,
    },
    /// No control cells for a covariate combination.
    #[error("covariate combination '{covariates}' has no control cells in the split used for prediction")]
    NoControls {
        /// The combination, values joined with `_`.
        covariates: String,
    },
    /// The training split has no cells.
    #[error("the training split is empty")]
    EmptyTrain,
    /// A quantity the model needs was not in the training data.
    #[error("no training data: {what}")]
    NoTrainingData {
        /// What is missing.
        what: String,
    },
    /// Shapes do not agree.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A prediction target is invalid.
    #[error("invalid prediction target: {0}")]
    Target(String),
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Training produced a non-finite loss.
    #[error("training diverged in epoch {epoch}: the loss is {loss}; lower the learning rate (model.lr) or clip gradients (trainer.gradient_clip_norm)")]
    Diverged {
        /// Epoch.
        epoch: usize,
        /// The loss.
        loss: f64,
    },
    /// A checkpoint cannot be read or written.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// Its directory.
        path: String,
        /// What went wrong.
        message: String,
    },
}
