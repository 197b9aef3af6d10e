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

use crate::xvalue::{SortItem, XValue};

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

/// Reusable buffers of [`mann_whitney_u_sparse_groups`].
#[derive(Debug, Default)]
pub(crate) struct GroupScratch<I> {
    items: Vec<I>,
    spare: Vec<I>,
    nnz: Vec<usize>,
    in_run: Vec<usize>,
    touched: Vec<usize>,
    below: Vec<usize>,
    sum_ranks: Vec<f64>,
    ties: Vec<f64>,
}

/// Below this many non-zeros a comparison sort beats the radix passes.
const RADIX_MIN: usize = 256;

/// Sorts `items` by their keys (byte-wise radix passes, a pass skipped when every item has
/// the same byte there); the order within equal keys is unspecified.
fn sort_by_key<I: SortItem>(items: &mut Vec<I>, spare: &mut Vec<I>) {
    if items.len() < RADIX_MIN {
        items.sort_unstable();
        return;
    }
    spare.clear();
    spare.resize(items.len(), I::default());
    for byte in 0..I::KEY_BYTES {
        let mut count = [0usize; 256];
        for &x in items.iter() {
            count[x.key_byte(byte)] += 1;
        }
        if count.contains(&items.len()) {
            continue;
        }
        let mut next = [0usize; 256];
        let mut acc = 0;
        for (n, c) in next.iter_mut().zip(count) {
            *n = acc;
            acc += c;
        }
        for &x in items.iter() {
            let b = x.key_byte(byte);
            spare[next[b]] = x;
            next[b] += 1;
        }
        std::mem::swap(items, spare);
    }
}

/// [`mann_whitney_u_sparse`] of every group against the `reference` group on one gene, from
/// the gene's non-zero values (`values`, non-negative, any order) and the group of each
/// (`groups`); `sizes[g]` is group `g`'s number of cells, zeros included. The values are
/// sorted once for all groups and walked once: each tie group of values gives every group
/// in it its rank contribution. The results (in `out`, one per group; the reference's own
/// entry is NaN) equal the pairwise ones bit for bit: every partial sum is an exact integer
/// or half-integer, whatever the order of the additions.
pub(crate) fn mann_whitney_u_sparse_groups<V: XValue>(
    values: &[V],
    groups: &[u32],
    sizes: &[usize],
    reference: usize,
    s: &mut GroupScratch<V::Item>,
    out: &mut Vec<MwuResult>,
) {
    let n_groups = sizes.len();
    for v in [&mut s.nnz, &mut s.in_run, &mut s.below] {
        v.clear();
        v.resize(n_groups, 0);
    }
    for v in [&mut s.sum_ranks, &mut s.ties] {
        v.clear();
        v.resize(n_groups, 0.0);
    }
    s.items.clear();
    for (&v, &g) in values.iter().zip(groups) {
        s.nnz[g as usize] += 1;
        s.items.push(V::Item::pack(v.key(), g));
    }
    sort_by_key(&mut s.items, &mut s.spare);
    let (n_b, nnz_b) = (sizes[reference], s.nnz[reference]);
    let mut less_b = 0usize;
    let mut tie_b = 0f64;
    let mut i = 0;
    while i < s.items.len() {
        let key = s.items[i].key();
        let mut cb = 0usize;
        s.touched.clear();
        while i < s.items.len() && s.items[i].key() == key {
            let g = s.items[i].group();
            if g == reference {
                cb += 1;
            } else {
                if s.in_run[g] == 0 {
                    s.touched.push(g);
                }
                s.in_run[g] += 1;
            }
            i += 1;
        }
        let cbf = cb as f64;
        let tie_cb = cbf * cbf * cbf - cbf;
        tie_b += tie_cb;
        for &g in &s.touched {
            let ca = std::mem::take(&mut s.in_run[g]);
            let t = ca + cb;
            let tf = t as f64;
            s.ties[g] += (tf * tf * tf - tf) - tie_cb;
            // 0-based positions among the pair's non-zeros; mid-rank after its zero block.
            let pos = s.below[g] + less_b;
            let local = (pos + pos + t - 1) as f64 / 2.0 + 1.0;
            let nz = (sizes[g] + n_b) - (s.nnz[g] + nnz_b);
            s.sum_ranks[g] += ca as f64 * (nz as f64 + local);
            s.below[g] += ca;
        }
        less_b += cb;
    }
    out.clear();
    out.extend((0..n_groups).map(|g| {
        let n_a = sizes[g];
        if g == reference {
            return MwuResult {
                statistic: f64::NAN,
                p_value: f64::NAN,
            };
        }
        if s.nnz[g] + nnz_b == 0 {
            return MwuResult {
                statistic: n_a as f64 * n_b as f64 / 2.0,
                p_value: 1.0,
            };
        }
        let nz = (n_a + n_b) - (s.nnz[g] + nnz_b);
        finish(
            n_a,
            n_b,
            nz,
            n_a - s.nnz[g],
            s.sum_ranks[g],
            tie_b + s.ties[g],
        )
    }));
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

    /// Every group against the reference with the pairwise test (values sorted per group).
    fn pairwise(
        values: &[f32],
        groups: &[u32],
        sizes: &[usize],
        reference: usize,
    ) -> Vec<MwuResult> {
        let sorted = |g: usize| {
            let mut v: Vec<f32> = values
                .iter()
                .zip(groups)
                .filter(|(_, &h)| h as usize == g)
                .map(|(&v, _)| v)
                .collect();
            v.sort_unstable_by(f32::total_cmp);
            v
        };
        let b = sorted(reference);
        (0..sizes.len())
            .filter(|&g| g != reference)
            .map(|g| mann_whitney_u_sparse(&sorted(g), sizes[g], &b, sizes[reference]))
            .collect()
    }

    #[test]
    fn grouped_tests_equal_pairwise_tests_bit_for_bit() {
        // Small cases (comparison sort): ties within and across groups, an empty group, an
        // empty reference, stored zeros of both signs.
        type Case<'a> = (&'a [f32], &'a [u32], &'a [usize], usize);
        let small: [Case; 4] = [
            (
                &[1.0, 2.0, 2.0, 3.5, 1.0, 1.0, 5.0, 7.0, 8.0],
                &[0, 0, 0, 0, 1, 1, 1, 2, 2],
                &[6, 7, 5, 3],
                1,
            ),
            (&[2.0, 2.0, 2.0], &[0, 0, 1], &[2, 1], 1),
            (&[7.0, 8.0, 0.5], &[0, 0, 2], &[5, 9, 4], 1),
            (&[0.0, -0.0, 0.5, 0.5, 0.0], &[0, 1, 1, 0, 1], &[3, 4], 0),
        ];
        // A large case (radix passes): 3,000 values in 6 groups, drawn from 40 levels (many
        // ties) and from a continuous range, the reference being group 2.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut values, mut groups) = (Vec::new(), Vec::new());
        for i in 0..3000u64 {
            let r = next();
            let v = if i % 2 == 0 {
                (1 + r % 40) as f32 * 0.125
            } else {
                (r >> 40) as f32 / (1u64 << 20) as f32 + 1e-3
            };
            values.push(v);
            groups.push((next() % 6) as u32);
        }
        let large_sizes = [900usize, 800, 1500, 700, 650, 900];
        let mut s = GroupScratch::default();
        let mut out = Vec::new();
        let mut checked = 0;
        for (values, groups, sizes, reference) in small
            .iter()
            .map(|&(v, g, n, r)| (v, g, n, r))
            .chain(std::iter::once((
                &values[..],
                &groups[..],
                &large_sizes[..],
                2,
            )))
        {
            mann_whitney_u_sparse_groups(values, groups, sizes, reference, &mut s, &mut out);
            assert!(out[reference].statistic.is_nan());
            let got: Vec<MwuResult> = (0..sizes.len())
                .filter(|&g| g != reference)
                .map(|g| out[g])
                .collect();
            for (x, y) in got.iter().zip(pairwise(values, groups, sizes, reference)) {
                assert_eq!(x.statistic.to_bits(), y.statistic.to_bits(), "{values:?}");
                assert_eq!(x.p_value.to_bits(), y.p_value.to_bits(), "{values:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, 3 + 1 + 2 + 1 + 5);
    }

    #[test]
    fn float64_values_keep_ties_that_float32_would_merge() {
        // Two groups against a reference: 1.0 and 1.0 + 1e-12 are one value in f32 but two
        // in f64. The f64 test must rank them apart, exactly as the f32 test ranks 1.0 and the
        // next f32 above it; values exact in f32 give the same result in both precisions.
        let up = f32::from_bits(1.0f32.to_bits() + 1);
        let groups = [0u32, 0, 1, 1, 1, 2, 2, 2];
        let sizes = [5usize, 6, 4];
        let near: [f64; 8] = [1.0, 2.0, 1.0 + 1e-12, 0.5, 3.0, 1.0, 1.0 + 1e-12, 0.25];
        let apart: [f32; 8] = [1.0, 2.0, up, 0.5, 3.0, 1.0, up, 0.25];
        let merged: [f32; 8] = near.map(|v| v as f32);
        let run = |f: &dyn Fn(&mut Vec<MwuResult>)| {
            let mut out = Vec::new();
            f(&mut out);
            out
        };
        let got64 = run(&|o| {
            mann_whitney_u_sparse_groups(&near, &groups, &sizes, 1, &mut GroupScratch::default(), o)
        });
        let got_apart = run(&|o| {
            mann_whitney_u_sparse_groups(
                &apart,
                &groups,
                &sizes,
                1,
                &mut GroupScratch::default(),
                o,
            )
        });
        let got_merged = run(&|o| {
            mann_whitney_u_sparse_groups(
                &merged,
                &groups,
                &sizes,
                1,
                &mut GroupScratch::default(),
                o,
            )
        });
        for g in [0, 2] {
            assert_eq!(
                got64[g].statistic.to_bits(),
                got_apart[g].statistic.to_bits()
            );
            assert_eq!(got64[g].p_value.to_bits(), got_apart[g].p_value.to_bits());
        }
        // Merged in f32, the ties change group 2's statistic.
        assert_ne!(got64[2].statistic, got_merged[2].statistic);
        let exact: [f64; 8] = apart.map(|v| v as f64);
        let got_exact = run(&|o| {
            mann_whitney_u_sparse_groups(
                &exact,
                &groups,
                &sizes,
                1,
                &mut GroupScratch::default(),
                o,
            )
        });
        for g in [0, 2] {
            assert_eq!(
                got_exact[g].p_value.to_bits(),
                got_apart[g].p_value.to_bits()
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
