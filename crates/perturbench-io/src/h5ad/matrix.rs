//! Reading expression matrices (`X`, `layers/*`) in the `csr_matrix`, `csc_matrix` and dense
//! `array` encodings into canonical [`Csr`].

use super::H5adReader;
use crate::error::{H5Context, IoError};
use crate::h5util::{attr_ints, attr_string, encoding_type, kind_of, Kind};
use crate::Csr;
use hdf5::{Dataset, Group, LocationType};
use std::ops::Range;
use std::path::Path;

/// How a matrix is stored on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatrixEncoding {
    /// `csr_matrix` group.
    Csr,
    /// `csc_matrix` group.
    Csc,
    /// Dense 2-D `array` dataset.
    Dense,
}

impl std::fmt::Display for MatrixEncoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MatrixEncoding::Csr => "csr_matrix",
            MatrixEncoding::Csc => "csc_matrix",
            MatrixEncoding::Dense => "dense array",
        })
    }
}

/// What a matrix looks like on disk, without reading its values.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixInfo {
    /// Storage encoding.
    pub encoding: MatrixEncoding,
    /// Rows × columns.
    pub shape: (usize, usize),
    /// Stored entries (sparse) or `rows * cols` (dense).
    pub stored: usize,
    /// Element type on disk, e.g. `float64`.
    pub dtype: String,
    /// Compression filter of the values, e.g. `gzip`, or `none`.
    pub compression: String,
}

pub(super) enum Node {
    Sparse {
        group: Group,
        encoding: MatrixEncoding,
        shape: (usize, usize),
    },
    Dense(Dataset),
}

impl H5adReader {
    pub(super) fn matrix_node(&self, key: &str) -> Result<Node, IoError> {
        let path = self.path_str();
        if !self.file.link_exists(key) {
            return Err(IoError::format(path, key, "not found in the file"));
        }
        match self.file.loc_type_by_name(key).at(path, key)? {
            LocationType::Group => {
                let group = self.file.group(key).at(path, key)?;
                let enc = encoding_type(&group).at(path, key)?;
                let encoding = match enc.as_deref() {
                    Some("csr_matrix") => MatrixEncoding::Csr,
                    Some("csc_matrix") => MatrixEncoding::Csc,
                    Some(other) => {
                        return Err(IoError::format(
                            path,
                            key,
                            format!("encoding '{other}' is not a matrix; expected csr_matrix, csc_matrix or a dense array"),
                        ))
                    }
                    None => {
                        if attr_string(&group, "h5sparse_format").at(path, key)?.is_some() {
                            return Err(IoError::Legacy {
                                path: path.into(),
                                evidence: format!("{key} carries 'h5sparse_format' instead of 'encoding-type'"),
                            });
                        }
                        return Err(IoError::format(path, key, "group has no 'encoding-type' attribute; expected csr_matrix or csc_matrix"));
                    }
                };
                let shape = attr_ints(&group, "shape")
                    .at(path, key)?
                    .unwrap_or_default();
                if shape.len() != 2 || shape.iter().any(|&s| s < 0) {
                    return Err(IoError::format(
                        path,
                        key,
                        "missing or invalid 'shape' attribute; expected two non-negative integers",
                    ));
                }
                Ok(Node::Sparse {
                    group,
                    encoding,
                    shape: (shape[0] as usize, shape[1] as usize),
                })
            }
            LocationType::Dataset => {
                let ds = self.file.dataset(key).at(path, key)?;
                let nd = ds.ndim();
                if nd != 2 {
                    return Err(IoError::format(
                        path,
                        key,
                        format!("dense matrix has {nd} dimensions, expected 2"),
                    ));
                }
                Ok(Node::Dense(ds))
            }
            _ => Err(IoError::format(path, key, "neither a group nor a dataset")),
        }
    }

    /// Describes the matrix at `key` (`X` or `layers/NAME`) without reading its values.
    pub fn matrix_info(&self, key: &str) -> Result<MatrixInfo, IoError> {
        let path = self.path_str();
        match self.matrix_node(key)? {
            Node::Sparse {
                group,
                encoding,
                shape,
            } => {
                let data = sub_dataset(path, key, &group, "data")?;
                Ok(MatrixInfo {
                    encoding,
                    shape,
                    stored: data.size(),
                    dtype: kind_of(&data).at(path, key)?.name(),
                    compression: compression_name(&data),
                })
            }
            Node::Dense(ds) => {
                let s = ds.shape();
                Ok(MatrixInfo {
                    encoding: MatrixEncoding::Dense,
                    shape: (s[0], s[1]),
                    stored: s[0] * s[1],
                    dtype: kind_of(&ds).at(path, key)?.name(),
                    compression: compression_name(&ds),
                })
            }
        }
    }

    /// Reads the whole matrix at `key` (`X` or `layers/NAME`) as canonical `f32` CSR.
    pub fn read_matrix(&self, key: &str) -> Result<Csr, IoError> {
        let path = self.path_str();
        match self.matrix_node(key)? {
            Node::Sparse {
                group,
                encoding,
                shape,
            } => {
                let (major, minor) = match encoding {
                    MatrixEncoding::Csr => shape,
                    _ => (shape.1, shape.0),
                };
                let indptr = read_indptr(path, key, &group, major)?;
                let nnz = *indptr.last().unwrap_or(&0) as usize;
                let data = read_values(path, key, &group, 0..nnz)?;
                let indices = read_indices(path, key, &group, 0..nnz)?;
                let built = match encoding {
                    MatrixEncoding::Csr => Csr::from_parts(shape.0, shape.1, indptr, indices, data),
                    _ => Csr::from_csc_parts(shape.0, shape.1, indptr, indices, data),
                };
                let _ = minor;
                built.map_err(|e| IoError::format(path, key, e.to_string()))
            }
            Node::Dense(ds) => {
                check_numeric(path, key, &ds)?;
                let s = ds.shape();
                let v = ds.read_raw::<f32>().at(path, key)?;
                Csr::from_dense(s[0], s[1], &v)
                    .map_err(|e| IoError::format(path, key, e.to_string()))
            }
        }
    }

    /// The matrix at `key` as CSR arrays (row pointer, column indices, values read as
    /// `f64`), when its values are stored as `float64`: a CSR matrix as stored (rows possibly
    /// unsorted), a CSC one turned into rows (columns ascending within each row), a dense one
    /// keeping the entries that are non-zero in `float32` (the entries of
    /// [`read_matrix`](Self::read_matrix)); `None` for any other dtype. See
    /// [`Csr::with_exact`].
    #[allow(clippy::type_complexity)]
    pub fn read_matrix_f64_raw(
        &self,
        key: &str,
    ) -> Result<Option<(Vec<u64>, Vec<u32>, Vec<f64>)>, IoError> {
        let path = self.path_str();
        match self.matrix_node(key)? {
            Node::Sparse {
                group,
                encoding,
                shape,
            } => {
                let ds = sub_dataset(path, key, &group, "data")?;
                let full = format!("{key}/data");
                if kind_of(&ds).at(path, &full)? != Kind::Float(8) {
                    return Ok(None);
                }
                let major = match encoding {
                    MatrixEncoding::Csr => shape.0,
                    _ => shape.1,
                };
                let indptr = read_indptr(path, key, &group, major)?;
                let nnz = *indptr.last().unwrap_or(&0) as usize;
                let indices = read_indices(path, key, &group, 0..nnz)?;
                let values = match super::direct::read_whole::<f64>(Path::new(path), &ds) {
                    Some(r) => r.map_err(|m| IoError::format(path, &full, m))?,
                    None => ds.read_raw::<f64>().at(path, &full)?,
                };
                if values.len() != nnz {
                    return Err(IoError::format(path, &full, "length differs from indptr"));
                }
                Ok(Some(match encoding {
                    MatrixEncoding::Csr => (indptr, indices, values),
                    _ => csc_to_csr_rows(shape.0, &indptr, &indices, &values).ok_or_else(|| {
                        IoError::format(path, key, "inconsistent CSC arrays (indptr, indices)")
                    })?,
                }))
            }
            Node::Dense(ds) => {
                if kind_of(&ds).at(path, key)? != Kind::Float(8) {
                    return Ok(None);
                }
                let s = ds.shape();
                let v = ds.read_raw::<f64>().at(path, key)?;
                let (mut indptr, mut indices, mut values) = (vec![0u64], Vec::new(), Vec::new());
                for r in 0..s[0] {
                    for (c, &x) in v[r * s[1]..(r + 1) * s[1]].iter().enumerate() {
                        if x as f32 != 0.0 {
                            indices.push(c as u32);
                            values.push(x);
                        }
                    }
                    indptr.push(values.len() as u64);
                }
                Ok(Some((indptr, indices, values)))
            }
        }
    }

    /// Reads rows `rows` of the matrix at `key`; CSR and dense matrices read only those rows.
    pub fn read_matrix_rows(&self, key: &str, rows: Range<usize>) -> Result<Csr, IoError> {
        let path = self.path_str();
        match self.matrix_node(key)? {
            Node::Sparse {
                group,
                encoding: MatrixEncoding::Csr,
                shape,
            } => {
                if rows.end > shape.0 || rows.start > rows.end {
                    return Err(IoError::format(
                        path,
                        key,
                        format!("row range {rows:?} is outside 0..{}", shape.0),
                    ));
                }
                let indptr = read_indptr(path, key, &group, shape.0)?;
                let (s, e) = (indptr[rows.start] as usize, indptr[rows.end] as usize);
                let data = read_values(path, key, &group, s..e)?;
                let indices = read_indices(path, key, &group, s..e)?;
                let local: Vec<u64> = indptr[rows.start..=rows.end]
                    .iter()
                    .map(|&p| p - s as u64)
                    .collect();
                Csr::from_parts(rows.len(), shape.1, local, indices, data)
                    .map_err(|e| IoError::format(path, key, e.to_string()))
            }
            Node::Dense(ds) => {
                check_numeric(path, key, &ds)?;
                let s = ds.shape();
                if rows.end > s[0] || rows.start > rows.end {
                    return Err(IoError::format(
                        path,
                        key,
                        format!("row range {rows:?} is outside 0..{}", s[0]),
                    ));
                }
                let v = ds
                    .read_slice_2d::<f32, _>((rows.clone(), ..))
                    .at(path, key)?;
                let v: Vec<f32> = v.iter().copied().collect();
                Csr::from_dense(rows.len(), s[1], &v)
                    .map_err(|e| IoError::format(path, key, e.to_string()))
            }
            Node::Sparse { .. } => {
                let all = self.read_matrix(key)?;
                if rows.end > all.nrows() || rows.start > rows.end {
                    return Err(IoError::format(
                        path,
                        key,
                        format!("row range {rows:?} is outside 0..{}", all.nrows()),
                    ));
                }
                Ok(all.select_rows(&rows.collect::<Vec<_>>()))
            }
        }
    }
}

/// CSC arrays (`nrows` rows) as CSR arrays: each row's entries in ascending column order,
/// in the order of the stored entries within a column; `None` if the arrays are inconsistent
/// (a decreasing or short column pointer, a row index out of range).
fn csc_to_csr_rows(
    nrows: usize,
    indptr: &[u64],
    rows: &[u32],
    values: &[f64],
) -> Option<(Vec<u64>, Vec<u32>, Vec<f64>)> {
    if indptr.windows(2).any(|w| w[0] > w[1]) || indptr.last().copied() != Some(rows.len() as u64) {
        return None;
    }
    let mut ptr = vec![0u64; nrows + 1];
    for &r in rows {
        *ptr.get_mut(r as usize + 1)? += 1;
    }
    for r in 0..nrows {
        ptr[r + 1] += ptr[r];
    }
    let mut next: Vec<u64> = ptr[..nrows].to_vec();
    let (mut cols, mut vals) = (vec![0u32; rows.len()], vec![0f64; rows.len()]);
    for c in 0..indptr.len().saturating_sub(1) {
        for k in indptr[c] as usize..indptr[c + 1] as usize {
            let r = rows[k] as usize;
            let p = next[r] as usize;
            cols[p] = c as u32;
            vals[p] = values[k];
            next[r] += 1;
        }
    }
    Some((ptr, cols, vals))
}

fn sub_dataset(path: &str, key: &str, group: &Group, name: &str) -> Result<Dataset, IoError> {
    let full = format!("{key}/{name}");
    if !group.link_exists(name) {
        return Err(IoError::format(
            path,
            &full,
            "missing; a sparse matrix needs data, indices and indptr",
        ));
    }
    group.dataset(name).at(path, &full)
}

fn check_numeric(path: &str, key: &str, ds: &Dataset) -> Result<(), IoError> {
    let k = kind_of(ds).at(path, key)?;
    if !k.is_numeric() {
        return Err(IoError::format(
            path,
            key,
            format!("values have type {}, expected numbers", k.name()),
        ));
    }
    Ok(())
}

fn read_indptr(path: &str, key: &str, group: &Group, major: usize) -> Result<Vec<u64>, IoError> {
    let ds = sub_dataset(path, key, group, "indptr")?;
    let full = format!("{key}/indptr");
    if !matches!(kind_of(&ds).at(path, &full)?, Kind::Int(_) | Kind::UInt(_)) {
        return Err(IoError::format(path, &full, "expected integers"));
    }
    let v = ds.read_raw::<i64>().at(path, &full)?;
    if v.len() != major + 1 {
        return Err(IoError::format(
            path,
            &full,
            format!(
                "has {} entries, expected {} (from the shape attribute)",
                v.len(),
                major + 1
            ),
        ));
    }
    if let Some(i) = v.iter().position(|&p| p < 0) {
        return Err(IoError::format(
            path,
            &full,
            format!("negative entry at position {i}"),
        ));
    }
    Ok(v.into_iter().map(|p| p as u64).collect())
}

fn read_values(
    path: &str,
    key: &str,
    group: &Group,
    range: Range<usize>,
) -> Result<Vec<f32>, IoError> {
    let ds = sub_dataset(path, key, group, "data")?;
    let full = format!("{key}/data");
    check_numeric(path, &full, &ds)?;
    check_len(path, &full, &ds, range.end)?;
    if range.start == 0 && range.end == ds.size() {
        match super::direct::read_whole::<f32>(Path::new(path), &ds) {
            Some(r) => r.map_err(|m| IoError::format(path, &full, m)),
            None => ds.read_raw::<f32>().at(path, &full),
        }
    } else {
        Ok(ds.read_slice_1d::<f32, _>(range).at(path, &full)?.to_vec())
    }
}

fn read_indices(
    path: &str,
    key: &str,
    group: &Group,
    range: Range<usize>,
) -> Result<Vec<u32>, IoError> {
    let ds = sub_dataset(path, key, group, "indices")?;
    let full = format!("{key}/indices");
    check_len(path, &full, &ds, range.end)?;
    let whole = range.start == 0 && range.end == ds.size();
    match kind_of(&ds).at(path, &full)? {
        // Negative int32 values become huge u32 values and fail the column range check later.
        Kind::Int(4) | Kind::UInt(4) => {
            if whole {
                if let Some(r) = super::direct::read_whole::<u32>(Path::new(path), &ds) {
                    return r.map_err(|m| IoError::format(path, &full, m));
                }
            }
            let v: Vec<i32> = if whole {
                ds.read_raw::<i32>().at(path, &full)?
            } else {
                ds.read_slice_1d::<i32, _>(range).at(path, &full)?.to_vec()
            };
            Ok(v.into_iter().map(|x| x as u32).collect())
        }
        Kind::Int(_) | Kind::UInt(_) => {
            let v: Vec<i64> = if whole {
                match super::direct::read_whole::<i64>(Path::new(path), &ds) {
                    Some(r) => r.map_err(|m| IoError::format(path, &full, m))?,
                    None => ds.read_raw::<i64>().at(path, &full)?,
                }
            } else {
                ds.read_slice_1d::<i64, _>(range).at(path, &full)?.to_vec()
            };
            v.into_iter()
                .map(|x| {
                    u32::try_from(x).map_err(|_| {
                        IoError::format(
                            path,
                            &full,
                            format!("index {x} is outside the supported range 0..2^32"),
                        )
                    })
                })
                .collect()
        }
        k => Err(IoError::format(
            path,
            &full,
            format!("has type {}, expected integers", k.name()),
        )),
    }
}

fn check_len(path: &str, key: &str, ds: &Dataset, need: usize) -> Result<(), IoError> {
    if ds.size() < need {
        return Err(IoError::format(
            path,
            key,
            format!("has {} entries, but indptr needs {need}", ds.size()),
        ));
    }
    Ok(())
}

fn compression_name(ds: &Dataset) -> String {
    let names: Vec<String> = ds
        .filters()
        .iter()
        .map(|f| match f {
            hdf5::filters::Filter::Deflate(l) => format!("gzip({l})"),
            hdf5::filters::Filter::Shuffle => "shuffle".into(),
            other => format!("{other:?}").to_lowercase(),
        })
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join("+")
    }
}

/// Rows of a matrix read a block at a time (see [`H5adReader::row_chunks`]).
pub struct RowChunks<'a> {
    reader: &'a H5adReader,
    key: String,
    rows: usize,
    cols: usize,
    step: usize,
    next: usize,
    source: ChunkSource,
    spare: Option<(Vec<u64>, Vec<u32>, Vec<f32>)>,
    /// Non-zeros of the largest block: buffers are sized for it once, never regrown.
    max_block_nnz: usize,
}

enum ChunkSource {
    /// CSR stored in the file: the row pointer and direct (or HDF5) access to the arrays.
    Csr {
        indptr: Vec<u64>,
        data: (Dataset, Option<super::direct::Layout>),
        indices: (Dataset, Option<super::direct::Layout>),
        file: std::fs::File,
    },
    /// Other encodings: the whole matrix, handed out in slices.
    Whole(Csr),
}

impl H5adReader {
    /// Iterates over the rows of the matrix at `key` in blocks of `rows_per_chunk`, yielding
    /// `(first row, block)`. For CSR matrices only one block is in memory at a time; other
    /// encodings are read whole first.
    pub fn row_chunks(&self, key: &str, rows_per_chunk: usize) -> Result<RowChunks<'_>, IoError> {
        let path = self.path_str();
        let step = rows_per_chunk.max(1);
        match self.matrix_node(key)? {
            Node::Sparse {
                group,
                encoding: MatrixEncoding::Csr,
                shape,
            } => {
                let indptr = read_indptr(path, key, &group, shape.0)?;
                let nnz = *indptr.last().unwrap_or(&0) as usize;
                let data = sub_dataset(path, key, &group, "data")?;
                check_numeric(path, &format!("{key}/data"), &data)?;
                check_len(path, &format!("{key}/data"), &data, nnz)?;
                let indices = sub_dataset(path, key, &group, "indices")?;
                check_len(path, &format!("{key}/indices"), &indices, nnz)?;
                let file = std::fs::File::open(self.path()).map_err(|source| IoError::Open {
                    path: path.to_string(),
                    source,
                })?;
                let dl = super::direct::Layout::of(&data);
                let il = super::direct::Layout::of(&indices);
                let max_block_nnz = (0..shape.0)
                    .step_by(step)
                    .map(|s| (indptr[(s + step).min(shape.0)] - indptr[s]) as usize)
                    .max()
                    .unwrap_or(0);
                Ok(RowChunks {
                    reader: self,
                    key: key.to_string(),
                    rows: shape.0,
                    cols: shape.1,
                    step,
                    next: 0,
                    source: ChunkSource::Csr {
                        indptr,
                        data: (data, dl),
                        indices: (indices, il),
                        file,
                    },
                    spare: None,
                    max_block_nnz,
                })
            }
            _ => {
                let m = self.read_matrix(key)?;
                Ok(RowChunks {
                    reader: self,
                    key: key.to_string(),
                    rows: m.nrows(),
                    cols: m.ncols(),
                    step,
                    next: 0,
                    source: ChunkSource::Whole(m),
                    spare: None,
                    max_block_nnz: 0,
                })
            }
        }
    }
}

impl RowChunks<'_> {
    /// Number of rows of the whole matrix.
    pub fn nrows(&self) -> usize {
        self.rows
    }
    /// Number of columns.
    pub fn ncols(&self) -> usize {
        self.cols
    }

    /// Hands a finished block back so that the next block reuses its memory.
    pub fn recycle(&mut self, block: Csr) {
        let (_, _, p, i, d) = block.into_parts();
        self.spare = Some((p, i, d));
    }

    fn block(&mut self, rows: Range<usize>) -> Result<Csr, IoError> {
        let path = self.reader.path_str();
        let key = &self.key;
        let (mut local, mut idx_buf, mut val_buf) = self.spare.take().unwrap_or_else(|| {
            (
                Vec::with_capacity(self.step + 1),
                Vec::with_capacity(self.max_block_nnz),
                Vec::with_capacity(self.max_block_nnz),
            )
        });
        match &self.source {
            ChunkSource::Whole(m) => Ok(m.select_rows(&rows.collect::<Vec<_>>())),
            ChunkSource::Csr {
                indptr,
                data,
                indices,
                file,
            } => {
                let (s, e) = (indptr[rows.start] as usize, indptr[rows.end] as usize);
                let dkey = format!("{key}/data");
                let ikey = format!("{key}/indices");
                let read_values = move || -> Result<Vec<f32>, IoError> {
                    Ok(match &data.1 {
                        Some(l) => {
                            l.read_range_into(file, s..e, &mut val_buf)
                                .map_err(|m| IoError::format(path, &dkey, m))?;
                            val_buf
                        }
                        None => data
                            .0
                            .read_slice_1d::<f32, _>(s..e)
                            .at(path, &dkey)?
                            .to_vec(),
                    })
                };
                let read_indices = move || -> Result<Vec<u32>, IoError> {
                    Ok(match (&indices.1, kind_of(&indices.0).at(path, &ikey)?) {
                        (Some(l), Kind::Int(4) | Kind::UInt(4)) => {
                            l.read_range_into(file, s..e, &mut idx_buf)
                                .map_err(|m| IoError::format(path, &ikey, m))?;
                            idx_buf
                        }
                        (_, Kind::Int(_) | Kind::UInt(_)) => {
                            let v = indices.0.read_slice_1d::<i64, _>(s..e).at(path, &ikey)?;
                            v.iter()
                                .map(|&x| {
                                    u32::try_from(x).map_err(|_| {
                                        IoError::format(
                                            path,
                                            &ikey,
                                            format!("index {x} is outside 0..2^32"),
                                        )
                                    })
                                })
                                .collect::<Result<_, _>>()?
                        }
                        (_, k) => {
                            return Err(IoError::format(
                                path,
                                &ikey,
                                format!("has type {}, expected integers", k.name()),
                            ))
                        }
                    })
                };
                // Values and indices are independent reads: one on each thread.
                let (values, idx) = rayon::join(read_values, read_indices);
                let (values, idx) = (values?, idx?);
                local.clear();
                local.extend(indptr[rows.start..=rows.end].iter().map(|&p| p - s as u64));
                Csr::from_parts(rows.len(), self.cols, local, idx, values)
                    .map_err(|e| IoError::format(path, key, e.to_string()))
            }
        }
    }
}

impl Iterator for RowChunks<'_> {
    type Item = Result<(usize, Csr), IoError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.rows {
            return None;
        }
        let start = self.next;
        let end = (start + self.step).min(self.rows);
        self.next = end;
        Some(self.block(start..end).map(|b| (start, b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csc_arrays_become_rows_in_the_transposed_order() {
        // 3 × 3, by column: col 0 = {row 2: a, row 0: b} (rows unsorted), col 1 = {},
        // col 2 = {row 0: c}. Rows: row 0 = (0, b), (2, c); row 1 empty; row 2 = (0, a).
        let (a, b, c) = (0.1f64, 0.2, 0.3);
        let got = csc_to_csr_rows(3, &[0, 2, 2, 3], &[2, 0, 0], &[a, b, c]).unwrap();
        assert_eq!(got, (vec![0, 2, 2, 3], vec![0, 2, 0], vec![b, c, a]));
        // The f32 reading of the same arrays puts its values at the same positions.
        let m = Csr::from_csc_parts(3, 3, vec![0, 2, 2, 3], vec![2, 0, 0], vec![0.1, 0.2, 0.3])
            .unwrap();
        assert_eq!((m.indptr(), m.indices()), (&got.0[..], &got.1[..]));
        assert!(m.with_exact(&got.0, &got.1, &got.2).is_ok());
        // Inconsistent arrays: a row out of range, a decreasing or short column pointer.
        assert!(csc_to_csr_rows(2, &[0, 1], &[2], &[a]).is_none());
        assert!(csc_to_csr_rows(3, &[0, 2, 1, 3], &[0, 1, 2], &[a, b, c]).is_none());
        assert!(csc_to_csr_rows(3, &[0, 1], &[0, 1], &[a, b]).is_none());
    }
}
