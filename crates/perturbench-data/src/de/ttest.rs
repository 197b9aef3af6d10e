//! Welch's t-test from group statistics, as scanpy's `rank_genes_groups` computes it with
//! `scipy.stats.ttest_ind_from_stats(..., equal_var=False)`.

use super::GroupStats;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// t statistic and two-sided p-value of every gene, group vs reference. With `overestim_var`
/// the reference's size is taken to be the group's (scanpy's `t-test_overestim_var`).
/// Undefined scores become 0 and undefined p-values 1, as scanpy does.
pub fn welch_t_test(
    group: &GroupStats,
    reference: &GroupStats,
    overestim_var: bool,
) -> (Vec<f64>, Vec<f64>) {
    let n1 = group.n as f64;
    let n2 = if overestim_var {
        group.n as f64
    } else {
        reference.n as f64
    };
    let mut scores = Vec::with_capacity(group.mean.len());
    let mut pvals = Vec::with_capacity(group.mean.len());
    for j in 0..group.mean.len() {
        // scipy squares the standard deviations it is given: (sqrt(var))².
        let s1 = group.var[j].sqrt();
        let s2 = reference.var[j].sqrt();
        let vn1 = s1 * s1 / n1;
        let vn2 = s2 * s2 / n2;
        let mut df = (vn1 + vn2).powi(2) / (vn1 * vn1 / (n1 - 1.0) + vn2 * vn2 / (n2 - 1.0));
        if df.is_nan() {
            df = 1.0;
        }
        let t = (group.mean[j] - reference.mean[j]) / (vn1 + vn2).sqrt();
        let p = two_sided_t(t, df);
        scores.push(if t.is_nan() { 0.0 } else { t });
        pvals.push(if p.is_nan() { 1.0 } else { p });
    }
    (scores, pvals)
}

/// 2 · P(T > |t|) for Student's t with `df` degrees of freedom.
pub fn two_sided_t(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => 2.0 * d.sf(t.abs()),
        Err(_) => f64::NAN,
    }
}

/// Only the t statistics of [`welch_t_test`] (undefined ones are 0).
pub fn welch_t_scores(group: &GroupStats, reference: &GroupStats, overestim_var: bool) -> Vec<f64> {
    let n1 = group.n as f64;
    let n2 = if overestim_var {
        group.n as f64
    } else {
        reference.n as f64
    };
    (0..group.mean.len())
        .map(|j| {
            let s1 = group.var[j].sqrt();
            let s2 = reference.var[j].sqrt();
            let t = (group.mean[j] - reference.mean[j]) / (s1 * s1 / n1 + s2 * s2 / n2).sqrt();
            if t.is_nan() {
                0.0
            } else {
                t
            }
        })
        .collect()
}
