//! The in-memory AnnData object: expression matrix, annotations and side arrays.

use crate::{Csr, Frame, Uns};
use std::collections::BTreeMap;

/// A dense row-major `f32` matrix (`obsm`, `varm` entries, embeddings).
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    /// Number of rows.
    pub nrows: usize,
    /// Number of columns.
    pub ncols: usize,
    /// Row-major values, `nrows * ncols` of them.
    pub data: Vec<f32>,
}

impl Dense {
    /// Row `r` as a slice.
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.ncols..(r + 1) * self.ncols]
    }
    /// Rows `rows`, in that order.
    pub fn select_rows(&self, rows: &[usize]) -> Dense {
        let mut data = Vec::with_capacity(rows.len() * self.ncols);
        for &r in rows {
            data.extend_from_slice(self.row(r));
        }
        Dense {
            nrows: rows.len(),
            ncols: self.ncols,
            data,
        }
    }
}

/// An annotated data matrix as stored in an `.h5ad` file: cells × genes.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnData {
    /// Expression matrix (cells × genes), canonical CSR.
    pub x: Csr,
    /// Cell annotations; `obs.index` holds the cell names.
    pub obs: Frame,
    /// Gene annotations; `var.index` holds the gene names.
    pub var: Frame,
    /// Additional matrices of the same shape as `x` (e.g. `counts`).
    pub layers: BTreeMap<String, Csr>,
    /// Per-cell dense arrays (embeddings).
    pub obsm: BTreeMap<String, Dense>,
    /// Per-gene dense arrays.
    pub varm: BTreeMap<String, Dense>,
    /// Unstructured annotations.
    pub uns: BTreeMap<String, Uns>,
}

impl AnnData {
    /// An object with the given matrix and names, no columns or side arrays.
    pub fn new(x: Csr, obs_names: Vec<String>, var_names: Vec<String>) -> Self {
        AnnData {
            x,
            obs: Frame::with_index(obs_names),
            var: Frame::with_index(var_names),
            layers: BTreeMap::new(),
            obsm: BTreeMap::new(),
            varm: BTreeMap::new(),
            uns: BTreeMap::new(),
        }
    }

    /// Number of cells.
    pub fn n_obs(&self) -> usize {
        self.x.nrows()
    }
    /// Number of genes.
    pub fn n_vars(&self) -> usize {
        self.x.ncols()
    }
    /// Gene names.
    pub fn var_names(&self) -> &[String] {
        &self.var.index
    }
    /// Cell names.
    pub fn obs_names(&self) -> &[String] {
        &self.obs.index
    }

    /// Checks that every part agrees on the number of cells and genes; describes the first mismatch.
    pub fn check_shapes(&self) -> Result<(), String> {
        let (n, g) = (self.n_obs(), self.n_vars());
        if self.obs.nrows() != n {
            return Err(format!(
                "X has {n} rows but obs has {} rows",
                self.obs.nrows()
            ));
        }
        if self.var.nrows() != g {
            return Err(format!(
                "X has {g} columns but var has {} rows",
                self.var.nrows()
            ));
        }
        for (name, frame, expect) in [("obs", &self.obs, n), ("var", &self.var, g)] {
            for (col, c) in &frame.columns {
                if c.len() != expect {
                    return Err(format!(
                        "{name}/{col} has {} values, expected {expect}",
                        c.len()
                    ));
                }
            }
        }
        for (k, l) in &self.layers {
            if l.nrows() != n || l.ncols() != g {
                return Err(format!(
                    "layers/{k} has shape {}x{}, expected {n}x{g}",
                    l.nrows(),
                    l.ncols()
                ));
            }
        }
        for (k, m) in &self.obsm {
            if m.nrows != n {
                return Err(format!("obsm/{k} has {} rows, expected {n}", m.nrows));
            }
        }
        for (k, m) in &self.varm {
            if m.nrows != g {
                return Err(format!("varm/{k} has {} rows, expected {g}", m.nrows));
            }
        }
        Ok(())
    }

    /// The cells `rows` (in that order) with all per-cell parts subset alike.
    pub fn select_obs(&self, rows: &[usize]) -> AnnData {
        AnnData {
            x: self.x.select_rows(rows),
            obs: self.obs.select(rows),
            var: self.var.clone(),
            layers: self
                .layers
                .iter()
                .map(|(k, l)| (k.clone(), l.select_rows(rows)))
                .collect(),
            obsm: self
                .obsm
                .iter()
                .map(|(k, m)| (k.clone(), m.select_rows(rows)))
                .collect(),
            varm: self.varm.clone(),
            uns: self.uns.clone(),
        }
    }

    /// Keeps only the genes `cols` (strictly increasing), subsetting every per-gene part in
    /// place; the same result as [`AnnData::select_vars`] without a second copy of the matrices.
    pub fn retain_vars(&mut self, cols: &[usize]) {
        self.x.retain_cols(cols);
        for l in self.layers.values_mut() {
            l.retain_cols(cols);
        }
        self.var = self.var.select(cols);
        for m in self.varm.values_mut() {
            *m = m.select_rows(cols);
        }
    }

    /// The genes `cols` (in that order) with all per-gene parts subset alike.
    pub fn select_vars(&self, cols: &[usize]) -> AnnData {
        AnnData {
            x: self.x.select_cols(cols),
            obs: self.obs.clone(),
            var: self.var.select(cols),
            layers: self
                .layers
                .iter()
                .map(|(k, l)| (k.clone(), l.select_cols(cols)))
                .collect(),
            obsm: self.obsm.clone(),
            varm: self
                .varm
                .iter()
                .map(|(k, m)| (k.clone(), m.select_rows(cols)))
                .collect(),
            uns: self.uns.clone(),
        }
    }
}
