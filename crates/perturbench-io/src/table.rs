//! Small CSV tables (split files, summaries, metric tables): reading records and writing
//! whole files atomically (temporary file in the same directory, then rename).

use crate::IoError;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Reads every record of a CSV file without treating the first line as a header; records may
/// have different lengths. Fields are unquoted as RFC 4180 says.
pub fn read_csv_records(path: &Path) -> Result<Vec<Vec<String>>, IoError> {
    let shown = path.display().to_string();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .map_err(|e| IoError::Open {
            path: shown.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec =
            rec.map_err(|e| IoError::format(&shown, &format!("line {}", i + 1), e.to_string()))?;
        out.push(rec.iter().map(str::to_string).collect());
    }
    Ok(out)
}

/// Writes `bytes` to `path` atomically: nothing appears at `path` unless all of it was written.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let shown = path.display().to_string();
    let tmp = temp_sibling(path);
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(IoError::Write {
            path: shown,
            message: e.to_string(),
        });
    }
    Ok(())
}

/// Renders rows as CSV text (fields quoted where needed).
pub fn csv_text<S: AsRef<str>>(
    header: Option<&[&str]>,
    rows: impl IntoIterator<Item = Vec<S>>,
) -> String {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    if let Some(h) = header {
        w.write_record(h).expect("writing to memory");
    }
    for r in rows {
        w.write_record(r.iter().map(|s| s.as_ref()))
            .expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("CSV of UTF-8 strings")
}

/// Writes a CSV file atomically.
pub fn write_csv_atomic<S: AsRef<str>>(
    path: &Path,
    header: Option<&[&str]>,
    rows: impl IntoIterator<Item = Vec<S>>,
) -> Result<(), IoError> {
    write_atomic(path, csv_text(header, rows).as_bytes())
}

/// A temporary path next to `path` (same directory, so a rename is atomic).
pub(crate) fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp_name = format!(".{name}.{}.{nanos}.tmp", std::process::id());
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(tmp_name),
        _ => PathBuf::from(tmp_name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_quoted_fields_and_leaves_nothing_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        write_csv_atomic(
            &p,
            Some(&["cell_id", "split"]),
            vec![vec!["a,b", "train"], vec!["q\"x", ""]],
        )
        .unwrap();
        let recs = read_csv_records(&p).unwrap();
        assert_eq!(
            recs,
            vec![
                vec!["cell_id", "split"],
                vec!["a,b", "train"],
                vec!["q\"x", ""]
            ]
        );
        let bad = dir.path().join("missing_dir/t.csv");
        assert!(write_atomic(&bad, b"x").is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
