//! The error of an experiment: a bad setting, input or output, with the file or key it is
//! about.

use std::fmt::Display;

/// Why an experiment could not be configured or run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting or input is invalid; the message names the key or file and what was expected.
    #[error("{0}")]
    Invalid(String),
    /// An error with what was being done when it happened (`CONTEXT: ERROR`).
    #[error("{context}: {}", chain(inner))]
    Context {
        /// What was being done.
        context: String,
        /// The error.
        inner: Box<Error>,
    },
    /// Reading or writing a file of the perturbench formats.
    #[error(transparent)]
    Io(#[from] perturbench_io::IoError),
    /// The dataset's design.
    #[error(transparent)]
    Data(#[from] perturbench_data::DataError),
    /// A split.
    #[error(transparent)]
    Split(#[from] perturbench_data::split::SplitError),
    /// A saved split file.
    #[error(transparent)]
    SavedSplit(#[from] perturbench_data::split::SavedSplitError),
    /// Evaluation.
    #[error(transparent)]
    Eval(#[from] perturbench_eval::EvalError),
    /// Training or prediction.
    #[error(transparent)]
    Model(#[from] perturbench_models::ModelError),
    /// The operating system.
    #[error(transparent)]
    Os(#[from] std::io::Error),
    /// JSON (de)serialisation.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A CSV file.
    #[error(transparent)]
    Csv(#[from] csv::Error),
    /// A study store (tuning and benchmark queues).
    #[error(transparent)]
    Storage(#[from] perturbench_hpo::StorageError),
    /// A search space.
    #[error(transparent)]
    Space(#[from] perturbench_hpo::HpoError),
    /// A simulated dataset.
    #[error(transparent)]
    Simulation(#[from] perturbench_data::simulator::SimError),
    /// The HTML report.
    #[error(transparent)]
    Report(#[from] perturbench_report::ReportError),
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `e` and its sources, joined by `: `.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

impl Error {
    /// An [`Error::Invalid`] with `message`.
    pub fn msg(message: impl Display) -> Error {
        Error::Invalid(message.to_string())
    }
}

/// Adds what was being done to an error (`CONTEXT: ERROR`).
pub trait Context<T> {
    /// The error, prefixed with `context()`.
    fn with_context<C: Display, F: FnOnce() -> C>(self, context: F) -> Result<T>;
    /// The error, prefixed with `context`.
    fn context(self, context: impl Display) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn with_context<C: Display, F: FnOnce() -> C>(self, context: F) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: context().to_string(),
            inner: Box::new(e.into()),
        })
    }
    fn context(self, context: impl Display) -> Result<T> {
        self.with_context(|| context)
    }
}

impl<T> Context<T> for Option<T> {
    fn with_context<C: Display, F: FnOnce() -> C>(self, context: F) -> Result<T> {
        self.ok_or_else(|| Error::Invalid(context().to_string()))
    }
    fn context(self, context: impl Display) -> Result<T> {
        self.with_context(|| context)
    }
}

/// Returns early with an [`Error::Invalid`] of the formatted message.
#[macro_export]
macro_rules! bail {
    ($($t:tt)*) => {
        return Err($crate::Error::Invalid(format!($($t)*)))
    };
}
