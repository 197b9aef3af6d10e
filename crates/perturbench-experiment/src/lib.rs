//! One PerturBench experiment as a library: the typed run configuration ([`RunConfig`],
//! resolved from YAML/TOML files, presets and dotted overrides), the run itself
//! ([`run_experiment`]: read, split, fit, predict, evaluate) and the files it writes
//! ([`formats`]). The `perturbench` command, tuning trials, benchmark jobs and the Python
//! package all run experiments through this crate.

pub mod cell_eval;
pub mod checksum;
pub mod data_config;
pub mod embedding;
pub mod error;
pub mod evaluation;
pub mod external;
pub mod feasible;
pub mod flags;
pub mod formats;
pub mod inspect;
mod lenient;
pub mod orchestra;
pub mod predict;
pub mod presets;
pub mod registry;
pub mod requests;
pub mod run;
pub mod run_config;
pub mod tree;

pub use data_config::{DataConfig, TaskName};
pub use error::{Context, Error, Result};
pub use run::{run_experiment, Observer, RunOptions, RunOutput, Silent};
pub use run_config::{EvaluationConfig, RunConfig};
