//! One call from a real/pred AnnData pair to both DE tables and the metric table, the way
//! `cell-eval run --profile full` proceeds (DE on each side against its own control, then
//! DE metrics, then pseudobulk metrics).

use crate::de::{differential_expression, DeOptions, DeTable};
use crate::error::{CellEvalError, Result};
use crate::groups::Groups;
use crate::metrics::{evaluate_de, evaluate_pseudobulk, DeFrame, MetricTable};
use crate::pseudobulk::Pseudobulks;
use perturbench_io::AnnData;

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
