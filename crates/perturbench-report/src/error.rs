//! Errors of reading report inputs.

use std::path::PathBuf;

/// Why a report could not be built from the given directories.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file was read but its content is not what was expected.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What was expected, e.g. `column 'value' missing` or
        /// `row 3, column 'value': expected a number, got 'abc'`.
        message: String,
    },
    /// None of the given directories holds any of the recognised inputs.
    #[error(
        "no report input found in {dirs}: expected leaderboard.csv (benchmark output), \
         evaluation/summary.csv or summary.csv (evaluate/train output) or trials.csv (HPO study) \
         in a directory or one of its immediate subdirectories"
    )]
    NothingFound {
        /// The directories searched, comma separated.
        dirs: String,
    },
}

impl ReportError {
    /// A [`ReportError::Format`] for `path`.
    pub(crate) fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ReportError::Format {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A [`ReportError::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ReportError::Io {
            path: path.into(),
            source,
        }
    }
}
