//! Per-perturbation pseudobulks: the mean of each gene over a group's cells, as stored
//! (cell-eval 0.8.2 averages the log1p values; `PerturbationAnndataPair._bulk_anndata`).

use crate::error::{CellEvalError, Result};
use crate::groups::Groups;
use perturbench_io::{Csr, Dense};
use rayon::prelude::*;

/// Mean expression of every group, dense, in `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pseudobulks {
    /// Group labels, sorted (the control included).
    pub names: Vec<String>,
    /// Index of the control in `names`.
    pub control: usize,
    /// Gene names.
    pub genes: Vec<String>,
    /// `means[g][j]`: mean of gene `j` over the cells of group `g` (zeros included).
    pub means: Vec<Vec<f64>>,
}

impl Pseudobulks {
    /// Group means of `x` (cells × genes); `genes` names the columns.
    pub fn from_csr(x: &Csr, groups: &Groups, genes: &[String]) -> Result<Self> {
        if groups.n_cells != x.nrows() {
            return Err(CellEvalError::LabelCount {
                labels: groups.n_cells,
                cells: x.nrows(),
            });
        }
        if genes.len() != x.ncols() {
            return Err(CellEvalError::GeneMismatch(format!(
                "{} gene names for {} matrix columns",
                genes.len(),
                x.ncols()
            )));
        }
        // X's values at full precision when the file stored float64.
        let means = group_means(groups, x.ncols(), |r, sum| {
            for (c, v) in crate::xvalue::row_f64(x, r) {
                sum[c as usize] += v;
            }
        });
        Ok(Pseudobulks {
            names: groups.names.clone(),
            control: groups.control,
            genes: genes.to_vec(),
            means,
        })
    }

    /// Group means of the rows of the dense matrix `m` (e.g. an `.obsm` embedding); its
    /// columns are named by their index.
    pub fn from_dense(m: &Dense, groups: &Groups) -> Result<Self> {
        if groups.n_cells != m.nrows {
            return Err(CellEvalError::LabelCount {
                labels: groups.n_cells,
                cells: m.nrows,
            });
        }
        let means = group_means(groups, m.ncols, |r, sum| {
            for (s, &v) in sum.iter_mut().zip(m.row(r)) {
                *s += v as f64;
            }
        });
        Ok(Pseudobulks {
            names: groups.names.clone(),
            control: groups.control,
            genes: (0..m.ncols).map(|j| j.to_string()).collect(),
            means,
        })
    }

    /// The control pseudobulk.
    pub fn control_mean(&self) -> &[f64] {
        &self.means[self.control]
    }

    /// Pseudobulk of group `g` minus the control pseudobulk.
    pub fn delta(&self, g: usize) -> Vec<f64> {
        self.means[g]
            .iter()
            .zip(self.control_mean())
            .map(|(a, b)| a - b)
            .collect()
    }

    /// Indices of the non-control groups, in label order.
    pub fn perturbations(&self) -> Vec<usize> {
        (0..self.names.len())
            .filter(|&g| g != self.control)
            .collect()
    }
}

/// Per group of `groups`, the mean over its cells of the `ncols` values `add_row(row, sum)`
/// adds for each row (float64 sums).
fn group_means(
    groups: &Groups,
    ncols: usize,
    add_row: impl Fn(usize, &mut [f64]) + Sync,
) -> Vec<Vec<f64>> {
    groups
        .cells
        .par_iter()
        .map(|rows| {
            let mut sum = vec![0f64; ncols];
            for &r in rows {
                add_row(r, &mut sum);
            }
            let n = rows.len() as f64;
            sum.iter_mut().for_each(|s| *s /= n);
            sum
        })
        .collect()
}
