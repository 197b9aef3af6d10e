//! perturbench-celleval: a cell-eval 0.8.2-compatible evaluator.
//!
//! - [`de`]: differential expression of each perturbation against control exactly as
//!   cell-eval 0.8.2 runs pdex 0.3.0 (Mann–Whitney U with tie correction, per-perturbation
//!   Benjamini–Hochberg, count-space fold changes), streamed once over a CSR matrix and
//!   parallel over genes.
//! - [`metrics`]: the metrics of cell-eval's `full` profile that follow from the two DE
//!   tables, from pseudobulks and from cell-level energy distances.
//! - [`clustering`]: `clustering_agreement` (UMAP neighbour graph of the centroids, Leiden,
//!   adjusted mutual information).
//! - [`conventions`]: every number-changing rule, serialisable to JSON.
//! - [`run`], [`baseline`], [`score`]: the three commands of cell-eval's command line, with
//!   the same files, names and columns, plus `conventions.json` ([`record`]).

pub mod baseline;
pub mod ceiling;
pub mod clustering;
pub mod conventions;
pub mod de;
pub mod error;
pub mod evaluate;
pub mod fdr;
pub mod groups;
pub mod input;
pub mod mannwhitney;
pub mod metrics;
pub mod profile;
pub mod pseudobulk;
pub mod record;
pub mod results;
pub mod run;
pub mod score;
pub mod staging;
pub mod vcc2026;
mod xvalue;

pub use baseline::{baseline, BaselineOptions, BaselineSummary};
pub use conventions::{Convention, Conventions};
pub use de::{differential_expression, DeGroup, DeOptions, DeTable, DE_COLUMNS};
pub use error::{CellEvalError, Result};
pub use evaluate::{evaluate, Evaluation};
pub use groups::Groups;
pub use metrics::{evaluate_de, evaluate_pseudobulk, DeFrame, MetricTable};
pub use profile::Profile;
pub use pseudobulk::Pseudobulks;
pub use run::{run, RunOptions, RunSummary};
pub use score::{score_files, Scores};
