//! The task and split flags of `perturbench split` and `perturbench train`.

use crate::{DataConfig, Result, TaskName};
use serde::Serialize;
use std::path::PathBuf;

/// The task and its options (shared by `split` and `train`); unset flags take the `data`
/// section's values (see [`DataConfig`] for the defaults).
#[derive(clap::Args, Debug, Clone, Default, Serialize)]
pub struct SplitFlags {
    /// Task (`train`: or `data.task=NAME`, or a data preset such as `data=norman19`).
    #[arg(long, value_parser = TaskName::NAMES)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[command(flatten)]
    #[serde(flatten)]
    pub design: super::DesignFlags,
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

impl SplitFlags {
    /// The data section these flags give (defaults for the unset ones).
    pub fn data_config(&self) -> Result<DataConfig> {
        let v = serde_json::to_value(self)?;
        crate::run_config::data_section(&v)
    }
}
