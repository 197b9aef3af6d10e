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

/// Genes whose share of non-zero cells exceeds this go through a dense product.
const DENSE_GENE_FRACTION: f64 = 0.2;

/// The selected rows of `x`: the dense genes as a row-major dense block, the other genes
/// stored gene by gene (the non-zeros of each gene, with the position of their row in the
/// selection), and the squared norm of each row.
struct RowSet {
    dense: Vec<f64>,
    n_dense: usize,
    ptr: Vec<usize>,
    row: Vec<u32>,
    val: Vec<f64>,
    norms: Vec<f64>,
}

impl RowSet {
    /// `slot[k]`: column of gene `k` in the dense block, or `None` for a sparse gene.
    fn new(x: &Csr, rows: &[usize], slot: &[Option<u32>], n_dense: usize) -> Self {
        let g = x.ncols();
        let n = rows.len();
        let mut ptr = vec![0usize; g + 1];
        for &r in rows {
            for &c in x.row(r).0 {
                if slot[c as usize].is_none() {
                    ptr[c as usize + 1] += 1;
                }
            }
        }
        for k in 0..g {
            ptr[k + 1] += ptr[k];
        }
        let mut next = ptr.clone();
        let nnz = ptr[g];
        let (mut row, mut val) = (vec![0u32; nnz], vec![0f64; nnz]);
        let mut dense = vec![0f64; n * n_dense];
        let mut norms = vec![0f64; n];
        for (i, &r) in rows.iter().enumerate() {
            let (idx, vals) = x.row(r);
            for (&c, &v) in idx.iter().zip(vals) {
                let v = v as f64;
                norms[i] += v * v;
                match slot[c as usize] {
                    Some(s) => dense[i * n_dense + s as usize] = v,
                    None => {
                        let p = &mut next[c as usize];
                        row[*p] = i as u32;
                        val[*p] = v;
                        *p += 1;
                    }
                }
            }
        }
        RowSet {
            dense,
            n_dense,
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

/// `A·Bᵀ` (`na × nb`, row-major): a dense product over the dense genes plus, for the other
/// genes, the products of the pairs of non-zeros.
fn gram(a: &RowSet, b: &RowSet) -> Vec<f64> {
    let (na, nb, nd) = (a.n(), b.n(), a.n_dense);
    let mut out = vec![0f64; na * nb];
    if nd > 0 {
        // SAFETY: a.dense is na×nd and b.dense nb×nd (row-major), read as Bᵀ (element
        // (k, j) at j·nd + k); out is na×nb row-major.
        unsafe {
            matrixmultiply::dgemm(
                na,
                nd,
                nb,
                1.0,
                a.dense.as_ptr(),
                nd as isize,
                1,
                b.dense.as_ptr(),
                1,
                nd as isize,
                0.0,
                out.as_mut_ptr(),
                nb as isize,
                1,
            );
        }
    }
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
fn mean_distance(a: &RowSet, b: &RowSet, same: bool, single: bool) -> f64 {
    let (na, nb) = (a.n(), b.n());
    if na == 0 || nb == 0 {
        return f64::NAN;
    }
    let gram = gram(a, b);
    let (xa, xb) = (&a.norms, &b.norms);
    // Squared distance of pair (i, j) in scikit-learn's order, clipped at 0.
    let sq = |i: usize, j: usize, g: f64| -> f64 {
        if same && i == j {
            0.0
        } else {
            let mut d = -2.0 * g;
            d += xa[i];
            d += xb[j];
            d.max(0.0)
        }
    };
    if single {
        let mut v = vec![0f32; na * nb];
        for (i, (out, gr)) in v.chunks_mut(nb).zip(gram.chunks(nb)).enumerate() {
            for (j, (o, &g)) in out.iter_mut().zip(gr).enumerate() {
                *o = (sq(i, j, g) as f32).sqrt();
            }
        }
        (pairwise_sum(&v) / (na * nb) as f32) as f64
    } else {
        let mut v = gram;
        for (i, row) in v.chunks_mut(nb).enumerate() {
            for (j, o) in row.iter_mut().enumerate() {
                *o = sq(i, j, *o).sqrt();
            }
        }
        pairwise_sum(&v) / (na * nb) as f64
    }
}

/// Energy distance of every perturbation of `groups` (in label order, control excluded)
/// to the control cells of the same matrix.
pub fn energy_distances(x: &Csr, groups: &Groups, single: bool) -> Vec<f64> {
    let mut nnz = vec![0usize; x.ncols()];
    for &c in x.indices() {
        nnz[c as usize] += 1;
    }
    let mut slot = vec![None; x.ncols()];
    let mut n_dense = 0u32;
    for (k, &c) in nnz.iter().enumerate() {
        if c as f64 > DENSE_GENE_FRACTION * x.nrows() as f64 {
            slot[k] = Some(n_dense);
            n_dense += 1;
        }
    }
    let set = |rows: &[usize]| RowSet::new(x, rows, &slot, n_dense as usize);
    let c = set(&groups.cells[groups.control]);
    let sigma_c = mean_distance(&c, &c, true, single);
    groups
        .perturbations()
        .par_iter()
        .map(|&p| {
            let m = set(&groups.cells[p]);
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
