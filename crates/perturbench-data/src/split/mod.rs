//! Train/val/test splits as PerturBench defines them (spec §2).
//!
//! A split gives every cell a label (train, val, test) or none (excluded). Tasks decide which
//! (perturbation, covariate combination) pairs are held out; held-out pairs are divided 50/50
//! into val and test stratified by covariate; control cells are split on their own. With the
//! default random generator (`SplitRng::Python`) the labels equal PerturBench's for the same
//! seed, draw for draw (CPython `random`, numpy `RandomState`, scikit-learn's stratified split;
//! see [`pyrandom`] and [`stratified`]).
//!
//! Differences from the reference, all documented in the README:
//! - pairs are keyed by perturbation *set* (`A+B` = `B+A`) and covariate *tuple*; the
//!   reference keys by perturbation string and covariate *set*;
//! - with several covariate keys the reference orders strata by `str(frozenset)`, whose element
//!   order depends on Python's string hashing; we list the elements sorted;
//! - with `downsample_fraction < 1`, the inverse-combination task iterates perturbations in
//!   order of first appearance where the reference iterates a Python `set`.

mod assign;
pub mod pcg64;
pub mod pyrandom;
mod saved;
mod scenarios;
pub mod stratified;
mod summary;
mod tasks;

pub use saved::{read_saved_split, SavedSplitError};
pub use scenarios::{
    data_scaling_split, imbalance_split, normalized_entropy, ImbalanceConfig, ScalingAxis,
    ScalingConfig, ScalingSize,
};

pub use summary::{summarize, SummaryRow};

use crate::Design;

/// The label of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SplitLabel {
    /// Training cells.
    Train,
    /// Validation cells.
    Val,
    /// Test cells.
    Test,
}

impl SplitLabel {
    /// `train`, `val` or `test`.
    pub fn as_str(self) -> &'static str {
        match self {
            SplitLabel::Train => "train",
            SplitLabel::Val => "val",
            SplitLabel::Test => "test",
        }
    }
    /// Parses `train`, `val` or `test`.
    pub fn parse(s: &str) -> Option<SplitLabel> {
        match s {
            "train" => Some(SplitLabel::Train),
            "val" => Some(SplitLabel::Val),
            "test" => Some(SplitLabel::Test),
            _ => None,
        }
    }
}

/// Which pairs a task holds out, with the task's own parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    /// Covariate transfer (spec §2.3): hold out perturbations in some covariates, keep them
    /// trained in others.
    Transfer {
        /// A perturbation is held out only if seen in more covariates than this.
        min_train_covariates: usize,
        /// At most this many covariates lose a perturbation seen in all covariates.
        max_heldout_covariates: usize,
        /// Per covariate, at most this fraction of its perturbations (control included) is held out.
        max_heldout_fraction: f64,
        /// Per covariate, at most this many perturbations are held out.
        max_heldout_perturbations: usize,
    },
    /// Combination prediction (§2.4): hold out combos whose singles are all trained.
    Combination {
        /// Per covariate, the fraction of combos held out.
        max_heldout_fraction: f64,
        /// Per covariate, at most this many combos are held out.
        max_heldout_perturbations: usize,
    },
    /// Inverse combination (§2.5): hold out singles, keep every combo in train.
    InverseCombination {
        /// Per covariate, the fraction of singles held out.
        max_heldout_fraction: f64,
        /// Per covariate, at most this many singles are held out.
        max_heldout_perturbations: usize,
    },
    /// Manual covariate transfer (§2.6): hold out a fraction of the perturbations of the listed
    /// covariate combinations (labels as in [`Design::covariate_label`]).
    Manual {
        /// Covariate combinations to hold out from.
        heldout_covariates: Vec<String>,
        /// Fraction of each listed covariate's perturbations held out.
        fraction: f64,
    },
}

impl Task {
    /// The reference's name of the split column (`transfer_split_seed42`, ...).
    pub fn split_key(&self, seed: u32) -> String {
        let stem = match self {
            Task::Transfer { .. } | Task::Manual { .. } => "transfer_split_seed",
            Task::Combination { .. } => "combo_split_seed",
            Task::InverseCombination { .. } => "inverse_combo_split_seed",
        };
        format!("{stem}{seed}")
    }
}

/// What happens to a held-out pair that is alone in its covariate (stratification needs two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SingleHeldout {
    /// The reference behaviour: its cells get no label (excluded from every set).
    Drop,
    /// Put it back into train.
    Train,
}

/// Everything a split needs besides the design.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitConfig {
    /// The task and its parameters.
    pub task: Task,
    /// Random seed (PerturBench's task configs use 42).
    pub seed: u32,
    /// Fraction of control cells in train; the rest is halved into val and test.
    pub train_control_fraction: f64,
    /// Fraction of held-out pairs that go to test (the reference fixes 0.5).
    pub test_fraction: f64,
    /// Keep only this fraction of perturbations (1 = all), as the reference's downsampling.
    pub downsample_fraction: f64,
    /// Treatment of lone held-out pairs.
    pub single_heldout: SingleHeldout,
}

impl SplitConfig {
    /// Defaults of PerturBench's task configs for `task` (seed 42, controls 50/25/25).
    pub fn new(task: Task) -> Self {
        SplitConfig {
            task,
            seed: 42,
            train_control_fraction: 0.5,
            test_fraction: 0.5,
            downsample_fraction: 1.0,
            single_heldout: SingleHeldout::Drop,
        }
    }
}

/// A label (or none) for every cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The reference's name of this split (`combo_split_seed42`, ...).
    pub key: String,
    /// One entry per cell, in row order.
    pub labels: Vec<Option<SplitLabel>>,
}

impl Split {
    /// Rows with the given label, increasing.
    pub fn rows(&self, label: SplitLabel) -> Vec<usize> {
        (0..self.labels.len())
            .filter(|&r| self.labels[r] == Some(label))
            .collect()
    }
    /// Number of cells with each label: (train, val, test, unlabelled).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for l in &self.labels {
            match l {
                Some(SplitLabel::Train) => c.0 += 1,
                Some(SplitLabel::Val) => c.1 += 1,
                Some(SplitLabel::Test) => c.2 += 1,
                None => c.3 += 1,
            }
        }
        c
    }
}

/// Why a split cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    /// A parameter is outside its range.
    #[error("invalid split option {option}: {message}")]
    Option {
        option: &'static str,
        message: String,
    },
    /// The task holds out nothing that can be divided into val and test.
    #[error("{task}: {reason}")]
    Stratify {
        task: &'static str,
        reason: stratified::StratifyError,
    },
    /// The dataset's design could not be built.
    #[error(transparent)]
    Data(#[from] crate::DataError),
    /// A listed covariate combination does not occur.
    #[error("covariate combination '{0}' does not occur in the data; known: {1}")]
    UnknownCovariate(String, String),
}

/// A (covariate combination, perturbation) unit: all its cells share one label.
pub(crate) type Pair = (u32, u32);

/// Makes a split of `design` for `cfg`.
pub fn make_split(design: &Design, cfg: &SplitConfig) -> Result<Split, SplitError> {
    check_config(cfg)?;
    let (train, heldout, name) = tasks::choose_pairs(design, cfg)?;
    let labels = assign::assign(design, cfg, &train, &heldout, name)?;
    Ok(Split {
        key: cfg.task.split_key(cfg.seed),
        labels,
    })
}

fn check_config(cfg: &SplitConfig) -> Result<(), SplitError> {
    let frac = |option: &'static str, v: f64, lo_open: bool| -> Result<(), SplitError> {
        let ok = v.is_finite() && v <= 1.0 && if lo_open { v > 0.0 } else { v >= 0.0 };
        if ok {
            Ok(())
        } else {
            Err(SplitError::Option {
                option,
                message: format!(
                    "{v} is outside {}",
                    if lo_open { "(0, 1]" } else { "[0, 1]" }
                ),
            })
        }
    };
    frac("train-control-fraction", cfg.train_control_fraction, false)?;
    frac("test-fraction", cfg.test_fraction, true)?;
    frac("downsample-fraction", cfg.downsample_fraction, true)?;
    match &cfg.task {
        Task::Transfer {
            max_heldout_fraction,
            max_heldout_covariates,
            min_train_covariates,
            ..
        } => {
            frac("max-heldout-fraction", *max_heldout_fraction, false)?;
            if *max_heldout_covariates == 0 {
                return Err(SplitError::Option {
                    option: "max-heldout-covariates",
                    message: "must be at least 1".into(),
                });
            }
            if *min_train_covariates == 0 {
                return Err(SplitError::Option {
                    option: "min-train-covariates",
                    message: "must be at least 1".into(),
                });
            }
        }
        Task::Combination {
            max_heldout_fraction,
            ..
        }
        | Task::InverseCombination {
            max_heldout_fraction,
            ..
        } => frac("max-heldout-fraction", *max_heldout_fraction, false)?,
        Task::Manual {
            fraction,
            heldout_covariates,
        } => {
            frac("fraction", *fraction, false)?;
            if heldout_covariates.is_empty() {
                return Err(SplitError::Option {
                    option: "heldout-covariates",
                    message: "name at least one covariate".into(),
                });
            }
        }
    }
    Ok(())
}
