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
    finish(n_a, n_b, nz, nz_a, sum_ranks_a, tie_term_nz)
}

/// The sorted non-zero values of a reference sample summarised for repeated tests: its
/// distinct values, the number of values below each, each value's count, and its tie term.
#[derive(Debug, Clone, PartialEq)]
pub struct SortedReference {
    values: Vec<f32>,
    below: Vec<usize>,
    counts: Vec<usize>,
    tie_term: f64,
    nnz: usize,
}

impl SortedReference {
    /// Summarises `b_nonzero` (sorted ascending).
    pub fn new(b_nonzero: &[f32]) -> Self {
        let mut r = SortedReference {
            values: Vec::new(),
            below: Vec::new(),
            counts: Vec::new(),
            tie_term: 0.0,
            nnz: b_nonzero.len(),
        };
        let mut i = 0;
        while i < b_nonzero.len() {
            let v = b_nonzero[i];
            let start = i;
            while i < b_nonzero.len() && b_nonzero[i] == v {
                i += 1;
            }
            let t = (i - start) as f64;
            r.tie_term += t * t * t - t;
            r.values.push(v);
            r.below.push(start);
            r.counts.push(i - start);
        }
        r
    }
}

/// [`mann_whitney_u_sparse`] against a summarised reference: the same statistic and
/// p-value, bit for bit (every partial sum is an exact integer or half-integer), in time
/// proportional to A's non-zeros (times a binary search) instead of A's plus B's.
pub fn mann_whitney_u_sparse_ref(
    a_nonzero: &[f32],
    n_a: usize,
    b: &SortedReference,
    n_b: usize,
) -> MwuResult {
    let n = n_a + n_b;
    let nnz_a = a_nonzero.len();
    let nnz = nnz_a + b.nnz;
    let nz = n - nnz;
    let nz_a = n_a - nnz_a;
    let (n_a_f, n_b_f) = (n_a as f64, n_b as f64);
    if nnz == 0 {
        return MwuResult {
            statistic: n_a_f * n_b_f / 2.0,
            p_value: 1.0,
        };
    }
    let mut tie_term_nz = b.tie_term;
    let mut sum_ranks_a = 0.0f64;
    let mut i = 0usize;
    let mut k = 0usize;
    while i < nnz_a {
        let v = a_nonzero[i];
        let mut ca = 0usize;
        while i < nnz_a && a_nonzero[i] == v {
            i += 1;
            ca += 1;
        }
        k += b.values[k..].partition_point(|&x| x < v);
        let (less_b, cb) = if k < b.values.len() {
            let eq = if b.values[k] == v { b.counts[k] } else { 0 };
            (b.below[k], eq)
        } else {
            (b.nnz, 0)
        };
        let pos = (i - ca) + less_b;
        let t = ca + cb;
        let (tf, cbf) = (t as f64, cb as f64);
        tie_term_nz += (tf * tf * tf - tf) - (cbf * cbf * cbf - cbf);
        let local = (pos + pos + t - 1) as f64 / 2.0 + 1.0;
        sum_ranks_a += ca as f64 * (nz as f64 + local);
    }
    finish(n_a, n_b, nz, nz_a, sum_ranks_a, tie_term_nz)
}

/// The statistic and p-value from the rank sum of A and the tie term of the non-zeros.
fn finish(
    n_a: usize,
    n_b: usize,
    nz: usize,
    nz_a: usize,
    sum_ranks_a: f64,
    tie_term_nz: f64,
) -> MwuResult {
    let n = n_a + n_b;
    let n_a_f = n_a as f64;
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

    #[test]
    fn reference_summary_gives_identical_results() {
        let cases: [(&[f32], usize, &[f32], usize); 5] = [
            (&[1.0, 2.0, 2.0, 3.5], 6, &[1.0, 1.0, 5.0], 7),
            (&[], 3, &[2.0], 4),
            (&[2.0, 2.0], 2, &[2.0], 1),
            (
                &[0.5, 0.5, 0.7, 9.0],
                10,
                &[0.1, 0.5, 0.5, 0.5, 0.7, 0.8, 9.0, 9.0],
                40,
            ),
            (&[7.0, 8.0], 5, &[], 9),
        ];
        for (a, na, b, nb) in cases {
            let direct = mann_whitney_u_sparse(a, na, b, nb);
            let fast = mann_whitney_u_sparse_ref(a, na, &SortedReference::new(b), nb);
            assert_eq!(
                direct.statistic.to_bits(),
                fast.statistic.to_bits(),
                "{a:?} {b:?}"
            );
            assert_eq!(
                direct.p_value.to_bits(),
                fast.p_value.to_bits(),
                "{a:?} {b:?}"
            );
        }
    }

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
