//! One call from a real/pred AnnData pair to both DE tables and the metric table, the way
//! `cell-eval run --profile full` proceeds (DE on each side against its own control, then
//! DE metrics, then pseudobulk metrics).

use crate::de::{differential_expression, DeOptions, DeTable};
use crate::error::{CellEvalError, Result};
use crate::groups::Groups;
use crate::metrics::{evaluate_de, evaluate_pseudobulk, DeFrame, MetricTable};
use crate::pseudobulk::Pseudobulks;
use perturbench_io::AnnData;
use std::path::Path;

/// Everything a run produces.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// DE of the real data (`real_de.csv`).
    pub real_de: DeTable,
    /// DE of the predicted data (`pred_de.csv`).
    pub pred_de: DeTable,
    /// Per-perturbation metrics (`results.csv`, without clustering_agreement and
    /// pearson_edistance).
    pub results: MetricTable,
}

/// Evaluates `pred` against `real`: both need `obs[pert_col]` with the same labels
/// (including `control`) and the same genes in the same order.
pub fn evaluate(
    real: &AnnData,
    pred: &AnnData,
    pert_col: &str,
    control: &str,
    opts: &DeOptions,
) -> Result<Evaluation> {
    if real.var_names() != pred.var_names() {
        return Err(CellEvalError::GeneMismatch(format!(
            "real has {} genes, pred has {} (or the names/order differ)",
            real.n_vars(),
            pred.n_vars()
        )));
    }
    let rg = Groups::from_obs(real, pert_col, control)?;
    let pg = Groups::from_obs(pred, pert_col, control)?;
    if rg.names != pg.names {
        return Err(CellEvalError::PerturbationMismatch(format!(
            "real has {} labels, pred has {} (or the labels differ)",
            rg.names.len(),
            pg.names.len()
        )));
    }
    let genes = real.var_names();
    let real_de = differential_expression(&real.x, &rg, genes, opts)?;
    let pred_de = differential_expression(&pred.x, &pg, genes, opts)?;
    let mut results = evaluate_de(
        &DeFrame::from_table(&real_de),
        &DeFrame::from_table(&pred_de),
    )?;
    let rb = Pseudobulks::from_csr(&real.x, &rg, genes)?;
    let pb = Pseudobulks::from_csr(&pred.x, &pg, genes)?;
    results.extend(evaluate_pseudobulk(&rb, &pb)?)?;
    Ok(Evaluation {
        real_de,
        pred_de,
        results,
    })
}

impl Evaluation {
    /// Writes `real_de.csv`, `pred_de.csv`, `results.csv` (cell-eval's layouts) and
    /// `conventions.json` into `dir` (created if needed).
    pub fn write(&self, dir: &Path, conventions: &crate::Conventions) -> Result<()> {
        let io = |path: &Path, e: std::io::Error| CellEvalError::File {
            path: path.display().to_string(),
            source: e,
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        self.real_de.write_csv(&dir.join("real_de.csv"))?;
        self.pred_de.write_csv(&dir.join("pred_de.csv"))?;
        let results = dir.join("results.csv");
        std::fs::write(&results, self.results.to_csv_string()).map_err(|e| io(&results, e))?;
        let conv = dir.join("conventions.json");
        std::fs::write(&conv, conventions.to_json()).map_err(|e| io(&conv, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perturbench_io::{Column, Csr};

    fn toy(shift: f32) -> AnnData {
        let labels = [
            "control", "A", "B", "control", "A", "B", "control", "A", "B", "A",
        ];
        let g = 4;
        let dense: Vec<f32> = (0..labels.len() * g)
            .map(|k| {
                let (i, j) = (k / g, k % g);
                let base = ((i * 7 + j * 3) % 5) as f32 * 0.5;
                if labels[i] == "A" && j == 1 {
                    base + shift
                } else {
                    base
                }
            })
            .collect();
        let x = Csr::from_dense(labels.len(), g, &dense).unwrap();
        let mut ad = AnnData::new(
            x,
            (0..labels.len()).map(|i| format!("c{i}")).collect(),
            (0..g).map(|j| format!("G{j}")).collect(),
        );
        ad.obs
            .set_column("condition", Column::categorical_from_strings(&labels));
        ad
    }

    #[test]
    fn evaluates_writes_and_round_trips() {
        let ev = evaluate(
            &toy(3.0),
            &toy(2.0),
            "condition",
            "control",
            &DeOptions::default(),
        )
        .unwrap();
        assert_eq!(ev.results.perturbations, ["A", "B"]);
        let dir = tempfile::tempdir().unwrap();
        ev.write(
            dir.path(),
            &crate::Conventions::cell_eval_0_8_2(DeOptions::default()),
        )
        .unwrap();
        let back = DeFrame::read_csv(&dir.path().join("real_de.csv")).unwrap();
        assert_eq!(back, DeFrame::from_table(&ev.real_de));
        let text = std::fs::read_to_string(dir.path().join("results.csv")).unwrap();
        assert!(text.starts_with("perturbation,overlap_at_N,"));
        assert!(dir.path().join("conventions.json").exists());
    }

    #[test]
    fn mismatched_inputs_are_errors() {
        let a = toy(1.0);
        let mut b = toy(1.0);
        b.obs.set_column(
            "condition",
            Column::categorical_from_strings(&["control"; 10]),
        );
        assert!(matches!(
            evaluate(&a, &b, "condition", "control", &DeOptions::default()),
            Err(CellEvalError::PerturbationMismatch(_))
        ));
        assert!(matches!(
            evaluate(&a, &a, "nope", "control", &DeOptions::default()),
            Err(CellEvalError::MissingColumn(_))
        ));
        assert!(matches!(
            evaluate(&a, &a, "condition", "ctrl", &DeOptions::default()),
            Err(CellEvalError::MissingControl { .. })
        ));
    }
}
