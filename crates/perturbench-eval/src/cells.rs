//! Cell-level aggregations (`none`: cells in gene space; `pca`: cells on the reference's
//! principal components) and the distances between two groups of cells:
//!
//! * `energy`: scPerturb's E-distance (`edist`, squared Euclidean, sample-corrected):
//!   2·mean‖x−y‖² − mean_{a≠a'}‖x−x'‖² − mean_{b≠b'}‖y−y'‖², which equals
//!   2‖μx − μy‖² − 2·sx/N − 2·sy/M with s the unbiased total variance of a group; computed
//!   exactly from per-group sums, so it streams and needs no pairwise distances.
//! * `mmd`: geomloss's `SamplesLoss("energy")`, the kernel −‖x−y‖ with uniform weights:
//!   mean‖x−y‖ − ½·mean‖x−x'‖ − ½·mean‖y−y'‖ over all pairs (diagonal included), on PCA
//!   coordinates; pairwise distances in float32 (as geomloss on a GPU), sums in float64.

use crate::aggregate::{non_control, Aggregate};
use crate::groups::{FileGroups, GroupSums};
use crate::pca::{project, Pca};
use crate::EvalError;
use perturbench_io::CellSource;
use rayon::prelude::*;

/// `none`: per group the mean cell in gene space and the energy within-term (from the group
/// sums and sums of squares in float64).
pub fn none(fg: &FileGroups, sums: &GroupSums) -> Aggregate {
    let g = sums.genes;
    let sq = sums
        .sum_sq
        .as_ref()
        .expect("sums of squares were accumulated");
    let groups = non_control(fg);
    let mut data = Vec::with_capacity(groups.len() * g);
    let mut within = Vec::with_capacity(groups.len());
    for &gi in &groups {
        let n = fg.sizes[gi];
        let mean: Vec<f64> = sums.sum[gi * g..(gi + 1) * g]
            .iter()
            .map(|s| s / n as f64)
            .collect();
        let total_sq: f64 = sq[gi * g..(gi + 1) * g].iter().sum();
        within.push(energy_within(n, total_sq, &mean));
        data.extend(mean);
    }
    Aggregate {
        groups,
        genes: g,
        data,
        within,
        cells: None,
    }
}

/// `pca`: the file's cells projected on the reference's components; per group the mean
/// projection, the energy within-term and the cells themselves.
pub fn pca(reader: &dyn CellSource, fg: &FileGroups, pca: &Pca) -> Result<Aggregate, EvalError> {
    let p = project(reader, fg, pca)?;
    let k = p.k;
    let groups = non_control(fg);
    let mut rows_of: Vec<Vec<u32>> = vec![Vec::new(); fg.len()];
    for (r, &gi) in fg.cell_group.iter().enumerate() {
        rows_of[gi as usize].push(r as u32);
    }
    let mut data = Vec::with_capacity(groups.len() * k);
    let mut within = Vec::with_capacity(groups.len());
    for &gi in &groups {
        let n = fg.sizes[gi];
        let mean: Vec<f64> = p.sum[gi * k..(gi + 1) * k]
            .iter()
            .map(|s| s / n as f64)
            .collect();
        within.push(energy_within(n, p.sum_sq[gi], &mean));
        data.extend(mean);
    }
    let rows: Vec<Vec<u32>> = groups
        .iter()
        .map(|&gi| std::mem::take(&mut rows_of[gi]))
        .collect();
    Ok(Aggregate {
        groups,
        genes: k,
        data,
        within,
        cells: Some(Cells::new(k, &p.coords, &rows)),
    })
}

/// Cells of every aggregate row, for `mmd`.
#[derive(Debug, Clone)]
pub struct Cells {
    /// Coordinates per cell.
    pub dim: usize,
    /// Per aggregate row: its cells, row-major (cells × dim).
    pub coords: Vec<Vec<f32>>,
    /// Per aggregate row: squared norms of its cells.
    pub norms: Vec<Vec<f32>>,
    /// Per aggregate row: mean Euclidean distance over all ordered pairs of its cells.
    pub within: Vec<f64>,
}

impl Cells {
    /// Groups the rows of `coords` (cells × dim, file order) by aggregate row.
    pub fn new(dim: usize, coords: &[f32], rows: &[Vec<u32>]) -> Cells {
        let coords: Vec<Vec<f32>> = rows
            .iter()
            .map(|rs| {
                let mut v = Vec::with_capacity(rs.len() * dim);
                for &r in rs {
                    v.extend_from_slice(&coords[r as usize * dim..(r as usize + 1) * dim]);
                }
                v
            })
            .collect();
        let norms: Vec<Vec<f32>> = coords
            .iter()
            .map(|c| {
                c.chunks_exact(dim)
                    .map(|x| x.iter().map(|v| v * v).sum())
                    .collect()
            })
            .collect();
        let within = (0..coords.len())
            .into_par_iter()
            .map(|i| mean_distance(dim, &coords[i], &norms[i], &coords[i], &norms[i]))
            .collect();
        Cells {
            dim,
            coords,
            norms,
            within,
        }
    }
}

/// Cells per block of the pairwise distance computation.
const TILE: usize = 256;

/// Mean Euclidean distance between every cell of `a` and every cell of `b` (float32 distances
/// from ‖x‖² + ‖y‖² − 2x·y, summed in float64).
pub fn mean_distance(dim: usize, a: &[f32], na: &[f32], b: &[f32], nb: &[f32]) -> f64 {
    let (n, m) = (na.len(), nb.len());
    if n == 0 || m == 0 || dim == 0 {
        return f64::NAN;
    }
    let mut g = vec![0f32; TILE * TILE];
    let mut total = 0f64;
    for i0 in (0..n).step_by(TILE) {
        let ni = TILE.min(n - i0);
        for j0 in (0..m).step_by(TILE) {
            let mj = TILE.min(m - j0);
            // g (ni × mj) = A[i0..] · B[j0..]ᵀ
            // SAFETY: the pointers and strides describe the row-major slices `a`, `b` and `g`,
            // whose lengths cover ni × dim, mj × dim and ni × mj elements.
            unsafe {
                matrixmultiply::sgemm(
                    ni,
                    dim,
                    mj,
                    1.0,
                    a[i0 * dim..].as_ptr(),
                    dim as isize,
                    1,
                    b[j0 * dim..].as_ptr(),
                    1,
                    dim as isize,
                    0.0,
                    g.as_mut_ptr(),
                    mj as isize,
                    1,
                );
            }
            for ii in 0..ni {
                let x = na[i0 + ii];
                let row = &g[ii * mj..(ii + 1) * mj];
                let s: f32 = row
                    .iter()
                    .zip(&nb[j0..j0 + mj])
                    .map(|(&dot, &y)| (x + y - 2.0 * dot).max(0.0).sqrt())
                    .sum();
                total += s as f64;
            }
        }
    }
    total / (n as f64 * m as f64)
}

/// scPerturb's E-distance between groups with means `mx`, `my`, sizes `nx`, `ny` and
/// within-terms `wx`, `wy` (unbiased total variance / size); NaN for a group of one cell.
pub fn energy(mx: &[f64], wx: f64, my: &[f64], wy: f64) -> f64 {
    let d2: f64 = mx.iter().zip(my).map(|(a, b)| (a - b) * (a - b)).sum();
    2.0 * d2 - 2.0 * wx - 2.0 * wy
}

/// The energy within-term of a group: unbiased total variance / n, from Σ‖x‖² and the mean.
pub fn energy_within(n: usize, sum_sq: f64, mean: &[f64]) -> f64 {
    if n < 2 {
        return f64::NAN;
    }
    let m2: f64 = mean.iter().map(|v| v * v).sum();
    let ss = (sum_sq - n as f64 * m2).max(0.0);
    ss / (n as f64 - 1.0) / n as f64
}

/// A cell-level metric between row `i` of the prediction `x` and row `j` of the observation `y`.
pub fn value(m: crate::Metric, x: &Aggregate, i: usize, y: &Aggregate, j: usize) -> f64 {
    match m {
        crate::Metric::Energy => energy(x.row(i), x.within[i], y.row(j), y.within[j]),
        crate::Metric::Mmd => match (&x.cells, &y.cells) {
            (Some(cx), Some(cy)) => mmd(cx, i, cy, j),
            _ => f64::NAN,
        },
        _ => f64::NAN,
    }
}

/// geomloss's energy loss between row `i` of `x` and row `j` of `y`.
pub fn mmd(x: &Cells, i: usize, y: &Cells, j: usize) -> f64 {
    let cross = mean_distance(x.dim, &x.coords[i], &x.norms[i], &y.coords[j], &y.norms[j]);
    cross - 0.5 * x.within[i] - 0.5 * y.within[j]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_edist(x: &[Vec<f64>], y: &[Vec<f64>]) -> f64 {
        let d = |a: &Vec<f64>, b: &Vec<f64>| -> f64 {
            a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum()
        };
        let (n, m) = (x.len() as f64, y.len() as f64);
        let cross: f64 = x.iter().flat_map(|a| y.iter().map(move |b| d(a, b))).sum();
        let wx: f64 = x.iter().flat_map(|a| x.iter().map(move |b| d(a, b))).sum();
        let wy: f64 = y.iter().flat_map(|a| y.iter().map(move |b| d(a, b))).sum();
        2.0 * cross / (n * m) - wx / (n * (n - 1.0)) - wy / (m * (m - 1.0))
    }

    fn cloud(n: usize, dim: usize, s: usize, shift: f64) -> Vec<Vec<f64>> {
        (0..n)
            .map(|i| {
                (0..dim)
                    .map(|d| (((i * 31 + d * 17 + s * 7) % 23) as f64 / 7.0).sin() + shift)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn closed_form_energy_equals_pairwise_definition() {
        let (x, y) = (cloud(37, 5, 1, 0.0), cloud(50, 5, 2, 0.3));
        let stats = |c: &Vec<Vec<f64>>| {
            let n = c.len();
            let mean: Vec<f64> = (0..5)
                .map(|d| c.iter().map(|r| r[d]).sum::<f64>() / n as f64)
                .collect();
            let sq: f64 = c.iter().flatten().map(|v| v * v).sum();
            let w = energy_within(n, sq, &mean);
            (mean, w)
        };
        let ((mx, wx), (my, wy)) = (stats(&x), stats(&y));
        let got = energy(&mx, wx, &my, wy);
        let want = naive_edist(&x, &y);
        assert!(
            (got - want).abs() < 1e-10 * want.abs().max(1.0),
            "{got} {want}"
        );
    }

    #[test]
    fn mmd_equals_pairwise_definition() {
        let dim = 7;
        let (x, y) = (cloud(300, dim, 3, 0.0), cloud(270, dim, 4, 0.5));
        let flat =
            |c: &Vec<Vec<f64>>| -> Vec<f32> { c.iter().flatten().map(|&v| v as f32).collect() };
        let (fx, fy) = (flat(&x), flat(&y));
        let rows_x: Vec<u32> = (0..x.len() as u32).collect();
        let rows_y: Vec<u32> = (0..y.len() as u32).collect();
        let cx = Cells::new(dim, &fx, &[rows_x]);
        let cy = Cells::new(dim, &fy, &[rows_y]);
        let d = |a: &Vec<f64>, b: &Vec<f64>| -> f64 {
            a.iter()
                .zip(b)
                .map(|(p, q)| (p - q) * (p - q))
                .sum::<f64>()
                .sqrt()
        };
        let mean = |a: &Vec<Vec<f64>>, b: &Vec<Vec<f64>>| -> f64 {
            a.iter()
                .flat_map(|p| b.iter().map(move |q| d(p, q)))
                .sum::<f64>()
                / (a.len() * b.len()) as f64
        };
        let want = mean(&x, &y) - 0.5 * mean(&x, &x) - 0.5 * mean(&y, &y);
        let got = mmd(&cx, 0, &cy, 0);
        assert!((got - want).abs() < 1e-4 * want.abs(), "{got} {want}");
        // Identical clouds are at distance ~0 (float32 distances on the diagonal).
        assert!(mmd(&cx, 0, &cx, 0).abs() < 1e-5);
    }
}
