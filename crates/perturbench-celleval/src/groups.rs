//! Cells grouped by perturbation label, with one group marked as the control.

use crate::error::{CellEvalError, Result};
use perturbench_io::{AnnData, Column, MISSING_CODE};

/// Cells grouped by their perturbation label.
///
/// Groups are ordered by label (Unicode code point order, as `numpy.unique` sorts the
/// labels cell-eval iterates over); only labels that occur on at least one cell form a
/// group (unused categories are ignored).
#[derive(Debug, Clone, PartialEq)]
pub struct Groups {
    /// Group labels, sorted.
    pub names: Vec<String>,
    /// Row indices of each group's cells, ascending.
    pub cells: Vec<Vec<usize>>,
    /// Index of the control group in `names`.
    pub control: usize,
    /// Number of cells labelled (the length of the label vector).
    pub n_cells: usize,
}

impl Groups {
    /// Groups from one label per cell.
    pub fn from_labels<S: AsRef<str>>(labels: &[S], control: &str) -> Result<Self> {
        let mut names: Vec<String> = labels.iter().map(|s| s.as_ref().to_string()).collect();
        names.sort();
        names.dedup();
        let mut cells = vec![Vec::new(); names.len()];
        for (row, label) in labels.iter().enumerate() {
            // `names` holds every label, so the search always succeeds.
            if let Ok(g) = names.binary_search_by(|n| n.as_str().cmp(label.as_ref())) {
                cells[g].push(row);
            }
        }
        let control_idx = names.iter().position(|n| n == control).ok_or_else(|| {
            CellEvalError::MissingControl {
                column: "<labels>".into(),
                control: control.into(),
            }
        })?;
        Ok(Groups {
            names,
            cells,
            control: control_idx,
            n_cells: labels.len(),
        })
    }

    /// Groups from an `obs` column (categorical or string) of an AnnData object.
    pub fn from_obs(ad: &AnnData, column: &str, control: &str) -> Result<Self> {
        let labels = obs_labels(ad, column)?;
        Self::from_labels(&labels, control).map_err(|e| match e {
            CellEvalError::MissingControl { control, .. } => CellEvalError::MissingControl {
                column: column.into(),
                control,
            },
            other => other,
        })
    }

    /// The control label.
    pub fn control_name(&self) -> &str {
        &self.names[self.control]
    }

    /// Indices (into `names`) of the non-control groups, in label order.
    pub fn perturbations(&self) -> Vec<usize> {
        (0..self.names.len())
            .filter(|&g| g != self.control)
            .collect()
    }

    /// Group index of every cell.
    pub fn cell_group(&self) -> Vec<u32> {
        let mut out = vec![0u32; self.n_cells];
        for (g, rows) in self.cells.iter().enumerate() {
            for &r in rows {
                out[r] = g as u32;
            }
        }
        out
    }
}

/// The string label of every cell in `obs[column]`.
pub fn obs_labels(ad: &AnnData, column: &str) -> Result<Vec<String>> {
    let col = ad
        .obs
        .column(column)
        .ok_or_else(|| CellEvalError::MissingColumn(column.into()))?;
    match col {
        Column::Categorical {
            codes, categories, ..
        } => codes
            .iter()
            .enumerate()
            .map(|(row, &c)| {
                if c == MISSING_CODE {
                    Err(CellEvalError::MissingLabel {
                        column: column.into(),
                        row,
                    })
                } else {
                    categories
                        .get(c as usize)
                        .cloned()
                        .ok_or_else(|| CellEvalError::MissingLabel {
                            column: column.into(),
                            row,
                        })
                }
            })
            .collect(),
        Column::Str(v) => Ok(v.clone()),
        other => Ok((0..other.len())
            .map(|i| other.value_string(i).unwrap_or_default())
            .collect()),
    }
}
