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

/// The selected rows of `x` stored gene by gene (the non-zeros of each gene, with the
/// position of their row in the selection), and the squared norm of each row.
struct GeneMajor {
    ptr: Vec<usize>,
    row: Vec<u32>,
    val: Vec<f64>,
    norms: Vec<f64>,
}

impl GeneMajor {
    fn new(x: &Csr, rows: &[usize]) -> Self {
        let g = x.ncols();
        let mut ptr = vec![0usize; g + 1];
        for &r in rows {
            for &c in x.row(r).0 {
                ptr[c as usize + 1] += 1;
            }
        }
        for k in 0..g {
            ptr[k + 1] += ptr[k];
        }
        let mut next = ptr.clone();
        let nnz = ptr[g];
        let (mut row, mut val) = (vec![0u32; nnz], vec![0f64; nnz]);
        let mut norms = vec![0f64; rows.len()];
        for (i, &r) in rows.iter().enumerate() {
            let (idx, vals) = x.row(r);
            for (&c, &v) in idx.iter().zip(vals) {
                let p = &mut next[c as usize];
                row[*p] = i as u32;
                val[*p] = v as f64;
                *p += 1;
                norms[i] += (v as f64) * (v as f64);
            }
        }
        GeneMajor {
            ptr,
            row,
            val,
            norms,
        }
    }

    fn n(&self) -> usize {
        self.norms.len()
    }

    fn gene(&self, k: usize) -> (&[u32], &[f64]) {
        let (lo, hi) = (self.ptr[k], self.ptr[k + 1]);
        (&self.row[lo..hi], &self.val[lo..hi])
    }
}

/// `A·Bᵀ` (`na × nb`, row-major) of two sparse row sets, accumulated gene by gene over the
/// pairs of non-zeros only.
fn gram(a: &GeneMajor, b: &GeneMajor) -> Vec<f64> {
    let nb = b.n();
    let mut out = vec![0f64; a.n() * nb];
    for k in 0..a.ptr.len() - 1 {
        let (ar, av) = a.gene(k);
        let (br, bv) = b.gene(k);
        if br.is_empty() {
            continue;
        }
        for (&i, &x) in ar.iter().zip(av) {
            let row = &mut out[i as usize * nb..(i as usize + 1) * nb];
            for (&j, &y) in br.iter().zip(bv) {
                row[j as usize] += x * y;
            }
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

/// Mean Euclidean distance over all pairs of cells of `a` and `b` (`same`: `a` is `b`, the
/// diagonal is 0); `single` mimics scikit-learn's float32 path.
fn mean_distance(a: &GeneMajor, b: &GeneMajor, same: bool, single: bool) -> f64 {
    let (na, nb) = (a.n(), b.n());
    if na == 0 || nb == 0 {
        return f64::NAN;
    }
    let gram = gram(a, b);
    let (xa, xb) = (&a.norms, &b.norms);
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
    let c = GeneMajor::new(x, &groups.cells[groups.control]);
    let sigma_c = mean_distance(&c, &c, true, single);
    groups
        .perturbations()
        .par_iter()
        .map(|&p| {
            let m = GeneMajor::new(x, &groups.cells[p]);
            let sigma_p = mean_distance(&m, &m, true, single);
            let delta = mean_distance(&m, &c, false, single);
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
