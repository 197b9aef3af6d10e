//! The data a report is rendered from: one struct per kind of input row.

use std::collections::BTreeMap;

/// Everything a report shows. Built by [`crate::load()`] or by hand, rendered by [`crate::render`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportInput {
    /// Page title.
    pub title: String,
    /// One row per (model, dataset, task, seed): summary metrics.
    pub leaderboard: Vec<LeaderRow>,
    /// Per-perturbation metric values (the distributions behind the summary).
    pub per_perturbation: Vec<PerPertRow>,
    /// Observed vs predicted logFC of single genes for a few chosen perturbations.
    pub scatter: Vec<ScatterPoint>,
    /// Hyper-parameter optimisation studies.
    pub studies: Vec<StudyHistory>,
    /// How each run was produced (from `run.json`).
    pub provenance: Vec<Provenance>,
}

/// One leaderboard row: the summary metrics of one model on one dataset/task (and seed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeaderRow {
    /// Model name.
    pub model: String,
    /// Dataset name (`-` when unknown).
    pub dataset: String,
    /// Task name (`-` when unknown).
    pub task: String,
    /// Random seed of the run, if known.
    pub seed: Option<u64>,
    /// Metric values keyed `{metric}_{aggregation}`, e.g. `rmse_average`, `cosine_rank_logfc`.
    /// Missing values are absent.
    pub metrics: BTreeMap<String, f64>,
}

/// One per-perturbation metric value (a row of `per_perturbation.csv`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PerPertRow {
    /// Dataset name (`-` when unknown).
    pub dataset: String,
    /// Task name (`-` when unknown).
    pub task: String,
    /// Model name.
    pub model: String,
    /// Aggregation, e.g. `average`, `logfc`.
    pub aggregation: String,
    /// Metric, e.g. `rmse`, `cosine_rank`.
    pub metric: String,
    /// Covariate combination, e.g. a cell type.
    pub covariates: String,
    /// Perturbation name.
    pub perturbation: String,
    /// Metric value (may be NaN; non-finite values are left out of charts).
    pub value: f64,
}

/// Observed and predicted logFC of one gene under one perturbation (a row of
/// `logfc_examples.csv`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScatterPoint {
    /// Dataset name (`-` when unknown).
    pub dataset: String,
    /// Task name (`-` when unknown).
    pub task: String,
    /// Model name.
    pub model: String,
    /// Covariate combination.
    pub covariates: String,
    /// Perturbation name.
    pub perturbation: String,
    /// Gene name.
    pub gene: String,
    /// Observed logFC.
    pub observed: f64,
    /// Predicted logFC.
    pub predicted: f64,
}

/// State of an HPO trial, as written in `trials.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TrialState {
    /// Finished with an objective value.
    Complete,
    /// Failed.
    Fail,
    /// Stopped early by the pruner.
    Pruned,
    /// Still running.
    Running,
    /// Not started yet.
    Waiting,
}

impl TrialState {
    /// Parses the spelling used in `trials.csv` (`COMPLETE`, `FAIL`, ...; case-insensitive).
    pub fn parse(s: &str) -> Option<TrialState> {
        match s.trim().to_ascii_uppercase().as_str() {
            "COMPLETE" => Some(TrialState::Complete),
            "FAIL" => Some(TrialState::Fail),
            "PRUNED" => Some(TrialState::Pruned),
            "RUNNING" => Some(TrialState::Running),
            "WAITING" => Some(TrialState::Waiting),
            _ => None,
        }
    }

    /// The spelling used in `trials.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            TrialState::Complete => "COMPLETE",
            TrialState::Fail => "FAIL",
            TrialState::Pruned => "PRUNED",
            TrialState::Running => "RUNNING",
            TrialState::Waiting => "WAITING",
        }
    }
}

/// One HPO trial.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// Trial number within the study.
    pub number: u64,
    /// Trial state.
    pub state: TrialState,
    /// Objective value (only for complete trials).
    pub value: Option<f64>,
    /// Sampled parameters.
    pub params: BTreeMap<String, serde_json::Value>,
}

/// Optimisation direction of an HPO objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Lower is better (the default of perturbench-hpo).
    #[default]
    Minimize,
    /// Higher is better.
    Maximize,
}

/// The trials of one HPO study.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StudyHistory {
    /// Study name (the `study` column).
    pub name: String,
    /// Directory the study was read from.
    pub source: String,
    /// Objective direction (`direction: maximize` in `best.yaml` selects maximisation).
    pub direction: Direction,
    /// Trials, in the order of the file.
    pub trials: Vec<Trial>,
    /// Text of `best.yaml`, if present.
    pub best_yaml: Option<String>,
}

/// An input file of a run and its checksum.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputFile {
    /// Role, e.g. `reference` or `prediction`, if given.
    pub role: Option<String>,
    /// Path as recorded.
    pub path: String,
    /// SHA-256 (hex), if recorded.
    pub sha256: Option<String>,
}

/// Provenance of one run (from its `run.json`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Provenance {
    /// Directory the run was read from.
    pub source: String,
    /// Models evaluated in the run.
    pub models: Vec<String>,
    /// Dataset name (`-` when unknown).
    pub dataset: String,
    /// Task name (`-` when unknown).
    pub task: String,
    /// Seed, if known.
    pub seed: Option<u64>,
    /// Tool version (`version`).
    pub version: Option<String>,
    /// Config digest: first 12 hex digits of the FNV-1a 64 hash of the canonical JSON of `config`.
    pub config_digest: Option<String>,
    /// Input files with checksums (`inputs`).
    pub inputs: Vec<InputFile>,
    /// Wall time in seconds (`wall_seconds`).
    pub wall_seconds: Option<f64>,
}
