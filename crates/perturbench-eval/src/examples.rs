//! Example profiles for plots: per gene, the observed and predicted logFC of the
//! perturbations with the strongest observed response (the report's scatter plots).

use crate::aggregate::Aggregate;
use crate::groups::FileGroups;

/// One gene of one example perturbation of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct ExampleRow {
    /// Model name.
    pub model: String,
    /// Covariate values joined with `_`.
    pub covariates: String,
    /// Perturbation as written in the reference.
    pub perturbation: String,
    /// Gene name.
    pub gene: String,
    /// Observed logFC.
    pub observed: f64,
    /// Predicted logFC.
    pub predicted: f64,
}

/// Genes per example: those with the largest observed |logFC|.
pub const EXAMPLE_GENES: usize = 200;

/// The `n` matched groups with the largest observed logFC norm (ties: reference order), each
/// with its [`EXAMPLE_GENES`] genes of largest observed |logFC| (in reference gene order). `matched` pairs reference rows of `ra` with model rows of `ma`.
pub fn logfc_examples(
    model: &str,
    matched: &[(usize, usize)],
    ma: &Aggregate,
    ra: &Aggregate,
    groups: &FileGroups,
    genes: &[String],
    n: usize,
) -> Vec<ExampleRow> {
    let norm = |rr: usize| -> f64 {
        ra.row(rr)
            .iter()
            .filter(|v| v.is_finite())
            .map(|v| v * v)
            .sum()
    };
    let mut order: Vec<usize> = (0..matched.len()).collect();
    order.sort_by(|&a, &b| {
        norm(matched[b].0)
            .total_cmp(&norm(matched[a].0))
            .then(a.cmp(&b))
    });
    let mut out = Vec::new();
    for &k in order.iter().take(n) {
        let (rr, mr) = matched[k];
        let g = ra.groups[rr];
        let obs = ra.row(rr);
        let mut top: Vec<usize> = (0..ra.genes.min(genes.len())).collect();
        top.sort_by(|&a, &b| obs[b].abs().total_cmp(&obs[a].abs()).then(a.cmp(&b)));
        top.truncate(EXAMPLE_GENES);
        top.sort_unstable();
        for gi in top {
            let gene = &genes[gi];
            out.push(ExampleRow {
                model: model.to_string(),
                covariates: groups.keys[g].covariates.clone(),
                perturbation: groups.labels[g].clone(),
                gene: gene.clone(),
                observed: ra.row(rr)[gi],
                predicted: ma.row(mr)[gi],
            });
        }
    }
    out
}
