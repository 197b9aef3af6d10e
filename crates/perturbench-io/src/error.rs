//! Errors of the io crate: every one names the file and, where there is one, the key inside it.

/// An error reading or writing a file.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The file could not be opened or read at the OS level.
    #[error("{path}: cannot open: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    /// The file does not start with the HDF5 signature.
    #[error("{path}: not an HDF5 file (expected an AnnData .h5ad file, which is HDF5)")]
    NotHdf5 { path: String },
    /// The file has an HDF5 signature but the library cannot open it.
    #[error("{path}: HDF5 file is truncated or corrupt ({detail})")]
    Corrupt { path: String, detail: String },
    /// The file uses the pre-0.7 AnnData layout.
    #[error(
        "{path}: legacy AnnData layout from before anndata 0.7 ({evidence}); perturbench reads \
         only the current layout. Re-save the file with a current anndata, e.g. \
         python -c \"import anndata as ad; ad.read_h5ad('{path}').write_h5ad('resaved.h5ad')\""
    )]
    Legacy { path: String, evidence: String },
    /// A part of the file is missing or has the wrong form.
    #[error("{path}: {key}: {message}")]
    Format {
        path: String,
        key: String,
        message: String,
    },
    /// The HDF5 library reported an error while handling `key`.
    #[error("{path}: {key}: HDF5 error: {source}")]
    Hdf5 {
        path: String,
        key: String,
        source: hdf5::Error,
    },
    /// Writing the output failed (nothing is left at the destination).
    #[error("{path}: cannot write: {message}")]
    Write { path: String, message: String },
}

impl IoError {
    /// A [`IoError::Format`] error.
    pub fn format(path: &str, key: &str, message: impl Into<String>) -> Self {
        IoError::Format {
            path: path.to_string(),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Attaches a file path and key to HDF5 errors.
pub(crate) trait H5Context<T> {
    fn at(self, path: &str, key: &str) -> Result<T, IoError>;
}

impl<T> H5Context<T> for hdf5::Result<T> {
    fn at(self, path: &str, key: &str) -> Result<T, IoError> {
        self.map_err(|source| IoError::Hdf5 {
            path: path.to_string(),
            key: key.to_string(),
            source,
        })
    }
}
