//! Pseudobulk metrics: `pearson_delta`, `mse`, `mae`, `mse_delta`, `mae_delta`
//! (cell-eval `metrics/_anndata.py::_generic_evaluation`).

use super::stats::pearson;
use crate::pseudobulk::Pseudobulks;

/// Mean squared difference.
pub fn mean_squared_error(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (y - x) * (y - x)).sum::<f64>() / a.len() as f64
}

/// Mean absolute difference.
pub fn mean_absolute_error(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (y - x).abs()).sum::<f64>() / a.len() as f64
}

/// Per-perturbation values of the five pseudobulk metrics, in perturbation order.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpressionMetrics {
    /// Pearson of pred delta vs real delta (each against its own control).
    pub pearson_delta: Vec<f64>,
    /// MSE of the raw pseudobulks.
    pub mse: Vec<f64>,
    /// MAE of the raw pseudobulks.
    pub mae: Vec<f64>,
    /// MSE of the deltas.
    pub mse_delta: Vec<f64>,
    /// MAE of the deltas.
    pub mae_delta: Vec<f64>,
}

/// Computes the expression metrics; `real` and `pred` must list the same groups and genes.
pub fn expression_metrics(real: &Pseudobulks, pred: &Pseudobulks) -> ExpressionMetrics {
    let perts = real.perturbations();
    let mut m = ExpressionMetrics {
        pearson_delta: Vec::new(),
        mse: Vec::new(),
        mae: Vec::new(),
        mse_delta: Vec::new(),
        mae_delta: Vec::new(),
    };
    for &g in &perts {
        let (dr, dp) = (real.delta(g), pred.delta(g));
        m.pearson_delta.push(pearson(&dp, &dr));
        m.mse
            .push(mean_squared_error(&pred.means[g], &real.means[g]));
        m.mae
            .push(mean_absolute_error(&pred.means[g], &real.means[g]));
        m.mse_delta.push(mean_squared_error(&dp, &dr));
        m.mae_delta.push(mean_absolute_error(&dp, &dr));
    }
    m
}
