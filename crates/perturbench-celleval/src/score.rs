//! `cell-eval score`: each metric's mean over perturbations normalised against the baseline's
//! (`agg_results.csv` of a model and of the baseline), as cell-eval 0.8.2 does it.

use crate::error::{CellEvalError, Result};
use crate::profile::{best_value, BestValue};
use crate::results::{polars_float, AggTable};
use std::path::Path;

/// Per-metric normalised scores and their mean (`avg_score`).
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// `(metric, from_baseline)`: metrics where 0 is best first, then those where 1 is
    /// best, each in column order.
    pub rows: Vec<(String, f64)>,
    /// Mean of the per-metric scores.
    pub avg_score: f64,
}

/// Normalises the `mean` row of `user` against `base`: `1 − u/b` for metrics whose best
/// value is 0, `(u − b)/(1 − b)` for those whose best value is 1; NaN becomes 0 and
/// negative scores are clipped to 0. Columns that are not registered metrics (e.g.
/// `de_nsig_counts_real`) and count-type metrics are left out.
pub fn score(user: &AggTable, base: &AggTable) -> Result<Scores> {
    if user.metrics != base.metrics {
        return Err(CellEvalError::Option(format!(
            "columns do not match: {:?} != {:?}",
            user.metrics, base.metrics
        )));
    }
    let (u, b) = match (user.row("mean"), base.row("mean")) {
        (Some(u), Some(b)) => (u, b),
        _ => {
            return Err(CellEvalError::Option(
                "comparison statistic 'mean' not found in the agg results".into(),
            ))
        }
    };
    let mut zero = Vec::new();
    let mut one = Vec::new();
    for (i, m) in user.metrics.iter().enumerate() {
        match best_value(m) {
            Some(BestValue::Zero) => zero.push((m.clone(), 1.0 - u[i] / b[i])),
            Some(BestValue::One) => one.push((m.clone(), (u[i] - b[i]) / (1.0 - b[i]))),
            _ => {}
        }
    }
    let mut rows: Vec<(String, f64)> = zero.into_iter().chain(one).collect();
    for r in &mut rows {
        if r.1.is_nan() {
            r.1 = 0.0;
        }
        r.1 = r.1.max(0.0);
    }
    let avg_score = if rows.is_empty() {
        f64::NAN
    } else {
        rows.iter().map(|r| r.1).sum::<f64>() / rows.len() as f64
    };
    Ok(Scores { rows, avg_score })
}

impl Scores {
    /// CSV text like cell-eval's `baseline_diff.csv`: `metric,from_baseline`, then
    /// `avg_score` last.
    pub fn to_csv_string(&self) -> String {
        let mut s = String::from("metric,from_baseline\n");
        for (m, v) in &self.rows {
            s.push_str(&format!("{m},{}\n", polars_float(*v)));
        }
        s.push_str(&format!("avg_score,{}\n", polars_float(self.avg_score)));
        s
    }
}

/// Reads both files, scores, and writes `output` atomically.
pub fn score_files(user: &Path, base: &Path, output: &Path) -> Result<Scores> {
    let s = score(&AggTable::read_csv(user)?, &AggTable::read_csv(base)?)?;
    perturbench_io::write_atomic(output, s.to_csv_string().as_bytes())?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_cell_eval() {
        let t = |mse: f64, pd: f64| AggTable {
            metrics: vec![
                "mse".into(),
                "pearson_delta".into(),
                "de_nsig_counts_real".into(),
            ],
            statistics: vec!["count".into(), "mean".into()],
            values: vec![vec![3.0; 3], vec![mse, pd, 7.0]],
        };
        let s = score(&t(0.5, 0.6), &t(1.0, 0.2)).unwrap();
        assert_eq!(s.rows[0], ("mse".into(), 0.5));
        assert!((s.rows[1].1 - 0.5).abs() < 1e-15);
        assert!((s.avg_score - 0.5).abs() < 1e-15);
        let worse = score(&t(2.0, 0.1), &t(1.0, 0.2)).unwrap();
        assert_eq!(worse.rows[0].1, 0.0);
        assert_eq!(worse.rows[1].1, 0.0);
    }
}
