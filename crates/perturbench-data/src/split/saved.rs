//! Saved split CSVs (spec §2.7): `cell_id,label` rows, with or without a header line,
//! matched to the dataset's cells by name.

use super::SplitLabel;
use std::collections::HashMap;

/// Why a saved split does not fit the dataset.
#[derive(Debug, thiserror::Error)]
pub enum SavedSplitError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read { path: String, source: std::io::Error },
    /// A row is malformed.
    #[error("{path}: line {line}: {message}")]
    Row { path: String, line: usize, message: String },
    /// Cell ids in the file and the dataset differ.
    #[error("{path}: {message}")]
    Mismatch { path: String, message: String },
}

/// Reads a split CSV and returns one label per dataset cell (`obs_names` order). Rows are
/// matched by cell name; every cell must appear exactly once.
pub fn read_saved_split(path: &std::path::Path, obs_names: &[String]) -> Result<Vec<Option<SplitLabel>>, SavedSplitError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SavedSplitError::Read { path: shown.clone(), source })?;
    let row_err = |line: usize, message: String| SavedSplitError::Row { path: shown.clone(), line, message };
    let index: HashMap<&str, usize> = obs_names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let mut labels: Vec<Option<Option<SplitLabel>>> = vec![None; obs_names.len()];
    let mut unknown: Vec<String> = Vec::new();
    let mut rows = 0usize;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.splitn(3, ',');
        let id = fields.next().unwrap_or("").trim_matches('"');
        let label = fields.next().map(|l| l.trim().trim_matches('"')).ok_or_else(|| row_err(i + 1, "expected two columns: cell id and label".into()))?;
        let parsed = match label {
            "" | "nan" | "NaN" | "None" => None,
            l => match SplitLabel::parse(l) {
                Some(v) => Some(v),
                // A first row whose label is not a split value is a header (pandas writes one).
                None if rows == 0 && i == 0 => continue,
                None => return Err(row_err(i + 1, format!("label '{l}' is not train, val, test or empty"))),
            },
        };
        rows += 1;
        match index.get(id) {
            Some(&r) => {
                if labels[r].is_some() {
                    return Err(row_err(i + 1, format!("cell '{id}' appears twice")));
                }
                labels[r] = Some(parsed);
            }
            None => {
                if unknown.len() < 5 {
                    unknown.push(id.to_string());
                }
            }
        }
    }
    if !unknown.is_empty() {
        return Err(SavedSplitError::Mismatch {
            path: shown,
            message: format!("cell ids not in the dataset: {}", unknown.join(", ")),
        });
    }
    let missing: Vec<&str> = labels.iter().enumerate().filter(|(_, l)| l.is_none()).take(5).map(|(r, _)| obs_names[r].as_str()).collect();
    if !missing.is_empty() {
        let n = labels.iter().filter(|l| l.is_none()).count();
        return Err(SavedSplitError::Mismatch {
            path: shown,
            message: format!("{n} dataset cells have no row; first: {}", missing.join(", ")),
        });
    }
    Ok(labels.into_iter().map(|l| l.flatten()).collect())
}
