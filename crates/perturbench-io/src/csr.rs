//! Compressed sparse row matrix of `f32`, the in-memory form of every expression matrix.

use rayon::prelude::*;
use std::sync::Arc;

/// Why a set of CSR arrays could not form a matrix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CsrError {
    /// `indptr` does not have `nrows + 1` entries.
    #[error("indptr has {got} entries, expected nrows + 1 = {expected}")]
    IndptrLength { got: usize, expected: usize },
    /// `indptr` does not start at 0, decreases, or does not end at `nnz`.
    #[error("indptr is not a valid row pointer (must start at 0, never decrease and end at nnz = {nnz}); first problem at row {row}")]
    IndptrInvalid { row: usize, nnz: usize },
    /// `indices` and `data` differ in length.
    #[error("indices has {indices} entries but data has {data}")]
    LengthMismatch { indices: usize, data: usize },
    /// A column index is outside `0..ncols`.
    #[error("column index {index} in row {row} is out of range for {ncols} columns")]
    IndexOutOfRange {
        row: usize,
        index: u64,
        ncols: usize,
    },
    /// A dense buffer does not have `nrows * ncols` values.
    #[error("dense buffer has {got} values, expected {nrows} x {ncols}")]
    DenseLength {
        got: usize,
        nrows: usize,
        ncols: usize,
    },
}

/// A canonical CSR matrix: rows are cells, columns are genes; within each row the column
/// indices are strictly increasing (sorted, no duplicates). Explicit zeros are kept as stored.
/// Matrices made from one another with the same sparsity pattern (clones, [`Csr::map_rows`])
/// share its arrays until one of them changes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    nrows: usize,
    ncols: usize,
    indptr: Arc<Vec<u64>>,
    indices: Arc<Vec<u32>>,
    data: Vec<f32>,
    /// The values at full precision when the file stored them as `float64` (same positions
    /// as `data`); kept by [`Csr::select_rows`] and [`Clone`], dropped by anything that
    /// changes or rebuilds the values.
    exact: Option<Arc<Vec<f64>>>,
}

/// The vector behind `a`, copied only when it is shared.
fn unshare<T: Clone>(a: Arc<Vec<T>>) -> Vec<T> {
    Arc::try_unwrap(a).unwrap_or_else(|a| a.as_ref().clone())
}

/// A vector `a` that no other matrix shares, so it can be changed in place: a shared one is
/// first copied on all cores.
fn owned<T: Copy + Send + Sync>(a: &mut Arc<Vec<T>>) -> &mut Vec<T> {
    if Arc::strong_count(a) > 1 {
        *a = Arc::new(crate::bigvec::big_copy(a));
    }
    Arc::get_mut(a).expect("just made unique")
}

impl Csr {
    /// Builds a matrix from raw CSR arrays, validating them and making them canonical
    /// (indices sorted within rows, duplicate entries summed), as scipy's `sum_duplicates` does.
    pub fn from_parts(
        nrows: usize,
        ncols: usize,
        indptr: Vec<u64>,
        indices: Vec<u32>,
        data: Vec<f32>,
    ) -> Result<Self, CsrError> {
        if indptr.len() != nrows + 1 {
            return Err(CsrError::IndptrLength {
                got: indptr.len(),
                expected: nrows + 1,
            });
        }
        if indices.len() != data.len() {
            return Err(CsrError::LengthMismatch {
                indices: indices.len(),
                data: data.len(),
            });
        }
        let nnz = data.len();
        if indptr[0] != 0 {
            return Err(CsrError::IndptrInvalid { row: 0, nnz });
        }
        for r in 0..nrows {
            if indptr[r + 1] < indptr[r] || indptr[r + 1] as usize > nnz {
                return Err(CsrError::IndptrInvalid { row: r, nnz });
            }
        }
        if indptr[nrows] as usize != nnz {
            return Err(CsrError::IndptrInvalid { row: nrows, nnz });
        }
        let mut m = Csr {
            nrows,
            ncols,
            indptr: Arc::new(indptr),
            indices: Arc::new(indices),
            data,
            exact: None,
        };
        if !m.check_rows()? {
            m.canonicalize();
        }
        Ok(m)
    }

    /// An all-zero matrix.
    pub fn zeros(nrows: usize, ncols: usize) -> Self {
        Csr {
            nrows,
            ncols,
            indptr: Arc::new(vec![0; nrows + 1]),
            indices: Arc::new(Vec::new()),
            data: Vec::new(),
            exact: None,
        }
    }

    /// Builds a matrix from a row-major dense buffer, keeping only the non-zero values.
    pub fn from_dense(nrows: usize, ncols: usize, values: &[f32]) -> Result<Self, CsrError> {
        if values.len() != nrows * ncols {
            return Err(CsrError::DenseLength {
                got: values.len(),
                nrows,
                ncols,
            });
        }
        let mut indptr = Vec::with_capacity(nrows + 1);
        let mut indices = Vec::new();
        let mut data = Vec::new();
        indptr.push(0u64);
        for r in 0..nrows {
            for (c, &v) in values[r * ncols..(r + 1) * ncols].iter().enumerate() {
                if v != 0.0 {
                    indices.push(c as u32);
                    data.push(v);
                }
            }
            indptr.push(data.len() as u64);
        }
        Ok(Csr {
            nrows,
            ncols,
            indptr: Arc::new(indptr),
            indices: Arc::new(indices),
            data,
            exact: None,
        })
    }

    /// Builds the CSR form of a matrix given in CSC arrays (`indptr` over columns, `indices` = rows).
    pub fn from_csc_parts(
        nrows: usize,
        ncols: usize,
        indptr: Vec<u64>,
        indices: Vec<u32>,
        data: Vec<f32>,
    ) -> Result<Self, CsrError> {
        // A CSC matrix is the CSR form of the transpose: validate it as such, then transpose.
        let t = Csr::from_parts(ncols, nrows, indptr, indices, data)?;
        Ok(t.transpose())
    }

    /// Checks every column index against the column count, in one pass over the indices,
    /// and says whether every row is already strictly increasing (canonical).
    fn check_rows(&self) -> Result<bool, CsrError> {
        let ncols = self.ncols as u64;
        let unsorted = std::sync::atomic::AtomicBool::new(false);
        let row = |r: usize| &self.indices[self.indptr[r] as usize..self.indptr[r + 1] as usize];
        let bad = (0..self.nrows)
            .into_par_iter()
            .with_min_len(64)
            .find_first(|&r| {
                let idx = row(r);
                // Branch-free so that it vectorises; a strictly increasing row is in range
                // when its last index is.
                let sorted = idx.windows(2).fold(true, |ok, w| ok & (w[0] < w[1]));
                if sorted {
                    return idx.last().is_some_and(|&c| c as u64 >= ncols);
                }
                unsorted.store(true, std::sync::atomic::Ordering::Relaxed);
                idx.iter().any(|&c| c as u64 >= ncols)
            });
        if let Some(r) = bad {
            let index = row(r).iter().find(|&&c| c as u64 >= ncols).copied();
            return Err(CsrError::IndexOutOfRange {
                row: r,
                index: index.unwrap_or_default() as u64,
                ncols: self.ncols,
            });
        }
        Ok(!unsorted.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Sorts indices within rows and sums duplicates (in parallel over rows).
    fn canonicalize(&mut self) {
        self.exact = None;
        let nrows = self.nrows;
        let needs_work = (0..nrows).into_par_iter().any(|r| {
            let (s, e) = (self.indptr[r] as usize, self.indptr[r + 1] as usize);
            self.indices[s..e].windows(2).any(|w| w[0] >= w[1])
        });
        if !needs_work {
            return;
        }
        // Sort every row in place (parallel over disjoint row slices).
        {
            let mut idx_rows = split_rows_mut(owned(&mut self.indices), &self.indptr);
            let mut dat_rows = split_rows_mut(&mut self.data, &self.indptr);
            idx_rows
                .par_iter_mut()
                .zip(dat_rows.par_iter_mut())
                .for_each(|(idx, dat)| {
                    if idx.windows(2).all(|w| w[0] < w[1]) {
                        return;
                    }
                    let mut pairs: Vec<(u32, f32)> =
                        idx.iter().copied().zip(dat.iter().copied()).collect();
                    pairs.sort_by_key(|p| p.0);
                    for (k, (c, v)) in pairs.into_iter().enumerate() {
                        idx[k] = c;
                        dat[k] = v;
                    }
                });
        }
        let has_dups = (0..nrows).into_par_iter().any(|r| {
            let (s, e) = (self.indptr[r] as usize, self.indptr[r + 1] as usize);
            self.indices[s..e].windows(2).any(|w| w[0] == w[1])
        });
        if !has_dups {
            return;
        }
        // Sum duplicates, compacting in place (sequential: rare in practice).
        let mut write = 0usize;
        let mut new_indptr = Vec::with_capacity(nrows + 1);
        new_indptr.push(0u64);
        let indices = owned(&mut self.indices);
        for r in 0..nrows {
            let (s, e) = (self.indptr[r] as usize, self.indptr[r + 1] as usize);
            let row_start = write;
            for k in s..e {
                let c = indices[k];
                let v = self.data[k];
                if write > row_start && indices[write - 1] == c {
                    self.data[write - 1] += v;
                } else {
                    indices[write] = c;
                    self.data[write] = v;
                    write += 1;
                }
            }
            new_indptr.push(write as u64);
        }
        indices.truncate(write);
        self.data.truncate(write);
        self.indptr = Arc::new(new_indptr);
    }

    /// Number of rows (cells).
    pub fn nrows(&self) -> usize {
        self.nrows
    }
    /// Number of columns (genes).
    pub fn ncols(&self) -> usize {
        self.ncols
    }
    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.data.len()
    }
    /// Row pointer, `nrows + 1` entries.
    pub fn indptr(&self) -> &[u64] {
        &self.indptr
    }
    /// Column index of every stored entry.
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }
    /// Value of every stored entry.
    pub fn data(&self) -> &[f32] {
        &self.data
    }
    /// Mutable values (the sparsity pattern stays fixed); the full-precision values are
    /// dropped.
    pub fn data_mut(&mut self) -> &mut [f32] {
        self.exact = None;
        &mut self.data
    }
    /// The stored values at full precision, when the file held `float64` values
    /// ([`Csr::with_exact`]).
    pub fn exact(&self) -> Option<&[f64]> {
        self.exact.as_deref().map(Vec::as_slice)
    }
    /// The matrix with its values at full precision attached, from the arrays it was read
    /// from (`indptr`, `indices` and the values as `f64`, rows possibly unsorted): each row
    /// is sorted by column as the matrix was, and must then hold the matrix's columns with
    /// values rounding to its `f32` values (so it is the same matrix, read in `float64`).
    /// Otherwise (different arrays, or duplicate entries, whose `f32` sums may differ) the
    /// matrix comes back unchanged, as `Err`.
    pub fn with_exact(
        mut self,
        indptr: &[u64],
        indices: &[u32],
        values: &[f64],
    ) -> Result<Self, Self> {
        if indptr.len() != self.nrows + 1
            || indices.len() != values.len()
            || values.len() != self.data.len()
            || indptr.last().map(|&p| p as usize) != Some(values.len())
        {
            return Err(self);
        }
        let mut exact = vec![0f64; values.len()];
        let same = (0..self.nrows).all(|r| {
            let (s, e) = (indptr[r] as usize, indptr[r + 1] as usize);
            let (ms, me) = (self.indptr[r] as usize, self.indptr[r + 1] as usize);
            if s > e || e > values.len() || me - ms != e - s || ms != s {
                return false;
            }
            let mut pairs: Vec<(u32, f64)> = indices[s..e]
                .iter()
                .copied()
                .zip(values[s..e].iter().copied())
                .collect();
            if pairs.windows(2).any(|w| w[0].0 >= w[1].0) {
                pairs.sort_by_key(|p| p.0);
            }
            let (idx, dat) = (&self.indices[s..e], &self.data[s..e]);
            pairs.iter().enumerate().all(|(k, &(c, v))| {
                exact[s + k] = v;
                c == idx[k] && (v as f32).to_bits() == dat[k].to_bits()
            })
        });
        if !same {
            return Err(self);
        }
        self.exact = Some(Arc::new(exact));
        Ok(self)
    }
    /// Column indices and values of row `r`.
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (s, e) = (self.indptr[r] as usize, self.indptr[r + 1] as usize);
        (&self.indices[s..e], &self.data[s..e])
    }
    /// Decomposes the matrix into `(nrows, ncols, indptr, indices, data)`.
    pub fn into_parts(self) -> (usize, usize, Vec<u64>, Vec<u32>, Vec<f32>) {
        (
            self.nrows,
            self.ncols,
            unshare(self.indptr),
            unshare(self.indices),
            self.data,
        )
    }

    /// Sum of all values, accumulated in `f64`.
    pub fn sum(&self) -> f64 {
        self.data.par_iter().map(|&v| v as f64).sum()
    }

    /// The transposed matrix (also canonical).
    pub fn transpose(&self) -> Csr {
        let mut counts = vec![0u64; self.ncols + 1];
        for &c in self.indices.iter() {
            counts[c as usize + 1] += 1;
        }
        for i in 0..self.ncols {
            counts[i + 1] += counts[i];
        }
        let indptr = counts.clone();
        let mut next = counts;
        let mut indices = vec![0u32; self.nnz()];
        let mut data = vec![0f32; self.nnz()];
        for r in 0..self.nrows {
            let (idx, val) = self.row(r);
            for (&c, &v) in idx.iter().zip(val) {
                let p = next[c as usize] as usize;
                indices[p] = r as u32;
                data[p] = v;
                next[c as usize] += 1;
            }
        }
        Csr {
            nrows: self.ncols,
            ncols: self.nrows,
            indptr: Arc::new(indptr),
            indices: Arc::new(indices),
            data,
            exact: None,
        }
    }

    /// A new matrix holding the given rows, in the given order.
    pub fn select_rows(&self, rows: &[usize]) -> Csr {
        let mut indptr = Vec::with_capacity(rows.len() + 1);
        indptr.push(0u64);
        let mut total = 0u64;
        for &r in rows {
            total += self.indptr[r + 1] - self.indptr[r];
            indptr.push(total);
        }
        let mut indices = Vec::with_capacity(total as usize);
        let mut data = Vec::with_capacity(total as usize);
        for &r in rows {
            let (i, d) = self.row(r);
            indices.extend_from_slice(i);
            data.extend_from_slice(d);
        }
        let exact = self.exact.as_ref().map(|v| {
            let mut e = Vec::with_capacity(total as usize);
            for &r in rows {
                e.extend_from_slice(&v[self.indptr[r] as usize..self.indptr[r + 1] as usize]);
            }
            Arc::new(e)
        });
        Csr {
            nrows: rows.len(),
            ncols: self.ncols,
            indptr: Arc::new(indptr),
            indices: Arc::new(indices),
            data,
            exact,
        }
    }

    /// A new matrix holding the given columns, renumbered in the given order.
    /// Each column may appear at most once; columns not listed are dropped.
    pub fn select_cols(&self, cols: &[usize]) -> Csr {
        let mut map = vec![u32::MAX; self.ncols];
        for (new, &old) in cols.iter().enumerate() {
            map[old] = new as u32;
        }
        let sorted = cols.windows(2).all(|w| w[0] < w[1]);
        // Pass 1: entries kept per row; pass 2: fill disjoint row ranges in parallel.
        let counts: Vec<u64> = (0..self.nrows)
            .into_par_iter()
            .map(|r| {
                self.row(r)
                    .0
                    .iter()
                    .filter(|&&c| map[c as usize] != u32::MAX)
                    .count() as u64
            })
            .collect();
        let mut indptr = Vec::with_capacity(self.nrows + 1);
        indptr.push(0u64);
        let mut total = 0u64;
        for c in &counts {
            total += c;
            indptr.push(total);
        }
        let mut indices = vec![0u32; total as usize];
        let mut data = vec![0f32; total as usize];
        {
            let idx_rows = split_rows_mut(&mut indices, &indptr);
            let dat_rows = split_rows_mut(&mut data, &indptr);
            idx_rows
                .into_par_iter()
                .zip(dat_rows)
                .enumerate()
                .for_each(|(r, (oi, od))| {
                    let (idx, val) = self.row(r);
                    let mut k = 0;
                    for (&c, &v) in idx.iter().zip(val) {
                        let m = map[c as usize];
                        if m != u32::MAX {
                            oi[k] = m;
                            od[k] = v;
                            k += 1;
                        }
                    }
                    if !sorted {
                        let mut pairs: Vec<(u32, f32)> =
                            oi.iter().copied().zip(od.iter().copied()).collect();
                        pairs.sort_by_key(|p| p.0);
                        for (k, (c, v)) in pairs.into_iter().enumerate() {
                            oi[k] = c;
                            od[k] = v;
                        }
                    }
                });
        }
        Csr {
            nrows: self.nrows,
            ncols: cols.len(),
            indptr: Arc::new(indptr),
            indices: Arc::new(indices),
            data,
            exact: None,
        }
    }

    /// Whether `other` has the same shape and the same stored positions (values may differ).
    pub fn same_pattern(&self, other: &Csr) -> bool {
        const PIECE: usize = 1 << 20;
        let shared =
            Arc::ptr_eq(&self.indices, &other.indices) && Arc::ptr_eq(&self.indptr, &other.indptr);
        self.nrows == other.nrows
            && self.ncols == other.ncols
            && (shared
                || (self.indptr == other.indptr
                    && self.indices.len() == other.indices.len()
                    && self
                        .indices
                        .par_chunks(PIECE)
                        .zip(other.indices.par_chunks(PIECE))
                        .all(|(a, b)| a == b)))
    }

    /// A matrix with this one's sparsity pattern whose row `r` holds the values `f(r, values,
    /// out)` writes into `out` from this row's `values`; rows are computed on all cores.
    pub fn map_rows<F>(&self, f: F) -> Csr
    where
        F: Fn(usize, &[f32], &mut [f32]) + Sync,
    {
        let mut data = crate::bigvec::big_vec::<f32>(self.data.len());
        let bounds = self.row_blocks(8);
        let outs = split_rows_mut(&mut data, &self.block_ptr(&bounds));
        let jobs: Vec<_> = bounds
            .windows(2)
            .zip(outs)
            .map(|(w, out)| (w[0], w[1], out))
            .collect();
        jobs.into_par_iter().for_each(|(r0, r1, out)| {
            let base = self.indptr[r0] as usize;
            for r in r0..r1 {
                let (s, e) = (self.indptr[r] as usize, self.indptr[r + 1] as usize);
                f(r, &self.data[s..e], &mut out[s - base..e - base]);
            }
        });
        Csr {
            nrows: self.nrows,
            ncols: self.ncols,
            indptr: Arc::clone(&self.indptr),
            indices: Arc::clone(&self.indices),
            data,
            exact: None,
        }
    }

    /// Keeps only the columns `cols` (strictly increasing), renumbered 0.., in place: the
    /// same result as [`Csr::select_cols`] without allocating a second matrix.
    ///
    /// # Panics
    /// When `cols` is not strictly increasing or names a column outside the matrix.
    pub fn retain_cols(&mut self, cols: &[usize]) {
        assert!(
            cols.windows(2).all(|w| w[0] < w[1]) && cols.last().is_none_or(|&c| c < self.ncols),
            "retain_cols needs strictly increasing columns within the matrix"
        );
        if cols.len() == self.ncols {
            return;
        }
        self.exact = None;
        let mut map = vec![u32::MAX; self.ncols];
        for (new, &old) in cols.iter().enumerate() {
            map[old] = new as u32;
        }
        // Blocks of whole rows compact their own storage in parallel (each block writes only
        // within its old range, from its start); the blocks are then moved down in order.
        let bounds = self.row_blocks(4);
        let block_ptr = self.block_ptr(&bounds);
        let mut new_counts = vec![0u64; self.nrows];
        let indices = owned(&mut self.indices);
        {
            let counts_ptr: Vec<u64> = bounds.iter().map(|&r| r as u64).collect();
            let jobs: Vec<_> = bounds
                .iter()
                .zip(split_rows_mut(indices, &block_ptr))
                .zip(split_rows_mut(&mut self.data, &block_ptr))
                .zip(split_rows_mut(&mut new_counts, &counts_ptr))
                .map(|(((&r0, i), d), c)| (r0, i, d, c))
                .collect();
            let indptr = &self.indptr;
            jobs.into_par_iter().for_each(|(r0, idx, dat, cnt)| {
                let base = indptr[r0] as usize;
                let mut k = 0;
                for (j, count) in cnt.iter_mut().enumerate() {
                    let start = k;
                    // Branch-free: every entry is written at k (k <= p, so nothing unread
                    // is overwritten) and only kept entries advance k.
                    for p in indptr[r0 + j] as usize - base..indptr[r0 + j + 1] as usize - base {
                        let m = map[idx[p] as usize];
                        idx[k] = m;
                        dat[k] = dat[p];
                        k += (m != u32::MAX) as usize;
                    }
                    *count = (k - start) as u64;
                }
            });
        }
        let mut dest = 0usize;
        for w in bounds.windows(2) {
            let src = self.indptr[w[0]] as usize;
            let len: u64 = new_counts[w[0]..w[1]].iter().sum();
            let len = len as usize;
            indices.copy_within(src..src + len, dest);
            self.data.copy_within(src..src + len, dest);
            dest += len;
        }
        let indptr = owned(&mut self.indptr);
        let mut total = 0u64;
        for (r, c) in new_counts.iter().enumerate() {
            total += c;
            indptr[r + 1] = total;
        }
        indices.truncate(dest);
        self.data.truncate(dest);
        self.ncols = cols.len();
    }

    /// Row-major dense copy of the matrix.
    pub fn to_dense(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.nrows * self.ncols];
        for r in 0..self.nrows {
            let (idx, val) = self.row(r);
            for (&c, &v) in idx.iter().zip(val) {
                out[r * self.ncols + c as usize] = v;
            }
        }
        out
    }

    /// Stacks matrices with the same number of columns on top of each other.
    pub fn vstack(parts: &[&Csr]) -> Result<Csr, CsrError> {
        let ncols = parts.first().map(|p| p.ncols).unwrap_or(0);
        let mut indptr = vec![0u64];
        let mut indices = Vec::new();
        let mut data = Vec::new();
        let mut nrows = 0;
        for p in parts {
            if p.ncols != ncols {
                return Err(CsrError::DenseLength {
                    got: p.ncols,
                    nrows: p.nrows,
                    ncols,
                });
            }
            let base = indices.len() as u64;
            indptr.extend(p.indptr[1..].iter().map(|&x| x + base));
            indices.extend_from_slice(&p.indices);
            data.extend_from_slice(&p.data);
            nrows += p.nrows;
        }
        Ok(Csr {
            nrows,
            ncols,
            indptr: Arc::new(indptr),
            indices: Arc::new(indices),
            data,
            exact: None,
        })
    }
}

/// Splits `buf` into one mutable slice per row according to `indptr`.
impl Csr {
    /// Row boundaries of about `per_thread` blocks of whole rows per thread (first 0, last
    /// `nrows`).
    fn row_blocks(&self, per_thread: usize) -> Vec<usize> {
        let n = (rayon::current_num_threads() * per_thread).clamp(1, self.nrows.max(1));
        (0..=n).map(|b| b * self.nrows / n).collect()
    }
    /// The stored-entry offsets of row boundaries `bounds`.
    fn block_ptr(&self, bounds: &[usize]) -> Vec<u64> {
        bounds.iter().map(|&r| self.indptr[r]).collect()
    }
}

fn split_rows_mut<'a, T>(mut buf: &'a mut [T], indptr: &[u64]) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(indptr.len().saturating_sub(1));
    for w in indptr.windows(2) {
        let len = (w[1] - w[0]) as usize;
        let (head, tail) = std::mem::take(&mut buf).split_at_mut(len);
        out.push(head);
        buf = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retain_cols_equals_select_cols() {
        // n x 5 with empty rows and rows that lose every entry; 7 rows give one row per
        // block, 301 rows several rows per block.
        for n in [7usize, 301] {
            let dense: Vec<f32> = (0..n * 5)
                .map(|i| {
                    if (i * 7) % 3 == 0 || i % 11 == 0 {
                        0.0
                    } else {
                        i as f32
                    }
                })
                .collect();
            let m = Csr::from_dense(n, 5, &dense).unwrap();
            for cols in [
                vec![0, 2, 4],
                vec![1],
                vec![],
                vec![0, 1, 2, 3, 4],
                vec![3, 4],
            ] {
                // The clone shares m's pattern: changing it must leave m as it was.
                let mut r = m.clone();
                r.retain_cols(&cols);
                assert_eq!(
                    m.to_dense(),
                    dense,
                    "retain_cols on a clone changed the original"
                );
                assert_eq!(r, m.select_cols(&cols), "{n} rows, cols {cols:?}");
                let doubled =
                    r.map_rows(|_, v, o| o.iter_mut().zip(v).for_each(|(o, v)| *o = 2.0 * v));
                assert!(doubled.same_pattern(&r));
                assert_eq!(
                    doubled.data(),
                    r.data().iter().map(|v| 2.0 * v).collect::<Vec<_>>()
                );
                assert_eq!(m.same_pattern(&r), cols.len() == 5);
            }
        }
    }

    #[test]
    fn canonicalizes_unsorted_rows_and_sums_duplicates() {
        // Row 0: (2, 1.0), (0, 2.0), (2, 3.0) -> (0, 2.0), (2, 4.0); row 1 empty; row 2: (1, 5.0)
        let m = Csr::from_parts(
            3,
            3,
            vec![0, 3, 3, 4],
            vec![2, 0, 2, 1],
            vec![1.0, 2.0, 3.0, 5.0],
        )
        .unwrap();
        assert_eq!(m.indptr(), &[0, 2, 2, 3]);
        assert_eq!(m.indices(), &[0, 2, 1]);
        assert_eq!(m.data(), &[2.0, 4.0, 5.0]);
        assert_eq!(
            m.to_dense(),
            vec![2.0, 0.0, 4.0, 0.0, 0.0, 0.0, 0.0, 5.0, 0.0]
        );
    }

    #[test]
    fn full_precision_values_follow_sorting_and_row_selection() {
        // Row 0 stored unsorted: (2, a), (0, b); row 1: (1, c). The f64 values differ from
        // their f32 roundings.
        let (a, b, c) = (0.1f64, 1.0 / 3.0, 2.0f64.sqrt());
        let (indptr, indices, raw) = (vec![0u64, 2, 3], vec![2u32, 0, 1], vec![a, b, c]);
        let single: Vec<f32> = raw.iter().map(|&v| v as f32).collect();
        let m = Csr::from_parts(2, 3, indptr.clone(), indices.clone(), single.clone()).unwrap();
        let m = m.with_exact(&indptr, &indices, &raw).unwrap();
        assert_eq!(m.exact(), Some(&[b, a, c][..]));
        let picked = m.select_rows(&[1, 0]);
        assert_eq!(picked.exact(), Some(&[c, b, a][..]));
        assert_eq!(picked.clone().exact(), Some(&[c, b, a][..]));
        let mut changed = m.clone();
        changed.data_mut()[0] = 7.0;
        assert_eq!(changed.exact(), None);
        // Values that do not round to the matrix's: refused, the matrix unchanged.
        let m = m.select_rows(&[0, 1]);
        let other = vec![a, b, c + 1e-3];
        let back = m.clone().with_exact(&indptr, &indices, &other).unwrap_err();
        assert_eq!(back.data(), m.data());
        // Duplicate entries (summed in f32) are refused too.
        let (dp, di, dv) = (vec![0u64, 2], vec![1u32, 1], vec![a, b]);
        let dup = Csr::from_parts(1, 3, dp.clone(), di.clone(), vec![a as f32, b as f32]).unwrap();
        assert!(dup.with_exact(&dp, &di, &dv).is_err());
    }

    #[test]
    fn rejects_bad_parts() {
        assert!(matches!(
            Csr::from_parts(2, 2, vec![0, 1], vec![0], vec![1.0]),
            Err(CsrError::IndptrLength { .. })
        ));
        assert!(matches!(
            Csr::from_parts(1, 2, vec![0, 1], vec![5], vec![1.0]),
            Err(CsrError::IndexOutOfRange {
                row: 0,
                index: 5,
                ..
            })
        ));
        assert!(matches!(
            Csr::from_parts(2, 2, vec![0, 2, 1], vec![0, 1], vec![1.0, 1.0]),
            Err(CsrError::IndptrInvalid { .. })
        ));
    }

    #[test]
    fn csc_transpose_and_selection_agree_with_dense() {
        // Dense 2x3: [[1,0,2],[0,3,0]] given as CSC.
        let m = Csr::from_csc_parts(2, 3, vec![0, 1, 2, 3], vec![0, 1, 0], vec![1.0, 3.0, 2.0])
            .unwrap();
        assert_eq!(m.to_dense(), vec![1.0, 0.0, 2.0, 0.0, 3.0, 0.0]);
        assert_eq!(m.transpose().to_dense(), vec![1.0, 0.0, 0.0, 3.0, 2.0, 0.0]);
        assert_eq!(
            m.select_rows(&[1, 0]).to_dense(),
            vec![0.0, 3.0, 0.0, 1.0, 0.0, 2.0]
        );
        assert_eq!(m.select_cols(&[2, 0]).to_dense(), vec![2.0, 1.0, 0.0, 0.0]);
        let d = Csr::from_dense(2, 3, &[1.0, 0.0, 2.0, 0.0, 3.0, 0.0]).unwrap();
        assert_eq!(d, m);
        let s = Csr::vstack(&[&m, &d]).unwrap();
        assert_eq!(s.nrows(), 4);
        assert_eq!(s.sum(), 12.0);
    }
}
