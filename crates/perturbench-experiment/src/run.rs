//! One run: read the data, split it, fit the model on the train cells, save a checkpoint,
//! predict the evaluation split from its control cells and score the predictions; everything
//! lands in one output directory at once.

use crate::cell_eval::{score, CellEvalSetup};
use crate::data_config::TRAIN_TASK_HOW;
use crate::embedding::{embedding, embedding_key};
use crate::error::{Error, Result};
use crate::feasible::feasible_split;
use crate::formats::{replace_dir, siblings, write_evaluation, write_losses, write_truth};
use crate::registry::{Fit, FitInput, Fitted};
use crate::requests::Requests;
use crate::run_config::RunConfig;
use perturbench_data::split::SplitLabel;
use perturbench_eval::{evaluate, EvalConfig, EvalOutput, Pipeline};
use perturbench_io::{write_h5ad, AnnData, Compression, H5adReader, WriteOptions};
use perturbench_models::nn::EpochLog;
use perturbench_models::{
    predict_targets, save_checkpoint, Checkpoint, PerturbationModel, Truth, TruthRow,
};
use std::path::{Path, PathBuf};

/// What a run reports while it goes (progress display, messages); every method has a
/// do-nothing default.
pub trait Observer: Sync {
    /// A stage starts or reports progress ("reading", "fitting additive", "predicting",
    /// evaluation steps).
    fn stage(&self, _what: &str) {}
    /// Training of a network starts (at most `max_epochs` epochs).
    fn training(&self, _max_epochs: usize) {}
    /// A training minibatch ended.
    fn batch(&self, _epoch: usize, _done: usize, _total: usize, _loss: f64) {}
    /// A training epoch ended.
    fn epoch(&self, _log: &EpochLog) {}
    /// Training ended.
    fn trained(&self) {}
    /// A line of results for the user (training summary, score against a simulation's truth).
    fn info(&self, _line: &str) {}
    /// Something the user should know that does not stop the run.
    fn warning(&self, _text: &str) {}
    /// What the user can do after the run failed (e.g. resume it).
    fn note(&self, _text: &str) {}
}

/// An observer that reports nothing.
pub struct Silent;
impl Observer for Silent {}

/// Where a run writes and whether it continues an interrupted one.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Output directory: checkpoint/, predictions.h5ad, reference.h5ad, evaluation/,
    /// losses.csv (replaced at once when the run is complete).
    pub out: PathBuf,
    /// Continue from the training state an interrupted run left next to `out`.
    pub resume: bool,
}

/// What a run produced.
pub struct RunOutput {
    /// The evaluation of the predictions (also written to `out/evaluation`).
    pub evaluation: EvalOutput,
    /// The output directory.
    pub out: PathBuf,
}

/// The directory of resumable training state of a run writing to `out` (`.NAME.state` next
/// to it).
pub fn state_dir(out: &Path) -> PathBuf {
    siblings(out, "run").1
}

/// Runs `config` into `opts.out`: the whole output directory appears at once when the run is
/// complete; on failure nothing is left but the resumable training state.
pub fn run_experiment(
    config: &RunConfig,
    opts: &RunOptions,
    observer: &dyn Observer,
) -> Result<RunOutput> {
    let start = std::time::Instant::now();
    let data = config.data_path()?.to_path_buf();
    config.data.task(TRAIN_TASK_HOW)?;
    let state = state_dir(&opts.out);
    if opts.resume && !state.join("state.json").exists() {
        observer.warning(&format!(
            "--resume: no training state at {}; starting afresh",
            state.display()
        ));
    }
    let done = replace_dir(&opts.out, "run", |tmp| {
        write_run(tmp, config, &data, &state, opts.resume, observer, start)
    });
    match done {
        Ok(evaluation) => {
            // The run is complete: its resumable state is no longer needed.
            let _ = std::fs::remove_dir_all(&state);
            Ok(RunOutput {
                evaluation,
                out: opts.out.clone(),
            })
        }
        Err(e) => {
            if state.join("state.json").exists() {
                observer.note(&format!(
                    "the training state is kept in {}; rerun with --resume to continue",
                    state.display()
                ));
            }
            Err(e)
        }
    }
}

/// Writes everything of a run into `dir` (a fresh temporary directory).
fn write_run(
    dir: &Path,
    c: &RunConfig,
    data: &Path,
    state_dir: &Path,
    resume: bool,
    observer: &dyn Observer,
    start: std::time::Instant,
) -> Result<EvalOutput> {
    let config = &c.model;
    let trainer = &c.trainer;
    observer.stage("reading");
    let source = data.display().to_string();
    // The data file's checksum for run.json, computed while the run goes on.
    let hasher = {
        let p = data.to_path_buf();
        std::thread::spawn(move || crate::checksum::sha256_file(&p))
    };
    // Only X, obs and var are needed (layers such as counts are not read). obs and var
    // first: the split and whether its evaluation groups can be predicted are known before
    // X is read and anything is fitted.
    let reader = H5adReader::open(data)?;
    let obs = reader.read_frame("obs")?;
    let var = reader.read_frame("var")?;
    let (spec, design, split) = c
        .data
        .build_split(&obs, &source, &|line| observer.info(line))?;
    let label = c.evaluation.label()?;
    let cell_eval = CellEvalSetup::new(
        &c.evaluation.cell_eval,
        &spec.key,
        &spec.control,
        &spec.covariate_keys,
    )?;
    let (train_rows, eval_rows, enc) =
        feasible_split(&split, &design, &spec, &var.index, label, &source)?;
    let mut ad = AnnData::new(reader.read_matrix("X")?, Vec::new(), Vec::new());
    ad.obs = obs;
    ad.var = var;
    ad.check_shapes()
        .map_err(|m| Error::msg(format!("{source}: {m}")))?;
    let uns = reader.read_uns()?;
    // obsm only when the model reads an embedding; reference.h5ad then carries it, so that
    // `predict` can read it from there.
    let key = embedding_key(config);
    if key.is_some() {
        ad.obsm = reader.read_dense_dict("obsm")?;
        ad.obsm.retain(|k, _| Some(k.as_str()) == key);
    }
    drop(reader);
    let embedding = key
        .map(|k| embedding(&ad.obsm, k, &source, ad.n_obs()))
        .transpose()?;
    let known = |r: usize| {
        design.is_control(r)
            || (enc
                .singles(&design.perturbations[design.perturbation_of(r) as usize])
                .is_ok()
                && enc
                    .check_covariates(&design.covariates[design.cell_covariate[r] as usize])
                    .is_ok())
    };
    let val_rows: Vec<usize> = split
        .rows(SplitLabel::Val)
        .into_iter()
        .filter(|&r| known(r))
        .collect();
    let fitted = config.fit(
        &FitInput {
            x: &ad.x,
            design: &design,
            encoding: &enc,
            train_rows: &train_rows,
            val_rows: &val_rows,
            embedding,
            trainer,
            state_dir: Some(state_dir),
            resume,
            source: &source,
        },
        observer,
    )?;
    let mut training = None;
    if let Fitted::Network(_, t) = &fitted {
        write_losses(&dir.join("losses.csv"), &t.log)?;
        let best = &t.log[t.best_epoch];
        observer.info(&format!(
            "trained {} for {} epochs{} (best epoch {}: train loss {:.5}{}){}",
            config.name(),
            t.log.len(),
            if t.stopped_early {
                ", stopped early"
            } else {
                ""
            },
            t.best_epoch + 1,
            best.train_loss,
            best.val_loss
                .map(|v| format!(", val loss {v:.5}"))
                .unwrap_or_default(),
            if t.resumed_epochs > 0 {
                format!("; resumed after epoch {}", t.resumed_epochs)
            } else {
                String::new()
            }
        ));
        training = Some(serde_json::json!({
            "epochs": t.log.len(),
            "best_epoch": t.best_epoch,
            "stopped_early": t.stopped_early,
            "resumed_epochs": t.resumed_epochs,
            "trainer": trainer,
        }));
    }
    let weights = match &fitted {
        Fitted::Network(n, _) => Some(n),
        _ => None,
    };
    save_checkpoint(
        &dir.join("checkpoint"),
        &Checkpoint {
            format: perturbench_models::checkpoint::FORMAT,
            version: env!("CARGO_PKG_VERSION").into(),
            encoding: enc.clone(),
            config: config.clone(),
            baseline: match &fitted {
                Fitted::Baseline(b) => Some(b.clone()),
                _ => None,
            },
            dims: match &fitted {
                Fitted::Network(n, _) => Some(n.dims().clone()),
                _ => None,
            },
            training: training.clone(),
        },
        weights,
    )?;
    observer.stage("predicting");
    // Groups with a perturbation never seen in train cannot be predicted (the combination
    // splitter can hold out a combo whose single never appears alone): skipped, loudly.
    let ev = &c.evaluation;
    let requests = Requests::plan(
        &design,
        &spec,
        &enc,
        &eval_rows,
        ev.max_control_cells,
        ev.prediction_seed,
    );
    let controls: Vec<usize> = eval_rows
        .iter()
        .copied()
        .filter(|&r| design.is_control(r))
        .collect();
    let external;
    let model: &dyn PerturbationModel = match &fitted {
        Fitted::Baseline(b) => b,
        Fitted::Network(n, _) => n,
        Fitted::External(cfg) => {
            external = crate::external::predict_external(
                cfg,
                &dir.join("external"),
                &ad,
                &train_rows,
                &design,
                &enc,
                &requests,
                observer,
            )?;
            &external
        }
    };
    let pred = predict_targets(
        model,
        &ad.x,
        &design,
        &enc,
        &requests.targets,
        &requests.sampled,
        &controls,
        embedding,
    )?;
    let opts = WriteOptions {
        compression: Compression::None,
    };
    let pred_path = dir.join("predictions.h5ad");
    write_h5ad(&pred_path, &pred, &opts)?;
    let ref_path = dir.join("reference.h5ad");
    write_h5ad(&ref_path, &ad.select_obs(&eval_rows), &opts)?;
    observer.stage("evaluating");
    let mut cfg = EvalConfig {
        scatter_examples: 4,
        ..EvalConfig::for_spec(&spec)
    };
    if !ev.pipelines.is_empty() {
        cfg.pipelines = ev
            .pipelines
            .iter()
            .map(|p| p.parse::<Pipeline>().map_err(Error::msg))
            .collect::<Result<_>>()?;
    }
    let out = evaluate(
        &ref_path,
        &[(model.name().to_string(), pred_path.clone())],
        &cfg,
        &|m| observer.stage(m),
    )?;
    let mut out = out;
    if let Some(setup) = &cell_eval {
        observer.stage("cell-eval");
        let ce_dir = dir.join("evaluation").join("cell_eval");
        std::fs::create_dir_all(&ce_dir)?;
        let rows = score(
            &ref_path,
            &pred_path,
            model.name(),
            setup,
            &ce_dir.join(model.name()),
        )?;
        out.per_perturbation.extend(rows.per_perturbation);
        out.summary.extend(rows.summary);
        out.warnings.extend(rows.warnings);
    }
    let mut warnings = out.warnings.clone();
    if let Some(w) = requests.skipped_warning(&ev.split) {
        warnings.insert(0, w);
    }
    let out = EvalOutput { warnings, ..out };
    let sha256 = hasher
        .join()
        .map_err(|_| Error::msg("checksum thread failed"))??;
    let mut run = serde_json::json!({
        "inputs": [{"role": "data", "path": source, "sha256": sha256}],
        "tool": "perturbench",
        "version": env!("CARGO_PKG_VERSION"),
        "command": "train",
        "data": source,
        "model": model.name(),
        "model_config": config,
        "trainer": training.as_ref().map(|_| trainer),
        "training": training,
        "split": split.key,
        "evaluation_split": ev.split,
        "max_control_cells": ev.max_control_cells,
        "prediction_seed": ev.prediction_seed,
        "config": cfg,
        "cell_eval": cell_eval.as_ref().map(|s| s.profile.name()),
        "warnings": out.warnings,
        "wall_seconds": start.elapsed().as_secs_f64(),
    });
    let eval_dir = dir.join("evaluation");
    std::fs::create_dir_all(&eval_dir)?;
    // Simulated data: also score the predicted effects against the stored truth.
    if let Some(truth) = Truth::from_uns(&uns, &spec)? {
        let rows = truth.score(&pred, &spec)?;
        let mean = |f: &dyn Fn(&TruthRow) -> f64| {
            rows.iter().map(f).sum::<f64>() / rows.len().max(1) as f64
        };
        let summary = serde_json::json!({
            "groups": rows.len(),
            "rmse_delta": mean(&|r| r.rmse),
            "cosine_delta": mean(&|r| r.cosine),
            "pearson_delta": mean(&|r| r.pearson),
        });
        write_truth(&eval_dir.join("truth.csv"), &rows)?;
        observer.info(&format!(
            "against the simulation's truth ({} groups): rmse_delta {:.4}, cosine_delta {:.4}, pearson_delta {:.4}",
            rows.len(),
            summary["rmse_delta"].as_f64().unwrap_or(f64::NAN),
            summary["cosine_delta"].as_f64().unwrap_or(f64::NAN),
            summary["pearson_delta"].as_f64().unwrap_or(f64::NAN)
        ));
        run["truth"] = summary;
    }
    write_evaluation(&eval_dir, &out, &run)?;
    Ok(out)
}
