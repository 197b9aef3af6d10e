//! Where an evaluation's cells come from: an `.h5ad` file read on demand ([`H5adReader`]) or
//! arrays that already live in memory ([`MemoryCells`], e.g. an AnnData handed over from
//! Python), behind one interface ([`CellSource`]).

use crate::{Csr, Frame, H5adReader, IoError, MatrixEncoding, MatrixInfo, RowChunks, Uns};
use std::collections::BTreeMap;
use std::ops::Range;

/// A set of cells: `obs`, `var`, the matrix `X` read in row blocks, and `uns`.
pub trait CellSource {
    /// The name errors use for this source: the file's path, or a label of in-memory data.
    fn source_name(&self) -> String;
    /// The data frame `key` (`obs` or `var`).
    fn read_frame(&self, key: &str) -> Result<Frame, IoError>;
    /// Only the columns `names` of the data frame `key` (those present), without its index.
    fn read_frame_columns(&self, key: &str, names: &[&str]) -> Result<Frame, IoError>;
    /// Whether the source has a matrix `X`.
    fn has_x(&self) -> bool;
    /// Shape and storage of the matrix `key`.
    fn matrix_info(&self, key: &str) -> Result<MatrixInfo, IoError>;
    /// The rows of the matrix `key` in blocks of `rows_per_chunk`, as `(first row, block)`.
    fn row_chunks(
        &self,
        key: &str,
        rows_per_chunk: usize,
    ) -> Result<Box<dyn RowBlocks + '_>, IoError>;
    /// The whole matrix `key`.
    fn read_matrix(&self, key: &str) -> Result<Csr, IoError>;
    /// The `uns` dictionary.
    fn read_uns(&self) -> Result<BTreeMap<String, Uns>, IoError>;
}

/// Row blocks of a matrix, one block in memory at a time.
pub trait RowBlocks: Iterator<Item = Result<(usize, Csr), IoError>> {
    /// Hands a finished block back so that the next block may reuse its memory.
    fn recycle(&mut self, block: Csr);
}

impl RowBlocks for RowChunks<'_> {
    fn recycle(&mut self, block: Csr) {
        RowChunks::recycle(self, block)
    }
}

impl CellSource for H5adReader {
    fn source_name(&self) -> String {
        self.path().display().to_string()
    }
    fn read_frame(&self, key: &str) -> Result<Frame, IoError> {
        H5adReader::read_frame(self, key)
    }
    fn read_frame_columns(&self, key: &str, names: &[&str]) -> Result<Frame, IoError> {
        H5adReader::read_frame_columns(self, key, names)
    }
    fn has_x(&self) -> bool {
        H5adReader::has_x(self)
    }
    fn matrix_info(&self, key: &str) -> Result<MatrixInfo, IoError> {
        H5adReader::matrix_info(self, key)
    }
    fn row_chunks(
        &self,
        key: &str,
        rows_per_chunk: usize,
    ) -> Result<Box<dyn RowBlocks + '_>, IoError> {
        Ok(Box::new(H5adReader::row_chunks(self, key, rows_per_chunk)?))
    }
    fn read_matrix(&self, key: &str) -> Result<Csr, IoError> {
        H5adReader::read_matrix(self, key)
    }
    fn read_uns(&self) -> Result<BTreeMap<String, Uns>, IoError> {
        H5adReader::read_uns(self)
    }
}

/// Borrowed floating-point values (float32 or float64).
#[derive(Debug, Clone, Copy)]
pub enum Floats<'a> {
    /// float32 values.
    F32(&'a [f32]),
    /// float64 values (converted to float32 a block at a time, as a file's are).
    F64(&'a [f64]),
}

impl Floats<'_> {
    fn len(&self) -> usize {
        match self {
            Floats::F32(v) => v.len(),
            Floats::F64(v) => v.len(),
        }
    }
    fn dtype(&self) -> &'static str {
        match self {
            Floats::F32(_) => "float32",
            Floats::F64(_) => "float64",
        }
    }
    fn copy_range(&self, r: Range<usize>, out: &mut Vec<f32>) {
        out.clear();
        match self {
            Floats::F32(v) => out.extend_from_slice(&v[r]),
            Floats::F64(v) => out.extend(v[r].iter().map(|&x| x as f32)),
        }
    }
}

/// Borrowed integers (the index arrays of a CSR matrix).
#[derive(Debug, Clone, Copy)]
pub enum Ints<'a> {
    /// int32 values.
    I32(&'a [i32]),
    /// int64 values.
    I64(&'a [i64]),
}

impl Ints<'_> {
    fn len(&self) -> usize {
        match self {
            Ints::I32(v) => v.len(),
            Ints::I64(v) => v.len(),
        }
    }
    fn get(&self, i: usize) -> i64 {
        match self {
            Ints::I32(v) => v[i] as i64,
            Ints::I64(v) => v[i],
        }
    }
}

/// A matrix held in memory by someone else (e.g. numpy / scipy arrays), read in place.
#[derive(Debug, Clone, Copy)]
pub enum MemoryMatrix<'a> {
    /// Compressed sparse rows: `indptr` (rows + 1), column `indices` and `data` of each entry.
    Csr {
        /// Rows × columns.
        shape: (usize, usize),
        /// Row pointer.
        indptr: Ints<'a>,
        /// Column of each stored entry.
        indices: Ints<'a>,
        /// Value of each stored entry.
        data: Floats<'a>,
    },
    /// A row-major dense matrix.
    Dense {
        /// Rows × columns.
        shape: (usize, usize),
        /// `rows * cols` values.
        values: Floats<'a>,
    },
}

impl MemoryMatrix<'_> {
    /// Rows × columns.
    pub fn shape(&self) -> (usize, usize) {
        match self {
            MemoryMatrix::Csr { shape, .. } | MemoryMatrix::Dense { shape, .. } => *shape,
        }
    }

    /// Checks that the arrays describe a matrix of their shape; `name` labels the errors.
    pub fn validate(&self, name: &str) -> Result<(), IoError> {
        match *self {
            MemoryMatrix::Dense { shape, values } => {
                if values.len() != shape.0 * shape.1 {
                    return Err(IoError::format(
                        name,
                        "X",
                        format!(
                            "{} values for a {} x {} matrix",
                            values.len(),
                            shape.0,
                            shape.1
                        ),
                    ));
                }
            }
            MemoryMatrix::Csr {
                shape,
                indptr,
                indices,
                data,
            } => {
                if indptr.len() != shape.0 + 1 {
                    return Err(IoError::format(
                        name,
                        "X.indptr",
                        format!(
                            "{} entries, expected rows + 1 = {}",
                            indptr.len(),
                            shape.0 + 1
                        ),
                    ));
                }
                if indices.len() != data.len() {
                    return Err(IoError::format(
                        name,
                        "X.indices",
                        format!("{} entries but X.data has {}", indices.len(), data.len()),
                    ));
                }
                let mut last = 0i64;
                for i in 0..indptr.len() {
                    let p = indptr.get(i);
                    if p < last || (i == 0 && p != 0) || p as usize > data.len() {
                        return Err(IoError::format(
                            name,
                            "X.indptr",
                            format!(
                                "entry {i} = {p} is not a row pointer into {} stored values",
                                data.len()
                            ),
                        ));
                    }
                    last = p;
                }
                if last as usize != data.len() {
                    return Err(IoError::format(
                        name,
                        "X.indptr",
                        format!("ends at {last}, but X.data has {} values", data.len()),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The rows `rows` as a CSR block (`spare` supplies reusable buffers).
    fn block(
        &self,
        name: &str,
        rows: Range<usize>,
        spare: Option<(Vec<u64>, Vec<u32>, Vec<f32>)>,
    ) -> Result<Csr, IoError> {
        let (mut ptr, mut idx, mut val) = spare.unwrap_or_default();
        let block = match *self {
            MemoryMatrix::Dense { shape, values } => {
                values.copy_range(rows.start * shape.1..rows.end * shape.1, &mut val);
                Csr::from_dense(rows.len(), shape.1, &val)
            }
            MemoryMatrix::Csr {
                shape,
                indptr,
                indices,
                data,
            } => {
                let (s, e) = (
                    indptr.get(rows.start) as usize,
                    indptr.get(rows.end) as usize,
                );
                ptr.clear();
                ptr.extend((rows.start..=rows.end).map(|r| indptr.get(r) as u64 - s as u64));
                idx.clear();
                for i in s..e {
                    let c = indices.get(i);
                    if c < 0 || c as usize >= shape.1 {
                        return Err(IoError::format(
                            name,
                            "X.indices",
                            format!("entry {i} = {c} is outside 0..{}", shape.1),
                        ));
                    }
                    idx.push(c as u32);
                }
                data.copy_range(s..e, &mut val);
                Csr::from_parts(rows.len(), shape.1, ptr, idx, val)
            }
        };
        block.map_err(|e| IoError::format(name, "X", e.to_string()))
    }
}

/// Cells held in memory: `obs`, `var`, an optional `X` borrowed from its owner, and `uns`.
#[derive(Debug, Clone)]
pub struct MemoryCells<'a> {
    /// Label used in error messages, e.g. `predictions['ridge'] (AnnData in memory)`.
    pub name: String,
    /// Cell annotations.
    pub obs: Frame,
    /// Gene annotations (the index holds the gene names).
    pub var: Frame,
    /// The expression matrix.
    pub x: Option<MemoryMatrix<'a>>,
    /// Unstructured annotations.
    pub uns: BTreeMap<String, Uns>,
}

/// Row blocks of a [`MemoryMatrix`].
struct MemoryBlocks<'s, 'a> {
    cells: &'s MemoryCells<'a>,
    x: MemoryMatrix<'a>,
    step: usize,
    next: usize,
    spare: Option<(Vec<u64>, Vec<u32>, Vec<f32>)>,
}

impl Iterator for MemoryBlocks<'_, '_> {
    type Item = Result<(usize, Csr), IoError>;
    fn next(&mut self) -> Option<Self::Item> {
        let rows = self.x.shape().0;
        if self.next >= rows {
            return None;
        }
        let start = self.next;
        let end = (start + self.step).min(rows);
        self.next = end;
        let spare = self.spare.take();
        Some(
            self.x
                .block(&self.cells.name, start..end, spare)
                .map(|b| (start, b)),
        )
    }
}

impl RowBlocks for MemoryBlocks<'_, '_> {
    fn recycle(&mut self, block: Csr) {
        let (_, _, p, i, d) = block.into_parts();
        self.spare = Some((p, i, d));
    }
}

impl MemoryCells<'_> {
    fn frame(&self, key: &str) -> Result<&Frame, IoError> {
        match key {
            "obs" => Ok(&self.obs),
            "var" => Ok(&self.var),
            _ => Err(IoError::format(
                &self.name,
                key,
                "not found (only obs and var)",
            )),
        }
    }
    fn matrix(&self, key: &str) -> Result<MemoryMatrix<'_>, IoError> {
        match (key, self.x) {
            ("X", Some(x)) => Ok(x),
            _ => Err(IoError::format(&self.name, key, "not found")),
        }
    }
}

impl CellSource for MemoryCells<'_> {
    fn source_name(&self) -> String {
        self.name.clone()
    }
    fn read_frame(&self, key: &str) -> Result<Frame, IoError> {
        self.frame(key).cloned()
    }
    fn read_frame_columns(&self, key: &str, names: &[&str]) -> Result<Frame, IoError> {
        let f = self.frame(key)?;
        let mut out = Frame::with_index(Vec::new());
        out.index_name = f.index_name.clone();
        out.columns = f
            .columns
            .iter()
            .filter(|(n, _)| names.contains(&n.as_str()))
            .cloned()
            .collect();
        Ok(out)
    }
    fn has_x(&self) -> bool {
        self.x.is_some()
    }
    fn matrix_info(&self, key: &str) -> Result<MatrixInfo, IoError> {
        let x = self.matrix(key)?;
        let (encoding, stored, dtype) = match x {
            MemoryMatrix::Csr { data, .. } => (MatrixEncoding::Csr, data.len(), data.dtype()),
            MemoryMatrix::Dense { shape, values } => {
                (MatrixEncoding::Dense, shape.0 * shape.1, values.dtype())
            }
        };
        Ok(MatrixInfo {
            encoding,
            shape: x.shape(),
            stored,
            dtype: dtype.into(),
            compression: "none".into(),
        })
    }
    fn row_chunks(
        &self,
        key: &str,
        rows_per_chunk: usize,
    ) -> Result<Box<dyn RowBlocks + '_>, IoError> {
        let x = self.matrix(key)?;
        x.validate(&self.name)?;
        Ok(Box::new(MemoryBlocks {
            cells: self,
            x,
            step: rows_per_chunk.max(1),
            next: 0,
            spare: None,
        }))
    }
    fn read_matrix(&self, key: &str) -> Result<Csr, IoError> {
        let x = self.matrix(key)?;
        x.validate(&self.name)?;
        x.block(&self.name, 0..x.shape().0, None)
    }
    fn read_uns(&self) -> Result<BTreeMap<String, Uns>, IoError> {
        Ok(self.uns.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(x: MemoryMatrix<'_>) -> MemoryCells<'_> {
        MemoryCells {
            name: "test".into(),
            obs: Frame::with_index(vec!["a".into(), "b".into(), "c".into()]),
            var: Frame::with_index(vec!["g0".into(), "g1".into()]),
            x: Some(x),
            uns: BTreeMap::new(),
        }
    }

    fn dense_rows(src: &dyn CellSource) -> Vec<Vec<f32>> {
        let mut out = Vec::new();
        let mut blocks = src.row_chunks("X", 2).unwrap();
        while let Some(b) = blocks.next() {
            let (_, b) = b.unwrap();
            let d = b.to_dense();
            out.extend(d.chunks(2).map(<[f32]>::to_vec));
            blocks.recycle(b);
        }
        out
    }

    #[test]
    fn csr_and_dense_give_the_same_rows() {
        // [[1, 0], [0, 0], [2.5, 3]], with the last row's entries stored out of order.
        let indptr = [0i64, 1, 1, 3];
        let indices = [0i32, 1, 0];
        let data = [1.0f64, 3.0, 2.5];
        let csr = cells(MemoryMatrix::Csr {
            shape: (3, 2),
            indptr: Ints::I64(&indptr),
            indices: Ints::I32(&indices),
            data: Floats::F64(&data),
        });
        let values = [1.0f32, 0.0, 0.0, 0.0, 2.5, 3.0];
        let dense = cells(MemoryMatrix::Dense {
            shape: (3, 2),
            values: Floats::F32(&values),
        });
        let expected = vec![vec![1.0, 0.0], vec![0.0, 0.0], vec![2.5, 3.0]];
        assert_eq!(dense_rows(&csr), expected);
        assert_eq!(dense_rows(&dense), expected);
        assert_eq!(csr.matrix_info("X").unwrap().stored, 3);
    }

    #[test]
    fn bad_arrays_are_errors_naming_the_array() {
        let indptr = [0i32, 1, 5, 3];
        let indices = [0i32, 1, 0];
        let data = [1.0f32, 3.0, 2.5];
        let c = cells(MemoryMatrix::Csr {
            shape: (3, 2),
            indptr: Ints::I32(&indptr),
            indices: Ints::I32(&indices),
            data: Floats::F32(&data),
        });
        let e = c.row_chunks("X", 2).err().unwrap().to_string();
        assert!(e.contains("X.indptr"), "{e}");
        let bad_col = [0i32, 7, 0];
        let indptr = [0i32, 1, 1, 3];
        let c = cells(MemoryMatrix::Csr {
            shape: (3, 2),
            indptr: Ints::I32(&indptr),
            indices: Ints::I32(&bad_col),
            data: Floats::F32(&data),
        });
        let e = c.read_matrix("X").unwrap_err().to_string();
        assert!(e.contains("X.indices") && e.contains("7"), "{e}");
        let values = [1.0f32; 5];
        let d = cells(MemoryMatrix::Dense {
            shape: (3, 2),
            values: Floats::F32(&values),
        });
        assert!(d
            .read_matrix("X")
            .unwrap_err()
            .to_string()
            .contains("5 values"));
    }
}
