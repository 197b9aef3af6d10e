//! The `.h5ad` codec: AnnData's on-disk layout (encoding-type / encoding-version attributes)
//! read into and written from [`AnnData`](crate::AnnData).

mod direct;
mod frame;
mod matrix;
mod placed;
mod uns;
mod write;

pub use matrix::{MatrixEncoding, MatrixInfo, RowChunks};
pub use write::{write_h5ad, Compression, WriteOptions};

use crate::error::{H5Context, IoError};
use crate::h5util::{attr_string, encoding_type};
use crate::AnnData;
use hdf5::LocationType;
use std::cell::RefCell;
use std::io::Read;
use std::path::{Path, PathBuf};

const HDF5_SIGNATURE: [u8; 8] = [0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n'];

/// Which optional parts [`H5adReader::read`] loads.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Layers to read: `None` = all, `Some(list)` = only those (missing names are an error).
    pub layers: Option<Vec<String>>,
    /// Read `obsm` and `varm`.
    pub side_arrays: bool,
    /// Read `uns`.
    pub uns: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            layers: None,
            side_arrays: true,
            uns: true,
        }
    }
}

/// An open `.h5ad` file from which parts can be read one at a time.
pub struct H5adReader {
    path: PathBuf,
    path_str: String,
    file: hdf5::File,
    skipped: RefCell<Vec<String>>,
}

impl std::fmt::Debug for H5adReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H5adReader")
            .field("path", &self.path)
            .finish()
    }
}

impl H5adReader {
    /// Opens a file, checking that it is HDF5 in the current (anndata >= 0.7) layout.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, IoError> {
        let path = path.as_ref().to_path_buf();
        let path_str = path.display().to_string();
        let mut head = [0u8; 8];
        let mut f = std::fs::File::open(&path).map_err(|source| IoError::Open {
            path: path_str.clone(),
            source,
        })?;
        if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(IoError::Open {
                path: path_str,
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "is a directory"),
            });
        }
        let n = f.read(&mut head).map_err(|source| IoError::Open {
            path: path_str.clone(),
            source,
        })?;
        drop(f);
        // HDF5 allows a user block before the superblock; anndata never writes one, so only
        // offset 0 is checked here and other files are left to the library.
        let signed = n == 8 && head == HDF5_SIGNATURE;
        // File locking is off: perturbench never writes a file in place (outputs are renamed
        // into place when complete), and flock fails on many cluster file systems.
        let file = match hdf5::File::with_options()
            .with_fapl(|f| f.file_locking(false))
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if signed => {
                return Err(IoError::Corrupt {
                    path: path_str,
                    detail: e.to_string(),
                })
            }
            Err(_) => return Err(IoError::NotHdf5 { path: path_str }),
        };
        let reader = H5adReader {
            path,
            path_str,
            file,
            skipped: RefCell::new(Vec::new()),
        };
        reader.check_layout()?;
        Ok(reader)
    }

    fn check_layout(&self) -> Result<(), IoError> {
        let p = self.path_str();
        for key in ["obs", "var"] {
            if !self.file.link_exists(key) {
                return Err(IoError::format(
                    p,
                    key,
                    "not found; an AnnData file needs obs and var",
                ));
            }
            if self.file.loc_type_by_name(key).at(p, key)? == LocationType::Dataset {
                return Err(IoError::Legacy {
                    path: p.into(),
                    evidence: format!("{key} is a compound dataset, not a dataframe group"),
                });
            }
        }
        if self.file.link_exists("X")
            && self.file.loc_type_by_name("X").at(p, "X")? == LocationType::Group
        {
            let x = self.file.group("X").at(p, "X")?;
            if encoding_type(&x).at(p, "X")?.is_none()
                && attr_string(&x, "h5sparse_format").at(p, "X")?.is_some()
            {
                return Err(IoError::Legacy {
                    path: p.into(),
                    evidence: "X carries 'h5sparse_format' instead of 'encoding-type'".into(),
                });
            }
        }
        Ok(())
    }

    /// Path of the file as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn path_str(&self) -> &str {
        &self.path_str
    }

    pub(crate) fn note_skipped(&self, key: &str) {
        self.skipped.borrow_mut().push(key.to_string());
    }

    /// Keys of entries skipped so far because perturbench does not use their encoding.
    pub fn skipped(&self) -> Vec<String> {
        self.skipped.borrow().clone()
    }

    /// Names of the entries of `layers`.
    pub fn layer_names(&self) -> Result<Vec<String>, IoError> {
        let p = self.path_str();
        if !self.file.link_exists("layers") {
            return Ok(Vec::new());
        }
        self.file
            .group("layers")
            .at(p, "layers")?
            .member_names()
            .at(p, "layers")
    }

    /// True when the file has an `X` matrix.
    pub fn has_x(&self) -> bool {
        self.file.link_exists("X")
    }

    /// Reads the whole object (parts chosen by `opts`) and checks that all parts agree in shape.
    pub fn read(&self, opts: &ReadOptions) -> Result<AnnData, IoError> {
        let p = self.path_str();
        let obs = self.read_frame("obs")?;
        let var = self.read_frame("var")?;
        let x = if self.has_x() {
            self.read_matrix("X")?
        } else {
            crate::Csr::zeros(obs.nrows(), var.nrows())
        };
        if x.nrows() != obs.nrows() {
            return Err(IoError::format(
                p,
                "X",
                format!("has {} rows but obs has {} cells", x.nrows(), obs.nrows()),
            ));
        }
        if x.ncols() != var.nrows() {
            return Err(IoError::format(
                p,
                "X",
                format!(
                    "has {} columns but var has {} genes",
                    x.ncols(),
                    var.nrows()
                ),
            ));
        }
        let names = match &opts.layers {
            None => self.layer_names()?,
            Some(list) => list.clone(),
        };
        let mut layers = std::collections::BTreeMap::new();
        for name in names {
            let key = format!("layers/{name}");
            let m = self.read_matrix(&key)?;
            if m.nrows() != x.nrows() || m.ncols() != x.ncols() {
                return Err(IoError::format(
                    p,
                    &key,
                    format!(
                        "has shape {}x{}, expected {}x{} like X",
                        m.nrows(),
                        m.ncols(),
                        x.nrows(),
                        x.ncols()
                    ),
                ));
            }
            layers.insert(name, m);
        }
        let (obsm, varm) = if opts.side_arrays {
            (self.read_dense_dict("obsm")?, self.read_dense_dict("varm")?)
        } else {
            Default::default()
        };
        let uns = if opts.uns {
            self.read_uns()?
        } else {
            Default::default()
        };
        let ad = AnnData {
            x,
            obs,
            var,
            layers,
            obsm,
            varm,
            uns,
        };
        ad.check_shapes().map_err(|m| IoError::format(p, "/", m))?;
        Ok(ad)
    }
}

/// Reads a whole `.h5ad` file (all layers, side arrays and `uns`).
pub fn read_h5ad(path: impl AsRef<Path>) -> Result<AnnData, IoError> {
    H5adReader::open(path)?.read(&ReadOptions::default())
}
