//! The vcc2026 metrics computed here: `pds_cosine` (on `bulk_lognorm` pseudobulks) and
//! `de_wilcoxon_sig_jaccard` (on the two DE tables).

use super::wilcoxon::DeRows;
use crate::error::{CellEvalError, Result};
use perturbench_io::Csr;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// `log1p(T · S_g / Σ_g S_g)` per group, from the count sums `S` of each group's cells
/// (`T` = the bulk target sum); an all-zero group stays 0.
pub fn bulk_lognorm(x: &Csr, groups: &[Vec<usize>], target_sum: f64) -> Vec<Vec<f64>> {
    groups
        .iter()
        .map(|rows| {
            let mut s = vec![0.0f64; x.ncols()];
            for &r in rows {
                let (idx, vals) = x.row(r);
                for (&j, &v) in idx.iter().zip(vals) {
                    s[j as usize] += v as f64;
                }
            }
            let total: f64 = s.iter().sum();
            let scale = if total > 0.0 { target_sum / total } else { 0.0 };
            s.iter().map(|&v| (v * scale).ln_1p()).collect()
        })
        .collect()
}

/// `expr_real_mass_ratio` of one real pseudobulk: `Σ_g expm1(bulk_g) / T` (1 up to
/// rounding for a group with counts, 0 for an empty one).
pub fn mass_ratio(bulk: &[f64], target_sum: f64) -> f64 {
    bulk.iter().map(|v| v.exp_m1()).sum::<f64>() / target_sum
}

/// The gene column of each label that names a measured gene (exact match).
pub fn target_columns(labels: &[String], genes: &[String]) -> BTreeMap<String, usize> {
    let pos: HashMap<&str, usize> = genes
        .iter()
        .enumerate()
        .map(|(j, g)| (g.as_str(), j))
        .collect();
    labels
        .iter()
        .filter_map(|l| pos.get(l.as_str()).map(|&j| (l.clone(), j)))
        .collect()
}

/// Cosine distance as scikit-learn defines it: `1 − a·b/(|a||b|)`, similarity 0 when a norm
/// is 0, clipped to `[0, 2]`.
fn cosine_distance(a: &[f64], b: &[f64], na: f64, nb: f64) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let denom = na.sqrt() * nb.sqrt();
    let sim = if denom != 0.0 { dot / denom } else { 0.0 };
    (1.0 - sim).clamp(0.0, 2.0)
}

/// `pds_cosine` per perturbation.
///
/// `real` / `pred`: `bulk_lognorm` pseudobulks of each non-control perturbation (the same
/// labels in the same order); `control`: the real control's pseudobulk, subtracted from
/// the real side; `pred_control`: the pseudobulk subtracted from the predicted side (the
/// real control again under `control_source: real`, the prediction's own otherwise).
/// Every panel target gene (a label that names a measured gene) is removed
/// from the features; the score of `p` is `1 − r/(n−1)`, `r` the mid-rank (0-based) of the
/// distance from `p`'s predicted delta to its own real delta among the distances to all
/// `n` real deltas (NaN distances rank last).
pub fn pds_cosine(
    labels: &[String],
    real: &[Vec<f64>],
    pred: &[Vec<f64>],
    control: &[f64],
    pred_control: &[f64],
    genes: &[String],
) -> Result<Vec<f64>> {
    let cols = target_columns(labels, genes);
    if cols.is_empty() && !labels.is_empty() {
        return Err(CellEvalError::Input {
            path: "pds_cosine".into(),
            message: format!(
                "no perturbation label names a measured gene (e.g. '{}'), so the target genes cannot be excluded",
                labels[0]
            ),
        });
    }
    let drop: BTreeSet<usize> = cols.values().copied().collect();
    if drop.len() == genes.len() {
        return Err(CellEvalError::Input {
            path: "pds_cosine".into(),
            message: "every measured gene is a panel target; no feature is left to rank".into(),
        });
    }
    let keep: Vec<usize> = (0..genes.len()).filter(|j| !drop.contains(j)).collect();
    let delta =
        |m: &Vec<f64>, c: &[f64]| -> Vec<f64> { keep.iter().map(|&j| m[j] - c[j]).collect() };
    let r: Vec<Vec<f64>> = real.iter().map(|m| delta(m, control)).collect();
    let p: Vec<Vec<f64>> = pred.iter().map(|m| delta(m, pred_control)).collect();
    let sq = |v: &Vec<f64>| v.iter().map(|x| x * x).sum::<f64>();
    let rn: Vec<f64> = r.iter().map(sq).collect();
    let n = labels.len();
    let d = n as f64 - 1.0;
    Ok(p.iter()
        .enumerate()
        .map(|(i, pi)| {
            let pn = sq(pi);
            let row: Vec<f64> = (0..n)
                .map(|j| cosine_distance(pi, &r[j], pn, rn[j]))
                .collect();
            let m = row[i];
            let rank = if m.is_nan() {
                let less = row.iter().filter(|v| !v.is_nan()).count();
                less as f64 + ((n - less) as f64 - 1.0) / 2.0
            } else {
                let less = row.iter().filter(|&&v| v < m).count();
                let eq = row.iter().filter(|&&v| v == m).count();
                less as f64 + (eq as f64 - 1.0) / 2.0
            };
            if d <= 0.0 {
                1.0
            } else {
                1.0 - rank / d
            }
        })
        .collect())
}

/// `de_wilcoxon_sig_jaccard` per perturbation: `|R ∩ P| / |R ∪ P|` of the significant genes
/// (`p_adj < threshold`) of the real and predicted tables, each perturbation's own target
/// gene removed from both (when its label names a gene of the real table); 1 when the union
/// is empty.
pub fn sig_jaccard(real: &[DeRows], pred: &[DeRows], genes: &[String], threshold: f64) -> Vec<f64> {
    let real_features: BTreeSet<usize> =
        real.iter().flat_map(|t| t.genes.iter().copied()).collect();
    let own = |label: &str| -> Option<usize> {
        genes
            .iter()
            .position(|g| g == label)
            .filter(|j| real_features.contains(j))
    };
    let sig = |t: &DeRows| -> BTreeSet<usize> {
        let skip = own(&t.target);
        t.genes
            .iter()
            .zip(&t.p_adj)
            .zip(&t.log2_fold_change)
            .filter(|((&g, &q), &l)| {
                // A NaN fold change counts as not significant (p_adj forced to 1).
                let q = if l.is_nan() { 1.0 } else { q };
                q < threshold && Some(g) != skip
            })
            .map(|((&g, _), _)| g)
            .collect()
    };
    real.iter()
        .zip(pred)
        .map(|(r, p)| {
            let (a, b) = (sig(r), sig(p));
            let tp = a.intersection(&b).count();
            let union = a.len() + b.len() - tp;
            if union == 0 {
                1.0
            } else {
                tp as f64 / union as f64
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pds_midrank_and_exclusion() {
        let genes: Vec<String> = ["A", "B", "g1", "g2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let labels: Vec<String> = vec!["A".into(), "B".into(), "C".into()];
        let control = vec![0.0; 4];
        let real = vec![
            vec![9.0, 0.0, 1.0, 0.0],
            vec![0.0, 9.0, 0.0, 1.0],
            vec![0.0, 0.0, 1.0, 1.0],
        ];
        // A zero predicted delta ties every real delta at distance 1: mid-rank 1, score 0.5.
        let pred = vec![real[0].clone(), vec![0.0; 4], real[2].clone()];
        let s = pds_cosine(&labels, &real, &pred, &control, &control, &genes).unwrap();
        assert_eq!(s, vec![1.0, 0.5, 1.0]);
        let none: Vec<String> = vec!["x".into()];
        assert!(pds_cosine(&none, &real[..1], &pred[..1], &control, &control, &genes).is_err());
    }
}
