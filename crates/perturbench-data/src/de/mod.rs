//! Differential expression of perturbed groups against a reference (the control cells of the
//! same covariate), as scanpy's `rank_genes_groups(reference=...)` computes it: Welch t-tests
//! (`t-test`, `t-test_overestim_var`) from per-group sufficient statistics and Wilcoxon
//! rank-sum tests from per-gene sorted values, Benjamini–Hochberg adjusted p-values, log2 fold
//! changes of expm1 means, and top-n gene selection. Used by preprocessing (DEG lists) and by
//! evaluation (`logp` aggregation). Never densifies the matrix.

mod stats;
mod ttest;
mod wilcoxon;

pub(crate) use stats::{add_in_order, SUM_BLOCK};
pub use stats::{group_stats, stats_from_sums, sums, GroupStats};
pub use ttest::{two_sided_t, welch_t_scores, welch_t_test};
pub use wilcoxon::{sorted_columns, wilcoxon, SortedColumns};

use perturbench_io::Csr;

/// Expression values that differential expression reads row by row: a stored matrix, or one
/// whose values are computed from another on the fly (e.g. log-normalised from counts).
pub trait Expression: Sync {
    /// Number of genes.
    fn ncols(&self) -> usize;
    /// Calls `f(gene, value)` for every stored entry of cell `r`, in gene order.
    fn visit_row(&self, r: usize, f: impl FnMut(u32, f32));
}

impl Expression for Csr {
    fn ncols(&self) -> usize {
        Csr::ncols(self)
    }
    fn visit_row(&self, r: usize, mut f: impl FnMut(u32, f32)) {
        let (idx, val) = self.row(r);
        for (&j, &v) in idx.iter().zip(val) {
            f(j, v);
        }
    }
}

/// A test method of `rank_genes_groups`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeMethod {
    /// Welch's t-test.
    TTest,
    /// Welch's t-test with the reference's size set to the group's.
    TTestOverestimVar,
    /// Wilcoxon rank-sum test (normal approximation), optionally tie-corrected.
    Wilcoxon {
        /// Apply the tie correction (scanpy's default is off).
        tie_correct: bool,
    },
}

impl std::str::FromStr for DeMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "t-test" => Ok(DeMethod::TTest),
            "t-test_overestim_var" => Ok(DeMethod::TTestOverestimVar),
            "wilcoxon" => Ok(DeMethod::Wilcoxon { tie_correct: false }),
            other => Err(format!(
                "unknown DE method '{other}'; expected t-test, t-test_overestim_var or wilcoxon"
            )),
        }
    }
}

/// Test results of one group against the reference, one entry per gene.
#[derive(Debug, Clone, PartialEq)]
pub struct DeResult {
    /// Test statistic (t or z).
    pub scores: Vec<f64>,
    /// Two-sided p-values.
    pub pvals: Vec<f64>,
    /// Benjamini–Hochberg adjusted p-values.
    pub pvals_adj: Vec<f64>,
    /// log2((expm1(mean group) + 1e-9) / (expm1(mean reference) + 1e-9)).
    pub logfoldchanges: Vec<f64>,
}

/// The reference side of a comparison, computed once and shared by all its groups.
pub struct Reference {
    stats: GroupStats,
    sorted: Option<SortedColumns>,
}

impl Reference {
    /// Prepares the reference cells `rows` of `x` for `method`.
    pub fn new<E: Expression>(x: &E, rows: &[u32], method: DeMethod) -> Self {
        let sorted = matches!(method, DeMethod::Wilcoxon { .. }).then(|| sorted_columns(x, rows));
        Reference {
            stats: group_stats(x, rows),
            sorted,
        }
    }
    /// The reference's statistics.
    pub fn stats(&self) -> &GroupStats {
        &self.stats
    }
}

/// Tests the cells `rows` of `x` against `reference`.
pub fn test_group<E: Expression>(
    x: &E,
    rows: &[u32],
    reference: &Reference,
    method: DeMethod,
) -> DeResult {
    let stats = group_stats(x, rows);
    let (scores, pvals) = match method {
        DeMethod::TTest => welch_t_test(&stats, &reference.stats, false),
        DeMethod::TTestOverestimVar => welch_t_test(&stats, &reference.stats, true),
        DeMethod::Wilcoxon { tie_correct } => {
            let sorted = sorted_columns(x, rows);
            let rs = match &reference.sorted {
                Some(s) => s.clone(),
                None => sorted_columns(x, &[]),
            };
            wilcoxon(&sorted, &rs, tie_correct)
        }
    };
    let pvals_adj = benjamini_hochberg(&pvals);
    let logfoldchanges = stats
        .mean
        .iter()
        .zip(&reference.stats.mean)
        .map(|(&a, &b)| ((a.exp_m1() + 1e-9) / (b.exp_m1() + 1e-9)).log2())
        .collect();
    DeResult {
        scores,
        pvals,
        pvals_adj,
        logfoldchanges,
    }
}

/// Only the test statistics of the cells `rows` against `reference` (what ranking genes needs;
/// no p-values are computed).
pub fn group_scores<E: Expression>(
    x: &E,
    rows: &[u32],
    reference: &Reference,
    method: DeMethod,
) -> Vec<f64> {
    match method {
        DeMethod::TTest | DeMethod::TTestOverestimVar => {
            let stats = group_stats(x, rows);
            welch_t_scores(
                &stats,
                &reference.stats,
                method == DeMethod::TTestOverestimVar,
            )
        }
        DeMethod::Wilcoxon { .. } => test_group(x, rows, reference, method).scores,
    }
}

/// Benjamini–Hochberg adjusted p-values (statsmodels' `fdr_bh`), NaN counted as 1.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let n = p.len();
    let clean: Vec<f64> = p
        .iter()
        .map(|&x| if x.is_nan() { 1.0 } else { x })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| clean[a].total_cmp(&clean[b]));
    let mut adj = vec![0.0; n];
    let mut running = f64::INFINITY;
    for k in (0..n).rev() {
        let i = order[k];
        let v = clean[i] / ((k + 1) as f64 / n as f64);
        running = running.min(v);
        adj[i] = running.min(1.0);
    }
    adj
}

/// Indices of the `n` largest scores (by absolute value when `by_abs`), best first; NaN
/// scores count as 0 (scanpy sets them to 0 before ranking), and equal scores keep gene order.
pub fn top_n(scores: &[f64], n: usize, by_abs: bool) -> Vec<usize> {
    let key = |i: usize| {
        let s = if scores[i].is_nan() { 0.0 } else { scores[i] };
        if by_abs {
            s.abs()
        } else {
            s
        }
    };
    // A total order (ties broken by index), so selecting then sorting the first n gives what
    // a stable sort of all genes gives.
    let order = |a: &usize, b: &usize| key(*b).total_cmp(&key(*a)).then(a.cmp(b));
    let n = n.min(scores.len());
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    if n == 0 {
        return Vec::new();
    }
    if n < idx.len() {
        idx.select_nth_unstable_by(n - 1, order);
        idx.truncate(n);
    }
    idx.sort_unstable_by(order);
    idx
}

#[cfg(test)]
mod tests {
    use super::top_n;

    #[test]
    fn top_n_equals_a_stable_sort_of_all_genes() {
        // Ties (equal and opposite scores), NaN (counts as 0) and both zero signs.
        let scores = [
            1.5,
            -2.0,
            2.0,
            f64::NAN,
            0.0,
            -0.0,
            1.5,
            -1.5,
            3.25,
            -3.25,
            0.5,
            2.0,
        ];
        for by_abs in [true, false] {
            let key = |i: usize| {
                let s = if scores[i].is_nan() { 0.0 } else { scores[i] };
                if by_abs {
                    s.abs()
                } else {
                    s
                }
            };
            let mut all: Vec<usize> = (0..scores.len()).collect();
            all.sort_by(|&a, &b| key(b).total_cmp(&key(a)));
            for n in 0..=scores.len() + 2 {
                let want: Vec<usize> = all.iter().copied().take(n).collect();
                assert_eq!(top_n(&scores, n, by_abs), want, "n {n}, by_abs {by_abs}");
            }
        }
        assert_eq!(top_n(&scores, 3, true), vec![8, 9, 1]);
    }
}
