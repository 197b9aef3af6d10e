//! Gene filtering, per-cell normalisation and log1p, with scanpy's arithmetic (float32 values,
//! per-cell totals summed in float64 and stored as float32, as `normalize_total` does).

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
    let mut n = vec![0u32; x.ncols()];
    for (&j, &v) in x.indices().iter().zip(x.data()) {
        if v > 0.0 {
            n[j as usize] += 1;
        }
    }
    n
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
    (0..x.nrows())
        .into_par_iter()
        .map(|r| x.row(r).1.iter().map(|&v| v as f64).sum::<f64>() as f32)
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

/// Scales every cell to `target` total in place; returns the target used. Cells with a zero
/// total are left as they are.
pub fn normalize_total(x: &mut Csr, target: TargetSum) -> f32 {
    let totals = cell_totals(x);
    let t = match target {
        TargetSum::Fixed(v) => v as f32,
        TargetSum::Median => median_f32(&totals),
    };
    let scale: Vec<f32> = totals
        .iter()
        .map(|&c| if c == 0.0 { 1.0 } else { c / t })
        .collect();
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
}
