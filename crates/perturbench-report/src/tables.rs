//! The columns of the tables perturbench writes and this report reads, defined once: the
//! experiment crate writes its files with these headers and the report's parsers look the
//! same names up.

/// Columns of `per_perturbation.csv`.
pub const PER_PERTURBATION_HEADER: [&str; 6] = [
    "model",
    "aggregation",
    "metric",
    "covariates",
    "perturbation",
    "value",
];

/// Columns of `summary.csv`.
pub const SUMMARY_HEADER: [&str; 4] = ["model", "aggregation", "metric", "value"];

/// Columns of `logfc_examples.csv`.
pub const EXAMPLES_HEADER: [&str; 6] = [
    "model",
    "covariates",
    "perturbation",
    "gene",
    "observed",
    "predicted",
];

/// The columns of `trials.csv`, one row per trial.
pub const TRIALS_COLUMNS: [&str; 8] = [
    "study", "number", "state", "value", "params", "attempts", "worker", "seconds",
];

/// The columns that name a job in `leaderboard.csv`; every summary metric follows them.
pub const LEADERBOARD_KEYS: [&str; 4] = ["model", "dataset", "task", "seed"];
