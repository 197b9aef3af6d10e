//! PCA of the reference cells (zero-centred over all its cells, as scanpy's `pp.pca`) and the
//! projection of any file's cells onto those components. With up to [`EXACT_GENES`] genes the
//! covariance matrix is formed and decomposed exactly; above, a seeded block Krylov method
//! (block Lanczos with full reorthogonalisation and a Rayleigh–Ritz step) streams X a few
//! times. Only the spanned subspace matters to the distances computed on it; signs are arbitrary.

use crate::groups::{FileGroups, ROWS_PER_BLOCK};
use crate::EvalError;
use faer::{Mat, Side};
use perturbench_io::{CellSource, Csr};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Up to this many genes the covariance matrix is decomposed exactly.
pub const EXACT_GENES: usize = 1024;

/// Extra random directions per Krylov block beyond the requested components.
const OVERSAMPLE: usize = 10;

/// Principal components of the reference.
pub struct Pca {
    /// Number of components.
    pub k: usize,
    /// Mean of every reference gene over the reference cells.
    pub mean: Vec<f64>,
    /// genes × k, row-major: loading of gene j on component c at `j * k + c`.
    pub loadings: Vec<f64>,
    /// Variance along every component (σ² / (n − 1)).
    pub variance: Vec<f64>,
    /// Largest relative change of the top Ritz values at the last Krylov step (0 when the
    /// decomposition is exact); above the tolerance the components are approximate.
    pub residual: f64,
}

/// Calls `f(first row, block)` for every block of rows of X.
fn each_block(
    reader: &dyn CellSource,
    mut f: impl FnMut(usize, &Csr) -> Result<(), EvalError>,
) -> Result<(), EvalError> {
    let mut blocks = reader.row_chunks("X", ROWS_PER_BLOCK)?;
    while let Some(b) = blocks.next() {
        let (first, block) = b?;
        f(first, &block)?;
        blocks.recycle(block);
    }
    Ok(())
}

/// Rows per partial sum of [`covariance_times`]: fixed, so that results do not depend on the
/// number of threads.
const PART_ROWS: usize = 2048;

/// One part of [`covariance_times`]: rows `rows` of `block` added to `zp` (genes × b) and their
/// centred projections to `cs`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn covariance_part_body(
    block: &Csr,
    rows: std::ops::Range<usize>,
    map: &[Option<u32>],
    v: &[f64],
    shift: &[f64],
    b: usize,
    zp: &mut [f64],
    cs: &mut [f64],
) {
    let mut y = vec![0.0; b];
    for r in rows {
        let (idx, val) = block.row(r);
        y.iter_mut().zip(shift).for_each(|(a, s)| *a = -s);
        for (&j, &x) in idx.iter().zip(val) {
            if let Some(k) = map[j as usize] {
                let row = &v[k as usize * b..(k as usize + 1) * b];
                let x = x as f64;
                y.iter_mut().zip(row).for_each(|(a, w)| *a += x * w);
            }
        }
        cs.iter_mut().zip(&y).for_each(|(a, w)| *a += w);
        for (&j, &x) in idx.iter().zip(val) {
            if let Some(k) = map[j as usize] {
                let out = &mut zp[k as usize * b..(k as usize + 1) * b];
                let x = x as f64;
                out.iter_mut().zip(&y).for_each(|(a, w)| *a += x * w);
            }
        }
    }
}

/// [`covariance_part_body`] compiled for AVX2 (the same arithmetic: no contraction into FMA).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn covariance_part_avx2(
    block: &Csr,
    rows: std::ops::Range<usize>,
    map: &[Option<u32>],
    v: &[f64],
    shift: &[f64],
    b: usize,
    zp: &mut [f64],
    cs: &mut [f64],
) {
    covariance_part_body(block, rows, map, v, shift, b, zp, cs)
}

/// Dispatches to the widest vector instructions the CPU has.
#[allow(clippy::too_many_arguments)]
fn covariance_part(
    block: &Csr,
    rows: std::ops::Range<usize>,
    map: &[Option<u32>],
    v: &[f64],
    shift: &[f64],
    b: usize,
    zp: &mut [f64],
    cs: &mut [f64],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { covariance_part_avx2(block, rows, map, v, shift, b, zp, cs) };
    }
    covariance_part_body(block, rows, map, v, shift, b, zp, cs)
}

/// `Xcᵀ Xc V` for a genes × b matrix `V` (Xc: X centred by `mean`), in one pass over X:
/// every row contributes x (x·V − μᵀV).
fn covariance_times(
    reader: &dyn CellSource,
    map: &[Option<u32>],
    mean: &[f64],
    v: &[f64],
    b: usize,
) -> Result<Vec<f64>, EvalError> {
    let genes = mean.len();
    let mut shift = vec![0.0; b];
    for (j, m) in mean.iter().enumerate() {
        shift
            .iter_mut()
            .zip(&v[j * b..(j + 1) * b])
            .for_each(|(s, x)| *s += m * x);
    }
    let mut z = vec![0.0; genes * b];
    let mut colsum = vec![0.0; b];
    each_block(reader, |_, block| {
        let starts: Vec<usize> = (0..block.nrows()).step_by(PART_ROWS).collect();
        let parts: Vec<(Vec<f64>, Vec<f64>)> = starts
            .into_par_iter()
            .map(|start| {
                let end = (start + PART_ROWS).min(block.nrows());
                let mut zp = vec![0.0; genes * b];
                let mut cs = vec![0.0; b];
                covariance_part(block, start..end, map, v, &shift, b, &mut zp, &mut cs);
                (zp, cs)
            })
            .collect();
        for (zp, cs) in parts {
            z.iter_mut().zip(&zp).for_each(|(a, w)| *a += w);
            colsum.iter_mut().zip(&cs).for_each(|(a, w)| *a += w);
        }
        Ok(())
    })?;
    for (j, m) in mean.iter().enumerate() {
        z[j * b..(j + 1) * b]
            .iter_mut()
            .zip(&colsum)
            .for_each(|(a, c)| *a -= m * c);
    }
    Ok(z)
}

/// Column sums of X over reference genes.
fn column_sums(
    reader: &dyn CellSource,
    map: &[Option<u32>],
    genes: usize,
) -> Result<Vec<f64>, EvalError> {
    let mut sum = vec![0.0f64; genes];
    each_block(reader, |_, block| {
        for r in 0..block.nrows() {
            let (idx, val) = block.row(r);
            for (&j, &v) in idx.iter().zip(val) {
                if let Some(k) = map[j as usize] {
                    sum[k as usize] += v as f64;
                }
            }
        }
        Ok(())
    })?;
    Ok(sum)
}

/// Top `k` eigenpairs (descending) of a symmetric matrix given by `f(i, j)`; eigenvectors as
/// the columns of a row-major `dim × k` matrix.
fn top_eigen(
    dim: usize,
    k: usize,
    f: impl Fn(usize, usize) -> f64,
) -> Result<(Vec<f64>, Vec<f64>), EvalError> {
    let m = Mat::<f64>::from_fn(dim, dim, f);
    let eig = m
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| EvalError::Config(format!("PCA eigendecomposition failed: {e:?}")))?;
    let s = eig.S().column_vector();
    let u = eig.U();
    // faer orders eigenvalues ascending.
    let values: Vec<f64> = (0..k).map(|c| s[dim - 1 - c]).collect();
    let mut vectors = vec![0.0; dim * k];
    for i in 0..dim {
        for c in 0..k {
            vectors[i * k + c] = u[(i, dim - 1 - c)];
        }
    }
    Ok((values, vectors))
}

/// Orthonormal basis (row-major genes × cols) of the columns of `a`, by Householder QR.
fn orthonormal(a: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let m = Mat::<f64>::from_fn(rows, cols, |i, j| a[i * cols + j]);
    let q = m.qr().compute_thin_Q();
    let mut out = vec![0.0; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            out[i * cols + j] = q[(i, j)];
        }
    }
    out
}

/// Fits `k` components to the reference's cells (`fg` maps its columns to reference genes).
/// Above [`EXACT_GENES`] genes: block Krylov steps from a `seed`ed random block until the
/// top `k` Ritz values change by at most `tolerance` (relative), at most `iterations` steps.
pub fn fit(
    reader: &dyn CellSource,
    fg: &FileGroups,
    genes: usize,
    k: usize,
    iterations: usize,
    tolerance: f64,
    seed: u64,
) -> Result<Pca, EvalError> {
    let n = fg.cell_group.len();
    let k = k.min(genes).min(n.saturating_sub(1)).max(1);
    let map = &fg.gene_map;
    let mean: Vec<f64> = column_sums(reader, map, genes)?
        .iter()
        .map(|s| s / n as f64)
        .collect();
    let denom = (n.max(2) - 1) as f64;
    let (values, loadings, residual) = if genes <= EXACT_GENES {
        // C = XᵀX − n μμᵀ, every thread owning a range of rows of C.
        let mut c = vec![0.0; genes * genes];
        let threads = rayon::current_num_threads().max(1);
        let span = genes.div_ceil(threads).max(1);
        each_block(reader, |_, block| {
            c.par_chunks_mut(span * genes)
                .enumerate()
                .for_each(|(t, part)| {
                    let lo = t * span;
                    let hi = lo + part.len() / genes;
                    for r in 0..block.nrows() {
                        let (idx, val) = block.row(r);
                        for (&ja, &va) in idx.iter().zip(val) {
                            let Some(a) = map[ja as usize] else { continue };
                            let a = a as usize;
                            if a < lo || a >= hi {
                                continue;
                            }
                            let row = &mut part[(a - lo) * genes..(a - lo + 1) * genes];
                            for (&jb, &vb) in idx.iter().zip(val) {
                                if let Some(b) = map[jb as usize] {
                                    row[b as usize] += va as f64 * vb as f64;
                                }
                            }
                        }
                    }
                });
            Ok(())
        })?;
        let (values, vectors) = top_eigen(genes, k, |i, j| {
            c[i * genes + j] - n as f64 * mean[i] * mean[j]
        })?;
        (values, vectors, 0.0)
    } else {
        krylov(reader, map, &mean, genes, k, iterations, tolerance, seed)?
    };
    Ok(Pca {
        k,
        mean,
        loadings,
        variance: values.iter().map(|v| v.max(0.0) / denom).collect(),
        residual,
    })
}

/// Block Krylov PCA: eigenpairs of C = Xcᵀ Xc from the space spanned by Ω, CΩ, …, C^q Ω.
#[allow(clippy::too_many_arguments)]
fn krylov(
    reader: &dyn CellSource,
    map: &[Option<u32>],
    mean: &[f64],
    genes: usize,
    k: usize,
    iterations: usize,
    tolerance: f64,
    seed: u64,
) -> Result<(Vec<f64>, Vec<f64>, f64), EvalError> {
    let b = (k + OVERSAMPLE).min(genes);
    // Keep the Krylov space well inside the gene space.
    let max_steps = iterations.min((genes / 2 / b).max(1) - 1);
    let apply = |v: &[f64]| covariance_times(reader, map, mean, v, b);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5043_4131);
    let omega: Vec<f64> = (0..genes * b)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    // Qᵀ·W for two genes × b blocks (b × b, row-major).
    let cross = |q: &[f64], w: &[f64]| -> Vec<f64> {
        let mut out = vec![0.0; b * b];
        for g in 0..genes {
            let (qr, wr) = (&q[g * b..(g + 1) * b], &w[g * b..(g + 1) * b]);
            for i in 0..b {
                let qi = qr[i];
                out[i * b..(i + 1) * b]
                    .iter_mut()
                    .zip(wr)
                    .for_each(|(o, x)| *o += qi * x);
            }
        }
        out
    };
    let mut basis: Vec<Vec<f64>> = vec![orthonormal(&omega, genes, b)];
    let mut images: Vec<Vec<f64>> = Vec::new();
    // T = Qᵀ C Q, grown one block row and column per step (symmetrised).
    let mut t: Vec<Vec<f64>> = Vec::new(); // t[i * blocks + j] blocks, recomputed layout below
    let mut previous: Option<Vec<f64>> = None;
    let mut result = None;
    for step in 0..=max_steps {
        let w = apply(&basis[step])?;
        images.push(w);
        // New block row/column of T.
        let blocks = step + 1;
        let mut grown = vec![Vec::new(); blocks * blocks];
        for i in 0..step {
            for j in 0..step {
                grown[i * blocks + j] = std::mem::take(&mut t[i * step + j]);
            }
        }
        for o in 0..blocks {
            let a = cross(&basis[step], &images[o]); // q_newᵀ W_o
            let c = cross(&basis[o], &images[step]); // q_oᵀ W_new
                                                     // T[new][o] = (a + cᵀ) / 2, T[o][new] its transpose.
            let mut tn = vec![0.0; b * b];
            for i in 0..b {
                for j in 0..b {
                    tn[i * b + j] = 0.5 * (a[i * b + j] + c[j * b + i]);
                }
            }
            let mut to = vec![0.0; b * b];
            for i in 0..b {
                for j in 0..b {
                    to[j * b + i] = tn[i * b + j];
                }
            }
            grown[step * blocks + o] = tn;
            if o != step {
                grown[o * blocks + step] = to;
            }
        }
        t = grown;
        let dim = blocks * b;
        let entry = |i: usize, j: usize| t[(i / b) * blocks + j / b][(i % b) * b + j % b];
        let (values, u) = top_eigen(dim, k, entry)?;
        let change = previous.as_ref().map_or(f64::INFINITY, |p: &Vec<f64>| {
            p.iter()
                .zip(&values)
                .map(|(a, v)| (a - v).abs() / v.abs().max(f64::MIN_POSITIVE))
                .fold(0.0, f64::max)
        });
        if std::env::var_os("PERTURBENCH_TRACE").is_some() {
            eprintln!("  pca step {step}: dimension {dim}, largest relative change {change:.2e}");
        }
        if change <= tolerance || step == max_steps {
            result = Some((values, u, dim, change));
            break;
        }
        previous = Some(values);
        // Next block: C Q_step orthogonalised against every block so far (twice).
        let mut next = images[step].clone();
        for _ in 0..2 {
            for q in &basis {
                let proj = cross(q, &next);
                for g in 0..genes {
                    for j in 0..b {
                        let s: f64 = (0..b).map(|i| q[g * b + i] * proj[i * b + j]).sum();
                        next[g * b + j] -= s;
                    }
                }
            }
        }
        basis.push(orthonormal(&next, genes, b));
    }
    let (values, u, dim, change) = result.expect("the loop ends with a result");
    let at = |g: usize, c: usize| basis[c / b][g * b + c % b];
    let mut loadings = vec![0.0; genes * k];
    loadings.par_chunks_mut(k).enumerate().for_each(|(g, row)| {
        for (c, slot) in row.iter_mut().enumerate() {
            *slot = (0..dim).map(|i| at(g, i) * u[i * k + c]).sum();
        }
    });
    Ok((values, loadings, change))
}

/// Cells of a file projected on the reference's components.
pub struct Projected {
    /// Components per cell.
    pub k: usize,
    /// cells × k, row-major, in the file's row order.
    pub coords: Vec<f32>,
    /// Per group of the file: Σ z (k values, float64).
    pub sum: Vec<f64>,
    /// Per group of the file: Σ ‖z‖².
    pub sum_sq: Vec<f64>,
}

/// Projects every cell of a file (`fg` maps its columns onto reference genes) onto `pca`:
/// z = (x − μ) · loadings.
pub fn project(
    reader: &dyn CellSource,
    fg: &FileGroups,
    pca: &Pca,
) -> Result<Projected, EvalError> {
    let (k, n) = (pca.k, fg.cell_group.len());
    let offset: Vec<f64> = (0..k)
        .map(|c| {
            pca.mean
                .iter()
                .enumerate()
                .map(|(j, m)| m * pca.loadings[j * k + c])
                .sum()
        })
        .collect();
    let mut coords = vec![0f32; n * k];
    let mut sum = vec![0.0; fg.len() * k];
    let mut sum_sq = vec![0.0; fg.len()];
    let mut buf: Vec<f64> = Vec::new();
    each_block(reader, |first, block| {
        buf.clear();
        buf.resize(block.nrows() * k, 0.0);
        buf.par_chunks_mut(k).enumerate().for_each(|(r, o)| {
            let (idx, val) = block.row(r);
            for (&j, &v) in idx.iter().zip(val) {
                if let Some(g) = fg.gene_map[j as usize] {
                    let row = &pca.loadings[g as usize * k..(g as usize + 1) * k];
                    let v = v as f64;
                    o.iter_mut().zip(row).for_each(|(a, b)| *a += v * b);
                }
            }
            o.iter_mut().zip(&offset).for_each(|(a, b)| *a -= b);
        });
        for (r, z) in buf.chunks_exact(k).enumerate() {
            let row = first + r;
            let gi = fg.cell_group[row] as usize;
            sum[gi * k..(gi + 1) * k]
                .iter_mut()
                .zip(z)
                .for_each(|(a, b)| *a += b);
            sum_sq[gi] += z.iter().map(|v| v * v).sum::<f64>();
            coords[row * k..(row + 1) * k]
                .iter_mut()
                .zip(z)
                .for_each(|(a, b)| *a = *b as f32);
        }
        Ok(())
    })?;
    Ok(Projected {
        k,
        coords,
        sum,
        sum_sq,
    })
}
