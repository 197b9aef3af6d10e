//! Everything that changes the numbers of an evaluation, in one serialisable struct that is
//! written next to every result.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How cells of a (covariates, perturbation) group become one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Aggregation {
    /// Mean log-normalised expression (stored as float32, as the reference).
    Average,
    /// Mean of per-gene z-scores over the file's cells (clipped at ±10).
    Scaled,
    /// log2(mean + pc) − log2(mean of the covariate's controls + pc).
    Logfc,
    /// sign(score) · −ln(p + 1e-24) of a DE test against the covariate's controls.
    Logp,
    /// Coefficient of variation sqrt(population variance) / mean (0 where undefined).
    Var,
    /// The cells themselves, in gene space (for cell-level metrics: `energy`).
    None,
    /// The cells projected on the reference's principal components (`energy`, `mmd`).
    Pca,
}

impl Aggregation {
    /// The name used in tables (`average`, `logfc`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Aggregation::Average => "average",
            Aggregation::Scaled => "scaled",
            Aggregation::Logfc => "logfc",
            Aggregation::Logp => "logp",
            Aggregation::Var => "var",
            Aggregation::None => "none",
            Aggregation::Pca => "pca",
        }
    }
    /// True for the aggregations that keep cells (`none`, `pca`).
    pub fn is_cell_level(self) -> bool {
        matches!(self, Aggregation::None | Aggregation::Pca)
    }
}

impl FromStr for Aggregation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "average" => Aggregation::Average,
            "scaled" => Aggregation::Scaled,
            "logfc" => Aggregation::Logfc,
            "logp" => Aggregation::Logp,
            "var" => Aggregation::Var,
            "none" => Aggregation::None,
            "pca" => Aggregation::Pca,
            other => {
                return Err(format!(
                    "unknown aggregation '{other}'; expected average, scaled, logfc, logp, var, none or pca"
                ))
            }
        })
    }
}

/// A comparison of a predicted vector with an observed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Root mean squared error.
    Rmse,
    /// Mean squared error.
    Mse,
    /// Mean absolute error.
    Mae,
    /// Cosine similarity.
    Cosine,
    /// Pearson correlation.
    Pearson,
    /// Coefficient of determination (orientation set by [`EvalConfig::r2_prediction_as_truth`]).
    R2Score,
    /// Overlap of the top-k genes by absolute value, divided by k.
    TopKRecall,
    /// scPerturb's E-distance between the predicted and observed cells (`none`, `pca`).
    Energy,
    /// geomloss's energy loss (PerturBench's `mmd`) between the cells (`pca`).
    Mmd,
}

impl Metric {
    /// The name used in tables (`rmse`, `cosine`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Rmse => "rmse",
            Metric::Mse => "mse",
            Metric::Mae => "mae",
            Metric::Cosine => "cosine",
            Metric::Pearson => "pearson",
            Metric::R2Score => "r2_score",
            Metric::TopKRecall => "top_k_recall",
            Metric::Energy => "energy",
            Metric::Mmd => "mmd",
        }
    }
    /// True for metrics between groups of cells (`energy`, `mmd`).
    pub fn is_cell_level(self) -> bool {
        matches!(self, Metric::Energy | Metric::Mmd)
    }
    /// True when larger values are better (similarities); false for distances.
    pub fn higher_is_better(self) -> bool {
        matches!(
            self,
            Metric::Cosine | Metric::Pearson | Metric::R2Score | Metric::TopKRecall
        )
    }
}

impl FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "rmse" => Metric::Rmse,
            "mse" => Metric::Mse,
            "mae" => Metric::Mae,
            "cosine" => Metric::Cosine,
            "pearson" => Metric::Pearson,
            "r2_score" | "r2" => Metric::R2Score,
            "top_k_recall" => Metric::TopKRecall,
            "energy" => Metric::Energy,
            "mmd" => Metric::Mmd,
            other => {
                return Err(format!(
                    "unknown metric '{other}'; expected rmse, mse, mae, cosine, pearson, r2_score, top_k_recall, energy or mmd"
                ))
            }
        })
    }
}

/// One pipeline entry: aggregate, compare, and optionally rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Aggregation.
    pub aggregation: Aggregation,
    /// Metric.
    pub metric: Metric,
    /// Also compute the rank metric.
    pub rank: bool,
}

impl FromStr for Pipeline {
    type Err = String;
    /// Parses `AGG:METRIC` or `AGG:METRIC:rank`.
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let bad = || {
            format!("pipeline '{s}': expected AGGREGATION:METRIC or AGGREGATION:METRIC:rank (e.g. logfc:cosine:rank)")
        };
        match parts.as_slice() {
            [a, m] => Ok(Pipeline {
                aggregation: a.parse()?,
                metric: m.parse()?,
                rank: false,
            }),
            [a, m, "rank"] => Ok(Pipeline {
                aggregation: a.parse()?,
                metric: m.parse()?,
                rank: true,
            }),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}{}",
            self.aggregation.name(),
            self.metric.name(),
            if self.rank { ":rank" } else { "" }
        )
    }
}

/// Whose control cells a file's fold changes and DE tests use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlSource {
    /// Each file its own controls (the reference behaviour; predictions must contain controls).
    Own,
    /// The reference file's controls for every file.
    Reference,
}

/// What a rank position is divided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RankDenominator {
    /// n, the number of perturbations in the covariate group (reference version).
    N,
    /// n − 1, so ranks span [0, 1] (newer PerturBench).
    #[serde(alias = "n-1")]
    NMinus1,
}

/// How tied metric values are ordered in rank metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TiePolicy {
    /// A seeded random order (the reference shuffles before sorting).
    Random,
    /// The average of the tied positions.
    Mid,
}

/// Which way ranks are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RankDirection {
    /// For each observed perturbation, the position of its own prediction among all
    /// predictions (PerturBench).
    Observed,
    /// For each prediction, the position of its own observation among all observations
    /// (cell-eval's perturbation discrimination score).
    Transposed,
}

/// All conventions of an evaluation. Defaults are PerturBench's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Name of this set of conventions.
    pub preset: String,
    /// Pipelines in output order.
    pub pipelines: Vec<Pipeline>,
    /// obs column with perturbations.
    pub perturbation_key: String,
    /// Control label.
    pub control: String,
    /// Combination delimiter.
    pub delimiter: String,
    /// Covariate columns.
    pub covariate_keys: Vec<String>,
    /// Controls used for logfc and logp.
    pub control_source: ControlSource,
    /// Pseudocount of logfc.
    pub pseudocount: f64,
    /// Rank denominator.
    pub rank_denominator: RankDenominator,
    /// Tie policy of ranks.
    pub ties: TiePolicy,
    /// Rank direction.
    pub rank_direction: RankDirection,
    /// Seed of random tie breaking.
    pub seed: u64,
    /// r2_score with the prediction as y_true (the reference's argument order) when true.
    pub r2_prediction_as_truth: bool,
    /// k of top_k_recall.
    pub top_k: usize,
    /// DE test of the logp aggregation (`wilcoxon`, `t-test`, `t-test_overestim_var`).
    pub logp_method: String,
    /// Restrict metrics to the reference's DEG lists `uns[deg_key]["{cov}_{pert}"]`.
    pub deg_key: Option<String>,
    /// With `deg_key`: use only the first this many genes of each list.
    pub top_degs: Option<usize>,
    /// Round average/scaled aggregates to float32 as the reference stores them.
    pub float32_aggregates: bool,
    /// Principal components of the `pca` aggregation.
    pub pca_components: usize,
    /// Most block Krylov steps of the PCA (above 1,024 genes; below, the PCA is exact).
    pub pca_iterations: usize,
    /// The Krylov PCA stops when the top Ritz values change by at most this (relative).
    pub pca_tolerance: f64,
    /// Per model, this many perturbations (the strongest observed logFC) get the observed and
    /// predicted logFC of their 200 most changed genes in [`crate::EvalOutput::examples`]
    /// (needs a logfc pipeline).
    pub scatter_examples: usize,
}

impl EvalConfig {
    /// The default conventions for a dataset spelled as `spec`.
    pub fn for_spec(spec: &perturbench_data::PerturbationSpec) -> EvalConfig {
        EvalConfig {
            perturbation_key: spec.key.clone(),
            control: spec.control.clone(),
            delimiter: spec.delimiter.clone(),
            covariate_keys: spec.covariate_keys.clone(),
            ..EvalConfig::default()
        }
    }

    /// How the evaluated files spell perturbations and covariates.
    pub fn spec(&self) -> perturbench_data::PerturbationSpec {
        perturbench_data::PerturbationSpec {
            key: self.perturbation_key.clone(),
            control: self.control.clone(),
            delimiter: self.delimiter.clone(),
            covariate_keys: self.covariate_keys.clone(),
        }
    }
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            preset: "perturbench".into(),
            pipelines: vec![
                Pipeline {
                    aggregation: Aggregation::Average,
                    metric: Metric::Rmse,
                    rank: true,
                },
                Pipeline {
                    aggregation: Aggregation::Logfc,
                    metric: Metric::Cosine,
                    rank: true,
                },
            ],
            perturbation_key: "condition".into(),
            control: "control".into(),
            delimiter: "+".into(),
            covariate_keys: vec![],
            control_source: ControlSource::Own,
            pseudocount: 0.1,
            rank_denominator: RankDenominator::N,
            ties: TiePolicy::Random,
            rank_direction: RankDirection::Observed,
            seed: 0,
            r2_prediction_as_truth: true,
            top_k: 50,
            logp_method: "wilcoxon".into(),
            deg_key: None,
            top_degs: None,
            float32_aggregates: true,
            pca_components: 100,
            pca_iterations: 8,
            pca_tolerance: 1e-10,
            scatter_examples: 0,
        }
    }
}
