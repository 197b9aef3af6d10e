//! Per-group sufficient statistics of an expression matrix: cell count, and per gene the mean
//! and unbiased variance, computed exactly as scanpy's `_get_mean_var` does on a sparse
//! float32 matrix (float64 sums of the values and of their float32 squares, then
//! `var = (Σx²/n − mean²) · n/(n−1)`), so that test statistics agree to the last digits.

use perturbench_io::Csr;
use rayon::prelude::*;

/// Mean and variance (ddof = 1) of every gene over a set of cells.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupStats {
    /// Number of cells.
    pub n: usize,
    /// Per gene mean.
    pub mean: Vec<f64>,
    /// Per gene unbiased variance (0 for a single cell).
    pub var: Vec<f64>,
}

/// Per gene Σx and Σx² (x² rounded to float32, as numba computes it for float32 data).
pub fn sums(x: &Csr, rows: &[u32]) -> (Vec<f64>, Vec<f64>) {
    let g = x.ncols();
    let chunk = (rows.len() / (4 * rayon::current_num_threads()).max(1)).max(512);
    rows.par_chunks(chunk)
        .map(|part| {
            let mut s = vec![0f64; g];
            let mut q = vec![0f64; g];
            for &r in part {
                let (idx, val) = x.row(r as usize);
                for (&j, &v) in idx.iter().zip(val) {
                    s[j as usize] += v as f64;
                    q[j as usize] += (v * v) as f64;
                }
            }
            (s, q)
        })
        .reduce(
            || (vec![0f64; g], vec![0f64; g]),
            |(mut a, mut aq), (b, bq)| {
                for j in 0..g {
                    a[j] += b[j];
                    aq[j] += bq[j];
                }
                (a, aq)
            },
        )
}

/// Statistics from per-gene sums over `n` cells.
pub fn stats_from_sums(n: usize, sum: &[f64], sum_sq: &[f64]) -> GroupStats {
    let nf = n as f64;
    let mean: Vec<f64> = sum
        .iter()
        .map(|s| if n > 0 { s / nf } else { 0.0 })
        .collect();
    let correction = if n > 1 { nf / (nf - 1.0) } else { 1.0 };
    let var = sum_sq
        .iter()
        .zip(&mean)
        .map(|(q, m)| {
            if n > 0 {
                (q / nf - m * m) * correction
            } else {
                0.0
            }
        })
        .collect();
    GroupStats { n, mean, var }
}

/// Statistics of the cells `rows` of `x`.
pub fn group_stats(x: &Csr, rows: &[u32]) -> GroupStats {
    let (s, q) = sums(x, rows);
    stats_from_sums(rows.len(), &s, &q)
}
