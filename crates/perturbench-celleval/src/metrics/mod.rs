//! The metrics of cell-eval 0.8.2's `full` profile that follow from the DE tables and the
//! pseudobulks, collected into a per-perturbation table shaped like cell-eval's
//! `results.csv`.

pub mod auc;
pub mod de_agreement;
pub mod de_frame;
pub mod discrimination;
pub mod edistance;
pub mod expression;
pub mod overlap;
pub mod stats;

pub use de_frame::{DeFrame, TargetDe};
pub use discrimination::Distance;
pub use overlap::OverlapKind;

use crate::error::{CellEvalError, Result};
use crate::pseudobulk::Pseudobulks;

/// FDR threshold of "significant" in every DE metric (`fdr < 0.05`, in `f32`).
pub const FDR_THRESHOLD: f32 = 0.05;

/// The fixed `k` of `overlap_at_k` / `precision_at_k` (besides `N`).
pub const TOP_K: [usize; 4] = [50, 100, 200, 500];

/// Per-perturbation metric values: rows = perturbations, columns = metrics (in cell-eval's
/// column order); `None` where cell-eval leaves the cell empty.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricTable {
    /// Perturbation labels (sorted).
    pub perturbations: Vec<String>,
    /// `(metric name, one value per perturbation)`.
    pub columns: Vec<(String, Vec<Option<f64>>)>,
}

impl MetricTable {
    fn new(perturbations: Vec<String>) -> Self {
        MetricTable {
            perturbations,
            columns: Vec::new(),
        }
    }

    fn push(&mut self, name: impl Into<String>, values: Vec<Option<f64>>) {
        self.columns.push((name.into(), values));
    }

    fn push_all(&mut self, name: impl Into<String>, values: Vec<f64>) {
        self.push(name, values.into_iter().map(Some).collect());
    }

    /// The value of `metric` for `perturbation`.
    pub fn get(&self, metric: &str, perturbation: &str) -> Option<f64> {
        let row = self.perturbations.iter().position(|p| p == perturbation)?;
        let (_, col) = self.columns.iter().find(|(n, _)| n == metric)?;
        col[row]
    }

    /// Metric names, in column order.
    pub fn metric_names(&self) -> Vec<&str> {
        self.columns.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Appends the columns of `other` (same perturbations, checked).
    pub fn extend(&mut self, other: MetricTable) -> Result<()> {
        if self.columns.is_empty() && self.perturbations.is_empty() {
            *self = other;
            return Ok(());
        }
        if other.perturbations != self.perturbations {
            return Err(CellEvalError::PerturbationMismatch(
                "metric tables cover different perturbations".into(),
            ));
        }
        self.columns.extend(other.columns);
        Ok(())
    }

    /// CSV text like cell-eval's `results.csv`: `perturbation` then one column per metric;
    /// missing values are empty, and a metric without any value is left out (cell-eval
    /// never creates its column).
    pub fn to_csv_string(&self) -> String {
        let cols: Vec<&(String, Vec<Option<f64>>)> = self
            .columns
            .iter()
            .filter(|(_, v)| v.iter().any(Option::is_some))
            .collect();
        let mut s = String::from("perturbation");
        for (n, _) in &cols {
            s.push(',');
            s.push_str(n);
        }
        s.push('\n');
        for (i, p) in self.perturbations.iter().enumerate() {
            s.push_str(p);
            for (_, col) in &cols {
                s.push(',');
                if let Some(v) = col[i] {
                    s.push_str(&crate::de::format_float(v));
                }
            }
            s.push('\n');
        }
        s
    }
}

/// All DE metrics of the `full` profile, in cell-eval's order: overlap_at_{N,50,100,200,500},
/// precision_at_{…}, de_spearman_sig, de_direction_match, de_spearman_lfc_sig,
/// de_sig_genes_recall, de_nsig_counts_real, de_nsig_counts_pred, pr_auc, roc_auc.
pub fn evaluate_de(real: &DeFrame, pred: &DeFrame) -> Result<MetricTable> {
    let (rp, pp) = (real.perturbations(), pred.perturbations());
    if rp != pp {
        return Err(CellEvalError::PerturbationMismatch(format!(
            "real DE has {} perturbations, pred DE has {} (or the labels differ)",
            rp.len(),
            pp.len()
        )));
    }
    let th = FDR_THRESHOLD;
    let mut t = MetricTable::new(rp.iter().map(|s| s.to_string()).collect());
    for (kind, name) in [
        (OverlapKind::Overlap, "overlap"),
        (OverlapKind::Precision, "precision"),
    ] {
        t.push_all(
            format!("{name}_at_N"),
            overlap::overlap_at_k(real, pred, None, kind, th),
        );
        for k in TOP_K {
            t.push_all(
                format!("{name}_at_{k}"),
                overlap::overlap_at_k(real, pred, Some(k), kind, th),
            );
        }
    }
    let n = rp.len();
    t.push_all(
        "de_spearman_sig",
        vec![de_agreement::spearman_sig(real, pred, th); n],
    );
    t.push(
        "de_direction_match",
        de_agreement::direction_match(real, pred, th),
    );
    t.push(
        "de_spearman_lfc_sig",
        de_agreement::spearman_lfc(real, pred, th),
    );
    t.push(
        "de_sig_genes_recall",
        de_agreement::sig_genes_recall(real, pred, th),
    );
    let count = |d: &DeFrame| {
        de_agreement::nsig_counts(d, th)
            .into_iter()
            .map(|c| c as f64)
            .collect::<Vec<f64>>()
    };
    t.push_all("de_nsig_counts_real", count(real));
    t.push_all("de_nsig_counts_pred", count(pred));
    t.push_all("pr_auc", auc::fdr_auc(real, pred, th, true));
    t.push_all("roc_auc", auc::fdr_auc(real, pred, th, false));
    Ok(t)
}

/// The pseudobulk metrics of the `full` profile, in cell-eval's order: pearson_delta, mse,
/// mae, mse_delta, mae_delta, discrimination_score_{l1,l2,cosine}.
pub fn evaluate_pseudobulk(real: &Pseudobulks, pred: &Pseudobulks) -> Result<MetricTable> {
    if real.names != pred.names || real.control != pred.control {
        return Err(CellEvalError::PerturbationMismatch(
            "real and pred have different perturbation labels".into(),
        ));
    }
    if real.genes != pred.genes {
        return Err(CellEvalError::GeneMismatch(
            "real and pred genes differ (names or order)".into(),
        ));
    }
    let perts = real
        .perturbations()
        .into_iter()
        .map(|g| real.names[g].clone())
        .collect();
    let mut t = MetricTable::new(perts);
    let e = expression::expression_metrics(real, pred);
    t.push_all("pearson_delta", e.pearson_delta);
    t.push_all("mse", e.mse);
    t.push_all("mae", e.mae);
    t.push_all("mse_delta", e.mse_delta);
    t.push_all("mae_delta", e.mae_delta);
    let kinds = [Distance::L1, Distance::L2, Distance::Cosine];
    let scores = discrimination::discrimination_scores(real, pred, &kinds, true);
    for (d, v) in kinds.into_iter().zip(scores) {
        t.push_all(format!("discrimination_score_{}", d.name()), v);
    }
    Ok(t)
}

/// `discrimination_score_l2` and `discrimination_score_cosine` on embedding pseudobulks
/// (cell-eval's `--embed-key`: every embedding column, no target exclusion; l1 stays on X).
pub fn embedding_discrimination(real: &Pseudobulks, pred: &Pseudobulks) -> Vec<(String, Vec<f64>)> {
    let kinds = [Distance::L2, Distance::Cosine];
    let scores = discrimination::discrimination_scores(real, pred, &kinds, false);
    kinds
        .into_iter()
        .zip(scores)
        .map(|(d, v)| (format!("discrimination_score_{}", d.name()), v))
        .collect()
}

impl MetricTable {
    /// Replaces the values of the column `name` (added when absent).
    pub fn replace(&mut self, name: &str, values: Vec<f64>) {
        let values: Vec<Option<f64>> = values.into_iter().map(Some).collect();
        match self.columns.iter_mut().find(|(n, _)| n == name) {
            Some((_, col)) => *col = values,
            None => self.columns.push((name.to_string(), values)),
        }
    }
}
