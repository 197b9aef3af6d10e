//! The group index: (covariate combination × perturbation set) → cell rows, built once and
//! shared by splits, control matching, aggregation and differential expression.

use crate::Design;
use std::collections::HashMap;

/// The cells of one covariate combination under one perturbation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Index into [`Design::covariates`].
    pub covariate: u32,
    /// Index into [`Design::perturbations`].
    pub perturbation: u32,
    /// Rows of the cells, increasing.
    pub rows: Vec<u32>,
}

/// All non-empty groups of a set of cells, in order of first appearance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupIndex {
    groups: Vec<Group>,
    lookup: HashMap<(u32, u32), usize>,
}

impl GroupIndex {
    /// Groups all cells of `design`.
    pub fn build(design: &Design) -> Self {
        Self::build_rows(design, 0..design.n_cells())
    }

    /// Groups the cells `rows` of `design`.
    pub fn build_rows(design: &Design, rows: impl IntoIterator<Item = usize>) -> Self {
        let mut groups: Vec<Group> = Vec::new();
        let mut lookup = HashMap::new();
        for r in rows {
            let key = (design.cell_covariate[r], design.perturbation_of(r));
            let g = *lookup.entry(key).or_insert_with(|| {
                groups.push(Group {
                    covariate: key.0,
                    perturbation: key.1,
                    rows: Vec::new(),
                });
                groups.len() - 1
            });
            groups[g].rows.push(r as u32);
        }
        for g in &mut groups {
            g.rows.sort_unstable();
        }
        GroupIndex { groups, lookup }
    }

    /// All groups.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// The group of a covariate combination and perturbation set, if it has cells.
    pub fn get(&self, covariate: u32, perturbation: u32) -> Option<&Group> {
        self.lookup
            .get(&(covariate, perturbation))
            .map(|&i| &self.groups[i])
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// True when there are no groups.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}
