//! `perturbench train`: split a dataset, fit a model on the train cells, save a checkpoint,
//! predict the evaluation split from its control cells and score the predictions (the same
//! outputs as `perturbench evaluate`).

use super::evaluate::{print_table, write_outputs};
use super::split::{build_split, SplitOptions, TRAIN_TASK_HOW};
use super::train_config::model_and_trainer;
use crate::{progress, Global};
use anyhow::{bail, Context};
use perturbench_data::split::{Split, SplitLabel};
use perturbench_data::{Design, PerturbationSet, PerturbationSpec};
use perturbench_eval::{evaluate, EvalConfig, Pipeline};
use perturbench_io::Dense;
use perturbench_io::{
    write_csv_atomic, write_h5ad, AnnData, Compression, H5adReader, WriteOptions,
};
use perturbench_models::nn::predictor::dims_of;
use perturbench_models::nn::{train, EpochLog, NeuralModel, TrainHooks, TrainerConfig};
use perturbench_models::{
    predict_targets, sample_controls, save_checkpoint, split_targets, Baseline, BaselineKind,
    CellSet, Checkpoint, Encoding, ModelConfig, PerturbationModel, Target, Truth, TruthRow,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Options of `perturbench train`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The processed .h5ad file (log-normalised X); or `data.path=FILE`.
    data: Option<PathBuf>,
    /// Configuration items (consumed before parsing; listed here for the help text):
    /// `model=NAME`, `data=NAME` (a data preset, with its task: norman19, sciplex3,
    /// mcfaline23), `experiment=DATASET/MODEL`, `SECTION.KEY=VALUE`, and `seed=N`
    /// (PerturBench's top-level seed: sets trainer.seed and evaluation.prediction_seed; the
    /// split keeps data.seed, PerturBench's splitter_seed).
    #[arg(value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Model (same as model=NAME): average, control-mean, train-mean, additive,
    /// linear-additive, latent-additive, decoder-only, cpa, cpa-no-adv, sams-vae,
    /// sams-vae-modified, biolord.
    #[arg(long)]
    model: Option<String>,
    /// A YAML or TOML file with the sections data, model, trainer, evaluation (repeatable).
    #[arg(long)]
    config: Vec<PathBuf>,
    /// Print the resolved configuration and exit.
    #[arg(long)]
    print_config: bool,
    /// Resume from the training state an interrupted run left next to OUT (`.OUT.state/`).
    #[arg(long)]
    resume: bool,
    /// The resolved configuration tree (set by the argument expansion).
    #[arg(long, hide = true)]
    resolved_config: Option<String>,
    /// data.path from a config.
    #[arg(long, hide = true)]
    data_path: Option<PathBuf>,
    /// Output directory: checkpoint/, predictions.h5ad, reference.h5ad, evaluation/, losses.csv.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    split: SplitOptions,
    /// Split whose cells are predicted and scored (evaluation.split).
    #[arg(long, default_value = "val", value_parser = ["val", "test"])]
    evaluation_split: String,
    /// Control cells sampled per covariate combination for prediction.
    #[arg(long, default_value_t = 1000)]
    max_control_cells: usize,
    /// Seed of the control-cell sample of prediction.
    #[arg(long, default_value_t = 0)]
    prediction_seed: u64,
    /// Evaluation pipeline AGG:METRIC[:rank] (repeatable; default average:rmse:rank and logfc:cosine:rank).
    #[arg(long = "pipeline")]
    pipelines: Vec<String>,
}

/// The obsm key of the embedding a model reads instead of expression (latent-additive's
/// `embedding_key`).
pub fn embedding_key(config: &ModelConfig) -> Option<&str> {
    match config {
        ModelConfig::LatentAdditive(c) => c.embedding_key.as_deref(),
        _ => None,
    }
}

/// The embedding `obsm[key]` of a file with `n_obs` cells, checked: present, one row per cell,
/// finite.
pub fn embedding<'a>(
    obsm: &'a BTreeMap<String, Dense>,
    key: &str,
    source: &str,
    n_obs: usize,
) -> anyhow::Result<&'a Dense> {
    let Some(e) = obsm.get(key) else {
        let keys: Vec<&str> = obsm.keys().map(String::as_str).collect();
        bail!(
            "{source}: model.embedding_key: obsm/{key} does not exist (obsm has: {})",
            if keys.is_empty() {
                "nothing".to_string()
            } else {
                keys.join(", ")
            }
        );
    };
    if e.nrows != n_obs || e.ncols == 0 {
        bail!(
            "{source}: obsm/{key} is {} × {}, expected {n_obs} rows (one per cell) and at least one column",
            e.nrows,
            e.ncols
        );
    }
    if e.data.iter().any(|v| !v.is_finite()) {
        bail!("{source}: obsm/{key} has non-finite values");
    }
    Ok(e)
}

/// A fitted model of either kind.
#[allow(clippy::large_enum_variant)] // one value per run
enum Fitted {
    Baseline(Baseline),
    Neural(NeuralModel),
}

/// Progress of training on the terminal.
struct Bar {
    pb: indicatif::ProgressBar,
    last: String,
}

impl TrainHooks for Bar {
    fn on_batch(&mut self, epoch: usize, done: usize, total: usize, loss: f64) {
        self.pb.set_message(format!(
            "epoch {} batch {done}/{total} loss {loss:.5}{}",
            epoch + 1,
            self.last
        ));
    }
    fn on_epoch(&mut self, log: &EpochLog) {
        self.last = format!(
            " | last epoch: train {:.5}{}",
            log.train_loss,
            log.val_loss
                .map(|v| format!(" val {v:.5}"))
                .unwrap_or_default()
        );
        self.pb.inc(1);
    }
}

/// Why the evaluation group `t` cannot be predicted by a model fitted on the vocabulary
/// `enc` (a perturbation never seen in train, a covariate value train lacks), as
/// `PERTURBATION (COVARIATES: REASON)`; `None` when it can be.
fn unpredictable(t: &Target, spec: &PerturbationSpec, enc: &Encoding) -> Option<String> {
    let mut why = Vec::new();
    match PerturbationSet::parse(&t.perturbation, spec) {
        Ok(set) => {
            let unseen: Vec<&str> = set
                .names()
                .iter()
                .map(String::as_str)
                .filter(|n| !enc.perturbations.iter().any(|p| p == n))
                .collect();
            if !unseen.is_empty() {
                why.push(format!("{} never seen in train", unseen.join(", ")));
            }
        }
        Err(e) => why.push(e.to_string()),
    }
    if let Err(e) = enc.check_covariates(&t.covariates) {
        why.push(e.to_string());
    }
    (!why.is_empty()).then(|| {
        let cov = if t.covariates.is_empty() {
            String::new()
        } else {
            format!("{}: ", t.covariates.join("_"))
        };
        format!("{} ({cov}{})", t.perturbation, why.join("; "))
    })
}

/// The train rows, evaluation rows and train vocabulary of `split`, or an error when the
/// evaluation split `label` cannot be scored: no train or evaluation cells, or no evaluation
/// group whose perturbations and covariates all occur in train (the combination splitter can
/// hold out only combos with a single never seen in train). Needs only obs and the gene
/// names, so it runs before X is read and anything is fitted.
pub fn feasible_split(
    split: &Split,
    design: &Design,
    spec: &PerturbationSpec,
    genes: &[String],
    label: SplitLabel,
    source: &str,
) -> anyhow::Result<(Vec<usize>, Vec<usize>, Encoding)> {
    let train_rows = split.rows(SplitLabel::Train);
    if train_rows.is_empty() {
        bail!("{source}: the {} split has no training cells", split.key);
    }
    let eval_rows = split.rows(label);
    if eval_rows.is_empty() {
        bail!(
            "{source}: the {} split has no {} cells to evaluate; evaluate the other split (evaluation.split=val|test or --evaluation-split) or draw another split (data.seed=N)",
            split.key,
            label.as_str()
        );
    }
    let enc = Encoding::from_train(design, spec, &train_rows, genes);
    let targets = split_targets(design, &eval_rows);
    let why: Vec<String> = targets
        .iter()
        .filter_map(|t| unpredictable(t, spec, &enc))
        .collect();
    if why.len() == targets.len() {
        let other = match label {
            SplitLabel::Val => "test",
            _ => "val",
        };
        bail!(
            "{source}: the {} split leaves no {} group that can be predicted{}; evaluate the {other} split instead (evaluation.split={other} or --evaluation-split {other}) or draw another split (data.seed=N); nothing was trained",
            split.key,
            label.as_str(),
            if why.is_empty() {
                " (it has control cells only)".to_string()
            } else {
                format!(": {}", why.join(", "))
            }
        );
    }
    Ok((train_rows, eval_rows, enc))
}

/// Writes everything of a run into `dir` (a fresh temporary directory).
#[allow(clippy::too_many_arguments)]
fn write_run(
    dir: &Path,
    a: &Args,
    data: &Path,
    config: &ModelConfig,
    trainer: &TrainerConfig,
    state_dir: &Path,
    g: Global,
    start: std::time::Instant,
) -> anyhow::Result<perturbench_eval::EvalOutput> {
    let sp = progress::spinner("reading", g.quiet);
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
    let (spec, design, split) = build_split(&a.split, &obs, &source, true)?;
    let label = SplitLabel::parse(&a.evaluation_split).expect("clap checked the value");
    let (train_rows, eval_rows, enc) =
        feasible_split(&split, &design, &spec, &var.index, label, &source)?;
    let mut ad = AnnData::new(reader.read_matrix("X")?, Vec::new(), Vec::new());
    ad.obs = obs;
    ad.var = var;
    ad.check_shapes()
        .map_err(|m| anyhow::anyhow!("{source}: {m}"))?;
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
    let mut training = None;
    let fitted = if let Some(kind) = BaselineKind::parse(config.name()) {
        sp.set_message(format!("fitting {}", config.name()));
        Fitted::Baseline(Baseline::fit(kind, &ad.x, &design, &train_rows, &enc)?)
    } else {
        sp.finish_and_clear();
        let mut train_set = CellSet::new(&ad.x, &design, &enc, &train_rows, config.feeding())
            .with_context(|| format!("{source}: training cells"))?;
        let val_rows: Vec<usize> = split
            .rows(SplitLabel::Val)
            .into_iter()
            .filter(|&r| known(r))
            .collect();
        let mut val_set = CellSet::new(&ad.x, &design, &enc, &val_rows, config.feeding())
            .with_context(|| format!("{source}: validation cells"))?;
        let mut dims = dims_of(&enc);
        if let Some(e) = embedding {
            train_set = train_set.with_embedding(e);
            val_set = val_set.with_embedding(e);
            dims.input_width = e.ncols;
        }
        if val_set.is_empty() {
            eprintln!("warning: no validation cells with perturbations seen in train; the training loss is monitored instead");
        }
        let mut hooks = Bar {
            pb: progress::bar(trainer.max_epochs as u64, "training", g.quiet),
            last: String::new(),
        };
        let trained = train(
            config,
            trainer,
            dims.clone(),
            &train_set,
            Some(&val_set),
            Some(state_dir),
            a.resume,
            &mut hooks,
        )?;
        hooks.pb.finish_and_clear();
        let rows = trained.log.iter().map(|l| {
            vec![
                l.epoch.to_string(),
                l.train_loss.to_string(),
                l.val_loss.map(|v| v.to_string()).unwrap_or_default(),
                l.lr.to_string(),
                l.seconds.to_string(),
                l.train_seconds.to_string(),
                l.train_cells.to_string(),
                l.best.to_string(),
            ]
        });
        write_csv_atomic(
            &dir.join("losses.csv"),
            Some(&[
                "epoch",
                "train_loss",
                "val_loss",
                "lr",
                "seconds",
                "train_seconds",
                "train_cells",
                "best",
            ]),
            rows,
        )?;
        if !g.quiet {
            let best = &trained.log[trained.best_epoch];
            println!(
                "trained {} for {} epochs{} (best epoch {}: train loss {:.5}{}){}",
                config.name(),
                trained.log.len(),
                if trained.stopped_early {
                    ", stopped early"
                } else {
                    ""
                },
                trained.best_epoch + 1,
                best.train_loss,
                best.val_loss
                    .map(|v| format!(", val loss {v:.5}"))
                    .unwrap_or_default(),
                if trained.resumed_epochs > 0 {
                    format!("; resumed after epoch {}", trained.resumed_epochs)
                } else {
                    String::new()
                }
            );
        }
        training = Some(serde_json::json!({
            "epochs": trained.log.len(),
            "best_epoch": trained.best_epoch,
            "stopped_early": trained.stopped_early,
            "resumed_epochs": trained.resumed_epochs,
            "trainer": trainer,
        }));
        Fitted::Neural(NeuralModel::new(config, trained.net, dims, &enc))
    };
    let (model, weights): (&dyn PerturbationModel, Option<&NeuralModel>) = match &fitted {
        Fitted::Baseline(b) => (b, None),
        Fitted::Neural(n) => (n, Some(n)),
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
                Fitted::Neural(_) => None,
            },
            dims: match &fitted {
                Fitted::Baseline(_) => None,
                Fitted::Neural(n) => Some(n.dims().clone()),
            },
            training: training.clone(),
        },
        weights,
    )?;
    let sp = progress::spinner("predicting", g.quiet);
    // Groups with a perturbation never seen in train cannot be predicted (the combination
    // splitter can hold out a combo whose single never appears alone): skip them, loudly.
    let mut skipped = Vec::new();
    let targets: Vec<_> = split_targets(&design, &eval_rows)
        .into_iter()
        .filter(|t| match unpredictable(t, &spec, &enc) {
            Some(why) => {
                skipped.push(why);
                false
            }
            None => true,
        })
        .collect();
    let sampled = sample_controls(&design, &eval_rows, a.max_control_cells, a.prediction_seed);
    let controls: Vec<usize> = eval_rows
        .iter()
        .copied()
        .filter(|&r| design.is_control(r))
        .collect();
    let pred = predict_targets(
        model, &ad.x, &design, &enc, &targets, &sampled, &controls, embedding,
    )?;
    let opts = WriteOptions {
        compression: Compression::None,
    };
    let pred_path = dir.join("predictions.h5ad");
    write_h5ad(&pred_path, &pred, &opts)?;
    let ref_path = dir.join("reference.h5ad");
    write_h5ad(&ref_path, &ad.select_obs(&eval_rows), &opts)?;
    sp.set_message("evaluating");
    let mut cfg = EvalConfig {
        perturbation_key: spec.key.clone(),
        control: spec.control.clone(),
        delimiter: spec.delimiter.clone(),
        covariate_keys: spec.covariate_keys.clone(),
        scatter_examples: 4,
        ..EvalConfig::default()
    };
    if !a.pipelines.is_empty() {
        cfg.pipelines = a
            .pipelines
            .iter()
            .map(|p| p.parse::<Pipeline>().map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()?;
    }
    let out = evaluate(
        &ref_path,
        &[(model.name().to_string(), pred_path.clone())],
        &cfg,
        &|m| sp.set_message(m.to_string()),
    )?;
    sp.finish_and_clear();
    let mut warnings = out.warnings.clone();
    if !skipped.is_empty() {
        warnings.insert(
            0,
            format!(
                "{} {} group(s) have perturbations never seen in train and are not predicted: {}",
                skipped.len(),
                a.evaluation_split,
                skipped.join(", ")
            ),
        );
    }
    let out = perturbench_eval::EvalOutput { warnings, ..out };
    let sha256 = hasher
        .join()
        .map_err(|_| anyhow::anyhow!("checksum thread failed"))??;
    let run = serde_json::json!({
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
        "evaluation_split": a.evaluation_split,
        "max_control_cells": a.max_control_cells,
        "prediction_seed": a.prediction_seed,
        "config": cfg,
        "warnings": out.warnings,
        "wall_seconds": start.elapsed().as_secs_f64(),
    });
    let eval_dir = dir.join("evaluation");
    std::fs::create_dir_all(&eval_dir)?;
    // Simulated data: also score the predicted effects against the stored truth.
    let mut run = run;
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
        let table = rows.iter().map(|r| {
            vec![
                r.perturbation.clone(),
                r.covariates.clone(),
                r.rmse.to_string(),
                r.cosine.to_string(),
                r.pearson.to_string(),
            ]
        });
        write_csv_atomic(
            &eval_dir.join("truth.csv"),
            Some(&[
                "perturbation",
                "covariates",
                "rmse_delta",
                "cosine_delta",
                "pearson_delta",
            ]),
            table,
        )?;
        if !g.quiet {
            println!(
                "against the simulation's truth ({} groups): rmse_delta {:.4}, cosine_delta {:.4}, pearson_delta {:.4}",
                rows.len(),
                summary["rmse_delta"].as_f64().unwrap_or(f64::NAN),
                summary["cosine_delta"].as_f64().unwrap_or(f64::NAN),
                summary["pearson_delta"].as_f64().unwrap_or(f64::NAN)
            );
        }
        run["truth"] = summary;
    }
    write_outputs(&eval_dir, &out, &run)?;
    Ok(out)
}

impl Args {
    /// The data file (`DATA` or `data.path`).
    pub fn data_file(&self) -> Option<&Path> {
        self.data.as_deref().or(self.data_path.as_deref())
    }

    /// What decides the split and the evaluated groups: data file, split options and
    /// evaluation split (not the model, trainer or prediction settings).
    pub fn split_key(&self) -> String {
        format!(
            "{:?} {:?} {}",
            self.data_file(),
            self.split,
            self.evaluation_split
        )
    }
}

/// The resolved configuration of a run as YAML (what `--print-config` prints).
fn config_yaml(
    a: &Args,
    config: &ModelConfig,
    trainer: &TrainerConfig,
    data: Option<&Path>,
) -> String {
    let task = a
        .split
        .task
        .and_then(|t| clap::ValueEnum::to_possible_value(&t).map(|v| v.get_name().to_string()));
    let resolved = serde_json::json!({
        "data": {
            "path": data.map(|d| d.display().to_string()),
            "task": task,
            "perturbation_key": a.split.perturbation_key,
            "control": a.split.control,
            "covariate_keys": a.split.covariate_keys,
            "seed": a.split.seed,
            "max_heldout_fraction": a.split.max_heldout_fraction,
        },
        "model": config,
        "trainer": trainer,
        "evaluation": {
            "split": a.evaluation_split,
            "max_control_cells": a.max_control_cells,
            "prediction_seed": a.prediction_seed,
            "pipelines": a.pipelines,
        },
    });
    crate::run_config::to_yaml(&resolved)
}

/// `train`'s arguments (data file, items, flags, as typed after `perturbench train`) parsed
/// in this process, for the commands that run `train`s (`tune`, `benchmark`): the same
/// expansion and checks as `train`'s command line, with clap's errors reduced to their
/// message (no `train` usage text, which would name the wrong command).
pub fn parse_args(items: &[String]) -> anyhow::Result<Args> {
    use clap::FromArgMatches;
    let mut argv = vec!["perturbench".to_string(), "train".to_string()];
    argv.extend(items.iter().cloned());
    let argv = super::train_config::expand_argv(argv)?;
    let cmd = <Args as clap::Args>::augment_args(
        clap::Command::new("train")
            .no_binary_name(true)
            .args_override_self(true),
    );
    let brief = |e: clap::Error| {
        let text = e.render().to_string();
        let first = text
            .lines()
            .next()
            .unwrap_or("invalid arguments")
            .to_string();
        anyhow::anyhow!("{}", first.trim_start_matches("error: "))
    };
    let m = cmd.try_get_matches_from(&argv[2..]).map_err(brief)?;
    let a = Args::from_arg_matches(&m).map_err(brief)?;
    if let Some(extra) = a.overrides.first() {
        bail!("unexpected argument '{extra}': configuration items are KEY=VALUE");
    }
    Ok(a)
}

/// Checks a run's settings as `train` does before fitting: model and trainer sections, data
/// file, task (`task_how` says how to pass one when none is given), and whether the
/// evaluation split has a group that can be predicted (reads only obs and var of the data
/// file). Returns the resolved configuration as YAML (`--print-config`). `cache` holds the obs and var of files already read, so a
/// suite reads each dataset once.
pub fn check_args(
    a: &Args,
    task_how: &str,
    cache: &mut BTreeMap<PathBuf, (perturbench_io::Frame, Vec<String>)>,
) -> anyhow::Result<String> {
    let tree: serde_json::Value = match &a.resolved_config {
        Some(t) => serde_json::from_str(t).context("internal: resolved configuration")?,
        None => serde_json::json!({}),
    };
    let (config, trainer) = model_and_trainer(&tree)?;
    let data = a
        .data
        .clone()
        .or_else(|| a.data_path.clone())
        .context("no data file: pass DATA.h5ad or data.path=FILE")?;
    a.split.task(task_how)?;
    if !cache.contains_key(&data) {
        let reader = H5adReader::open(&data)?;
        let obs = reader.read_frame("obs")?;
        let var = reader.read_frame("var")?;
        cache.insert(data.clone(), (obs, var.index));
    }
    let (obs, genes) = &cache[&data];
    let source = data.display().to_string();
    let (spec, design, split) = build_split(&a.split, obs, &source, true)?;
    let label = SplitLabel::parse(&a.evaluation_split).expect("clap checked the value");
    feasible_split(&split, &design, &spec, genes, label, &source)?;
    Ok(config_yaml(a, &config, &trainer, Some(&data)))
}

/// Runs the command.
pub fn run(a: Args, g: Global) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    if let Some(extra) = a.overrides.first() {
        bail!("unexpected argument '{extra}': configuration items are KEY=VALUE (model=NAME, model.lr=1e-4, trainer.max_epochs=50, ...)");
    }
    let tree: serde_json::Value = match &a.resolved_config {
        Some(t) => serde_json::from_str(t).context("internal: resolved configuration")?,
        None => serde_json::json!({}),
    };
    let (config, trainer) = model_and_trainer(&tree)?;
    let data = a.data.clone().or_else(|| a.data_path.clone());
    if a.print_config {
        print!("{}", config_yaml(&a, &config, &trainer, data.as_deref()));
        return Ok(());
    }
    let data = data.context("no data file: pass DATA.h5ad or data.path=FILE")?;
    a.split.task(TRAIN_TASK_HOW)?;
    let out_dir = a
        .out
        .clone()
        .context("no output directory: pass --out DIR")?;

    let parent = out_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = out_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let tmp = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    let state_dir = parent.join(format!(".{name}.state"));
    if a.resume && !state_dir.join("state.json").exists() && !g.quiet {
        eprintln!(
            "warning: --resume: no training state at {}; starting afresh",
            state_dir.display()
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)
        .with_context(|| format!("{}: cannot create the output directory", out_dir.display()))?;
    let done =
        write_run(&tmp, &a, &data, &config, &trainer, &state_dir, g, start).and_then(|out| {
            if out_dir.exists() {
                std::fs::remove_dir_all(&out_dir)
                    .with_context(|| format!("{}: cannot replace", out_dir.display()))?;
            }
            std::fs::rename(&tmp, &out_dir).with_context(|| {
                format!("{}: cannot move the results into place", out_dir.display())
            })?;
            // The run is complete: its resumable state is no longer needed.
            let _ = std::fs::remove_dir_all(&state_dir);
            Ok(out)
        });
    let out = match done {
        Ok(o) => o,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            if state_dir.join("state.json").exists() {
                eprintln!(
                    "note: the training state is kept in {}; rerun with --resume to continue",
                    state_dir.display()
                );
            }
            return Err(e);
        }
    };
    for w in &out.warnings {
        eprintln!("warning: {w}");
    }
    if !g.quiet {
        print_table(&out);
        println!(
            "wrote {} ({:.2} s)",
            out_dir.display(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
