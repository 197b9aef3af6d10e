//! Saved split CSVs (spec §2.7): `cell_id,label` rows, with or without a header line,
//! matched to the dataset's cells by name.

use super::SplitLabel;
use std::collections::HashMap;

/// Why a saved split does not fit the dataset.
#[derive(Debug, thiserror::Error)]
pub enum SavedSplitError {
    /// The file could not be read.
    #[error(transparent)]
    Read(#[from] perturbench_io::IoError),
    /// A row is malformed.
    #[error("{path}: line {line}: {message}")]
    Row {
        path: String,
        line: usize,
        message: String,
    },
    /// Cell ids in the file and the dataset differ.
    #[error("{path}: {message}")]
    Mismatch { path: String, message: String },
}

/// Reads a split CSV and returns one label per dataset cell (`obs_names` order). Rows are
/// matched by cell name and every cell must appear exactly once. A first row whose label is
/// not a split value is taken as a header (PerturBench writes one when it saves a split and
/// none in its published split files). Empty labels (and pandas' `nan`) mean "excluded".
pub fn read_saved_split(
    path: &std::path::Path,
    obs_names: &[String],
) -> Result<Vec<Option<SplitLabel>>, SavedSplitError> {
    let shown = path.display().to_string();
    let records = perturbench_io::read_csv_records(path)?;
    let row_err = |line: usize, message: String| SavedSplitError::Row {
        path: shown.clone(),
        line,
        message,
    };
    let index: HashMap<&str, usize> = obs_names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut labels: Vec<Option<Option<SplitLabel>>> = vec![None; obs_names.len()];
    let mut unknown: Vec<String> = Vec::new();
    let mut n_unknown = 0usize;
    for (i, rec) in records.iter().enumerate() {
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if rec.len() < 2 {
            return Err(row_err(
                i + 1,
                "expected two columns: cell id and label".into(),
            ));
        }
        let (id, label) = (rec[0].as_str(), rec[1].trim());
        let parsed = match label {
            "" | "nan" | "NaN" | "None" => None,
            l => match SplitLabel::parse(l) {
                Some(v) => Some(v),
                None if i == 0 => continue,
                None => {
                    return Err(row_err(
                        i + 1,
                        format!("label '{l}' is not train, val, test or empty"),
                    ))
                }
            },
        };
        match index.get(id) {
            Some(&r) => {
                if labels[r].is_some() {
                    return Err(row_err(i + 1, format!("cell '{id}' appears twice")));
                }
                labels[r] = Some(parsed);
            }
            None => {
                n_unknown += 1;
                if unknown.len() < 5 {
                    unknown.push(id.to_string());
                }
            }
        }
    }
    if n_unknown > 0 {
        return Err(SavedSplitError::Mismatch {
            path: shown,
            message: format!(
                "{n_unknown} cell ids are not in the dataset; first: {}",
                unknown.join(", ")
            ),
        });
    }
    let missing: Vec<&str> = labels
        .iter()
        .enumerate()
        .filter(|(_, l)| l.is_none())
        .take(5)
        .map(|(r, _)| obs_names[r].as_str())
        .collect();
    if !missing.is_empty() {
        let n = labels.iter().filter(|l| l.is_none()).count();
        return Err(SavedSplitError::Mismatch {
            path: shown,
            message: format!(
                "{n} dataset cells have no row; first: {}",
                missing.join(", ")
            ),
        });
    }
    Ok(labels.into_iter().map(|l| l.flatten()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["a".into(), "b".into(), "c".into()]
    }

    #[test]
    fn reads_headerless_and_headed_files_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.csv");
        std::fs::write(&p, "c,test\na,train\nb,\n").unwrap();
        assert_eq!(
            read_saved_split(&p, &names()).unwrap(),
            vec![Some(SplitLabel::Train), None, Some(SplitLabel::Test)]
        );
        std::fs::write(&p, ",combo_split_seed42\na,val\nb,train\nc,train\n").unwrap();
        assert_eq!(
            read_saved_split(&p, &names()).unwrap()[0],
            Some(SplitLabel::Val)
        );
    }

    #[test]
    fn names_unknown_and_missing_cells_and_bad_labels() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.csv");
        std::fs::write(&p, "a,train\nzz,val\nb,train\nc,test\n").unwrap();
        let e = read_saved_split(&p, &names()).unwrap_err().to_string();
        assert!(e.contains("s.csv") && e.contains("zz"), "{e}");
        std::fs::write(&p, "a,train\nb,train\n").unwrap();
        let e = read_saved_split(&p, &names()).unwrap_err().to_string();
        assert!(
            e.contains("1 dataset cells have no row") && e.contains('c'),
            "{e}"
        );
        std::fs::write(&p, "a,train\nb,holdout\nc,test\n").unwrap();
        let e = read_saved_split(&p, &names()).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("holdout"), "{e}");
    }
}
