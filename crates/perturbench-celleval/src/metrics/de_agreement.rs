//! Agreement of the significant gene sets and fold changes of two DE tables
//! (cell-eval `metrics/_de.py`: DESpearmanSignificant, DEDirectionMatch, DESpearmanLFC,
//! DESigGenesRecall, DENsigCounts).

use super::de_frame::DeFrame;
use super::stats::spearman;
use std::collections::HashSet;

/// Number of significant genes per perturbation.
pub fn nsig_counts(d: &DeFrame, threshold: f32) -> Vec<usize> {
    d.targets
        .iter()
        .map(|t| t.significant(threshold).len())
        .collect()
}

/// One Spearman correlation between real and pred significant-gene counts, over the
/// perturbations with at least one real significant gene (pred missing = 0); 1.0 when there
/// are none.
pub fn spearman_sig(real: &DeFrame, pred: &DeFrame, threshold: f32) -> f64 {
    let r = nsig_counts(real, threshold);
    let p = nsig_counts(pred, threshold);
    let keep: Vec<usize> = (0..r.len()).filter(|&i| r[i] > 0).collect();
    if keep.is_empty() {
        return 1.0;
    }
    let x: Vec<f64> = keep.iter().map(|&i| r[i] as f64).collect();
    let y: Vec<f64> = keep.iter().map(|&i| p[i] as f64).collect();
    spearman(&x, &y)
}

/// `sign` of an f32 as polars computes it (NaN stays NaN; `-0.0` and `0.0` give 0).
fn sign(v: f32) -> f32 {
    if v.is_nan() {
        f32::NAN
    } else if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Polars float equality (NaN equals NaN).
fn polars_eq(a: f32, b: f32) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

/// Per perturbation: fraction of real-significant genes (present in pred) whose lfc sign
/// agrees; `None` when the perturbation has no real-significant gene found in pred.
pub fn direction_match(real: &DeFrame, pred: &DeFrame, threshold: f32) -> Vec<Option<f64>> {
    real.targets
        .iter()
        .zip(&pred.targets)
        .map(|(r, p)| {
            let pidx = p.feature_index();
            let (mut hit, mut n) = (0usize, 0usize);
            for i in r.significant(threshold) {
                if let Some(&j) = pidx.get(&*r.features[i]) {
                    n += 1;
                    if polars_eq(sign(r.lfc[i]), sign(p.lfc[j])) {
                        hit += 1;
                    }
                }
            }
            (n > 0).then(|| hit as f64 / n as f64)
        })
        .collect()
}

/// Per perturbation: Spearman between real and pred lfc over the real-significant genes
/// (pred missing = 0); `None` without real-significant genes.
pub fn spearman_lfc(real: &DeFrame, pred: &DeFrame, threshold: f32) -> Vec<Option<f64>> {
    real.targets
        .iter()
        .zip(&pred.targets)
        .map(|(r, p)| {
            let sig = r.significant(threshold);
            if sig.is_empty() {
                return None;
            }
            let pidx = p.feature_index();
            let x: Vec<f64> = sig.iter().map(|&i| r.lfc[i] as f64).collect();
            let y: Vec<f64> = sig
                .iter()
                .map(|&i| pidx.get(&*r.features[i]).map_or(0.0, |&j| p.lfc[j] as f64))
                .collect();
            Some(spearman(&x, &y))
        })
        .collect()
}

/// Per perturbation: `|S_real ∩ S_pred| / |S_real|`; `None` without real-significant genes.
pub fn sig_genes_recall(real: &DeFrame, pred: &DeFrame, threshold: f32) -> Vec<Option<f64>> {
    real.targets
        .iter()
        .zip(&pred.targets)
        .map(|(r, p)| {
            let rs = r.significant(threshold);
            if rs.is_empty() {
                return None;
            }
            let ps: HashSet<&str> = p
                .significant(threshold)
                .into_iter()
                .map(|j| &*p.features[j])
                .collect();
            let hit = rs.iter().filter(|&&i| ps.contains(&*r.features[i])).count();
            Some(hit as f64 / rs.len() as f64)
        })
        .collect()
}
