//! Gene filtering, per-cell normalisation and log1p, with scanpy's arithmetic (float32 values,
//! per-cell totals summed in float64 and stored as float32, as `normalize_total` does).

use crate::de::Expression;
use perturbench_io::Csr;
use rayon::prelude::*;

/// The per-cell total that counts are scaled to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TargetSum {
    /// A fixed total, e.g. 1e4 (counts per ten thousand).
    Fixed(f64),
    /// The median of the cells' totals (scanpy's default when no target is given).
    Median,
}

impl std::str::FromStr for TargetSum {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "median" {
            return Ok(TargetSum::Median);
        }
        match s.parse::<f64>() {
            Ok(v) if v > 0.0 && v.is_finite() => Ok(TargetSum::Fixed(v)),
            _ => Err(format!("expected a positive number or 'median', got '{s}'")),
        }
    }
}

/// Number of cells with a positive value, per gene.
pub fn cells_per_gene(x: &Csr) -> Vec<u32> {
    let g = x.ncols();
    x.indices()
        .par_chunks(1 << 20)
        .zip(x.data().par_chunks(1 << 20))
        .fold(
            || vec![0u32; g],
            |mut n, (idx, val)| {
                for (&j, &v) in idx.iter().zip(val) {
                    n[j as usize] += (v > 0.0) as u32;
                }
                n
            },
        )
        .reduce(
            || vec![0u32; g],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
                a
            },
        )
}

/// Genes detected (value > 0) in at least `min_cells` cells, in order.
pub fn genes_in_min_cells(x: &Csr, min_cells: u32) -> Vec<usize> {
    cells_per_gene(x)
        .iter()
        .enumerate()
        .filter(|(_, &c)| c >= min_cells)
        .map(|(j, _)| j)
        .collect()
}

/// Per-cell totals: float64 sums stored as float32 (scanpy's `_normalize_csr`).
pub fn cell_totals(x: &Csr) -> Vec<f32> {
    cell_totals_among(x, None)
}

/// [`cell_totals`] over the genes marked in `active` only (all when `None`): the same sums, in
/// the same order, as over the matrix without the other genes.
fn cell_totals_among(x: &Csr, active: Option<&[bool]>) -> Vec<f32> {
    (0..x.nrows())
        .into_par_iter()
        .map(|r| {
            let (idx, val) = x.row(r);
            let mut t = 0f64;
            for (&j, &v) in idx.iter().zip(val) {
                if active.is_none_or(|a| a[j as usize]) {
                    t += v as f64;
                }
            }
            t as f32
        })
        .collect()
}

/// numpy's median of float32 values (the mean of the two middle values in float32).
fn median_f32(v: &[f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f32::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

/// Per-cell divisors that scale every cell to the target total (scanpy's `normalize_total`:
/// `total / target` in float32, 1 for cells with a zero total), and the target used.
pub fn size_factors(x: &Csr, target: TargetSum) -> (Vec<f32>, f32) {
    size_factors_among(x, target, None)
}

/// [`size_factors`] over the genes marked in `active` (all when `None`).
fn size_factors_among(x: &Csr, target: TargetSum, active: Option<&[bool]>) -> (Vec<f32>, f32) {
    let totals = cell_totals_among(x, active);
    let t = match target {
        TargetSum::Fixed(v) => v as f32,
        TargetSum::Median => median_f32(&totals),
    };
    let scale = totals
        .iter()
        .map(|&c| if c == 0.0 { 1.0 } else { c / t })
        .collect();
    (scale, t)
}

/// Scales every cell to `target` total in place; returns the target used. Cells with a zero
/// total are left as they are.
pub fn normalize_total(x: &mut Csr, target: TargetSum) -> f32 {
    let (scale, t) = size_factors(x, target);
    let indptr = x.indptr().to_vec();
    let data = x.data_mut();
    let mut rows: Vec<(&mut [f32], f32)> = Vec::with_capacity(scale.len());
    let mut rest = data;
    for (r, &s) in scale.iter().enumerate() {
        let len = (indptr[r + 1] - indptr[r]) as usize;
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
        rows.push((head, s));
        rest = tail;
    }
    rows.into_par_iter().for_each(|(vals, s)| {
        for v in vals {
            *v /= s;
        }
    });
    t
}

/// One normalised, log1p-transformed value: exactly what [`normalize_total`] then [`log1p`]
/// store for the count `v` of a cell with divisor `s`.
fn log_norm(v: f32, s: f32) -> f32 {
    ((v / s) as f64).ln_1p() as f32
}

/// Counts below this have their log-normalised value looked up in a per-cell table.
const SMALL_COUNTS: usize = 16;

/// Per-cell normalisation of a counts matrix: the divisors of [`size_factors`], and per cell
/// the log-normalised values of the small counts (most stored counts are small).
pub struct SizeFactors {
    scale: Vec<f32>,
    target: f32,
    small: Vec<[f32; SMALL_COUNTS]>,
}

impl SizeFactors {
    /// The factors that normalise every cell of `counts` to `target`, counting only the genes
    /// marked in `active` (all when `None`), as if the others had been removed.
    pub fn new(counts: &Csr, target: TargetSum, active: Option<&[bool]>) -> Self {
        let (scale, target) = size_factors_among(counts, target, active);
        let small = scale
            .par_iter()
            .map(|&s| std::array::from_fn(|k| log_norm(k as f32, s)))
            .collect();
        SizeFactors {
            scale,
            target,
            small,
        }
    }
    /// The per-cell target total used.
    pub fn target(&self) -> f32 {
        self.target
    }
    /// The log-normalised value of a count of cell `r`.
    fn of_cell(&self, r: usize) -> impl Fn(f32) -> f32 + '_ {
        let (small, s) = (&self.small[r], self.scale[r]);
        move |v| {
            let k = v as usize;
            if k < SMALL_COUNTS && k as f32 == v {
                small[k]
            } else {
                log_norm(v, s)
            }
        }
    }
}

/// The log-normalised view of a counts matrix (what [`normalize_total`] followed by [`log1p`]
/// store, bit for bit), computed on the fly so the counts need not be copied. The factors may
/// come from the matrix before some of its genes were dropped.
pub struct LogNormalized<'a> {
    counts: &'a Csr,
    factors: &'a SizeFactors,
}

impl<'a> LogNormalized<'a> {
    /// The view of `counts` under `factors`.
    ///
    /// # Panics
    /// When `factors` has not one entry per cell of `counts`.
    pub fn new(counts: &'a Csr, factors: &'a SizeFactors) -> Self {
        assert_eq!(
            counts.nrows(),
            factors.scale.len(),
            "one size factor per cell"
        );
        LogNormalized { counts, factors }
    }
    /// The log-normalised matrix, stored.
    pub fn to_csr(&self) -> Csr {
        self.counts.map_rows(|r, vals, out| {
            let value = self.factors.of_cell(r);
            for (o, &v) in out.iter_mut().zip(vals) {
                *o = value(v);
            }
        })
    }
}

impl Expression for LogNormalized<'_> {
    fn ncols(&self) -> usize {
        self.counts.ncols()
    }
    fn visit_row(&self, r: usize, mut f: impl FnMut(u32, f32)) {
        let (idx, val) = self.counts.row(r);
        let value = self.factors.of_cell(r);
        for (&j, &v) in idx.iter().zip(val) {
            f(j, value(v));
        }
    }
}

/// Natural log1p of every value in place, computed in float64 and rounded to float32. numpy's
/// float32 `log1p` (what `sc.pp.log1p` calls) is a SIMD routine accurate to a few ulp whose
/// exact bits depend on the CPU; rounding the float64 result is correctly rounded almost
/// always, so results differ from scanpy's by at most those few ulp.
pub fn log1p(x: &mut Csr) {
    x.data_mut()
        .par_iter_mut()
        .for_each(|v| *v = (*v as f64).ln_1p() as f32);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_rows_to_the_target_and_logs() {
        // Rows: [1, 3] -> total 4; [0, 0]; [2, 0] -> total 2.
        let mut x = Csr::from_dense(3, 2, &[1.0, 3.0, 0.0, 0.0, 2.0, 0.0]).unwrap();
        assert_eq!(normalize_total(&mut x.clone(), TargetSum::Median), 2.0);
        let t = normalize_total(&mut x, TargetSum::Fixed(1e4));
        assert_eq!(t, 1e4);
        assert_eq!(x.to_dense(), vec![2500.0, 7500.0, 0.0, 0.0, 10000.0, 0.0]);
        log1p(&mut x);
        assert_eq!(x.row(0).1[0], 2500f64.ln_1p() as f32);
        assert_eq!(genes_in_min_cells(&x, 2), vec![0]);
        assert!("median".parse::<TargetSum>().is_ok() && "-3".parse::<TargetSum>().is_err());
    }

    #[test]
    fn log_normalised_view_equals_normalising_in_place() {
        // Small counts (table lookups), large ones (computed) and a row of zeros.
        let (n, g) = (40usize, 9usize);
        let dense: Vec<f32> = (0..n * g)
            .map(|i| match (i * 37) % 11 {
                0..=4 => 0.0,
                5..=8 => ((i * 13) % 15 + 1) as f32,
                _ => ((i * 7) % 900 + 16) as f32,
            })
            .collect();
        let mut dense = dense;
        dense[..g].iter_mut().for_each(|v| *v = 0.0);
        let counts = Csr::from_dense(n, g, &dense).unwrap();
        for target in [TargetSum::Fixed(1e4), TargetSum::Median] {
            let mut stored = counts.clone();
            let t = normalize_total(&mut stored, target);
            log1p(&mut stored);
            let factors = SizeFactors::new(&counts, target, None);
            assert_eq!(factors.target(), t);
            let view = LogNormalized::new(&counts, &factors);
            assert_eq!(view.to_csr(), stored);
            let mut seen = Vec::new();
            for r in 0..n {
                view.visit_row(r, |j, v| seen.push((r, j, v.to_bits())));
            }
            let expected: Vec<(usize, u32, u32)> = (0..n)
                .flat_map(|r| {
                    let (idx, val) = stored.row(r);
                    idx.iter()
                        .zip(val)
                        .map(move |(&j, &v)| (r, j, v.to_bits()))
                        .collect::<Vec<_>>()
                })
                .collect();
            assert_eq!(seen, expected);
        }
    }
}
