//! Hyper-parameter optimisation: search-space distributions, and samplers that propose the
//! next trial's parameters from the finished trials (random search, and Optuna-style
//! univariate TPE). Storage and workers will live here too (PostgreSQL only in this crate).

pub mod distribution;
pub mod parzen;
pub mod sampler;
pub mod tpe;

pub use distribution::Distribution;
pub use sampler::{RandomSampler, Sampler, Trial};
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
