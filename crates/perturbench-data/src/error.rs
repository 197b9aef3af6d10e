//! Errors of the dataset model: each names the source file and the obs key involved.

/// An error building or querying a [`Dataset`](crate::Dataset).
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// Reading the file failed.
    #[error(transparent)]
    Io(#[from] perturbench_io::IoError),
    /// An obs column named by the perturbation spec does not exist.
    #[error("{source_name}: obs has no column '{key}' ({role}); available columns: {available}")]
    MissingKey {
        source_name: String,
        key: String,
        role: &'static str,
        available: String,
    },
    /// No cell carries the control label.
    #[error("{source_name}: obs/{key}: no cell has the control label '{control}'; values include: {examples}")]
    ControlAbsent {
        source_name: String,
        key: String,
        control: String,
        examples: String,
    },
    /// A perturbation string has an empty component (e.g. `A++B`).
    #[error("{source_name}: obs/{key}: perturbation '{value}' has an empty component between '{delimiter}' delimiters")]
    EmptyComponent {
        source_name: String,
        key: String,
        value: String,
        delimiter: String,
    },
    /// A cell has no value in a perturbation or covariate column.
    #[error("{source_name}: obs/{key}: row {row} (cell '{cell}') has no value")]
    MissingValue {
        source_name: String,
        key: String,
        row: usize,
        cell: String,
    },
    /// Gene names are not unique.
    #[error("{source_name}: var names are not unique; first duplicates: {first}")]
    DuplicateVarNames { source_name: String, first: String },
    /// The spec itself is unusable.
    #[error("invalid perturbation spec: {0}")]
    Spec(String),
}
