//! cell-eval 0.8.2's data ceiling (`run --ceiling`): the real cells of every perturbation
//! (the control included) are split into two disjoint halves of ⌊n/2⌋ cells, the halves are
//! scored against each other with the run's own metrics, and the mean of each metric over
//! perturbations is carried from half to full depth by the Spearman–Brown formula.

use crate::error::{CellEvalError, Result};
use crate::groups::obs_labels;
use crate::metrics::MetricTable;
use crate::results::{describe, polars_float};
use perturbench_data::split::pcg64::NpGenerator;
use perturbench_io::{AnnData, Column};
use std::path::Path;

/// The metrics whose ceiling is corrected by Spearman–Brown (`2r / (1 + r)` where `r > 0`);
/// every other column of `agg_ceiling_results.csv` is NaN (cell-eval's `SB_METRICS`).
pub const SPEARMAN_BROWN_METRICS: [&str; 20] = [
    "pearson_delta",
    "discrimination_score_l1",
    "discrimination_score_l2",
    "discrimination_score_cosine",
    "overlap_at_N",
    "overlap_at_50",
    "overlap_at_100",
    "overlap_at_200",
    "overlap_at_500",
    "precision_at_N",
    "precision_at_50",
    "precision_at_100",
    "precision_at_200",
    "precision_at_500",
    "de_spearman_sig",
    "de_spearman_lfc_sig",
    "de_direction_match",
    "de_sig_genes_recall",
    "pr_auc",
    "roc_auc",
];

/// Two disjoint halves of the cells of `ad` (read from `path`), as cell-eval's
/// `_disjoint_halves(seed)` draws them: groups of `pert_col` in pandas' groupby order
/// (category order for a categorical column, sorted labels otherwise), each group's rows
/// permuted by one `numpy.random.default_rng(seed)`, the first ⌊n/2⌋ to the first half and
/// the next ⌊n/2⌋ to the second. Returns the halves and the number of groups dropped for
/// having fewer than 2 cells; an error when no group or not the control can be split.
pub fn disjoint_halves(
    ad: &AnnData,
    path: &Path,
    pert_col: &str,
    control: &str,
    seed: u64,
) -> Result<(AnnData, AnnData, usize)> {
    let labels = obs_labels(ad, pert_col)?;
    let order: Vec<String> = match ad.obs.column(pert_col) {
        Some(Column::Categorical { categories, .. }) => categories.clone(),
        _ => {
            let mut u = labels.clone();
            u.sort();
            u.dedup();
            u
        }
    };
    let index: std::collections::HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); order.len()];
    for (r, l) in labels.iter().enumerate() {
        rows[index[l.as_str()]].push(r);
    }
    let mut rng = NpGenerator::new(seed);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut dropped = 0;
    let mut control_split = false;
    // Categories without cells are not groups (`observed=True`).
    for (g, mut perm) in rows.into_iter().enumerate().filter(|(_, r)| !r.is_empty()) {
        rng.shuffle(&mut perm);
        let h = perm.len() / 2;
        if h < 1 {
            dropped += 1;
            continue;
        }
        control_split |= order[g] == control;
        a.extend_from_slice(&perm[..h]);
        b.extend_from_slice(&perm[h..2 * h]);
    }
    let err = |message: String| CellEvalError::Input {
        path: path.display().to_string(),
        message,
    };
    if a.is_empty() {
        return Err(err(
            "--ceiling: no perturbation has >= 2 cells to split for the data ceiling".into(),
        ));
    }
    if !control_split {
        return Err(err(format!(
            "--ceiling: control '{control}' has < 2 cells; cannot compute a disjoint-split data ceiling"
        )));
    }
    Ok((ad.select_obs(&a), ad.select_obs(&b), dropped))
}

/// `agg_ceiling_results.csv`: one row, one column per column of `results.csv` (the metrics
/// with a value), each the mean over perturbations (empty cells skipped, NaN propagating)
/// carried to full depth by `2r / (1 + r)` for the Spearman–Brown metrics with `r > 0`, and
/// NaN otherwise.
pub fn agg_ceiling_csv(t: &MetricTable) -> String {
    let cols: Vec<&(String, Vec<Option<f64>>)> = t
        .columns
        .iter()
        .filter(|(_, v)| v.iter().any(Option::is_some))
        .collect();
    let header: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    let values: Vec<String> = cols
        .iter()
        .map(|(n, v)| {
            let mean = describe(v)[2];
            let corrected = match mean {
                Some(r) if SPEARMAN_BROWN_METRICS.contains(&n.as_str()) && r > 0.0 => {
                    2.0 * r / (1.0 + r)
                }
                _ => f64::NAN,
            };
            polars_float(corrected)
        })
        .collect();
    format!("{}\n{}\n", header.join(","), values.join(","))
}
