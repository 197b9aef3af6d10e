//! The split summary table: per covariate combination, how many distinct perturbations
//! (control included) have cells in train, val and test.

use super::{Split, SplitLabel};
use crate::Design;
use std::collections::HashSet;

/// One row of the summary table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    /// Covariate values joined with `_` (`all` without covariate keys).
    pub covariates: String,
    /// Distinct perturbations with train cells.
    pub train: usize,
    /// Distinct perturbations with val cells.
    pub val: usize,
    /// Distinct perturbations with test cells.
    pub test: usize,
}

/// The summary table, rows in order of first appearance of the covariate combinations.
pub fn summarize(design: &Design, split: &Split) -> Vec<SummaryRow> {
    let nc = design.covariates.len();
    let mut seen: Vec<[HashSet<u32>; 3]> = (0..nc).map(|_| Default::default()).collect();
    for (r, l) in split.labels.iter().enumerate() {
        let Some(l) = l else { continue };
        let slot = match l {
            SplitLabel::Train => 0,
            SplitLabel::Val => 1,
            SplitLabel::Test => 2,
        };
        seen[design.cell_covariate[r] as usize][slot].insert(design.perturbation_of(r));
    }
    (0..nc)
        .map(|c| SummaryRow {
            covariates: if design.covariate_keys.is_empty() {
                "all".into()
            } else {
                design.covariate_label(c as u32)
            },
            train: seen[c][0].len(),
            val: seen[c][1].len(),
            test: seen[c][2].len(),
        })
        .collect()
}
