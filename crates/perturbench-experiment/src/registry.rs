//! The model registry: one list of every model with its defaults, its built-in search space
//! and how it is fitted ([`Fit`]), so that runs, tuning and the command line reach every
//! model through it.

use crate::error::Result;
use crate::run::Observer;
use perturbench_data::Design;
use perturbench_io::{Csr, Dense};
use perturbench_models::nn::predictor::dims_of;
use perturbench_models::nn::{train, EpochLog, NeuralModel, TrainHooks, Trained, TrainerConfig};
use perturbench_models::{
    Baseline, BaselineKind, CellSet, Encoding, ModelConfig, PerturbationModel,
};
use std::path::Path;

/// How a model is fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// A closed-form baseline (means of training cells).
    Baseline(BaselineKind),
    /// A network trained with minibatches.
    Network,
}

/// One model of the registry.
#[derive(Debug, Clone, Copy)]
pub struct ModelEntry {
    /// The name models are chosen by (`model=NAME`).
    pub name: &'static str,
    /// Other accepted spellings (the reference's snake_case).
    pub aliases: &'static [&'static str],
    /// What it is, in one line.
    pub summary: &'static str,
    /// How it is fitted.
    pub family: Family,
    /// The built-in search space (`tune hpo=NAME`): its name and YAML.
    pub search_space: Option<(&'static str, &'static str)>,
}

macro_rules! space {
    ($name:literal) => {
        Some((
            $name,
            include_str!(concat!("../presets/hpo/", $name, ".yaml")),
        ))
    };
}

/// Every model, in the order the help text lists them.
pub const MODELS: &[ModelEntry] = &[
    ModelEntry {
        name: "average",
        aliases: &[],
        summary: "mean of the singles' mean training cells",
        family: Family::Baseline(BaselineKind::Average),
        search_space: None,
    },
    ModelEntry {
        name: "control-mean",
        aliases: &[],
        summary: "mean control cell of the covariates",
        family: Family::Baseline(BaselineKind::ControlMean),
        search_space: None,
    },
    ModelEntry {
        name: "train-mean",
        aliases: &[],
        summary: "mean perturbed training cell of the covariates",
        family: Family::Baseline(BaselineKind::TrainMean),
        search_space: None,
    },
    ModelEntry {
        name: "additive",
        aliases: &[],
        summary: "control cell plus the singles' mean shifts",
        family: Family::Baseline(BaselineKind::Additive),
        search_space: None,
    },
    ModelEntry {
        name: "linear-additive",
        aliases: &["linear_additive"],
        summary: "linear map of control expression plus additive perturbation effects",
        family: Family::Network,
        search_space: space!("linear_additive"),
    },
    ModelEntry {
        name: "latent-additive",
        aliases: &["latent_additive"],
        summary: "encoder, additive perturbation effects in latent space, decoder",
        family: Family::Network,
        search_space: space!("latent_additive"),
    },
    ModelEntry {
        name: "decoder-only",
        aliases: &["decoder_only"],
        summary: "decoder of perturbation and covariate embeddings (no control input)",
        family: Family::Network,
        search_space: space!("decoder_only"),
    },
    ModelEntry {
        name: "cpa",
        aliases: &["cpa-no-adv", "cpa_no_adv"],
        summary: "compositional perturbation autoencoder (cpa-no-adv: without its adversary)",
        family: Family::Network,
        search_space: space!("cpa"),
    },
    ModelEntry {
        name: "sams-vae",
        aliases: &["sams_vae"],
        summary: "sparse additive mechanism shift VAE",
        family: Family::Network,
        search_space: space!("sams_vae"),
    },
    ModelEntry {
        name: "sams-vae-modified",
        aliases: &["sams_vae_modified"],
        summary: "SAMS-VAE of the reference's newer version",
        family: Family::Network,
        search_space: space!("sams_vae_modified"),
    },
    ModelEntry {
        name: "biolord",
        aliases: &[],
        summary: "biolord-style disentangled latent model",
        family: Family::Network,
        search_space: space!("biolord"),
    },
];

/// The entry of the model called `name` (or one of its aliases).
pub fn entry(name: &str) -> Option<&'static ModelEntry> {
    MODELS
        .iter()
        .find(|m| m.name == name || m.aliases.contains(&name))
}

/// The built-in search spaces: (name, YAML).
pub fn search_spaces() -> Vec<(&'static str, &'static str)> {
    MODELS.iter().filter_map(|m| m.search_space).collect()
}

/// What a model is fitted on.
pub struct FitInput<'a> {
    /// Expression of all cells of the file.
    pub x: &'a Csr,
    /// The file's perturbation design.
    pub design: &'a Design,
    /// The training vocabulary.
    pub encoding: &'a Encoding,
    /// Training rows.
    pub train_rows: &'a [usize],
    /// Validation rows (only groups the model can predict).
    pub val_rows: &'a [usize],
    /// The embedding a model reads instead of expression, if any.
    pub embedding: Option<&'a Dense>,
    /// How networks are trained.
    pub trainer: &'a TrainerConfig,
    /// Where training state is kept so that an interrupted run can resume.
    pub state_dir: Option<&'a Path>,
    /// Continue from that state.
    pub resume: bool,
    /// The data file (for errors).
    pub source: &'a str,
}

/// A fitted model of either family.
#[allow(clippy::large_enum_variant)] // one value per run
pub enum Fitted {
    /// A baseline.
    Baseline(Baseline),
    /// A trained network, with its training log.
    Network(NeuralModel, Box<TrainingLog>),
}

/// How training went.
pub struct TrainingLog {
    /// Per epoch.
    pub log: Vec<EpochLog>,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
    /// Whether early stopping ended training.
    pub stopped_early: bool,
    /// Epochs taken over from an interrupted run.
    pub resumed_epochs: usize,
}

impl Fitted {
    /// The fitted model as a predictor.
    pub fn model(&self) -> &dyn PerturbationModel {
        match self {
            Fitted::Baseline(b) => b,
            Fitted::Network(n, _) => n,
        }
    }
}

/// Fitting a model from its settings: baselines and networks through one call.
pub trait Fit {
    /// Fits on `input`, reporting progress to `observer`.
    fn fit(&self, input: &FitInput<'_>, observer: &dyn Observer) -> Result<Fitted>;
}

/// Forwards training hooks to an observer.
struct Hooks<'a>(&'a dyn Observer);

impl TrainHooks for Hooks<'_> {
    fn on_batch(&mut self, epoch: usize, done: usize, total: usize, loss: f64) {
        self.0.batch(epoch, done, total, loss);
    }
    fn on_epoch(&mut self, log: &EpochLog) {
        self.0.epoch(log);
    }
}

impl Fit for ModelConfig {
    fn fit(&self, input: &FitInput<'_>, observer: &dyn Observer) -> Result<Fitted> {
        use crate::error::Context;
        let family = entry(self.name())
            .map(|e| e.family)
            .unwrap_or(Family::Network);
        if let Family::Baseline(kind) = family {
            observer.stage(&format!("fitting {}", self.name()));
            let b = Baseline::fit(
                kind,
                input.x,
                input.design,
                input.train_rows,
                input.encoding,
            )?;
            return Ok(Fitted::Baseline(b));
        }
        let source = input.source;
        let mut train_set = CellSet::new(
            input.x,
            input.design,
            input.encoding,
            input.train_rows,
            self.feeding(),
        )
        .with_context(|| format!("{source}: training cells"))?;
        let mut val_set = CellSet::new(
            input.x,
            input.design,
            input.encoding,
            input.val_rows,
            self.feeding(),
        )
        .with_context(|| format!("{source}: validation cells"))?;
        let mut dims = dims_of(input.encoding);
        if let Some(e) = input.embedding {
            train_set = train_set.with_embedding(e);
            val_set = val_set.with_embedding(e);
            dims.input_width = e.ncols;
        }
        if val_set.is_empty() {
            observer.warning("no validation cells with perturbations seen in train; the training loss is monitored instead");
        }
        observer.training(input.trainer.max_epochs);
        let trained = train(
            self,
            input.trainer,
            dims.clone(),
            &train_set,
            Some(&val_set),
            input.state_dir,
            input.resume,
            &mut Hooks(observer),
        );
        observer.trained();
        let Trained {
            net,
            log,
            best_epoch,
            stopped_early,
            resumed_epochs,
        } = trained?;
        Ok(Fitted::Network(
            NeuralModel::new(self, net, dims, input.encoding),
            Box::new(TrainingLog {
                log,
                best_epoch,
                stopped_early,
                resumed_epochs,
            }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_name_has_an_entry_and_defaults() {
        for name in ModelConfig::NAMES {
            let e = entry(name).unwrap_or_else(|| panic!("{name} is not registered"));
            assert!(ModelConfig::defaults(e.name).is_some(), "{name}");
            for a in e.aliases {
                assert!(ModelConfig::defaults(a).is_some(), "{a}");
            }
            if let Family::Baseline(k) = e.family {
                assert_eq!(k.name(), e.name);
            }
        }
        assert_eq!(MODELS.len(), ModelConfig::NAMES.len());
    }
}
