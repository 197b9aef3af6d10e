//! Self-contained HTML reports of PerturBench results.
//!
//! [`load()`] reads benchmark outputs (`leaderboard.csv` + `runs/`), evaluate/train outputs
//! (`summary.csv`, `per_perturbation.csv`, `run.json`, `logfc_examples.csv`) and HPO studies
//! (`trials.csv`, `best.yaml`) into a [`ReportInput`]; [`render`] turns it into one HTML page
//! with inline CSS and inline SVG charts that works offline (no scripts, no external URLs).

#![warn(missing_docs)]

pub mod charts;
pub mod digest;
pub mod error;
mod escape;
mod formats;
pub mod html;
pub mod input;
pub mod leaderboard;
pub mod load;
pub mod plots;
pub mod provenance;
pub mod stats;
pub mod svg;
mod table;
pub mod tables;

pub use digest::config_digest;
pub use error::ReportError;
pub use escape::escape;
pub use html::render;
pub use input::{
    Direction, InputFile, LeaderRow, PerPertRow, Provenance, ReportInput, ScatterPoint,
    StudyHistory, Trial, TrialState,
};
pub use load::load;
pub use stats::BoxStats;
