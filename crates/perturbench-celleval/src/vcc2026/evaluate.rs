//! The vcc2026 members of one (real, predicted) pair of cell sets: the computation behind
//! `run --profile vcc2026` and behind each split of the replicate anchor.

use super::direction;
use super::metrics;
use super::record::SETTINGS;
use super::unbiased;
use super::wilcoxon::{de_table, kept_genes, CellColumns, DeRows};
use crate::error::Result;
use perturbench_io::Csr;
use rayon::prelude::*;

/// Which control cells the prediction's DE and pseudobulk deltas are measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlSource {
    /// The real control, on both sides (cell-eval2's `control_source: real`, the vcc2026
    /// preset's setting).
    Real,
    /// Each side its own control (cell-eval2's `control_source: pred`, forced inside the
    /// replicate anchor's splits so the two halves share no control cells).
    Pred,
}

/// One side's cells: each perturbation's rows of `x` (in label order, the same labels on
/// both sides) and the control's rows.
pub struct Side<'a> {
    /// The counts.
    pub x: &'a Csr,
    /// (label, rows) of every perturbation besides the control.
    pub perts: Vec<(String, Vec<usize>)>,
    /// The control's rows.
    pub control: Vec<usize>,
}

/// The members of one evaluation.
pub struct Evaluation {
    /// The perturbations, in order.
    pub labels: Vec<String>,
    /// (metric, one value per perturbation; `None`: no row) in `results.csv` order.
    pub columns: Vec<(String, Vec<Option<f64>>)>,
    /// `expr_mse_unbiased_capped_norm`; `None` when the real distances do not sum to a
    /// positive number.
    pub norm: Option<f64>,
    /// Genes kept by the real control's CPM filter.
    pub kept: usize,
    /// The real side's DE table.
    pub real_de: Vec<DeRows>,
    /// The prediction's DE table.
    pub pred_de: Vec<DeRows>,
}

/// A metric of one perturbation's real and predicted DE rows and its own gene.
type PerPert<'a> = dyn Fn(&DeRows, &DeRows, Option<usize>) -> Option<f64> + 'a;

/// Per-gene CPM columns of each perturbation of `side`.
fn columns_of(side: &Side) -> Vec<(String, CellColumns)> {
    side.perts
        .par_iter()
        .map(|(l, rows)| {
            (
                l.clone(),
                CellColumns::of_rows(side.x, rows, SETTINGS.target_sum),
            )
        })
        .collect()
}

/// DE of every perturbation of `side` against the control rows `control` of `x`, over the
/// genes that control's CPM filter keeps.
pub fn side_de(side: &Side, x: &Csr, control: &[usize]) -> (Vec<DeRows>, usize) {
    let ctrl = CellColumns::of_rows(x, control, SETTINGS.target_sum);
    let kept = kept_genes(&ctrl, SETTINGS.filter_gene_min_cpm_cell);
    let de = de_table(&columns_of(side), &ctrl, &kept, SETTINGS.epsilon);
    (de, kept.len())
}

/// Every vcc2026 member of `pred` against `real`.
pub fn evaluate(
    real: &Side,
    pred: &Side,
    genes: &[String],
    source: ControlSource,
) -> Result<Evaluation> {
    let labels: Vec<String> = real.perts.iter().map(|p| p.0.clone()).collect();
    let (pred_x, pred_ctrl) = match source {
        ControlSource::Real => (real.x, &real.control),
        ControlSource::Pred => (pred.x, &pred.control),
    };
    let ((real_de, kept), (pred_de, _)) = rayon::join(
        || side_de(real, real.x, &real.control),
        || side_de(pred, pred_x, pred_ctrl),
    );
    let alpha = SETTINGS.p_adj_threshold;
    let jaccard = metrics::sig_jaccard(&real_de, &pred_de, genes, alpha);
    let own = direction::own_genes(&real_de, genes)?;
    let per_pert = |f: &PerPert| {
        real_de
            .iter()
            .zip(&pred_de)
            .zip(&own)
            .map(|((r, p), &o)| f(r, p, o))
            .collect::<Vec<Option<f64>>>()
    };
    let nmae = per_pert(&|r, p, o| direction::lfc_nmae(r, p, o, alpha));
    let fidelity = per_pert(&|r, p, o| Some(direction::fidelity_yield_raw(r, p, o, alpha)));
    let reach = per_pert(&|r, p, o| Some(direction::reach_raw(r, p, o, alpha, genes)));

    // pds_cosine on bulk_lognorm pseudobulks; the real deltas against the real control,
    // the predicted ones against the control `source` names.
    let real_rows: Vec<Vec<usize>> = real.perts.iter().map(|p| p.1.clone()).collect();
    let pred_rows: Vec<Vec<usize>> = pred.perts.iter().map(|p| p.1.clone()).collect();
    let t = SETTINGS.bulk_target_sum;
    let real_bulk = metrics::bulk_lognorm(real.x, &real_rows, t);
    let pred_bulk = metrics::bulk_lognorm(pred.x, &pred_rows, t);
    let ctrl_bulk = metrics::bulk_lognorm(real.x, std::slice::from_ref(&real.control), t).remove(0);
    let pred_ctrl_bulk = match source {
        ControlSource::Real => ctrl_bulk.clone(),
        ControlSource::Pred => {
            metrics::bulk_lognorm(pred.x, std::slice::from_ref(&pred.control), t).remove(0)
        }
    };
    let pds = metrics::pds_cosine(
        &labels,
        &real_bulk,
        &pred_bulk,
        &ctrl_bulk,
        &pred_ctrl_bulk,
        genes,
    )?;

    // The sampling-corrected expression errors (jackknife of each group's bulk_lognorm).
    let jk = |x: &Csr, rows: &[Vec<usize>]| -> Vec<f64> {
        rows.par_iter()
            .map(|r| unbiased::jackknife(x, r, t))
            .collect()
    };
    let real_c = jk(real.x, &real_rows);
    let pred_c = jk(pred.x, &pred_rows);
    let ctrl_c = unbiased::jackknife(real.x, &real.control, t);
    let own_cols = unbiased::own_columns(&labels, genes);
    let ub = unbiased::unbiased(
        &pred_bulk, &real_bulk, &pred_c, &real_c, &ctrl_bulk, ctrl_c, &own_cols,
    );
    let norm = unbiased::capped_norm(&ub.mse_capped, &ub.distance);
    let mass: Vec<f64> = real_bulk
        .iter()
        .map(|m| metrics::mass_ratio(m, t))
        .collect();
    let some = |v: Vec<f64>| -> Vec<Option<f64>> { v.into_iter().map(Some).collect() };
    let columns: Vec<(String, Vec<Option<f64>>)> = vec![
        ("de_wilcoxon_lfc_nmae".into(), nmae),
        ("de_wilcoxon_direction_fidelity_yield_raw".into(), fidelity),
        ("de_wilcoxon_direction_reach_raw".into(), reach),
        ("de_wilcoxon_sig_jaccard".into(), some(jaccard)),
        ("pds_cosine".into(), some(pds)),
        ("expr_mse_unbiased".into(), some(ub.mse)),
        ("expr_mse_unbiased_capped".into(), some(ub.mse_capped)),
        ("expr_distance_unbiased".into(), some(ub.distance)),
        ("expr_real_mass_ratio".into(), some(mass)),
    ];
    Ok(Evaluation {
        labels,
        columns,
        norm,
        kept,
        real_de,
        pred_de,
    })
}
