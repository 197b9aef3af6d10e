//! perturbench-io: reading and writing the files users already have.
//!
//! The heart is an `.h5ad` codec of our own on HDF5 ([`H5adReader`], [`read_h5ad`],
//! [`write_h5ad`]) that maps AnnData's on-disk encodings to plain Rust types: [`Csr`] matrices
//! (always canonical `f32` CSR, whatever the file stores), [`Frame`] data frames whose
//! categorical columns stay codes + categories, dense [`Dense`] side arrays and [`Uns`] values.
//! HDF5 is used only in this crate.

mod anndata;
mod bigvec;
mod csr;
mod error;
mod frame;
mod h5ad;
mod h5util;
mod source;
mod table;
mod uns;

pub use anndata::{AnnData, Dense};
pub use csr::{Csr, CsrError};
pub use error::IoError;
pub use frame::{Column, Frame, MISSING_CODE};
pub use h5ad::{
    read_h5ad, write_h5ad, Compression, H5adReader, MatrixEncoding, MatrixInfo, ReadOptions,
    RowChunks, WriteOptions,
};
pub use source::{CellSource, Floats, Ints, MemoryCells, MemoryMatrix, RowBlocks};
pub use table::{csv_text, read_csv_records, write_atomic, write_csv_atomic};
pub use uns::Uns;
