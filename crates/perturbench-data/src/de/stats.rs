//! Per-group sufficient statistics of an expression matrix: cell count, and per gene the mean
//! and unbiased variance, computed exactly as scanpy's `_get_mean_var` does on a sparse
//! float32 matrix (float64 sums of the values and of their float32 squares, then
//! `var = (Σx²/n − mean²) · n/(n−1)`), so that test statistics agree to the last digits.

use super::Expression;
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

/// Cells per block of the per-gene sums. Fixed, so that the order of the additions, and with
/// it every bit of the result, does not depend on the number of threads.
pub(crate) const SUM_BLOCK: usize = 1024;

/// Per gene Σx and Σx² (x² rounded to float32, as numba computes it for float32 data).
/// Blocks of `SUM_BLOCK` cells are summed on all cores and the block sums added in block
/// order, so the result depends neither on scheduling nor on the number of threads.
pub fn sums<E: Expression>(x: &E, rows: &[u32]) -> (Vec<f64>, Vec<f64>) {
    let g = x.ncols();
    let parts: Vec<(Vec<f64>, Vec<f64>)> = rows
        .par_chunks(SUM_BLOCK)
        .map(|part| {
            // Σx and Σx² of a gene side by side: one cache line and one bounds check per entry.
            let mut sq = vec![[0f64; 2]; g];
            for &r in part {
                x.visit_row(r as usize, |j, v| {
                    let a = &mut sq[j as usize];
                    a[0] += v as f64;
                    a[1] += (v * v) as f64;
                });
            }
            sq.into_iter().map(|[s, q]| (s, q)).unzip()
        })
        .collect();
    add_in_order(parts, g)
}

/// Element-wise sums of per-block vector pairs, added in block order.
pub(crate) fn add_in_order(parts: Vec<(Vec<f64>, Vec<f64>)>, g: usize) -> (Vec<f64>, Vec<f64>) {
    let mut it = parts.into_iter();
    let Some((mut a, mut aq)) = it.next() else {
        return (vec![0f64; g], vec![0f64; g]);
    };
    for (b, bq) in it {
        a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
        aq.iter_mut().zip(&bq).for_each(|(a, b)| *a += b);
    }
    (a, aq)
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
pub fn group_stats<E: Expression>(x: &E, rows: &[u32]) -> GroupStats {
    let (s, q) = sums(x, rows);
    stats_from_sums(rows.len(), &s, &q)
}
