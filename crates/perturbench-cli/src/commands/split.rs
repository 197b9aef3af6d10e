//! `perturbench split`: train/val/test labels for a benchmark task.

use crate::Global;
use perturbench_data::split::summarize;
use perturbench_experiment::{DataConfig, TaskName};
use perturbench_io::{write_csv_atomic, H5adReader};
use serde::Serialize;
use std::path::PathBuf;

/// Options of `perturbench split`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .h5ad file (only obs is read).
    data: PathBuf,
    /// Output CSV: `cell_id,split` with train/val/test or empty (excluded).
    #[arg(long)]
    out: PathBuf,
    /// Also write the summary table (per covariate: perturbations in train/val/test).
    #[arg(long)]
    summary: Option<PathBuf>,
    #[command(flatten)]
    opts: SplitOptions,
}

/// The task and its options (shared by `split` and `train`); unset flags take the `data`
/// section's values (see `perturbench_experiment::DataConfig` for the defaults).
#[derive(clap::Args, Debug, Clone, Default, Serialize)]
pub struct SplitOptions {
    /// Task (`train`: or `data.task=NAME`, or a data preset such as `data=norman19`).
    #[arg(long, value_parser = TaskName::NAMES)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[command(flatten)]
    #[serde(flatten)]
    pub design: super::design::DesignFlags,
    /// Random seed (default 42; 57 for data-scaling and imbalance, as the paper's notebooks).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u32>,
    /// Random generator: `python` reproduces PerturBench's labels draw for draw.
    #[arg(long, value_parser = ["python"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rng: Option<String>,
    /// Transfer: a perturbation is held out only if seen in more covariates than this (default 1).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_train_covariates: Option<usize>,
    /// Transfer: at most this many covariates lose a given perturbation (default 1; 7 for data-scaling).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_heldout_covariates: Option<usize>,
    /// Per covariate, the largest fraction of perturbations held out (default 0.3; Norman experiments: 0.7).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_heldout_fraction: Option<f64>,
    /// Per covariate, the most perturbations held out (default 200).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_heldout_perturbations: Option<usize>,
    /// Manual / data-scaling: covariate combinations to hold out from (values joined with `_`).
    #[arg(long, value_delimiter = ',')]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heldout_covariates: Option<Vec<String>>,
    /// Manual: fraction of each listed covariate's perturbations held out (default 0.7).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
    /// Fraction of control cells in train (the rest halves into val and test; default 0.5).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_control_fraction: Option<f64>,
    /// Keep only this fraction of perturbations (default 1).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downsample_fraction: Option<f64>,
    /// A held-out pair alone in its covariate: `drop` it (reference, default) or put it in `train`.
    #[arg(long, value_parser = ["drop", "train"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub single_heldout: Option<String>,
    /// Saved: the split CSV to read (headerless or with a header line).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_file: Option<PathBuf>,
    /// Data-scaling: which subset (default small).
    #[arg(long, value_parser = ["small", "medium", "full"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling_size: Option<String>,
    /// Data-scaling: grow across `perturbations` (default) or `covariates`.
    #[arg(long, value_parser = ["perturbations", "covariates"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling_axis: Option<String>,
    /// Data-scaling (covariates): train-only covariates of the small subset.
    #[arg(long, value_delimiter = ',')]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_covariates: Option<Vec<String>>,
    /// Data-scaling (covariates): train-only covariates added in the medium subset.
    #[arg(long, value_delimiter = ',')]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium_covariates: Option<Vec<String>>,
    /// Data-scaling: seed of the subset draws (default 84 across perturbations, 12345 across covariates).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subset_seed: Option<u64>,
    /// Imbalance: target normalised entropy of perturbation counts across covariates.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entropy: Option<f64>,
}

impl SplitOptions {
    /// The data section these flags give (defaults for the unset ones).
    pub fn data_config(&self) -> anyhow::Result<DataConfig> {
        let v = serde_json::to_value(self)?;
        Ok(perturbench_experiment::run_config::data_section(&v)?)
    }
}

/// Runs the command.
pub fn run(a: Args, g: Global) -> anyhow::Result<()> {
    let opts = a.opts.data_config()?;
    opts.task("--task combination")?;
    let source = a.data.display().to_string();
    let reader = H5adReader::open(&a.data)?;
    let obs = reader.read_frame("obs")?;
    let (_, design, split) = opts.build_split(&obs, &source, &|line| {
        if !g.quiet {
            println!("{line}")
        }
    })?;
    let rows = obs
        .index
        .iter()
        .zip(&split.labels)
        .map(|(id, l)| vec![id.as_str(), l.map_or("", |l| l.as_str())]);
    write_csv_atomic(&a.out, Some(&["cell_id", "split"]), rows)?;
    let summary = summarize(&design, &split);
    if let Some(path) = &a.summary {
        let rows = summary.iter().map(|r| {
            vec![
                r.covariates.clone(),
                r.train.to_string(),
                r.val.to_string(),
                r.test.to_string(),
            ]
        });
        write_csv_atomic(path, Some(&["covariates", "train", "val", "test"]), rows)?;
    }
    if !g.quiet {
        let (tr, va, te, none) = split.counts();
        println!(
            "{}: cells train {tr} / val {va} / test {te} / excluded {none} -> {}",
            split.key,
            a.out.display()
        );
        let w = summary
            .iter()
            .map(|r| r.covariates.len())
            .max()
            .unwrap_or(10)
            .max(10);
        println!(
            "{:<w$}  {:>6}  {:>6}  {:>6}   (perturbations incl. control)",
            "covariates", "train", "val", "test"
        );
        for r in &summary {
            println!(
                "{:<w$}  {:>6}  {:>6}  {:>6}",
                r.covariates, r.train, r.val, r.test
            );
        }
    }
    Ok(())
}
