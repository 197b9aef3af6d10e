//! Small statistics helpers with the tie and NaN conventions of the reference libraries.

use std::cmp::Ordering;

/// Total order of polars on floats: NaN above +inf.
pub fn nan_last_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Average (mid) ranks, 1-based; equal values (NaN equal to NaN) share their mean rank.
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| nan_last_cmp(x[a], x[b]));
    let mut ranks = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && nan_last_cmp(x[idx[j + 1]], x[idx[i]]) == Ordering::Equal {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    ranks
}

/// Pearson correlation; NaN for fewer than two values or a constant side.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    if n < 2 || y.len() != n {
        return f64::NAN;
    }
    let mx = x.iter().sum::<f64>() / n as f64;
    let my = y.iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    (sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0)
}

/// Spearman correlation: Pearson of average ranks (polars `corr(method="spearman")`).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&average_ranks(x), &average_ranks(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// polars 2.1 / scipy: spearman([1,2,2,3,4],[1,1,2,3,3]) = 0.892217816219194;
    /// polars ranks NaN above inf: spearman([1,NaN,3,4],[2,1,5,3]) = -0.4.
    #[test]
    fn spearman_matches_polars() {
        let r = spearman(&[1.0, 2.0, 2.0, 3.0, 4.0], &[1.0, 1.0, 2.0, 3.0, 3.0]);
        assert!((r - 0.892217816219194).abs() < 1e-14);
        let r = spearman(&[1.0, f64::NAN, 3.0, 4.0], &[2.0, 1.0, 5.0, 3.0]);
        assert!((r + 0.4).abs() < 1e-14);
        assert!(spearman(&[1.0], &[2.0]).is_nan());
        assert!(spearman(&[1.0, 2.0], &[2.0, 2.0]).is_nan());
    }
}
