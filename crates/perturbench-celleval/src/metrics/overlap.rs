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
    sig.iter().map(|&i| &*t.features[i]).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(target: &str, lfc: &[f32], fdr: &[f32]) -> TargetDe {
        TargetDe {
            target: target.into(),
            features: (0..lfc.len()).map(|i| format!("g{i}").into()).collect(),
            lfc: lfc.to_vec(),
            fdr: fdr.to_vec(),
        }
    }

    /// polars `rank("ordinal", descending=True)` keeps table order within ties and ranks NaN
    /// above +inf; fdr exactly 0.05 is not significant.
    #[test]
    fn ranking_ties_and_nan() {
        let t = frame(
            "A",
            &[
                1.0,
                -3.0,
                3.0,
                f32::INFINITY,
                2.0,
                f32::NEG_INFINITY,
                f32::NAN,
                9.0,
            ],
            &[0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.05],
        );
        assert_eq!(
            ranked_significant(&t, 0.05),
            ["g6", "g3", "g5", "g1", "g2", "g4", "g0"]
        );
    }

    #[test]
    fn overlap_and_precision_denominators() {
        let real = DeFrame {
            targets: vec![frame("A", &[4.0, 3.0, 2.0, 1.0], &[0.0, 0.0, 0.0, 0.0])],
        };
        let pred = DeFrame {
            targets: vec![frame("A", &[4.0, 1.0, 2.0, 3.0], &[0.0, 0.0, 0.9, 0.9])],
        };
        // real top = g0 g1 g2 g3; pred sig = g0, g1 (g0 first).
        let n = overlap_at_k(&real, &pred, None, OverlapKind::Overlap, 0.05);
        assert_eq!(n, [0.5]); // k = 4: {g0,g1} ∩ all real / 4
        let p = overlap_at_k(&real, &pred, None, OverlapKind::Precision, 0.05);
        assert_eq!(p, [1.0]); // k = 2: {g0,g1} ∩ {g0,g1} / 2
        let k1 = overlap_at_k(&real, &pred, Some(1), OverlapKind::Overlap, 0.05);
        assert_eq!(k1, [1.0]);
        let none = DeFrame {
            targets: vec![frame("A", &[1.0; 4], &[0.9; 4])],
        };
        assert_eq!(
            overlap_at_k(&real, &none, None, OverlapKind::Overlap, 0.05),
            [0.0]
        );
    }
}
