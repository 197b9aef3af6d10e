//! The sampling-corrected expression errors of the vcc2026 profile, on `bulk_lognorm`
//! pseudobulks: `expr_mse_unbiased`, `expr_mse_unbiased_capped`, `expr_distance_unbiased`
//! and the scored ratio `expr_mse_unbiased_capped_norm`.
//!
//! A group's pseudobulk is estimated from its cells, so the squared distance between two
//! pseudobulks carries the sampling variance of both. That variance is estimated per group
//! by a delete-one-cell jackknife of the `bulk_lognorm` vector ([`jackknife`]) and
//! subtracted. Each perturbation's own target gene (a label that is a gene name) is left out
//! of its distance, which is then divided by the number of genes used.

use perturbench_io::Csr;
use std::collections::BTreeMap;

/// Cap of the prediction's correction, as a multiple of the real one.
pub const PRED_TRACE_CAP_K: f64 = 1.0;

/// Delete-one jackknife variance of a group's `bulk_lognorm` vector, summed over genes:
/// with `S` the gene sums, `L_i` cell `i`'s total and `V_i = log1p(T(S − x_i)/(ΣS − L_i)) −
/// log1p(T·S/ΣS)` (0 instead of the first term when the cell holds every count),
/// `max(0, (n−1)/n · Σ_g (Σ_i V_ig² − (Σ_i V_ig)²/n))`; 0 for fewer than 2 cells or no counts.
pub fn jackknife(x: &Csr, rows: &[usize], target_sum: f64) -> f64 {
    let n = rows.len();
    if n < 2 {
        return 0.0;
    }
    let g = x.ncols();
    let mut p = vec![0.0f64; g];
    let mut lib = Vec::with_capacity(n);
    for &r in rows {
        let (idx, vals) = x.row(r);
        let mut l = 0.0f64;
        for (&j, &v) in idx.iter().zip(vals) {
            p[j as usize] += v as f64;
            l += v as f64;
        }
        lib.push(l);
    }
    let tot: f64 = p.iter().sum();
    if tot <= 0.0 {
        return 0.0;
    }
    let b: Vec<f64> = p.iter().map(|&s| (target_sum * s / tot).ln_1p()).collect();
    let (mut s1, mut s2) = (vec![0.0f64; g], vec![0.0f64; g]);
    let mut y = vec![0.0f64; g];
    for (k, &r) in rows.iter().enumerate() {
        let (idx, vals) = x.row(r);
        for (&j, &v) in idx.iter().zip(vals) {
            y[j as usize] = v as f64;
        }
        let rem = tot - lib[k];
        for j in 0..g {
            let v = if rem > 0.0 {
                (target_sum * (p[j] - y[j]) / rem).ln_1p()
            } else {
                0.0
            } - b[j];
            s1[j] += v;
            s2[j] += v * v;
        }
        for &j in idx {
            y[j as usize] = 0.0;
        }
    }
    let nf = n as f64;
    let q: f64 = (0..g).map(|j| s2[j] - s1[j] * s1[j] / nf).sum();
    ((nf - 1.0) / nf * q).max(0.0)
}

/// `Σ_g (a_g − b_g)²`.
fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// `(‖a − b‖² − c_a − c_b − [own gene's term]) / (genes used)`.
fn per_gene(a: &[f64], b: &[f64], c_a: f64, c_b: f64, own: Option<usize>) -> f64 {
    let mut s = sq_dist(a, b) - c_a - c_b;
    let mut n = a.len() as f64;
    if let Some(j) = own {
        s -= (a[j] - b[j]) * (a[j] - b[j]);
        n -= 1.0;
    }
    if n > 0.0 {
        s / n
    } else {
        f64::NAN
    }
}

/// The weighted across-perturbation spread of the predicted pseudobulks, summed over genes
/// (each perturbation's own gene left out of that gene's spread): the budget the
/// prediction's total correction may not exceed.
fn across_budget(pred: &[&[f64]], own: &[Option<usize>], w: &[f64]) -> f64 {
    let (rows, g) = (pred.len(), pred.first().map_or(0, |r| r.len()));
    let mean: Vec<f64> = (0..g)
        .map(|j| pred.iter().map(|r| r[j]).sum::<f64>() / rows as f64)
        .collect();
    let (mut s1, mut s2) = (vec![0.0f64; g], vec![0.0f64; g]);
    for (i, r) in pred.iter().enumerate() {
        for j in 0..g {
            let d = r[j] - mean[j];
            s1[j] += d * w[i];
            s2[j] += d * d * w[i];
        }
    }
    let wtot: f64 = w.iter().sum();
    let mut wsum = vec![wtot; g];
    let mut cnt = vec![rows as f64; g];
    for (i, o) in own.iter().enumerate() {
        if let Some(j) = *o {
            let d = pred[i][j] - mean[j];
            s1[j] -= w[i] * d;
            s2[j] -= w[i] * d * d;
            wsum[j] -= w[i];
            cnt[j] -= 1.0;
        }
    }
    (0..g)
        .filter(|&j| cnt[j] >= 2.0 && wsum[j] > 0.0)
        .map(|j| (s2[j] - s1[j] * s1[j] / wsum[j]).max(0.0))
        .sum()
}

/// The three per-perturbation metrics, in label order.
#[derive(Debug, Clone)]
pub struct Unbiased {
    /// `expr_mse_unbiased`.
    pub mse: Vec<f64>,
    /// `expr_mse_unbiased_capped`.
    pub mse_capped: Vec<f64>,
    /// `expr_distance_unbiased`.
    pub distance: Vec<f64>,
}

/// The metrics of every perturbation: `pred`/`real` pseudobulks and jackknife corrections
/// `pred_c`/`real_c` per perturbation (label order), the real control's `ctrl`/`ctrl_c`, and
/// each perturbation's own gene column.
pub fn unbiased(
    pred: &[Vec<f64>],
    real: &[Vec<f64>],
    pred_c: &[f64],
    real_c: &[f64],
    ctrl: &[f64],
    ctrl_c: f64,
    own: &[Option<usize>],
) -> Unbiased {
    let g = ctrl.len() as f64;
    let mse: Vec<f64> = (0..pred.len())
        .map(|i| per_gene(&pred[i], &real[i], pred_c[i], real_c[i], own[i]))
        .collect();
    let distance: Vec<f64> = (0..real.len())
        .map(|i| per_gene(&real[i], ctrl, real_c[i], ctrl_c, own[i]))
        .collect();
    // The prediction's correction, capped at the real one's and scaled down so that its
    // weighted total does not exceed the across-perturbation spread of the prediction.
    let mut term: Vec<f64> = (0..pred.len())
        .map(|i| pred_c[i].min(PRED_TRACE_CAP_K * real_c[i]))
        .collect();
    let w: Vec<f64> = own
        .iter()
        .map(|o| {
            let n = if o.is_some() { g - 1.0 } else { g };
            if n > 0.0 {
                1.0 / n
            } else {
                0.0
            }
        })
        .collect();
    let claim: f64 = term.iter().zip(&w).map(|(t, w)| t * w).sum();
    if claim > 0.0 {
        let rows: Vec<&[f64]> = pred.iter().map(|r| r.as_slice()).collect();
        let ratio = across_budget(&rows, own, &w) / claim;
        if ratio < 1.0 {
            term.iter_mut().for_each(|t| *t *= ratio);
        }
    }
    let mse_capped = (0..pred.len())
        .map(|i| per_gene(&pred[i], &real[i], term[i], real_c[i], own[i]))
        .collect();
    Unbiased {
        mse,
        mse_capped,
        distance,
    }
}

/// `expr_mse_unbiased_capped_norm` = `Σ mse_capped / Σ distance` over the perturbations
/// where both are finite; `None` when that denominator is not positive.
pub fn capped_norm(mse_capped: &[f64], distance: &[f64]) -> Option<f64> {
    let (mut n, mut d) = (0.0f64, 0.0f64);
    for (a, b) in mse_capped.iter().zip(distance) {
        if a.is_finite() && b.is_finite() {
            n += a;
            d += b;
        }
    }
    (d > 0.0 && n.is_finite()).then(|| n / d)
}

/// Each label's own gene column (exact name match), as a map for the caller's convenience.
pub fn own_columns(labels: &[String], genes: &[String]) -> Vec<Option<usize>> {
    let pos: BTreeMap<&str, usize> = genes
        .iter()
        .enumerate()
        .map(|(j, g)| (g.as_str(), j))
        .collect();
    labels
        .iter()
        .map(|l| pos.get(l.as_str()).copied())
        .collect()
}
