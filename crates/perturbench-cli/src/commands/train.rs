//! `perturbench train`: split a dataset, fit a model on the train cells, save a checkpoint,
//! predict the evaluation split from its control cells and score the predictions (the same
//! outputs as `perturbench evaluate`).

use super::evaluate::{print_table, write_outputs};
use super::split::{build_split, SplitOptions};
use crate::{progress, Global};
use anyhow::{bail, Context};
use perturbench_data::split::SplitLabel;
use perturbench_eval::{evaluate, EvalConfig, Pipeline};
use perturbench_io::{
    write_csv_atomic, write_h5ad, AnnData, Compression, H5adReader, WriteOptions,
};
use perturbench_models::{
    predict_targets, sample_controls, save_checkpoint, split_targets, Baseline, BaselineKind,
    Checkpoint, Encoding, PerturbationModel, Truth, TruthRow,
};
use std::path::{Path, PathBuf};

/// Options of `perturbench train`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The processed .h5ad file (log-normalised X).
    data: PathBuf,
    /// Model: average, control-mean, train-mean or additive.
    #[arg(long)]
    model: String,
    /// Output directory: checkpoint/, predictions.h5ad, reference.h5ad, evaluation/.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    split: SplitOptions,
    /// Split whose cells are predicted and scored.
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

/// Writes everything of a run into `dir` (a fresh temporary directory).
fn write_run(
    dir: &Path,
    a: &Args,
    g: Global,
    start: std::time::Instant,
) -> anyhow::Result<perturbench_eval::EvalOutput> {
    let sp = progress::spinner("reading", g.quiet);
    let source = a.data.display().to_string();
    // Only X, obs and var are needed (layers such as counts are not read).
    let reader = H5adReader::open(&a.data)?;
    let mut ad = AnnData::new(reader.read_matrix("X")?, Vec::new(), Vec::new());
    ad.obs = reader.read_frame("obs")?;
    ad.var = reader.read_frame("var")?;
    ad.check_shapes()
        .map_err(|m| anyhow::anyhow!("{source}: {m}"))?;
    let uns = reader.read_uns()?;
    drop(reader);
    let (spec, design, split) = build_split(&a.split, &ad.obs, &source, true)?;
    let train = split.rows(SplitLabel::Train);
    if train.is_empty() {
        bail!("{source}: the {} split has no training cells", split.key);
    }
    let label = SplitLabel::parse(&a.evaluation_split).expect("clap checked the value");
    let eval_rows = split.rows(label);
    if eval_rows.is_empty() {
        bail!(
            "{source}: the {} split has no {} cells to evaluate",
            split.key,
            a.evaluation_split
        );
    }
    sp.set_message(format!("fitting {}", a.model));
    let kind = BaselineKind::parse(&a.model).with_context(|| {
        let names: Vec<&str> = BaselineKind::ALL.iter().map(|(n, _)| *n).collect();
        format!(
            "unknown model '{}'; available: {} (neural models are not built yet)",
            a.model,
            names.join(", ")
        )
    })?;
    let enc = Encoding::from_train(&design, &spec, &train, ad.var_names());
    let model = Baseline::fit(kind, &ad.x, &design, &train, &enc)?;
    save_checkpoint(
        &dir.join("checkpoint"),
        &Checkpoint {
            format: perturbench_models::checkpoint::FORMAT,
            version: env!("CARGO_PKG_VERSION").into(),
            encoding: enc.clone(),
            model: model.clone(),
        },
    )?;
    sp.set_message("predicting");
    // Groups with a perturbation never seen in train cannot be predicted (the combination
    // splitter can hold out a combo whose single never appears alone): skip them, loudly.
    let mut skipped = Vec::new();
    let targets: Vec<_> = split_targets(&design, &eval_rows)
        .into_iter()
        .filter(|t| {
            let known = perturbench_data::PerturbationSet::parse(&t.perturbation, &spec)
                .map(|set| enc.singles(&set).is_ok())
                .unwrap_or(false);
            if !known {
                skipped.push(format!("{} ({})", t.perturbation, t.covariates.join("_")));
            }
            known
        })
        .collect();
    if targets.is_empty() {
        bail!(
            "{source}: no {} group can be predicted: every one has a perturbation never seen in train",
            a.evaluation_split
        );
    }
    let sampled = sample_controls(&design, &eval_rows, a.max_control_cells, a.prediction_seed);
    let controls: Vec<usize> = eval_rows
        .iter()
        .copied()
        .filter(|&r| design.is_control(r))
        .collect();
    let pred = predict_targets(&model, &ad.x, &design, &enc, &targets, &sampled, &controls)?;
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
    let run = serde_json::json!({
        "tool": "perturbench",
        "version": env!("CARGO_PKG_VERSION"),
        "command": "train",
        "data": source,
        "model": model.name(),
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

/// Runs the command.
pub fn run(a: Args, g: Global) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    let parent = a
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = a
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let tmp = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)
        .with_context(|| format!("{}: cannot create the output directory", a.out.display()))?;
    let done = write_run(&tmp, &a, g, start).and_then(|out| {
        if a.out.exists() {
            std::fs::remove_dir_all(&a.out)
                .with_context(|| format!("{}: cannot replace", a.out.display()))?;
        }
        std::fs::rename(&tmp, &a.out)
            .with_context(|| format!("{}: cannot move the results into place", a.out.display()))?;
        Ok(out)
    });
    let out = match done {
        Ok(o) => o,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
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
            a.out.display(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
