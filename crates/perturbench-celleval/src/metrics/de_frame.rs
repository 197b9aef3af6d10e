//! The view of a DE table that cell-eval's metrics see: per perturbation, the genes in table
//! order with `log2_fold_change` and `fdr` cast to `f32` (`DEResults.__post_init__`).

use crate::de::DeTable;
use crate::error::{CellEvalError, Result};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// DE results of one perturbation, in table order.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetDe {
    /// Perturbation label.
    pub target: String,
    /// Gene names (shared with the other perturbations of a computed table).
    pub features: Vec<Arc<str>>,
    /// `log2_fold_change`, cast to `f32`.
    pub lfc: Vec<f32>,
    /// `fdr`, cast to `f32`.
    pub fdr: Vec<f32>,
}

impl TargetDe {
    /// Indices of the significant genes (`fdr < threshold`, compared in `f32`).
    pub fn significant(&self, threshold: f32) -> Vec<usize> {
        (0..self.fdr.len())
            .filter(|&i| self.fdr[i] < threshold)
            .collect()
    }

    /// Map gene name -> row index.
    pub fn feature_index(&self) -> HashMap<&str, usize> {
        self.features
            .iter()
            .enumerate()
            .map(|(i, f)| (&**f, i))
            .collect()
    }
}

/// A DE table as the metrics use it: perturbations sorted by label.
#[derive(Debug, Clone, PartialEq)]
pub struct DeFrame {
    /// One entry per perturbation, sorted by label.
    pub targets: Vec<TargetDe>,
}

impl DeFrame {
    /// The metric view of a table computed by [`crate::de::differential_expression`].
    pub fn from_table(t: &DeTable) -> Self {
        let names: Vec<Arc<str>> = t.features.iter().map(|f| Arc::from(f.as_str())).collect();
        let mut targets: Vec<TargetDe> = t
            .groups
            .iter()
            .map(|g| TargetDe {
                target: g.target.clone(),
                features: g.genes().map(|j| Arc::clone(&names[j])).collect(),
                lfc: g.log2_fold_change.iter().map(|&v| v as f32).collect(),
                fdr: g.fdr.iter().map(|&v| v as f32).collect(),
            })
            .collect();
        targets.sort_by(|a, b| a.target.cmp(&b.target));
        DeFrame { targets }
    }

    /// Reads a DE CSV with at least the columns `target`, `feature`, `log2_fold_change` and
    /// `fdr` (e.g. cell-eval's `real_de.csv`); rows keep their order within a perturbation.
    pub fn read_csv(path: &Path) -> Result<Self> {
        let shown = path.display().to_string();
        let err = |message: String| CellEvalError::Csv {
            path: shown.clone(),
            message,
        };
        let mut rdr = csv::Reader::from_path(path).map_err(|e| err(e.to_string()))?;
        let headers = rdr.headers().map_err(|e| err(e.to_string()))?.clone();
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| err(format!("missing column '{name}'")))
        };
        let (ct, cf, cl, cq) = (
            col("target")?,
            col("feature")?,
            col("log2_fold_change")?,
            col("fdr")?,
        );
        let mut by_target: Vec<TargetDe> = Vec::new();
        let mut pos: HashMap<String, usize> = HashMap::new();
        for (line, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| err(e.to_string()))?;
            let field = |i: usize| rec.get(i).unwrap_or("");
            let num = |i: usize| -> Result<f32> {
                parse_float(field(i))
                    .map(|v| v as f32)
                    .ok_or_else(|| err(format!("row {}: bad number '{}'", line + 2, field(i))))
            };
            let target = field(ct).to_string();
            let k = *pos.entry(target.clone()).or_insert_with(|| {
                by_target.push(TargetDe {
                    target,
                    features: Vec::new(),
                    lfc: Vec::new(),
                    fdr: Vec::new(),
                });
                by_target.len() - 1
            });
            let t = &mut by_target[k];
            t.features.push(Arc::from(field(cf)));
            t.lfc.push(num(cl)?);
            t.fdr.push(num(cq)?);
        }
        by_target.sort_by(|a, b| a.target.cmp(&b.target));
        Ok(DeFrame { targets: by_target })
    }

    /// Perturbation labels, sorted.
    pub fn perturbations(&self) -> Vec<&str> {
        self.targets.iter().map(|t| t.target.as_str()).collect()
    }
}

/// Parses a float as polars writes it (`inf`, `-inf`, `NaN`, empty = NaN).
pub fn parse_float(s: &str) -> Option<f64> {
    let s = s.trim();
    match s {
        "" | "null" => Some(f64::NAN),
        _ => s.parse::<f64>().ok(),
    }
}
