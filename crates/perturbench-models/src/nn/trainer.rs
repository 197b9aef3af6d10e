//! The trainer shared by the neural models (spec §3.1, §4.2): Adam with L2 weight decay as
//! torch's `Adam(weight_decay=…)`, ReduceLROnPlateau on the validation loss, early stopping,
//! the best epoch's weights kept, optional global-norm gradient clipping, and a resumable training state.
//! Every random draw (initial weights, shuffling, control pairing, dropout) comes from one
//! seed: the weights from stream 0; in epoch `e`, shuffling and pairing from stream `1 + e`,
//! dropout from `2^32 + e`, stochastic masks and noise from `2·2^32 + e` and validation pairing from
//! `3·2^32 + e` (its noise from `4·2^32 + e`), so a resumed run repeats an uninterrupted one.

use super::inputs::{matrix, Inputs};
use super::network::{Dims, EpochMean, Update};
use super::scheduler::{EarlyStopping, ReduceLrOnPlateau};
use super::Net;
use crate::batches::{Batch, CellSet};
use crate::config::ModelConfig;
use crate::ModelError;
use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// Trainer settings (`trainer.*` in a config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainerConfig {
    /// Maximum number of epochs.
    pub max_epochs: usize,
    /// Epochs run before early stopping may stop.
    pub min_epochs: usize,
    /// Cells per minibatch.
    pub batch_size: usize,
    /// Epochs without a better validation loss before stopping.
    pub early_stopping_patience: usize,
    /// Clip the gradients to this global L2 norm, as Lightning's `gradient_clip_val` (none: no
    /// clipping).
    pub gradient_clip_norm: Option<f64>,
    /// Seed of every random draw of training.
    pub seed: u64,
    /// `cpu` (burn's flex backend), `cuda[:N]` (`cuda` build feature), `libtorch` or
    /// `libtorch-cuda[:N]` (`tch` build feature).
    pub device: String,
    /// Write the resumable training state every this many epochs (0: never).
    pub state_every: usize,
    /// Train on at most this many minibatches per epoch (none: all; for benchmarks and smoke runs).
    pub limit_train_batches: Option<usize>,
    /// Validate on at most this many minibatches per epoch (none: all; 0: no validation).
    pub limit_val_batches: Option<usize>,
}

impl Default for TrainerConfig {
    fn default() -> Self {
        TrainerConfig {
            max_epochs: 10,
            min_epochs: 1,
            batch_size: 4000,
            early_stopping_patience: 50,
            gradient_clip_norm: None,
            seed: 0,
            device: "cpu".into(),
            state_every: 1,
            limit_train_batches: None,
            limit_val_batches: None,
        }
    }
}

/// One epoch of training, as logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// Epoch number, from 0.
    pub epoch: usize,
    /// Mean of the minibatch losses.
    pub train_loss: f64,
    /// Mean of the validation minibatch losses (none without validation cells).
    pub val_loss: Option<f64>,
    /// Learning rate used in this epoch.
    pub lr: f64,
    /// Wall seconds of the epoch (training, validation and bookkeeping).
    pub seconds: f64,
    /// Wall seconds of the training minibatches alone (batch assembly included).
    pub train_seconds: f64,
    /// Cells trained on in this epoch.
    pub train_cells: usize,
    /// This epoch's weights are the best so far.
    pub best: bool,
}

/// Callbacks for progress reporting.
pub trait TrainHooks {
    /// Called after every training minibatch.
    fn on_batch(&mut self, _epoch: usize, _done: usize, _total: usize, _loss: f64) {}
    /// Called after every epoch.
    fn on_epoch(&mut self, _log: &EpochLog) {}
}

/// Hooks that do nothing.
pub struct Silent;
impl TrainHooks for Silent {}

/// The result of training.
pub struct Trained {
    /// Weights of the best epoch (lowest validation loss), in evaluation mode.
    pub net: Net,
    /// Per-epoch log.
    pub log: Vec<EpochLog>,
    /// The best epoch.
    pub best_epoch: usize,
    /// Training stopped before `max_epochs`.
    pub stopped_early: bool,
    /// Epochs taken from a resumed state.
    pub resumed_epochs: usize,
}

/// The device named by `name`.
pub fn device(name: &str) -> Result<Device, ModelError> {
    match name {
        "cpu" | "flex" => Ok(Device::flex()),
        n if n == "cuda" || n.starts_with("cuda:") => {
            let index: usize = n
                .strip_prefix("cuda:")
                .map(|i| i.parse())
                .unwrap_or(Ok(0))
                .map_err(|_| {
                    ModelError::Config(format!("trainer.device: '{n}' is not cuda or cuda:N"))
                })?;
            cuda_device(index)
        }
        "libtorch" => libtorch_device(None),
        n if n.starts_with("libtorch-cuda") => {
            let index: usize = n
                .strip_prefix("libtorch-cuda:")
                .map(|i| i.parse())
                .unwrap_or(Ok(0))
                .map_err(|_| {
                    ModelError::Config(format!(
                        "trainer.device: '{n}' is not libtorch-cuda or libtorch-cuda:N"
                    ))
                })?;
            libtorch_device(Some(index))
        }
        other => Err(ModelError::Config(format!(
            "trainer.device: '{other}' is not one of cpu, cuda, cuda:N, libtorch, libtorch-cuda:N"
        ))),
    }
}

#[cfg(feature = "tch")]
fn libtorch_device(cuda: Option<usize>) -> Result<Device, ModelError> {
    Ok(match cuda {
        None => Device::libtorch(),
        Some(i) => Device::libtorch_cuda(i),
    })
}

#[cfg(not(feature = "tch"))]
fn libtorch_device(_cuda: Option<usize>) -> Result<Device, ModelError> {
    Err(ModelError::Config(
        "trainer.device: this binary was built without the `tch` feature (cargo build --features tch)"
            .into(),
    ))
}

#[cfg(feature = "cuda")]
fn cuda_device(index: usize) -> Result<Device, ModelError> {
    Ok(Device::cuda(index))
}

#[cfg(not(feature = "cuda"))]
fn cuda_device(_index: usize) -> Result<Device, ModelError> {
    Err(ModelError::Config(
        "trainer.device: this binary was built without the `cuda` feature (cargo build --features cuda)"
            .into(),
    ))
}

/// A host minibatch as tensors on `device`: the model inputs and the observed cells (the
/// target). In single-cell mode the cell itself is also the encoder's input (one tensor, shared).
pub fn inputs(batch: Batch, dims: &Dims, device: &Device) -> (Inputs, Tensor<2>) {
    let n = batch.rows.len();
    let target = matrix(batch.expression, n, dims.genes, device);
    let controls = match batch.controls {
        Some(c) => matrix(c, n, dims.input_width, device),
        None => target.clone(),
    };
    let x = Inputs {
        controls,
        perturbations: matrix(batch.perturbations, n, dims.perturbations, device),
        covariates: matrix(batch.covariates, n, dims.covariates, device),
    };
    (x, target)
}

fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

fn optimizer(model: &ModelConfig) -> Result<ModuleOptimizer, ModelError> {
    let o = model
        .optim()
        .ok_or_else(|| ModelError::Config(format!("model '{}' is not trainable", model.name())))?;
    let mut cfg = AdamConfig::new().with_epsilon(1e-8);
    if o.wd > 0.0 {
        cfg = cfg.with_weight_decay(Some(WeightDecayConfig::new(o.wd as f32)));
    }
    Ok(cfg.init())
}

/// The resumable part of a run, saved next to the weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    model: ModelConfig,
    dims: Dims,
    seed: u64,
    batch_size: usize,
    epochs_done: usize,
    scheduler: ReduceLrOnPlateau,
    early: EarlyStopping,
    best_loss: Option<f64>,
    best_epoch: usize,
    log: Vec<EpochLog>,
}

fn state_err(dir: &Path, m: impl std::fmt::Display) -> ModelError {
    ModelError::Checkpoint {
        path: dir.display().to_string(),
        message: m.to_string(),
    }
}

fn save_state(
    dir: &Path,
    state: &State,
    net: &Net,
    best: &Net,
    optim: &ModuleOptimizer,
    adv_optim: &ModuleOptimizer,
) -> Result<(), ModelError> {
    let tmp = dir.with_extension("writing");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| state_err(&tmp, e))?;
    net.clone()
        .into_record()
        .save(tmp.join("weights.bpk"))
        .map_err(|e| state_err(&tmp, e))?;
    best.clone()
        .into_record()
        .save(tmp.join("best.bpk"))
        .map_err(|e| state_err(&tmp, e))?;
    optim
        .save(tmp.join("optimizer.bpk"))
        .map_err(|e| state_err(&tmp, e))?;
    adv_optim
        .save(tmp.join("adversary_optimizer.bpk"))
        .map_err(|e| state_err(&tmp, e))?;
    let text = serde_json::to_vec_pretty(state).map_err(|e| state_err(&tmp, e))?;
    std::fs::write(tmp.join("state.json"), text).map_err(|e| state_err(&tmp, e))?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| state_err(dir, e))?;
    }
    std::fs::rename(&tmp, dir).map_err(|e| state_err(dir, e))
}

/// The weight of a minibatch of `cells` cells in an epoch's mean loss.
fn batch_weight(mean: EpochMean, cells: usize) -> f64 {
    match mean {
        EpochMean::PerBatch => 1.0,
        EpochMean::PerCell => cells as f64,
    }
}

/// Mean loss of one pass over `set` without gradients, minibatches weighted as `mean` says
/// (the network's [`EpochMean`], as the reference's Lightning module aggregates `val_loss`).
#[allow(clippy::too_many_arguments)]
fn evaluate_loss(
    net: &Net,
    mean: EpochMean,
    set: &CellSet<'_>,
    dims: &Dims,
    device: &Device,
    batch_size: usize,
    limit: usize,
    mut r: ChaCha8Rng,
    mut noise: ChaCha8Rng,
) -> f64 {
    let (mut total, mut weights) = (0.0, 0.0);
    for batch in set.epoch(&mut r, batch_size, false).take(limit) {
        let w = batch_weight(mean, batch.rows.len());
        let (x, target) = inputs(batch, dims, device);
        total += w * net
            .validation_loss(&x, target, &mut noise)
            .into_scalar::<f32>() as f64;
        weights += w;
    }
    if weights > 0.0 {
        total / weights
    } else {
        0.0
    }
}

/// Trains `model` on `train` (validation loss on `val` when given), keeping a resumable state
/// in `state_dir` when given and resuming from it when `resume` is set and a state exists.
#[allow(clippy::too_many_arguments)]
pub fn train(
    model: &ModelConfig,
    cfg: &TrainerConfig,
    dims: Dims,
    train_set: &CellSet<'_>,
    val_set: Option<&CellSet<'_>>,
    state_dir: Option<&Path>,
    resume: bool,
    hooks: &mut dyn TrainHooks,
) -> Result<Trained, ModelError> {
    if train_set.is_empty() {
        return Err(ModelError::EmptyTrain);
    }
    if cfg.batch_size == 0 {
        return Err(ModelError::Config(
            "trainer.batch_size must be positive".into(),
        ));
    }
    let base = device(&cfg.device)?;
    let ad = base.clone().autodiff();
    let o = model
        .optim()
        .ok_or_else(|| ModelError::Config(format!("model '{}' is not trainable", model.name())))?;
    let mut net = Net::new(model, &dims, &mut rng(cfg.seed, 0), &ad)?;
    let mean = model.epoch_mean();
    let mut optim = optimizer(model)?;
    // The adversaries' optimiser (CPA's corrected schedule; unused otherwise).
    let mut adv_optim = optimizer(model)?;
    let mut state = State {
        model: model.clone(),
        dims: dims.clone(),
        seed: cfg.seed,
        batch_size: cfg.batch_size,
        epochs_done: 0,
        scheduler: ReduceLrOnPlateau::new(o.lr, o.lr_scheduler_factor, o.lr_scheduler_patience),
        early: EarlyStopping::new(cfg.early_stopping_patience),
        best_loss: None,
        best_epoch: 0,
        log: Vec::new(),
    };
    let mut best = net.valid();
    let mut resumed_epochs = 0;
    if let (Some(dir), true) = (state_dir, resume) {
        if dir.join("state.json").exists() {
            let text = std::fs::read(dir.join("state.json")).map_err(|e| state_err(dir, e))?;
            let saved: State = serde_json::from_slice(&text)
                .map_err(|e| state_err(dir, format!("state.json: {e}")))?;
            if saved.model != state.model
                || saved.dims != dims
                || saved.seed != cfg.seed
                || saved.batch_size != cfg.batch_size
            {
                return Err(state_err(
                    dir,
                    "the saved training state was made with another model, data, seed or batch size; remove it to start afresh",
                ));
            }
            net = net
                .try_load_file(dir.join("weights.bpk"))
                .map_err(|e| state_err(dir, e))?;
            best = best
                .try_load_file(dir.join("best.bpk"))
                .map_err(|e| state_err(dir, e))?;
            optim = optim
                .load(dir.join("optimizer.bpk"))
                .map_err(|e| state_err(dir, e))?;
            adv_optim = adv_optim
                .load(dir.join("adversary_optimizer.bpk"))
                .map_err(|e| state_err(dir, e))?;
            // The early-stopping patience may be changed on resume.
            let patience = cfg.early_stopping_patience;
            state = saved;
            state.early.patience = patience;
            resumed_epochs = state.epochs_done;
        }
    }
    let n_batches = train_set
        .len()
        .div_ceil(cfg.batch_size)
        .min(cfg.limit_train_batches.unwrap_or(usize::MAX));
    let val_limit = cfg.limit_val_batches.unwrap_or(usize::MAX);
    let mut stopped_early = false;
    while state.epochs_done < cfg.max_epochs {
        let epoch = state.epochs_done;
        if epoch > 0 && epoch >= cfg.min_epochs && state.early.wait >= state.early.patience {
            stopped_early = true;
            break;
        }
        let started = Instant::now();
        let lr = state.scheduler.lr;
        let e = epoch as u64;
        let mut r = rng(cfg.seed, 1 + e);
        let mut drop_rng = rng(cfg.seed, (1 << 32) + e);
        let mut mask_rng = rng(cfg.seed, (2 << 32) + e);
        let mut total = 0.0;
        let mut weights = 0.0;
        let mut done = 0;
        let mut cells = 0;
        for batch in train_set
            .epoch(&mut r, cfg.batch_size, true)
            .take(n_batches)
        {
            let batch_cells = batch.rows.len();
            cells += batch_cells;
            let (x, target) = inputs(batch, &dims, &ad);
            let (update, loss) =
                net.training_loss(&x, target, epoch, done, &mut drop_rng, &mut mask_rng);
            let value = loss.clone().into_scalar::<f32>() as f64;
            if !value.is_finite() {
                return Err(ModelError::Diverged { epoch, loss: value });
            }
            let grads = loss.backward();
            let g = net.gradients(update, grads, cfg.gradient_clip_norm);
            net = match update {
                Update::Adversary => adv_optim.step(lr, net, g),
                Update::Generator | Update::All => optim.step(lr, net, g),
            };
            total += value * batch_weight(mean, batch_cells);
            weights += batch_weight(mean, batch_cells);
            done += 1;
            hooks.on_batch(epoch, done, n_batches, value);
        }
        let train_seconds = started.elapsed().as_secs_f64();
        let train_loss = if weights > 0.0 { total / weights } else { 0.0 };
        let val_loss = val_set.filter(|v| !v.is_empty() && val_limit > 0).map(|v| {
            evaluate_loss(
                &net.valid(),
                mean,
                v,
                &dims,
                &base,
                cfg.batch_size,
                val_limit,
                rng(cfg.seed, (3 << 32) + e),
                rng(cfg.seed, (4 << 32) + e),
            )
        });
        let monitored = val_loss.unwrap_or(train_loss);
        let is_best = match state.best_loss {
            None => monitored.is_finite(),
            Some(b) => monitored < b,
        };
        if is_best {
            state.best_loss = Some(monitored);
            state.best_epoch = epoch;
            best = net.valid();
        }
        state.early.step(monitored);
        state.scheduler.step(monitored);
        let log = EpochLog {
            epoch,
            train_loss,
            val_loss,
            lr,
            seconds: started.elapsed().as_secs_f64(),
            train_seconds,
            train_cells: cells,
            best: is_best,
        };
        hooks.on_epoch(&log);
        state.log.push(log);
        state.epochs_done += 1;
        if let Some(dir) = state_dir {
            if cfg.state_every > 0
                && (state.epochs_done % cfg.state_every == 0 || state.epochs_done == cfg.max_epochs)
            {
                save_state(dir, &state, &net, &best, &optim, &adv_optim)?;
            }
        }
    }
    Ok(Trained {
        net: best,
        best_epoch: state.best_epoch,
        log: state.log,
        stopped_early,
        resumed_epochs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference (altoslabs/perturbench `d357dfa`) logs every model's loss with
    /// `batch_size=len(batch)` (a constant: the seven fields of its `Batch` tuple), except
    /// `sams_vae.py`, whose `val_loss` Lightning weighs by the minibatch's cells.
    #[test]
    fn only_sams_vae_weighs_minibatches_by_cells() {
        for name in [
            "linear-additive",
            "latent-additive",
            "decoder-only",
            "cpa",
            "biolord",
        ] {
            let m = ModelConfig::defaults(name).expect("known model");
            assert_eq!(m.epoch_mean(), EpochMean::PerBatch, "{name}");
        }
        let sams = ModelConfig::defaults("sams-vae").expect("known model");
        assert_eq!(sams.epoch_mean(), EpochMean::PerCell);
        assert_eq!(batch_weight(EpochMean::PerCell, 95), 95.0);
        assert_eq!(batch_weight(EpochMean::PerBatch, 95), 1.0);
    }
}
