//! Two-sided Mann–Whitney U test with tie correction, on non-negative sparse data.
//!
//! Same asymptotic test as pdex 0.3.0 runs through numba-mwu 0.2.0
//! (`numba_mwu._sparse._sparse_mwu_column`, called with `use_continuity=True`,
//! `alternative="two-sided"`): mid-ranks for ties, tie-corrected variance, continuity
//! correction of 0.5, `p = 2·Φ(−z)` with `z = (max(U1, U2) − n1·n2/2 − 0.5)/σ`, clipped
//! to `[0, 1]`, and `p = 1` when the variance is zero (all values equal). All zeros of a
//! gene tie at the bottom of the ranking, so their rank sum is added analytically and
//! only the non-zero values are ever sorted. The arithmetic is done in the same order as
//! numba-mwu so the statistic is bit-identical and the p-value differs only by the
//! `erfc` implementation (≤ 1 ulp).

/// Statistic and p-value of one test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MwuResult {
    /// `U1`, the U statistic of the first (target) sample.
    pub statistic: f64,
    /// Two-sided p-value (normal approximation, tie and continuity corrected).
    pub p_value: f64,
}

/// Standard normal CDF written as numba-mwu writes it: `0.5·erfc(−x/√2)`.
fn ndtr(x: f64) -> f64 {
    0.5 * libm::erfc(-x / 2.0f64.sqrt())
}

/// Mann–Whitney U test of sample A against sample B when only their non-zero values are
/// listed.
///
/// `a_nonzero` and `b_nonzero` hold the non-zero values of each sample **sorted
/// ascending**; `n_a` and `n_b` are the full sample sizes (zeros included), so
/// `n_a - a_nonzero.len()` zeros belong to A. Values must be non-negative (zeros are the
/// smallest values). Returns `U1 = n_a·n_b/2, p = 1` when every value is zero.
pub fn mann_whitney_u_sparse(
    a_nonzero: &[f32],
    n_a: usize,
    b_nonzero: &[f32],
    n_b: usize,
) -> MwuResult {
    let n = n_a + n_b;
    let nnz_a = a_nonzero.len();
    let nnz_b = b_nonzero.len();
    let nnz = nnz_a + nnz_b;
    let nz = n - nnz;
    let nz_a = n_a - nnz_a;
    let (n_a_f, n_b_f) = (n_a as f64, n_b as f64);
    if nnz == 0 {
        return MwuResult {
            statistic: n_a_f * n_b_f / 2.0,
            p_value: 1.0,
        };
    }
    // Walk the merged order of the non-zero values, one tie group at a time.
    let mut tie_term_nz = 0.0f64;
    let mut sum_ranks_a = 0.0f64;
    let (mut i, mut j, mut pos) = (0usize, 0usize, 0usize);
    while i < nnz_a || j < nnz_b {
        let v = match (a_nonzero.get(i), b_nonzero.get(j)) {
            (Some(&x), Some(&y)) => {
                if x <= y {
                    x
                } else {
                    y
                }
            }
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        let mut ca = 0usize;
        while i < nnz_a && a_nonzero[i] == v {
            i += 1;
            ca += 1;
        }
        let mut cb = 0usize;
        while j < nnz_b && b_nonzero[j] == v {
            j += 1;
            cb += 1;
        }
        let t = ca + cb;
        let tie = t as f64;
        tie_term_nz += tie * tie * tie - tie;
        // 0-based positions pos..pos+t-1 among the non-zeros; mid-rank after the zero block.
        let local = (pos + pos + t - 1) as f64 / 2.0 + 1.0;
        let global = nz as f64 + local;
        sum_ranks_a += ca as f64 * global;
        pos += t;
    }
    let zero_avg_rank = (nz as f64 + 1.0) / 2.0;
    let r1 = nz_a as f64 * zero_avg_rank + sum_ranks_a;
    let u1 = r1 - n_a_f * (n_a_f + 1.0) / 2.0;
    let u2 = (n_a * n_b) as f64 - u1;
    let nz_f = nz as f64;
    let tie_term = (nz_f * nz_f * nz_f - nz_f) + tie_term_nz;
    let mu = (n_a * n_b) as f64 / 2.0;
    let denom = n as f64 * (n as f64 - 1.0);
    let var_inner = (n as f64 + 1.0) - tie_term / denom;
    let s_sq = (n_a * n_b) as f64 / 12.0 * var_inner;
    if s_sq <= 0.0 || !s_sq.is_finite() {
        return MwuResult {
            statistic: u1,
            p_value: 1.0,
        };
    }
    let s = s_sq.sqrt();
    let u = u1.max(u2);
    let z = (u - mu - 0.5) / s;
    let p = (ndtr(-z) * 2.0).clamp(0.0, 1.0);
    MwuResult {
        statistic: u1,
        p_value: p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from scipy.stats.mannwhitneyu(x, y, use_continuity=True,
    /// alternative="two-sided", method="asymptotic") (scipy 1.17.1), which uses the same
    /// formula as numba-mwu.
    #[test]
    fn matches_scipy_asymptotic_with_ties_and_zeros() {
        // x = [0, 0, 1, 2, 2, 3.5], y = [0, 1, 1, 0, 0, 0, 5]
        let r = mann_whitney_u_sparse(&[1.0, 2.0, 2.0, 3.5], 6, &[1.0, 1.0, 5.0], 7);
        assert_eq!(r.statistic, 27.0);
        assert!(
            (r.p_value - 0.4049552419415308).abs() < 1e-15,
            "{}",
            r.p_value
        );
    }

    #[test]
    fn all_zero_and_all_equal() {
        let r = mann_whitney_u_sparse(&[], 3, &[], 4);
        assert_eq!((r.statistic, r.p_value), (6.0, 1.0));
        let r = mann_whitney_u_sparse(&[2.0, 2.0], 2, &[2.0], 1);
        assert_eq!((r.statistic, r.p_value), (1.0, 1.0));
    }
}
