//! `pr_auc` and `roc_auc`: how well the predicted FDR ranks the real significant genes
//! (cell-eval `compute_generic_auc` with scikit-learn's `average_precision_score` and
//! `roc_curve` + `auc`).

use super::de_frame::DeFrame;

/// Score of a predicted FDR: `-log10(clip(q, 1e-10, 1))`, computed in `f32` exactly as
/// polars does (`ln(q) / ln(10)` in single precision).
pub fn neg_log10_f32(q: f32) -> f32 {
    let q = q.clamp(1e-10f32, 1.0f32);
    -(q.ln() / 10f32.ln())
}

/// (label, score) pairs of one perturbation, in real-table order.
fn labelled(
    real: &super::de_frame::TargetDe,
    pred: &super::de_frame::TargetDe,
    threshold: f32,
) -> (Vec<bool>, Vec<f32>) {
    let pidx = pred.feature_index();
    let labels = real.fdr.iter().map(|&q| q < threshold).collect();
    let scores = real
        .features
        .iter()
        .map(|f| {
            let q = pidx.get(&**f).map_or(1.0f32, |&j| pred.fdr[j]);
            neg_log10_f32(q)
        })
        .collect();
    (labels, scores)
}

/// Cumulative (true positives, false positives) at each distinct score, scores descending.
fn curve(labels: &[bool], scores: &[f32]) -> Vec<(f64, f64)> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    // Descending; a stable sort keeps table order within ties (ties form one threshold).
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut out = Vec::new();
    let (mut tp, mut fp) = (0f64, 0f64);
    for (k, &i) in idx.iter().enumerate() {
        if labels[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last = k + 1 == idx.len();
        if last || scores[idx[k + 1]] != scores[i] {
            out.push((tp, fp));
        }
    }
    out
}

/// Whether both classes are present (otherwise the AUCs are NaN).
fn both_classes(labels: &[bool]) -> bool {
    let pos = labels.iter().filter(|&&l| l).count();
    pos > 0 && pos < labels.len()
}

/// Average precision (scikit-learn): `Σ (R_k − R_{k−1}) · P_k` over distinct thresholds.
pub fn average_precision(labels: &[bool], scores: &[f32]) -> f64 {
    if !both_classes(labels) {
        return f64::NAN;
    }
    let c = curve(labels, scores);
    let total_pos = c.last().map_or(0.0, |l| l.0);
    let mut ap = 0.0;
    let mut prev_recall = 0.0;
    for &(tp, fp) in &c {
        let recall = tp / total_pos;
        let precision = tp / (tp + fp);
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
    }
    ap
}

/// Area under the ROC curve (trapezoids over distinct thresholds, from (0, 0)).
pub fn roc_auc(labels: &[bool], scores: &[f32]) -> f64 {
    if !both_classes(labels) {
        return f64::NAN;
    }
    let c = curve(labels, scores);
    let (tp_all, fp_all) = c.last().copied().unwrap_or((0.0, 0.0));
    let (mut x0, mut y0, mut area) = (0.0, 0.0, 0.0);
    for &(tp, fp) in &c {
        let (x, y) = (fp / fp_all, tp / tp_all);
        area += (x - x0) * (y + y0) / 2.0;
        x0 = x;
        y0 = y;
    }
    area
}

/// Per perturbation PR-AUC (`pr == true`) or ROC-AUC of the predicted FDR against the real
/// significance labels; NaN for a perturbation whose labels are all equal.
pub fn fdr_auc(real: &DeFrame, pred: &DeFrame, threshold: f32, pr: bool) -> Vec<f64> {
    real.targets
        .iter()
        .zip(&pred.targets)
        .map(|(r, p)| {
            if r.features.is_empty() {
                return f64::NAN;
            }
            let (labels, scores) = labelled(r, p, threshold);
            if pr {
                average_precision(&labels, &scores)
            } else {
                roc_auc(&labels, &scores)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scikit-learn 1.9.1: average_precision_score([1,0,1,1,0,0],[.9,.8,.8,.3,.3,.1]) and
    /// roc_auc via roc_curve + auc.
    #[test]
    fn matches_sklearn_with_ties() {
        let labels = [true, false, true, true, false, false];
        let scores = [0.9f32, 0.8, 0.8, 0.3, 0.3, 0.1];
        let ap = average_precision(&labels, &scores);
        let roc = roc_auc(&labels, &scores);
        assert!((ap - 0.7555555555555555).abs() < 1e-12, "{ap}");
        assert!((roc - 0.7777777777777778).abs() < 1e-12, "{roc}");
    }
}
