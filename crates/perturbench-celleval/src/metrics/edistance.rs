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
/// through products of pairs of non-zeros (0.2–0.3 measured fastest on the simulated
/// benchmark set, 12.7 % non-zeros, with the batched products).
const DENSE_GENE_FRACTION: f64 = 0.25;

/// Perturbed cells per batch of the products with the control cells: the control's dense
/// block is then packed for the matrix product a few dozen times instead of once per
/// perturbation, while a batch's products (rows × control cells) stay in the last-level cache.
/// 256 is as fast as 512 on the benchmark set and halves each thread's buffer (fresh memory
/// is slow to fault in on virtual machines).
const BATCH_ROWS: usize = 256;

/// Control cells per chunk of the control's own (symmetric) block.
const SELF_CHUNK: usize = 64;

/// The cells of one or more groups (concatenated in group order): the dense genes as a
/// row-major dense block, the other genes stored both gene by gene (for each gene, each
/// group's non-zeros with their row within the group) and row by row (the sparse genes of
/// each row), and the squared norm of each row.
struct RowSet {
    dense: Vec<f64>,
    n_dense: usize,
    n_genes: usize,
    /// Row boundaries of the groups (one more than the number of groups).
    bounds: Vec<usize>,
    /// Group `h`'s non-zeros of gene `k` are `seg[h·G + k] .. seg[(h + 1)·G + k]`.
    seg: Vec<usize>,
    row: Vec<u32>,
    val: Vec<f64>,
    rptr: Vec<usize>,
    rgene: Vec<u32>,
    rval: Vec<f64>,
    norms: Vec<f64>,
}

impl RowSet {
    /// `slot[k]`: column of gene `k` in the dense block, or `None` for a sparse gene.
    fn new(x: &Csr, groups: &[&[usize]], slot: &[Option<u32>], n_dense: usize) -> Self {
        let g = x.ncols();
        let h_n = groups.len();
        let mut count = vec![0usize; h_n * g];
        for (h, rows) in groups.iter().enumerate() {
            for &r in rows.iter() {
                for &c in x.row(r).0 {
                    if slot[c as usize].is_none() {
                        count[h * g + c as usize] += 1;
                    }
                }
            }
        }
        let mut seg = vec![0usize; (h_n + 1) * g];
        let mut pos = 0;
        for k in 0..g {
            for h in 0..h_n {
                seg[h * g + k] = pos;
                pos += count[h * g + k];
            }
            seg[h_n * g + k] = pos;
        }
        let nnz = pos;
        let mut next = seg[..h_n * g].to_vec();
        let mut bounds = vec![0usize];
        for rows in groups {
            bounds.push(bounds.last().unwrap() + rows.len());
        }
        let n = bounds[h_n];
        let (mut row, mut val) = (vec![0u32; nnz], vec![0f64; nnz]);
        let mut dense = vec![0f64; n * n_dense];
        let mut norms = vec![0f64; n];
        let mut rptr = Vec::with_capacity(n + 1);
        rptr.push(0);
        let (mut rgene, mut rval) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
        let mut i = 0;
        for (h, rows) in groups.iter().enumerate() {
            for (local, &r) in rows.iter().enumerate() {
                // X's values at full precision when the file stored float64.
                for (c, v) in crate::xvalue::row_f64(x, r) {
                    norms[i] += v * v;
                    match slot[c as usize] {
                        Some(s) => dense[i * n_dense + s as usize] = v,
                        None => {
                            let p = &mut next[h * g + c as usize];
                            row[*p] = local as u32;
                            val[*p] = v;
                            *p += 1;
                            rgene.push(c);
                            rval.push(v);
                        }
                    }
                }
                rptr.push(rgene.len());
                i += 1;
            }
        }
        RowSet {
            dense,
            n_dense,
            n_genes: g,
            bounds,
            seg,
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

    /// Group `h`'s non-zeros of sparse gene `k`: (row within the group, value), by row.
    fn gene(&self, h: usize, k: usize) -> (&[u32], &[f64]) {
        let g = self.n_genes;
        let (lo, hi) = (self.seg[h * g + k], self.seg[(h + 1) * g + k]);
        (&self.row[lo..hi], &self.val[lo..hi])
    }

    /// The sparse genes of row `i` (of the whole set) and their values.
    fn sparse_row(&self, i: usize) -> (&[u32], &[f64]) {
        let (lo, hi) = (self.rptr[i], self.rptr[i + 1]);
        (&self.rgene[lo..hi], &self.rval[lo..hi])
    }

    /// The dense block of rows `lo..hi`.
    fn dense_rows(&self, lo: usize, hi: usize) -> &[f64] {
        &self.dense[lo * self.n_dense..hi * self.n_dense]
    }
}

/// `A·Bᵀ` over the dense genes (`nd` columns, row-major blocks of `na` and `nb` rows) into
/// `out` (`na × nb`, row-major, overwritten).
fn dense_gram(a: &[f64], na: usize, b: &[f64], nb: usize, nd: usize, out: &mut [f64]) {
    debug_assert!(a.len() == na * nd && b.len() == nb * nd && out.len() == na * nb);
    out.fill(0.0);
    if nd == 0 || na == 0 || nb == 0 {
        return;
    }
    // SAFETY: a is na×nd and b nb×nd (row-major), read as Bᵀ (element (k, j) at j·nd + k);
    // out is na×nb row-major; the lengths are checked above.
    unsafe {
        matrixmultiply::dgemm(
            na,
            nd,
            nb,
            1.0,
            a.as_ptr(),
            nd as isize,
            1,
            b.as_ptr(),
            1,
            nd as isize,
            0.0,
            out.as_mut_ptr(),
            nb as isize,
            1,
        );
    }
}

/// Adds to `row` (row `i` of `A·Bᵀ`, `B` being group `h` of `b`, its entries starting at
/// the group's row `from`) the products over the sparse genes: for each sparse non-zero of
/// row `i` of `a`, the non-zeros of `B` in that gene. Row by row, so that the scattered
/// updates stay in one cache-resident row.
fn add_sparse_row(a: &RowSet, i: usize, b: &RowSet, h: usize, from: u32, row: &mut [f64]) {
    let (genes, vals) = a.sparse_row(i);
    for (&k, &x) in genes.iter().zip(vals) {
        let (br, bv) = b.gene(h, k as usize);
        let s = if from == 0 {
            0
        } else {
            br.partition_point(|&j| j < from)
        };
        let (br, bv) = (&br[s..], &bv[s..]);
        // The rows of a gene's list ascend (RowSet::new appends them in row order), so the
        // last one bounds them all.
        if let Some(&last) = br.last() {
            assert!(((last - from) as usize) < row.len());
        }
        for (&j, &y) in br.iter().zip(bv) {
            // SAFETY: from <= j <= last and last - from < row.len() (asserted above).
            unsafe { *row.get_unchecked_mut((j - from) as usize) += x * y };
        }
    }
}

/// numpy's pairwise summation (`pairwise_sum` of `loops_utils.h`), generic over the
/// accumulator type.
#[cfg(test)]
fn pairwise_sum<T: Copy + Default + std::ops::Add<Output = T>>(a: &[T]) -> T {
    pairwise_sum_as(a, |v| v)
}

/// numpy's pairwise summation of `a` read as `T` (`at` converts each element).
fn pairwise_sum_as<S: Copy, T: Copy + Default + std::ops::Add<Output = T>>(
    a: &[S],
    at: impl Fn(S) -> T + Copy,
) -> T {
    let n = a.len();
    if n < 8 {
        a.iter().fold(T::default(), |acc, &v| acc + at(v))
    } else if n <= 128 {
        let mut r = [0usize, 1, 2, 3, 4, 5, 6, 7].map(|j| at(a[j]));
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] = r[j] + at(a[i + j]);
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res = res + at(a[i]);
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum_as(&a[..n2], at) + pairwise_sum_as(&a[n2..], at)
    }
}

/// The precision distances are kept in: `f32` mimics scikit-learn's float32 path (each
/// squared distance rounded to `f32` before the square root, means summed in `f32`).
trait Dist: Copy + Default + Send + Sync + std::ops::Add<Output = Self> {
    /// The distance of a squared distance computed as `−2·x·y + |x|² + |y|²`, clipped at 0.
    fn from_sq(d2: f64) -> Self;
    /// numpy's mean of a flattened block.
    fn mean(v: &[Self]) -> f64;
    /// [`Dist::mean`] of distances stored as `f64` (each one exactly a value of this type).
    fn mean_stored(v: &[f64]) -> f64;
    /// The distance as stored in an `f64` buffer (exact).
    fn stored(self) -> f64;
    /// `2·δ − σ_p − σ_c` in this precision.
    fn energy(delta: f64, sigma_p: f64, sigma_c: f64) -> f64;
}

impl Dist for f32 {
    fn from_sq(d2: f64) -> Self {
        (d2.max(0.0) as f32).sqrt()
    }
    fn mean(v: &[Self]) -> f64 {
        (pairwise_sum_as(v, |x| x) / v.len() as f32) as f64
    }
    fn mean_stored(v: &[f64]) -> f64 {
        (pairwise_sum_as(v, |x| x as f32) / v.len() as f32) as f64
    }
    fn stored(self) -> f64 {
        self as f64
    }
    fn energy(delta: f64, sigma_p: f64, sigma_c: f64) -> f64 {
        let (d, sp, sc) = (delta as f32, sigma_p as f32, sigma_c as f32);
        (2.0 * d - sp - sc) as f64
    }
}

impl Dist for f64 {
    fn from_sq(d2: f64) -> Self {
        d2.max(0.0).sqrt()
    }
    fn mean(v: &[Self]) -> f64 {
        pairwise_sum_as(v, |x| x) / v.len() as f64
    }
    fn mean_stored(v: &[f64]) -> f64 {
        Self::mean(v)
    }
    fn stored(self) -> f64 {
        self
    }
    fn energy(delta: f64, sigma_p: f64, sigma_c: f64) -> f64 {
        2.0 * delta - sigma_p - sigma_c
    }
}

/// Distances of one row from its products `g` with the other side, `xi` its squared norm and
/// `yn` those of the other side's rows, in scikit-learn's order (`−2·g + |x|² + |y|²`).
fn finish_row<T: Dist>(g: &[f64], xi: f64, yn: &[f64], out: &mut [T]) {
    for ((o, &g), &y) in out.iter_mut().zip(g).zip(yn) {
        *o = T::from_sq(-2.0 * g + xi + y);
    }
}

/// Mean distance over all pairs of cells within group `h` of `a` (self-pairs at 0).
fn self_mean<T: Dist>(a: &RowSet, h: usize) -> f64 {
    let (lo, hi) = (a.bounds[h], a.bounds[h + 1]);
    let n = hi - lo;
    if n == 0 {
        return f64::NAN;
    }
    let d = a.dense_rows(lo, hi);
    let mut gram = vec![0f64; n * n];
    dense_gram(d, n, d, n, a.n_dense, &mut gram);
    let mut out = vec![T::default(); n * n];
    let norms = &a.norms[lo..hi];
    for i in 0..n {
        let row = &mut gram[i * n..(i + 1) * n];
        add_sparse_row(a, lo + i, a, h, 0, row);
        let o = &mut out[i * n..(i + 1) * n];
        finish_row(row, norms[i], norms, o);
        o[i] = T::default();
    }
    T::mean(&out)
}

/// For each group of `a`: (mean distance to the cells of `c`, mean distance within the group).
/// The distances overwrite the products they come from (as `f64`, each exactly a `T`).
fn batch_means<T: Dist>(a: &RowSet, c: &RowSet) -> Vec<(f64, f64)> {
    let (na, nc) = (a.n(), c.n());
    let mut gram = vec![0f64; na * nc];
    dense_gram(&a.dense, na, &c.dense, nc, a.n_dense, &mut gram);
    if nc > 0 {
        for (i, row) in gram.chunks_mut(nc).enumerate() {
            add_sparse_row(a, i, c, 0, 0, row);
            let xi = a.norms[i];
            for (g, &y) in row.iter_mut().zip(&c.norms) {
                *g = T::from_sq(-2.0 * *g + xi + y).stored();
            }
        }
    }
    (0..a.bounds.len() - 1)
        .map(|h| {
            let (lo, hi) = (a.bounds[h], a.bounds[h + 1]);
            let cross = if lo == hi || nc == 0 {
                f64::NAN
            } else {
                T::mean_stored(&gram[lo * nc..hi * nc])
            };
            (cross, self_mean::<T>(a, h))
        })
        .collect()
}

/// Mean distance over all pairs of cells of the one group of `c` (self-pairs at 0). The block
/// is symmetric: each chunk of rows computes the pairs from its first row on, and the pairs
/// before it are copied from their mirror images.
fn control_self_mean<T: Dist>(c: &RowSet) -> f64 {
    let n = c.n();
    if n == 0 {
        return f64::NAN;
    }
    let nd = c.n_dense;
    let mut out = vec![T::default(); n * n];
    out.par_chunks_mut(SELF_CHUNK * n)
        .enumerate()
        .for_each(|(ci, rows)| {
            let i0 = ci * SELF_CHUNK;
            let m = rows.len() / n;
            let w = n - i0;
            let mut gram = vec![0f64; m * w];
            dense_gram(
                c.dense_rows(i0, i0 + m),
                m,
                c.dense_rows(i0, n),
                w,
                nd,
                &mut gram,
            );
            for (r, g) in gram.chunks_mut(w).enumerate() {
                let i = i0 + r;
                add_sparse_row(c, i, c, 0, i0 as u32, g);
                let o = &mut rows[r * n + i0..(r + 1) * n];
                finish_row(g, c.norms[i], &c.norms[i0..], o);
                o[r] = T::default();
            }
        });
    // The pairs (i, j) with j before i's chunk, from (j, i).
    for i in SELF_CHUNK..n {
        let i0 = i - i % SELF_CHUNK;
        for j in 0..i0 {
            out[i * n + j] = out[j * n + i];
        }
    }
    T::mean(&out)
}

/// Energy distance of every perturbation of `groups` (in label order, control excluded)
/// to the control cells of the same matrix.
pub fn energy_distances(x: &Csr, groups: &Groups, single: bool) -> Vec<f64> {
    if single {
        energy_distances_in::<f32>(x, groups, BATCH_ROWS)
    } else {
        energy_distances_in::<f64>(x, groups, BATCH_ROWS)
    }
}

fn energy_distances_in<T: Dist>(x: &Csr, groups: &Groups, batch_rows: usize) -> Vec<f64> {
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
    let nd = n_dense as usize;
    let c = RowSet::new(x, &[&groups.cells[groups.control]], &slot, nd);
    // Consecutive perturbations, `batch_rows` cells at most per batch (a larger one alone).
    let mut batches: Vec<Vec<&[usize]>> = Vec::new();
    let mut rows_in_last = usize::MAX;
    for p in groups.perturbations() {
        let rows = groups.cells[p].as_slice();
        if rows_in_last.saturating_add(rows.len()) > batch_rows {
            batches.push(Vec::new());
            rows_in_last = 0;
        }
        batches.last_mut().unwrap().push(rows);
        rows_in_last += rows.len();
    }
    // The control's own mean distance runs alongside the perturbations.
    let (sigma_c, parts) = rayon::join(
        || control_self_mean::<T>(&c),
        || {
            batches
                .par_iter()
                .map(|b| batch_means::<T>(&RowSet::new(x, b, &slot, nd), &c))
                .collect::<Vec<_>>()
        },
    );
    parts
        .into_iter()
        .flatten()
        .map(|(delta, sigma_p)| T::energy(delta, sigma_p, sigma_c))
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

    /// The energy distances from all pairs computed directly (dense dot products), as
    /// scikit-learn's `pairwise_distances(...).mean()` defines them.
    fn direct(x: &Csr, g: &Groups) -> Vec<f64> {
        let row = |r: usize| -> Vec<f64> {
            let mut v = vec![0f64; x.ncols()];
            let (idx, vals) = x.row(r);
            for (&c, &val) in idx.iter().zip(vals) {
                v[c as usize] = val as f64;
            }
            v
        };
        let mean = |a: &[usize], b: &[usize], same: bool| -> f64 {
            let mut d = Vec::new();
            for (i, &ra) in a.iter().enumerate() {
                let xa = row(ra);
                for (j, &rb) in b.iter().enumerate() {
                    let xb = row(rb);
                    let dot: f64 = xa.iter().zip(&xb).map(|(p, q)| p * q).sum();
                    let (na, nb): (f64, f64) = (
                        xa.iter().map(|v| v * v).sum(),
                        xb.iter().map(|v| v * v).sum(),
                    );
                    let v = (-2.0 * dot + na + nb).max(0.0).sqrt();
                    d.push(if same && i == j { 0.0 } else { v });
                }
            }
            pairwise_sum(&d) / d.len() as f64
        };
        let c = &g.cells[g.control];
        let sc = mean(c, c, true);
        g.perturbations()
            .iter()
            .map(|&p| 2.0 * mean(&g.cells[p], c, false) - mean(&g.cells[p], &g.cells[p], true) - sc)
            .collect()
    }

    #[test]
    fn batched_symmetric_blocks_equal_all_pairs() {
        // 420 cells × 30 genes: genes 0-5 non-zero in ~70 % of cells (dense path), the rest
        // in 2-25 % (pairs of non-zeros); 150 control cells (three chunks of the symmetric
        // block, the last one partial) and perturbations of 1 to 60 cells, in batches of at
        // most 70 cells (several perturbations per batch, one larger than a batch).
        let (n, g) = (420usize, 30usize);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut dense_x = vec![0f32; n * g];
        for r in 0..n {
            for k in 0..g {
                let p = if k < 6 {
                    0.7
                } else {
                    0.02 + 0.23 * (k as f64 / g as f64)
                };
                if next() < p {
                    dense_x[r * g + k] = (1.0 + 4.0 * next()) as f32;
                }
            }
        }
        let x = Csr::from_dense(n, g, &dense_x).unwrap();
        let sizes = [1usize, 5, 60, 80, 12, 40, 30, 2, 40];
        let mut labels: Vec<String> = Vec::new();
        for (i, &s) in sizes.iter().enumerate() {
            labels.extend(std::iter::repeat_n(format!("P{i}"), s));
        }
        labels.extend(std::iter::repeat_n("control".to_string(), n - labels.len()));
        // Interleave the control with the perturbations.
        labels.rotate_left(100);
        let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        let gr = Groups::from_labels(&refs, "control").unwrap();
        assert_eq!(gr.cells[gr.control].len(), 150);
        let want = direct(&x, &gr);
        let got = energy_distances_in::<f64>(&x, &gr, 70);
        let got32 = energy_distances_in::<f32>(&x, &gr, 70);
        assert_eq!(got.len(), sizes.len());
        for ((w, a), b) in want.iter().zip(&got).zip(&got32) {
            assert!((w - a).abs() <= 1e-12 * w.abs().max(1.0), "{w} vs {a}");
            assert!((w - b).abs() <= 1e-5 * w.abs().max(1.0), "{w} vs f32 {b}");
        }
        for (a, b) in got.iter().zip(energy_distances(&x, &gr, false)) {
            assert!(
                (a - b).abs() <= 1e-12 * a.abs().max(1.0),
                "one batch: {a} vs {b}"
            );
        }
    }
}
