//! `overlap_at_k` and `precision_at_k` (cell-eval `DEComparison.compute_overlap`).

use super::de_frame::{DeFrame, TargetDe};
use std::collections::HashSet;

/// Which denominator the top-k comparison uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlapKind {
    /// Recall-like: `k_eff = min(k or |S_real|, |S_real|)`.
    Overlap,
    /// Precision-like: `k_eff = min(k or |S_pred|, |S_pred|)`.
    Precision,
}

/// Significant genes sorted by |lfc| (f32) descending, ties in table order, NaN first.
pub fn ranked_significant(t: &TargetDe, threshold: f32) -> Vec<&str> {
    let mut sig = t.significant(threshold);
    // abs of a NaN is a positive NaN, which total_cmp puts above +inf (polars' order).
    sig.sort_by(|&a, &b| t.lfc[b].abs().total_cmp(&t.lfc[a].abs()));
    sig.iter().map(|&i| t.features[i].as_str()).collect()
}

/// Per perturbation (the order of `real`), the overlap of the top-k significant genes;
/// `k = None` is `N` (the number of significant genes on the side `kind` names).
/// Perturbations must be the same on both sides (checked by the caller).
pub fn overlap_at_k(
    real: &DeFrame,
    pred: &DeFrame,
    k: Option<usize>,
    kind: OverlapKind,
    threshold: f32,
) -> Vec<f64> {
    let real_ranked: Vec<Vec<&str>> = real
        .targets
        .iter()
        .map(|t| ranked_significant(t, threshold))
        .collect();
    let pred_ranked: Vec<Vec<&str>> = pred
        .targets
        .iter()
        .map(|t| ranked_significant(t, threshold))
        .collect();
    // No significant gene anywhere on one side: every perturbation scores 0.
    if real_ranked.iter().all(Vec::is_empty) || pred_ranked.iter().all(Vec::is_empty) {
        return vec![0.0; real.targets.len()];
    }
    real_ranked
        .iter()
        .zip(&pred_ranked)
        .map(|(r, p)| {
            let side = match kind {
                OverlapKind::Overlap => r.len(),
                OverlapKind::Precision => p.len(),
            };
            let k_eff = match k {
                Some(k) if k > 0 => k.min(side),
                _ => side,
            };
            if k_eff == 0 {
                return 0.0;
            }
            let rs: HashSet<&str> = r.iter().take(k_eff).copied().collect();
            let ps: HashSet<&str> = p.iter().take(k_eff).copied().collect();
            rs.intersection(&ps).count() as f64 / k_eff as f64
        })
        .collect()
}
