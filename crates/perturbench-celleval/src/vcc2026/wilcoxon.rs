//! The DE of the vcc2026 profile: each perturbation's cells against a control pool with a
//! two-sided Wilcoxon rank-sum test in its normal approximation (no continuity correction),
//! on `log1p` of counts-per-million.
//!
//! As cell-eval2 0.20.0 runs it through scanpy's `rank_genes_groups(method="wilcoxon",
//! tie_correct=True)` with a reference group:
//! - every cell is scaled to 10⁶ counts (`x / (L / 10⁶)`, `L` the cell's total, float64),
//!   then `log1p`; the test ranks those values (mid-ranks for ties, zeros tie at the bottom);
//! - `z = (R₁ − n₁(n₁+n₂+1)/2) / √(t·n₁·n₂·(n₁+n₂+1)/12)` with `t = 1 − Σ(c³−c)/(n³−n)`
//!   over tie blocks; `z` is 0 when it is undefined (every value tied), `p = 2·Φ(−|z|)`;
//! - the fold change is `log2((m_t + ε)/(m_c + ε))` of the arithmetic CPM means;
//! - a gene is kept only when the control pool's mean CPM is above the filter threshold
//!   (the same genes for every perturbation), and Benjamini–Hochberg is applied per
//!   perturbation over the kept genes.

use crate::fdr::benjamini_hochberg;
use perturbench_io::Csr;
use rayon::prelude::*;

/// Per gene, the values of one set of cells: sorted non-zero `log1p(CPM)` and the mean CPM.
#[derive(Debug, Clone)]
pub struct CellColumns {
    /// Number of cells (zeros included).
    pub n_cells: usize,
    /// Per gene, the non-zero `log1p(CPM)` values, ascending.
    pub sorted: Vec<Vec<f64>>,
    /// Per gene, the arithmetic mean of CPM over all cells.
    pub mean_cpm: Vec<f64>,
}

/// The CPM of one stored value: `x / (L / 10⁶)` as scanpy's `normalize_total` divides
/// (a cell with no counts is divided by 1).
fn cpm(x: f32, factor: f64) -> f64 {
    x as f64 / factor
}

impl CellColumns {
    /// The columns of `rows` of a counts matrix.
    pub fn of_rows(x: &Csr, rows: &[usize], target_sum: f64) -> Self {
        let g = x.ncols();
        let mut sorted = vec![Vec::new(); g];
        let mut sums = vec![0.0f64; g];
        for &r in rows {
            let (idx, vals) = x.row(r);
            let total: f64 = vals.iter().fold(0.0, |s, &v| s + v as f64);
            let factor = if total == 0.0 {
                1.0
            } else {
                total / target_sum
            };
            for (&j, &v) in idx.iter().zip(vals) {
                if v == 0.0 {
                    continue;
                }
                let c = cpm(v, factor);
                sums[j as usize] += c;
                sorted[j as usize].push(c.ln_1p());
            }
        }
        sorted
            .par_iter_mut()
            .for_each(|v| v.sort_by(f64::total_cmp));
        let n = rows.len() as f64;
        let mean_cpm = sums.into_iter().map(|s| s / n).collect();
        CellColumns {
            n_cells: rows.len(),
            sorted,
            mean_cpm,
        }
    }
}

/// Two-sided rank-sum test of sample A against sample B from their sorted non-zero values
/// (`n_a`, `n_b`: full sizes; every other value is 0). Returns `(z, p)`.
pub fn rank_sum_test(a: &[f64], n_a: usize, b: &[f64], n_b: usize) -> (f64, f64) {
    let n = n_a + n_b;
    let zeros = n - a.len() - b.len();
    let za = (n_a - a.len()) as f64;
    let mut r1 = za * (zeros as f64 + 1.0) / 2.0;
    let mut ties = if zeros >= 2 {
        let c = zeros as f64;
        c * c * c - c
    } else {
        0.0
    };
    let (mut i, mut j, mut pos) = (0usize, 0usize, zeros);
    while i < a.len() || j < b.len() {
        let v = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        let i0 = i;
        while i < a.len() && a[i] == v {
            i += 1;
        }
        let j0 = j;
        while j < b.len() && b[j] == v {
            j += 1;
        }
        let (ca, c) = (i - i0, (i - i0) + (j - j0));
        let mid = pos as f64 + (c as f64 + 1.0) / 2.0;
        r1 += ca as f64 * mid;
        if c >= 2 {
            let c = c as f64;
            ties += c * c * c - c;
        }
        pos += i - i0 + j - j0;
    }
    let nf = n as f64;
    let tc = if n >= 2 {
        1.0 - ties / (nf * nf * nf - nf)
    } else {
        1.0
    };
    let std = (tc * n_a as f64 * n_b as f64 * (nf + 1.0) / 12.0).sqrt();
    let mut z = (r1 - n_a as f64 * ((nf + 1.0) / 2.0)) / std;
    if z.is_nan() {
        z = 0.0;
    }
    let p = libm::erfc(z.abs() / std::f64::consts::SQRT_2);
    (z, p)
}

/// One perturbation's DE rows (kept genes only, in gene order).
#[derive(Debug, Clone)]
pub struct DeRows {
    /// The perturbation.
    pub target: String,
    /// Gene indices (kept genes).
    pub genes: Vec<usize>,
    /// `log2((m_t + ε)/(m_c + ε))`.
    pub log2_fold_change: Vec<f64>,
    /// Two-sided p-value.
    pub p_value: Vec<f64>,
    /// Benjamini–Hochberg over this perturbation's kept genes.
    pub p_adj: Vec<f64>,
}

/// The genes whose mean CPM in the control pool is above `threshold` (a negative
/// threshold keeps every gene).
pub fn kept_genes(control: &CellColumns, threshold: f64) -> Vec<usize> {
    (0..control.mean_cpm.len())
        .filter(|&j| threshold < 0.0 || control.mean_cpm[j] > threshold)
        .collect()
}

/// DE of every perturbation in `targets` against `control`, over `kept` genes.
pub fn de_table(
    targets: &[(String, CellColumns)],
    control: &CellColumns,
    kept: &[usize],
    epsilon: f64,
) -> Vec<DeRows> {
    targets
        .par_iter()
        .map(|(name, t)| {
            let mut lfc = Vec::with_capacity(kept.len());
            let mut p = Vec::with_capacity(kept.len());
            for &j in kept {
                let (_, pv) =
                    rank_sum_test(&t.sorted[j], t.n_cells, &control.sorted[j], control.n_cells);
                p.push(pv);
                lfc.push(((t.mean_cpm[j] + epsilon) / (control.mean_cpm[j] + epsilon)).log2());
            }
            let p_adj = benjamini_hochberg(&p);
            DeRows {
                target: name.clone(),
                genes: kept.to_vec(),
                log2_fold_change: lfc,
                p_value: p,
                p_adj,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: scipy.stats.mannwhitneyu([0,0,1,2,2], [0,1,1,3,4,5], use_continuity=False,
    /// method="asymptotic").pvalue = 0.2633263010015895 (scipy 1.17.1); scanpy's statistic is
    /// the same test written with rank sums.
    #[test]
    fn matches_the_tie_corrected_normal_approximation() {
        let (z, p) = rank_sum_test(&[1.0, 2.0, 2.0], 5, &[1.0, 1.0, 3.0, 4.0, 5.0], 6);
        assert!(z < 0.0);
        assert!((p - 0.263_326_301_001_589_5).abs() < 1e-14, "{p}");
        let (z, p) = rank_sum_test(&[], 3, &[], 4);
        assert_eq!((z, p), (0.0, 1.0));
    }
}
