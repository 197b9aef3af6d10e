//! `discrimination_score_{l1,l2,cosine}` (cell-eval `metrics/_anndata.py::discrimination_score`).

use crate::pseudobulk::Pseudobulks;
use rayon::prelude::*;
use serde::Serialize;

/// Distance between a real and a predicted delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Distance {
    /// Manhattan.
    L1,
    /// Euclidean, computed as scikit-learn does: `sqrt(max(0, −2·r·p + |r|² + |p|²))`.
    L2,
    /// `1 − cos(r, p)` on unit-normalised vectors (a zero vector has similarity 0), clipped
    /// to `[0, 2]`.
    Cosine,
}

impl Distance {
    /// Metric-name suffix.
    pub fn name(self) -> &'static str {
        match self {
            Distance::L1 => "l1",
            Distance::L2 => "l2",
            Distance::Cosine => "cosine",
        }
    }
}

fn distance(kind: Distance, r: &[f64], p: &[f64]) -> f64 {
    match kind {
        Distance::L1 => r.iter().zip(p).map(|(a, b)| (a - b).abs()).sum(),
        Distance::L2 => {
            let rr: f64 = r.iter().map(|v| v * v).sum();
            let pp: f64 = p.iter().map(|v| v * v).sum();
            let rp: f64 = r.iter().zip(p).map(|(a, b)| a * b).sum();
            (-2.0 * rp + rr + pp).max(0.0).sqrt()
        }
        Distance::Cosine => {
            let nr = r.iter().map(|v| v * v).sum::<f64>().sqrt();
            let np = p.iter().map(|v| v * v).sum::<f64>().sqrt();
            let nr = if nr == 0.0 { 1.0 } else { nr };
            let np = if np == 0.0 { 1.0 } else { np };
            let sim: f64 = r.iter().zip(p).map(|(a, b)| (a / nr) * (b / np)).sum();
            (1.0 - sim).clamp(0.0, 2.0)
        }
    }
}

/// Per perturbation `1 − rank / P`, where `rank` counts the real deltas closer to the
/// perturbation's predicted delta than its own real delta, over the genes whose name is not
/// the perturbation label when `exclude_target` is set (target-gene exclusion; cell-eval
/// keeps every column of an embedding). If all `P` distances are equal, `rank` is
/// the perturbation's index in label order (numpy keeps an all-equal array in input order);
/// partial ties, whose order numpy's unstable sort leaves to the machine, count as not
/// closer.
pub fn discrimination_score(
    real: &Pseudobulks,
    pred: &Pseudobulks,
    kind: Distance,
    exclude_target: bool,
) -> Vec<f64> {
    let perts = real.perturbations();
    let real_d: Vec<Vec<f64>> = perts.iter().map(|&g| real.delta(g)).collect();
    let pred_d: Vec<Vec<f64>> = perts.iter().map(|&g| pred.delta(g)).collect();
    let n = perts.len() as f64;
    perts
        .par_iter()
        .enumerate()
        .map(|(i, &g)| {
            let label = &real.names[g];
            let keep: Vec<usize> = (0..real.genes.len())
                .filter(|&j| !exclude_target || &real.genes[j] != label)
                .collect();
            let p: Vec<f64> = keep.iter().map(|&j| pred_d[i][j]).collect();
            // One reusable buffer for the real deltas restricted to the kept genes.
            let mut buf = vec![0f64; keep.len()];
            let dists: Vec<f64> = real_d
                .iter()
                .map(|r| {
                    for (b, &j) in buf.iter_mut().zip(&keep) {
                        *b = r[j];
                    }
                    distance(kind, &buf, &p)
                })
                .collect();
            let own = dists[i];
            // numpy's argsort puts the perturbation after the strictly closer ones; when every
            // distance is equal (e.g. a zero predicted delta under cosine) it keeps the input
            // order, so the rank is the perturbation's own position.
            let rank = if dists.iter().all(|&d| d == own) {
                i
            } else {
                dists.iter().filter(|&&d| d < own).count()
            };
            1.0 - rank as f64 / n
        })
        .collect()
}
