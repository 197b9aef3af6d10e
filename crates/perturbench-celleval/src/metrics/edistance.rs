//! `pearson_edistance` (cell-eval `metrics/_anndata.py::edistance`): per perturbation the
//! energy distance between its cells and the control cells, on the real side (real
//! control) and on the predicted side (predicted control); the metric is the Pearson
//! correlation of the two vectors over perturbations, one value for every perturbation.
//!
//! The energy distance is `2·mean d(P, C) − mean d(P, P) − mean d(C, C)` with Euclidean
//! distances over all pairs (self-pairs included, at distance 0), as scikit-learn's
//! `pairwise_distances(...).mean()` computes it: `d² = −2·x·y + |x|² + |y|²` clipped at 0;
//! for single-precision input the squared distances are rounded to `f32` before the square
//! root and every mean is a numpy pairwise sum in `f32`.

use super::stats::pearson;
use crate::groups::Groups;
use perturbench_io::Csr;
use rayon::prelude::*;

/// Rows of `x` as a dense row-major `f64` matrix.
fn dense(x: &Csr, rows: &[usize]) -> Vec<f64> {
    let g = x.ncols();
    let mut out = vec![0f64; rows.len() * g];
    for (i, &r) in rows.iter().enumerate() {
        let (idx, vals) = x.row(r);
        for (&c, &v) in idx.iter().zip(vals) {
            out[i * g + c as usize] = v as f64;
        }
    }
    out
}

/// numpy's pairwise summation (`pairwise_sum` of `loops_utils.h`), generic over the
/// accumulator type.
fn pairwise_sum<T: Copy + Default + std::ops::Add<Output = T>>(a: &[T]) -> T {
    let n = a.len();
    if n < 8 {
        a.iter().fold(T::default(), |acc, &v| acc + v)
    } else if n <= 128 {
        let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] = r[j] + a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res = res + a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// Mean Euclidean distance over all pairs of rows of `a` (`na` rows) and `b` (`nb` rows),
/// `g` columns; `same` zeroes the diagonal (a matrix against itself); `single` mimics the
/// float32 path.
fn mean_distance(
    a: &[f64],
    na: usize,
    b: &[f64],
    nb: usize,
    g: usize,
    same: bool,
    single: bool,
) -> f64 {
    if na == 0 || nb == 0 {
        return f64::NAN;
    }
    let norms = |m: &[f64], n: usize| -> Vec<f64> {
        (0..n)
            .map(|i| m[i * g..(i + 1) * g].iter().map(|v| v * v).sum())
            .collect()
    };
    let (xa, xb) = (norms(a, na), norms(b, nb));
    let mut gram = vec![0f64; na * nb];
    // SAFETY: the slices hold na×g, nb×g and na×nb elements, matching the dimensions and
    // strides passed (b is read transposed: element (k, j) at j·g + k).
    unsafe {
        matrixmultiply::dgemm(
            na,
            g,
            nb,
            1.0,
            a.as_ptr(),
            g as isize,
            1,
            b.as_ptr(),
            1,
            g as isize,
            0.0,
            gram.as_mut_ptr(),
            nb as isize,
            1,
        );
    }
    let dist = |i: usize, j: usize| -> f64 {
        if same && i == j {
            0.0
        } else {
            let mut d = -2.0 * gram[i * nb + j];
            d += xa[i];
            d += xb[j];
            d.max(0.0)
        }
    };
    if single {
        let v: Vec<f32> = (0..na * nb)
            .map(|k| (dist(k / nb, k % nb) as f32).sqrt())
            .collect();
        (pairwise_sum(&v) / (na * nb) as f32) as f64
    } else {
        let v: Vec<f64> = (0..na * nb).map(|k| dist(k / nb, k % nb).sqrt()).collect();
        pairwise_sum(&v) / (na * nb) as f64
    }
}

/// Energy distance of every perturbation of `groups` (in label order, control excluded)
/// to the control cells of the same matrix.
pub fn energy_distances(x: &Csr, groups: &Groups, single: bool) -> Vec<f64> {
    let g = x.ncols();
    let ctrl_rows = &groups.cells[groups.control];
    let c = dense(x, ctrl_rows);
    let nc = ctrl_rows.len();
    let sigma_c = mean_distance(&c, nc, &c, nc, g, true, single);
    groups
        .perturbations()
        .par_iter()
        .map(|&p| {
            let rows = &groups.cells[p];
            let m = dense(x, rows);
            let n = rows.len();
            let sigma_p = mean_distance(&m, n, &m, n, g, true, single);
            let delta = mean_distance(&m, n, &c, nc, g, false, single);
            if single {
                let (d, sp, sc) = (delta as f32, sigma_p as f32, sigma_c as f32);
                (2.0 * d - sp - sc) as f64
            } else {
                2.0 * delta - sigma_p - sigma_c
            }
        })
        .collect()
}

/// `pearson_edistance`: Pearson correlation between the real and the predicted energy
/// distances (each side against its own control cells).
pub fn pearson_edistance(real: (&Csr, &Groups, bool), pred: (&Csr, &Groups, bool)) -> f64 {
    let dr = energy_distances(real.0, real.1, real.2);
    let dp = energy_distances(pred.0, pred.1, pred.2);
    pearson(&dr, &dp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_small_and_large() {
        let v: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        assert_eq!(pairwise_sum(&v), 499_500.0);
        assert_eq!(pairwise_sum(&v[..5]), 10.0);
    }

    #[test]
    fn energy_distance_of_identical_groups_is_zero() {
        let labels = ["control", "A", "control", "A"];
        let dense_x = [1.0f32, 0.0, 0.0, 2.0, 1.0, 0.0, 0.0, 2.0];
        let x = Csr::from_dense(4, 2, &dense_x).unwrap();
        let g = Groups::from_labels(&labels, "control").unwrap();
        let d = energy_distances(&x, &g, false);
        // P = {(0,2),(0,2)}, C = {(1,0),(1,0)}: d(P,C) = sqrt(5), self distances 0.
        assert!((d[0] - 2.0 * 5f64.sqrt()).abs() < 1e-12);
    }
}
