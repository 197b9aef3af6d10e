//! perturbench-eval: evaluation of perturbation predictions against observed cells.
//!
//! PerturBench's pipelines (spec §5): aggregate the cells of every (covariates, perturbation)
//! group of the reference and of each prediction (`average`, `scaled`, `logfc`, `logp`, `var`),
//! compare matched groups with a metric (`rmse`, `mse`, `mae`, `cosine`, `pearson`,
//! `r2_score`, `top_k_recall`), and rank every prediction among all predictions of its
//! covariate group (rank metrics, which expose mode collapse). Every convention that changes
//! numbers is a field of [`EvalConfig`]. X is streamed in row blocks into per-group sums, so
//! memory is O(groups × genes) (except `logp`, which needs the cells). No dependency on burn.

mod aggregate;
mod cells;
mod config;
mod evaluate;
mod examples;
mod groups;
mod metric;
mod pairs;
mod pca;
mod rank;

pub use aggregate::Aggregate;
pub use config::{
    Aggregation, ControlSource, EvalConfig, Metric, Pipeline, RankDenominator, RankDirection,
    TiePolicy,
};
pub use evaluate::{
    evaluate, evaluate_sources, reference_pca, EvalOutput, PerPerturbation, Summary,
};
pub use examples::ExampleRow;
pub use metric::compute as compute_metric;
pub use pca::Pca;
pub use rank::ranks;

/// Why an evaluation failed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Reading a file failed.
    #[error(transparent)]
    Io(#[from] perturbench_io::IoError),
    /// A file's design is unusable.
    #[error(transparent)]
    Data(#[from] perturbench_data::DataError),
    /// An input does not fit the evaluation.
    #[error("{source_name}: {message}")]
    Input {
        source_name: String,
        message: String,
    },
    /// The configuration is invalid.
    #[error("invalid evaluation config: {0}")]
    Config(String),
}

impl EvalConfig {
    /// Checks the configuration before any file is read.
    pub fn validate(&self) -> Result<(), EvalError> {
        if self.pipelines.is_empty() {
            return Err(EvalError::Config("no pipelines".into()));
        }
        if self.pseudocount.is_nan() || self.pseudocount <= 0.0 {
            return Err(EvalError::Config(format!(
                "pseudocount must be positive, got {}",
                self.pseudocount
            )));
        }
        self.logp_method
            .parse::<perturbench_data::de::DeMethod>()
            .map_err(EvalError::Config)?;
        if self.top_k == 0 {
            return Err(EvalError::Config("top_k must be at least 1".into()));
        }
        if self.pca_components == 0 {
            return Err(EvalError::Config(
                "pca_components must be at least 1".into(),
            ));
        }
        for p in &self.pipelines {
            let (a, m) = (p.aggregation, p.metric);
            if a.is_cell_level() != m.is_cell_level() {
                return Err(EvalError::Config(format!(
                    "pipeline '{p}': {} compares {} but {} gives {}; cell-level metrics (energy, mmd) go with the cell-level aggregations (none, pca)",
                    m.name(),
                    if m.is_cell_level() { "groups of cells" } else { "vectors" },
                    a.name(),
                    if a.is_cell_level() { "cells" } else { "one vector per group" },
                )));
            }
            if m == Metric::Mmd && a != Aggregation::Pca {
                return Err(EvalError::Config(format!(
                    "pipeline '{p}': mmd needs pairwise distances between cells and is computed on PCA coordinates only; use pca:mmd"
                )));
            }
        }
        Ok(())
    }
}
