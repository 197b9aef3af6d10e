//! The model registry as runs, tuning and the command line use it: every model's entry
//! (re-exported from [`perturbench_models::registry`], where the networks come from the models
//! crate's one list) and how it is fitted ([`Fit`]).

use crate::error::Result;
use crate::run::Observer;
use perturbench_data::Design;
use perturbench_io::{Csr, Dense};
use perturbench_models::nn::predictor::dims_of;
use perturbench_models::nn::{train, EpochLog, NeuralModel, TrainHooks, Trained, TrainerConfig};
use perturbench_models::{Baseline, CellSet, Encoding, ModelConfig, PerturbationModel};
use std::path::Path;

pub use perturbench_models::registry::{entry, models, search_spaces, Family, ModelEntry};

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
    /// A model outside perturbench: it trains and predicts when its command runs, in the
    /// prediction step ([`crate::external`]).
    External(perturbench_models::config::ExternalConfig),
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
    /// The fitted model as a predictor (`None` for an external model, which predicts
    /// through its command).
    pub fn model(&self) -> Option<&dyn PerturbationModel> {
        match self {
            Fitted::Baseline(b) => Some(b),
            Fitted::Network(n, _) => Some(n),
            Fitted::External(_) => None,
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
        if let ModelConfig::External(cfg) = self {
            return Ok(Fitted::External(cfg.clone()));
        }
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
