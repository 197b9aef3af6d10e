//! Hyper-parameter optimisation: search spaces, samplers that propose the next trial's
//! parameters from the finished trials (random search, Optuna-style TPE, univariate or
//! multivariate), the median pruner, and the trial store that workers on many machines share
//! (SQLite or PostgreSQL; the only crate that talks to a database).

pub mod distribution;
pub mod multivariate;
pub mod parzen;
pub mod pruner;
pub mod sampler;
pub mod space;
pub mod storage;
pub mod tpe;

pub use distribution::Distribution;
pub use pruner::MedianPruner;
pub use sampler::{RandomSampler, Sampler, Trial};
pub use space::SearchSpace;
pub use storage::{
    open as open_storage, Direction, Storage, StorageError, Study, StudySpec, TrialRecord,
    TrialState,
};
pub use tpe::{TpeSampler, TpeSettings};

/// Why a search space or a sample is invalid.
#[derive(Debug, thiserror::Error)]
pub enum HpoError {
    /// A distribution's bounds or choices are invalid.
    #[error("parameter '{name}': {message}")]
    Distribution {
        /// Parameter name.
        name: String,
        /// What is wrong.
        message: String,
    },
}
