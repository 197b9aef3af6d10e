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

/// Genes whose share of non-zero cells exceeds this go through a dense product, the others
/// through products of pairs of non-zeros (0.25–0.35 measured fastest on the simulated
/// benchmark set, 12.7 % non-zeros).
const DENSE_GENE_FRACTION: f64 = 0.3;

/// The selected rows of `x`: the dense genes as a row-major dense block, the other genes
/// stored both gene by gene (the non-zeros of each gene, with the position of their row in
/// the selection) and row by row (the sparse genes of each row), and the squared norm of
/// each row.
struct RowSet {
    dense: Vec<f64>,
    n_dense: usize,
    ptr: Vec<usize>,
    row: Vec<u32>,
    val: Vec<f64>,
    rptr: Vec<usize>,
    rgene: Vec<u32>,
    rval: Vec<f64>,
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
        let mut rptr = Vec::with_capacity(n + 1);
        rptr.push(0);
        let (mut rgene, mut rval) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
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
                        rgene.push(c);
                        rval.push(v);
                    }
                }
            }
            rptr.push(rgene.len());
        }
        RowSet {
            dense,
            n_dense,
            ptr,
            row,
            val,
            rptr,
            rgene,
            rval,
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

    /// The sparse genes of row `i` and their values.
    fn sparse_row(&self, i: usize) -> (&[u32], &[f64]) {
        let (lo, hi) = (self.rptr[i], self.rptr[i + 1]);
        (&self.rgene[lo..hi], &self.rval[lo..hi])
    }
}

/// Scratch buffers larger than this many values are released after use.
const SCRATCH_KEEP: usize = 1 << 22;

thread_local! {
    /// Per-thread scratch (the `f64` products and the `f32` distances), reused from one
    /// group to the next so that large blocks are not zeroed and faulted in again each time.
    static SCRATCH: std::cell::RefCell<(Vec<f64>, Vec<f32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// `A·Bᵀ` into `out` (`na × nb`, row-major): a dense product over the dense genes; the
/// products of the pairs of non-zeros of the other genes are added by [`add_sparse_row`].
fn dense_gram(a: &RowSet, b: &RowSet, out: &mut Vec<f64>) {
    let (na, nb, nd) = (a.n(), b.n(), a.n_dense);
    out.clear();
    out.resize(na * nb, 0.0);
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
}

/// Adds to `row` (row `i` of `A·Bᵀ`) the products over the sparse genes: for each sparse
/// non-zero of row `i` of `A`, the non-zeros of `B` in that gene. Row by row, so that the
/// scattered updates stay in one cache-resident row of `nb` values.
fn add_sparse_row(a: &RowSet, i: usize, b: &RowSet, row: &mut [f64]) {
    let (genes, vals) = a.sparse_row(i);
    for (&k, &x) in genes.iter().zip(vals) {
        let (br, bv) = b.gene(k as usize);
        for (&j, &y) in br.iter().zip(bv) {
            row[j as usize] += x * y;
        }
    }
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
///
/// Precision: the products `a·b` are accumulated in `f64` from exact `f32` inputs (as
/// scikit-learn's upcast path does), in another order than BLAS, so each squared distance
/// differs from scikit-learn's by a few `f64` ulps; rounded to `f32` it is almost always the
/// same value, and the mean is then numpy's pairwise `f32` sum over the same flattened
/// row-major array, so the result agrees with cell-eval to far below 1e-6.
fn mean_distance(a: &RowSet, b: &RowSet, same: bool, single: bool) -> f64 {
    let (na, nb) = (a.n(), b.n());
    if na == 0 || nb == 0 {
        return f64::NAN;
    }
    SCRATCH.with(|cell| {
        let mut scratch = cell.borrow_mut();
        let (gram, v32) = &mut *scratch;
        dense_gram(a, b, gram);
        let (xa, xb) = (&a.norms, &b.norms);
        if single {
            v32.clear();
            v32.resize(na * nb, 0.0);
        }
        for i in 0..na {
            let row = &mut gram[i * nb..(i + 1) * nb];
            add_sparse_row(a, i, b, row);
            // Squared distance in scikit-learn's order (`-2·g + |x|² + |y|²`), clipped at 0.
            let xi = xa[i];
            if single {
                let out = &mut v32[i * nb..(i + 1) * nb];
                for ((o, &g), &y) in out.iter_mut().zip(row.iter()).zip(xb) {
                    *o = ((-2.0 * g + xi + y).max(0.0) as f32).sqrt();
                }
                if same {
                    out[i] = 0.0;
                }
            } else {
                for (o, &y) in row.iter_mut().zip(xb) {
                    *o = (-2.0 * *o + xi + y).max(0.0).sqrt();
                }
                if same {
                    row[i] = 0.0;
                }
            }
        }
        let mean = if single {
            (pairwise_sum(v32) / (na * nb) as f32) as f64
        } else {
            pairwise_sum(gram) / (na * nb) as f64
        };
        // Do not keep a control×control sized block alive for the rest of the run.
        if gram.capacity() > SCRATCH_KEEP {
            *gram = Vec::new();
            *v32 = Vec::new();
        }
        mean
    })
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
    // The control's own mean distance runs alongside the perturbations.
    let (sigma_c, parts) = rayon::join(
        || mean_distance(&c, &c, true, single),
        || {
            groups
                .perturbations()
                .par_iter()
                .map(|&p| {
                    let m = set(&groups.cells[p]);
                    let sigma_p = mean_distance(&m, &m, true, single);
                    (mean_distance(&m, &c, false, single), sigma_p)
                })
                .collect::<Vec<_>>()
        },
    );
    parts
        .into_iter()
        .map(|(delta, sigma_p)| {
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
