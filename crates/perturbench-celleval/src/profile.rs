//! Metric profiles of cell-eval 0.8.2 (`--profile`), the metric registry's order and each
//! metric's best value (which `score` normalises against).

use crate::error::{CellEvalError, Result};
use serde::Serialize;

/// A named set of metrics (`cell-eval run --profile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Every DE metric and every AnnData metric.
    Full,
    /// `mae`, `discrimination_score_l1`, `overlap_at_N` (the Virtual Cell Challenge 2025 set).
    Vcc,
    /// A small set of DE and AnnData metrics.
    Minimal,
    /// `discrimination_score_l1` only; no DE is computed.
    Pds,
    /// The DE metrics.
    De,
    /// The AnnData (pseudobulk / cell) metrics.
    Anndata,
    /// cell-eval2 0.20.0's Virtual Cell Challenge 2026 profile on raw counts (see
    /// [`crate::vcc2026`]; its own DE, metrics and files).
    Vcc2026,
}

/// Whether a metric is computed from the two DE tables or from the AnnData pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MetricKind {
    /// From `real_de` / `pred_de`.
    De,
    /// From the expression matrices.
    Anndata,
}

/// The value a perfect prediction reaches (cell-eval's `MetricBestValue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BestValue {
    /// Higher is better, 1 is perfect.
    One,
    /// Lower is better, 0 is perfect.
    Zero,
    /// Not a score (counts).
    None,
}

/// The metric registry in registration order: (name, kind, best value). A name may yield
/// several columns (`de_nsig_counts` → `de_nsig_counts_real`, `de_nsig_counts_pred`).
pub const REGISTRY: [(&str, MetricKind, BestValue); 27] = [
    ("pearson_delta", MetricKind::Anndata, BestValue::One),
    ("mse", MetricKind::Anndata, BestValue::Zero),
    ("mae", MetricKind::Anndata, BestValue::Zero),
    ("mse_delta", MetricKind::Anndata, BestValue::Zero),
    ("mae_delta", MetricKind::Anndata, BestValue::Zero),
    (
        "discrimination_score_l1",
        MetricKind::Anndata,
        BestValue::One,
    ),
    (
        "discrimination_score_l2",
        MetricKind::Anndata,
        BestValue::One,
    ),
    (
        "discrimination_score_cosine",
        MetricKind::Anndata,
        BestValue::One,
    ),
    ("pearson_edistance", MetricKind::Anndata, BestValue::One),
    ("overlap_at_N", MetricKind::De, BestValue::One),
    ("overlap_at_50", MetricKind::De, BestValue::One),
    ("overlap_at_100", MetricKind::De, BestValue::One),
    ("overlap_at_200", MetricKind::De, BestValue::One),
    ("overlap_at_500", MetricKind::De, BestValue::One),
    ("precision_at_N", MetricKind::De, BestValue::One),
    ("precision_at_50", MetricKind::De, BestValue::One),
    ("precision_at_100", MetricKind::De, BestValue::One),
    ("precision_at_200", MetricKind::De, BestValue::One),
    ("precision_at_500", MetricKind::De, BestValue::One),
    ("de_spearman_sig", MetricKind::De, BestValue::One),
    ("de_direction_match", MetricKind::De, BestValue::One),
    ("de_spearman_lfc_sig", MetricKind::De, BestValue::One),
    ("de_sig_genes_recall", MetricKind::De, BestValue::One),
    ("de_nsig_counts", MetricKind::De, BestValue::None),
    ("pr_auc", MetricKind::De, BestValue::One),
    ("roc_auc", MetricKind::De, BestValue::One),
    ("clustering_agreement", MetricKind::Anndata, BestValue::One),
];

const MINIMAL: [&str; 7] = [
    "pearson_delta",
    "mse",
    "mae",
    "discrimination_score_l1",
    "overlap_at_N",
    "precision_at_N",
    "de_nsig_counts",
];

const VCC: [&str; 3] = ["mae", "discrimination_score_l1", "overlap_at_N"];

/// The kind of a registered metric name.
pub fn metric_kind(name: &str) -> Option<MetricKind> {
    REGISTRY.iter().find(|m| m.0 == name).map(|m| m.1)
}

/// The best value of a results column (`de_nsig_counts_*` columns are not registered names
/// and get `None`, as in cell-eval's `score`).
pub fn best_value(column: &str) -> Option<BestValue> {
    REGISTRY.iter().find(|m| m.0 == column).map(|m| m.2)
}

/// The columns of `results.csv` that a registered metric name produces.
pub fn metric_columns(name: &str) -> Vec<String> {
    if name == "de_nsig_counts" {
        vec!["de_nsig_counts_real".into(), "de_nsig_counts_pred".into()]
    } else {
        vec![name.to_string()]
    }
}

impl Profile {
    /// The profile called `name` on the command line.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "full" => Profile::Full,
            "vcc" => Profile::Vcc,
            "minimal" => Profile::Minimal,
            "pds" => Profile::Pds,
            "de" => Profile::De,
            "anndata" => Profile::Anndata,
            "vcc2026" => Profile::Vcc2026,
            other => {
                return Err(CellEvalError::Option(format!(
                    "unknown profile '{other}' (known: full, vcc, minimal, pds, de, anndata, \
                     vcc2026)"
                )))
            }
        })
    }

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Full => "full",
            Profile::Vcc => "vcc",
            Profile::Minimal => "minimal",
            Profile::Pds => "pds",
            Profile::De => "de",
            Profile::Anndata => "anndata",
            Profile::Vcc2026 => "vcc2026",
        }
    }

    /// Whether DE is computed at all (cell-eval skips it for `pds` only).
    pub fn runs_de(self) -> bool {
        self != Profile::Pds
    }

    /// The metric names of the profile, in cell-eval's list order (`clustering_agreement`,
    /// registered last, ends `full` and `anndata`).
    pub fn metrics(self) -> Vec<&'static str> {
        let of = |k: MetricKind| REGISTRY.iter().filter(move |m| m.1 == k).map(|m| m.0);
        match self {
            Profile::Full => of(MetricKind::De).chain(of(MetricKind::Anndata)).collect(),
            Profile::De => of(MetricKind::De).collect(),
            Profile::Anndata => of(MetricKind::Anndata).collect(),
            Profile::Minimal => MINIMAL.to_vec(),
            Profile::Vcc => VCC.to_vec(),
            Profile::Pds => vec!["discrimination_score_l1"],
            Profile::Vcc2026 => crate::vcc2026::MEMBERS.iter().map(|m| m.0).collect(),
        }
    }

    /// The metrics computed, in the order cell-eval computes them (DE metrics first, then
    /// AnnData metrics, each in list order), after removing `skip` (unknown names in `skip`
    /// are ignored, as cell-eval does).
    pub fn computed(self, skip: &[String]) -> Vec<&'static str> {
        let list: Vec<&'static str> = self
            .metrics()
            .into_iter()
            .filter(|m| !skip.iter().any(|s| s == m))
            .collect();
        let de = list
            .iter()
            .copied()
            .filter(|m| metric_kind(m) == Some(MetricKind::De));
        let other = list
            .iter()
            .copied()
            .filter(|m| metric_kind(m) != Some(MetricKind::De));
        de.chain(other).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_list_metrics_in_cell_eval_order() {
        let full = Profile::Full.metrics();
        assert_eq!(full.len(), 27);
        assert_eq!(full[0], "overlap_at_N");
        assert_eq!(full[16], "roc_auc");
        assert_eq!(full[17], "pearson_delta");
        assert_eq!(*full.last().unwrap(), "clustering_agreement");
        let min = Profile::Minimal.computed(&[]);
        assert_eq!(
            min,
            [
                "overlap_at_N",
                "precision_at_N",
                "de_nsig_counts",
                "pearson_delta",
                "mse",
                "mae",
                "discrimination_score_l1"
            ]
        );
        assert_eq!(
            Profile::Vcc.computed(&["mae".into()]),
            ["overlap_at_N", "discrimination_score_l1"]
        );
        assert!(Profile::parse("nope").is_err());
        assert_eq!(best_value("mse"), Some(BestValue::Zero));
        assert_eq!(best_value("de_nsig_counts_real"), None);
    }
}
