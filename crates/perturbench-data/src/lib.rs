//! perturbench-data: the dataset model of perturbench.
//!
//! A [`Dataset`] is an AnnData object read through perturbench-io plus the meaning PerturBench
//! gives it: a [`PerturbationSpec`] (which obs column holds perturbations, what the control is
//! called, how combinations are joined, which columns are covariates), a parsed [`Design`]
//! (perturbation sets and covariate combinations per cell), vocabularies in order of first
//! appearance, and a [`GroupIndex`] from (covariate combination × perturbation) to cell rows.
//! Splits live in [`split`], the synthetic data generator in [`simulator`].

mod dataset;
pub mod de;
mod design;
mod error;
mod groups;
mod perturbation;
pub mod preprocess;
pub mod simulator;
mod spec;
pub mod split;
mod vocab;

pub use dataset::{check_unique_var_names, Dataset};
pub use design::Design;
pub use error::DataError;
pub use groups::{Group, GroupIndex};
pub use perturbation::{parse_perturbation, restore_perturbation, ParseError, PerturbationSet};
pub use perturbench_io::{AnnData, Column, Csr, Frame};
pub use spec::PerturbationSpec;
pub use vocab::Vocabulary;
