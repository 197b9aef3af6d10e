//! Typed errors of the cell-eval compatible evaluator.

/// Everything that can go wrong when evaluating user data; no user input panics.
#[derive(Debug, thiserror::Error)]
pub enum CellEvalError {
    /// Reading or writing a file failed.
    #[error(transparent)]
    Io(#[from] perturbench_io::IoError),
    /// A plain file-system error (CSV output).
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A CSV file could not be written or parsed.
    #[error("{path}: {message}")]
    Csv {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The perturbation column is missing from `obs`.
    #[error("perturbation column '{0}' not found in obs")]
    MissingColumn(String),
    /// A cell has no perturbation label.
    #[error("cell {row} has no label in column '{column}'")]
    MissingLabel {
        /// The column.
        column: String,
        /// The cell (row).
        row: usize,
    },
    /// The control label does not occur in the perturbation column.
    #[error("control perturbation '{control}' not found in column '{column}'")]
    MissingControl {
        /// The column searched.
        column: String,
        /// The control label.
        control: String,
    },
    /// The label vector does not have one label per cell.
    #[error("{labels} perturbation labels for {cells} cells")]
    LabelCount {
        /// Number of labels.
        labels: usize,
        /// Number of cells.
        cells: usize,
    },
    /// A matrix value is negative or not a number (the rank test needs non-negative data).
    #[error("expression value {value} at cell {row}, gene {col} is negative or NaN; the sparse Mann-Whitney U test needs non-negative values")]
    InvalidValue {
        /// Cell (row).
        row: usize,
        /// Gene (column).
        col: usize,
        /// The value.
        value: f64,
    },
    /// Real and predicted data do not describe the same genes in the same order.
    #[error("gene mismatch between real and pred: {0}")]
    GeneMismatch(String),
    /// Real and predicted data do not have the same perturbation labels.
    #[error("perturbation mismatch between real and pred: {0}")]
    PerturbationMismatch(String),
    /// The two DE tables cannot be compared.
    #[error("DE tables: {0}")]
    DeTable(String),
    /// An input file is unusable (wrong scale, missing key, too few cells, ...).
    #[error("{path}: {message}")]
    Input {
        /// The file (or the option) at fault.
        path: String,
        /// What is wrong and what to do about it.
        message: String,
    },
    /// An option value is invalid.
    #[error("invalid option: {0}")]
    Option(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, CellEvalError>;
