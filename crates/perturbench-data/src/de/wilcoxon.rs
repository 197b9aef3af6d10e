//! The Wilcoxon rank-sum test of scanpy's `rank_genes_groups(method="wilcoxon")` with a
//! reference group: ranks are taken over the group and the reference together, the rank sum of
//! the group is standardised by its normal approximation (optionally tie-corrected), and the
//! p-value is two-sided. Sparse-aware: per gene, only the non-zero values are sorted; zeros
//! form one tie block.

use super::Expression;
use rayon::prelude::*;
use statrs::function::erf::erfc;

/// Per gene: sorted non-zero values of a set of cells, and its number of cells.
#[derive(Debug, Clone)]
pub struct SortedColumns {
    /// Number of cells.
    pub n: usize,
    /// Per gene, the non-zero values in increasing order.
    pub values: Vec<Vec<f32>>,
}

/// Sorted non-zero values of every gene over the cells `rows`.
pub fn sorted_columns<E: Expression>(x: &E, rows: &[u32]) -> SortedColumns {
    let mut values: Vec<Vec<f32>> = vec![Vec::new(); x.ncols()];
    for &r in rows {
        x.visit_row(r as usize, |j, v| {
            if v != 0.0 {
                values[j as usize].push(v);
            }
        });
    }
    values
        .par_iter_mut()
        .for_each(|v| v.sort_by(f32::total_cmp));
    SortedColumns {
        n: rows.len(),
        values,
    }
}

/// Number of values `< v` and `== v` in a sorted column with `zeros` implicit zeros.
fn less_equal(sorted: &[f32], zeros: usize, v: f32) -> (usize, usize) {
    let lo = sorted.partition_point(|&x| x < v);
    let hi = sorted.partition_point(|&x| x <= v);
    let mut less = lo;
    let mut eq = hi - lo;
    if v > 0.0 {
        less += zeros;
    } else if v == 0.0 {
        eq += zeros;
    }
    (less, eq)
}

/// Σ (t³ − t) over the tie blocks of a sorted column with `zeros` implicit zeros.
fn tie_sum(sorted: &[f32], zeros: usize) -> f64 {
    let mut s = 0.0;
    let mut i = 0;
    let mut zero_done = zeros == 0;
    let block = |t: usize| (t as f64).powi(3) - t as f64;
    while i < sorted.len() {
        let v = sorted[i];
        if !zero_done && v > 0.0 {
            s += block(zeros);
            zero_done = true;
        }
        let mut j = i;
        while j < sorted.len() && sorted[j] == v {
            j += 1;
        }
        s += block(j - i);
        i = j;
    }
    if !zero_done {
        s += block(zeros);
    }
    s
}

/// z scores and two-sided p-values of every gene, group vs reference.
pub fn wilcoxon(
    group: &SortedColumns,
    reference: &SortedColumns,
    tie_correct: bool,
) -> (Vec<f64>, Vec<f64>) {
    let n1 = group.n as f64;
    let n2 = reference.n as f64;
    let n = n1 + n2;
    let (scores, pvals): (Vec<f64>, Vec<f64>) = group
        .values
        .par_iter()
        .zip(reference.values.par_iter())
        .map(|(gv, rv)| {
            let gz = group.n - gv.len();
            let rz = reference.n - rv.len();
            // Rank sum of the group: for each distinct group value v with b copies, the union's
            // average rank of v is less + (eq + 1) / 2.
            let mut rank_sum = 0.0;
            let mut ties = if tie_correct { tie_sum(rv, rz) } else { 0.0 };
            let mut visit = |v: f32, b: usize| {
                let (rl, re) = less_equal(rv, rz, v);
                let (gl, _) = less_equal(gv, gz, v);
                let less = (rl + gl) as f64;
                let eq = (re + b) as f64;
                rank_sum += b as f64 * (less + (eq + 1.0) / 2.0);
                if tie_correct {
                    let a = re as f64;
                    ties += (eq.powi(3) - eq) - (a.powi(3) - a);
                }
            };
            // Distinct values of the group, zeros included where they fall.
            let mut i = 0;
            let mut zero_done = gz == 0;
            while i < gv.len() {
                let v = gv[i];
                if !zero_done && v > 0.0 {
                    visit(0.0, gz);
                    zero_done = true;
                }
                let mut j = i;
                while j < gv.len() && gv[j] == v {
                    j += 1;
                }
                visit(v, j - i);
                i = j;
            }
            if !zero_done {
                visit(0.0, gz);
            }
            let tc = if tie_correct && n >= 2.0 {
                1.0 - ties / (n.powi(3) - n)
            } else {
                1.0
            };
            let sd = (tc * n1 * n2 * (n + 1.0) / 12.0).sqrt();
            let mut z = (rank_sum - n1 * ((n + 1.0) / 2.0)) / sd;
            if z.is_nan() {
                z = 0.0;
            }
            let p = erfc(z.abs() / std::f64::consts::SQRT_2);
            (z, p)
        })
        .unzip();
    (scores, pvals)
}
