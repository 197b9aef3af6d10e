//! The vcc2026 members read from the two DE tables besides `sig_jaccard`:
//! `de_wilcoxon_lfc_nmae`, `de_wilcoxon_direction_fidelity_yield_raw` and
//! `de_wilcoxon_direction_reach_raw`.
//!
//! A (perturbation, gene) row of one side pairs with the other side's row of the same gene;
//! the two tables hold the same genes when both sides are tested against one control, and
//! may differ when each side has its own control (the replicate anchor's halves, each with
//! its own CPM filter): a gene one table lacks pairs with nothing (cell-eval2's inner join). Each
//! perturbation's own target gene (its label, when that is a gene of the real table) is
//! removed before anything is counted. A fold change "has a direction" when it is neither
//! NaN nor 0; a row with a NaN fold change is never significant.

use super::wilcoxon::DeRows;
use crate::error::{CellEvalError, Result};
use std::collections::HashMap;

/// The purity a prefix of the prediction's ranking must keep for `direction_reach_raw`.
pub const REACH_PURITY_FLOOR: f64 = 0.9;

/// Smallest real significance gate for which `lfc_nmae` is reported.
pub const LFC_NMAE_MIN_GATE: usize = 10;

/// Column index of each perturbation's own gene, for the labels that name a gene of the
/// real table; an error when none does (the exclusion would silently do nothing).
pub fn own_genes(real: &[DeRows], genes: &[String]) -> Result<Vec<Option<usize>>> {
    let kept: HashMap<&str, usize> = real
        .first()
        .map(|t| t.genes.iter().map(|&j| (genes[j].as_str(), j)).collect())
        .unwrap_or_default();
    let own: Vec<Option<usize>> = real
        .iter()
        .map(|t| kept.get(t.target.as_str()).copied())
        .collect();
    if !real.is_empty() && own.iter().all(Option::is_none) {
        return Err(CellEvalError::Input {
            path: "DE".into(),
            message: format!(
                "no perturbation label names a gene of the real DE table (e.g. '{}'); the target-gene exclusion of the vcc2026 DE metrics would do nothing",
                real[0].target
            ),
        });
    }
    Ok(own)
}

fn p_adj(t: &DeRows, k: usize) -> f64 {
    if t.log2_fold_change[k].is_nan() {
        1.0
    } else {
        t.p_adj[k]
    }
}

fn defined(v: f64) -> bool {
    !v.is_nan() && v != 0.0
}

/// The row of gene `g` in `t` (its genes are in ascending order), if `t` has one.
fn row_of(t: &DeRows, g: usize, i: usize) -> Option<usize> {
    if t.genes.get(i) == Some(&g) {
        Some(i)
    } else {
        t.genes.binary_search(&g).ok()
    }
}

/// `mean|lfc_pred − lfc_real| / mean|lfc_real|` over the real-significant rows with a
/// finite real fold change (a non-finite predicted one counts as 0); `None` when fewer than
/// [`LFC_NMAE_MIN_GATE`] rows pass or the denominator is 0 or not finite.
pub fn lfc_nmae(r: &DeRows, p: &DeRows, own: Option<usize>, alpha: f64) -> Option<f64> {
    let (mut num, mut den, mut n) = (0.0f64, 0.0f64, 0usize);
    for k in 0..r.genes.len() {
        let lr = r.log2_fold_change[k];
        if Some(r.genes[k]) == own
            || p_adj(r, k) >= alpha
            || p_adj(r, k).is_nan()
            || !lr.is_finite()
        {
            continue;
        }
        let lp = row_of(p, r.genes[k], k).map_or(0.0, |i| p.log2_fold_change[i]);
        let lp = if lp.is_finite() { lp } else { 0.0 };
        num += (lp - lr).abs();
        den += lr.abs();
        n += 1;
    }
    if n < LFC_NMAE_MIN_GATE {
        return None;
    }
    let (num, den) = (num / n as f64, den / n as f64);
    if !den.is_finite() || den == 0.0 {
        return None;
    }
    Some(num / den)
}

/// `k / max(n_pred, n_conf)`: `n_conf` = real-significant rows, `n_pred` = rows significant
/// in the prediction whose real fold change has a direction, `k` = those of them whose
/// predicted fold change has the same sign; NaN when both counts are 0.
pub fn fidelity_yield_raw(r: &DeRows, p: &DeRows, own: Option<usize>, alpha: f64) -> f64 {
    let (mut n_conf, mut n_pred, mut k) = (0usize, 0usize, 0usize);
    for i in 0..r.genes.len() {
        if Some(r.genes[i]) == own {
            continue;
        }
        let lr = r.log2_fold_change[i];
        if p_adj(r, i) < alpha {
            n_conf += 1;
        }
        let Some(j) = row_of(p, r.genes[i], i) else {
            continue;
        };
        let lp = p.log2_fold_change[j];
        if p_adj(p, j) < alpha && defined(lr) {
            n_pred += 1;
            if defined(lp) && lp.signum() == lr.signum() {
                k += 1;
            }
        }
    }
    let d = n_pred.max(n_conf);
    if d == 0 {
        f64::NAN
    } else {
        k as f64 / d as f64
    }
}

/// `direction_reach_raw`: the real-significant rows, ranked by the prediction (significant
/// first, then `p_adj`, `p_value` ascending, `|lfc|` descending, gene name); `k*` = the
/// largest number of rows with a real direction in a prefix whose fraction of sign matches
/// is at least [`REACH_PURITY_FLOOR`] (0 when none); the value is `k* / n_conf`, NaN when
/// `n_conf` = 0.
pub fn reach_raw(r: &DeRows, p: &DeRows, own: Option<usize>, alpha: f64, genes: &[String]) -> f64 {
    let rows: Vec<usize> = (0..r.genes.len())
        .filter(|&i| Some(r.genes[i]) != own && p_adj(r, i) < alpha)
        .collect();
    let n_conf = rows.len();
    if n_conf == 0 {
        return f64::NAN;
    }
    let key_p = |v: f64| if v.is_nan() { f64::INFINITY } else { v };
    let abs_l = |v: f64| {
        if v.is_nan() {
            f64::NEG_INFINITY
        } else {
            v.abs()
        }
    };
    // The ranking pool: the real-significant rows the prediction's table also holds, each
    // as (real row, pred row).
    let mut order: Vec<(usize, usize)> = rows
        .iter()
        .filter_map(|&i| row_of(p, r.genes[i], i).map(|j| (i, j)))
        .collect();
    order.sort_by(|&(ra, a), &(rb, b)| {
        let sa = p_adj(p, a) < alpha;
        let sb = p_adj(p, b) < alpha;
        sb.cmp(&sa)
            .then(key_p(p_adj(p, a)).total_cmp(&key_p(p_adj(p, b))))
            .then(key_p(p.p_value[a]).total_cmp(&key_p(p.p_value[b])))
            .then(abs_l(p.log2_fold_change[b]).total_cmp(&abs_l(p.log2_fold_change[a])))
            .then(genes[r.genes[ra]].cmp(&genes[r.genes[rb]]))
    });
    let (mut n_denom, mut n_match, mut k_star) = (0usize, 0usize, 0usize);
    for (i, j) in order {
        let (lr, lp) = (r.log2_fold_change[i], p.log2_fold_change[j]);
        if defined(lr) {
            n_denom += 1;
            if defined(lp) && lp.signum() == lr.signum() {
                n_match += 1;
            }
        }
        if n_denom > 0 && n_match as f64 / n_denom as f64 >= REACH_PURITY_FLOOR {
            k_star = k_star.max(n_denom);
        }
    }
    k_star as f64 / n_conf as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(lfc: &[f64], p_adj: &[f64]) -> DeRows {
        DeRows {
            target: "A".into(),
            genes: (0..lfc.len()).collect(),
            log2_fold_change: lfc.to_vec(),
            p_value: p_adj.to_vec(),
            p_adj: p_adj.to_vec(),
        }
    }

    #[test]
    fn direction_counts() {
        let genes: Vec<String> = (0..4).map(|i| format!("g{i}")).collect();
        let r = rows(&[1.0, -1.0, 2.0, 0.5], &[0.01, 0.01, 0.01, 0.5]);
        let p = rows(&[1.0, 1.0, 2.0, 0.5], &[0.01, 0.02, 0.5, 0.01]);
        // n_conf 3; n_pred 3 (genes 0, 1, 3), k 2 (genes 0 and 3).
        assert!((fidelity_yield_raw(&r, &p, None, 0.05) - 2.0 / 3.0).abs() < 1e-15);
        // Ranked: g0 (match), g1 (miss), g2 (match): purity 1, 0.5, 2/3 -> k* = 1.
        assert!((reach_raw(&r, &p, None, 0.05, &genes) - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(lfc_nmae(&r, &p, None, 0.05), None);
    }

    /// Tables over different genes (each half with its own CPM filter): a real gene the
    /// prediction's table lacks stays in `n_conf` but leaves the ranking pool and `n_pred`
    /// (cell-eval2's inner join), and lfc_nmae reads its predicted fold change as 0.
    #[test]
    fn different_gene_sets_pair_by_gene() {
        let genes: Vec<String> = (0..4).map(|i| format!("g{i}")).collect();
        let r = rows(&[1.0, -1.0, 2.0, 0.5], &[0.01, 0.01, 0.01, 0.5]);
        // The prediction has no row for g1; its rows are g0, g2, g3.
        let p = DeRows {
            target: "A".into(),
            genes: vec![0, 2, 3],
            log2_fold_change: vec![1.0, -2.0, 0.5],
            p_value: vec![0.01, 0.01, 0.01],
            p_adj: vec![0.01, 0.01, 0.01],
        };
        // n_conf 3 (g0, g1, g2); n_pred 3 (g0, g2, g3: predicted significant with a real
        // direction), k 2 (g0, g3). Pairing by position instead would give other numbers.
        assert!((fidelity_yield_raw(&r, &p, None, 0.05) - 2.0 / 3.0).abs() < 1e-15);
        // Pool g2 (|lfc| 2, miss) then g0 (match): purity 0, 0.5 -> k* = 0 (by position
        // the pool would be g0, g1, g2, all matching: 1).
        assert_eq!(reach_raw(&r, &p, None, 0.05, &genes), 0.0);
        // Without g3's row the prediction leaves n_pred and k; g3 is not real-significant.
        let q = DeRows {
            genes: vec![0, 2],
            log2_fold_change: vec![1.0, 2.0],
            p_value: vec![0.01, 0.01],
            p_adj: vec![0.01, 0.01],
            ..p
        };
        // n_conf 3, n_pred 2, k 2 -> 2/3; pool g2 (match), g0 (match) -> k* 2 -> 2/3.
        assert!((fidelity_yield_raw(&r, &q, None, 0.05) - 2.0 / 3.0).abs() < 1e-15);
        assert!((reach_raw(&r, &q, None, 0.05, &genes) - 2.0 / 3.0).abs() < 1e-15);
    }
}
