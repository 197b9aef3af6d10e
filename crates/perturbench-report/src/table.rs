//! A small CSV reader that turns every problem into an error naming the file, the line and
//! the column.

use std::path::{Path, PathBuf};

use crate::error::ReportError;

/// A CSV file read into memory: header and records.
pub(crate) struct Table {
    /// The file, for error messages.
    pub path: PathBuf,
    headers: Vec<String>,
    /// Data records.
    pub rows: Vec<csv::StringRecord>,
}

impl Table {
    /// Reads `path` (comma separated, with a header line; all records as long as the header).
    pub fn read(path: &Path) -> Result<Table, ReportError> {
        let file = std::fs::File::open(path).map_err(|e| ReportError::io(path, e))?;
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(file);
        let headers = rdr
            .headers()
            .map_err(|e| csv_error(path, e))?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
            .collect();
        let mut rows = Vec::new();
        for rec in rdr.records() {
            rows.push(rec.map_err(|e| csv_error(path, e))?);
        }
        Ok(Table {
            path: path.to_path_buf(),
            headers,
            rows,
        })
    }

    /// Column names.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Index of column `name`, or an error `column 'name' missing`.
    pub fn col(&self, name: &str) -> Result<usize, ReportError> {
        self.headers.iter().position(|h| h == name).ok_or_else(|| {
            ReportError::format(
                &self.path,
                format!(
                    "column '{name}' missing (header is '{}')",
                    self.headers.join(",")
                ),
            )
        })
    }

    /// The positions of the columns `names`, in that order.
    pub fn cols<const N: usize>(&self, names: &[&str; N]) -> Result<[usize; N], ReportError> {
        let mut out = [0; N];
        for (o, n) in out.iter_mut().zip(names) {
            *o = self.col(n)?;
        }
        Ok(out)
    }

    /// An error about the cell of `row` in column `col`.
    pub fn cell_error(&self, row: &csv::StringRecord, col: usize, what: &str) -> ReportError {
        let line = row.position().map(|p| p.line()).unwrap_or(0);
        let name = self.headers.get(col).map(String::as_str).unwrap_or("?");
        let got = row.get(col).unwrap_or("");
        ReportError::format(
            &self.path,
            format!("line {line}, column '{name}': expected {what}, got '{got}'"),
        )
    }

    /// Text of the cell of `row` in column `col` (trimmed).
    pub fn text<'a>(&self, row: &'a csv::StringRecord, col: usize) -> &'a str {
        row.get(col).unwrap_or("").trim()
    }

    /// Number in the cell; empty, `NA`, `null`, `None` or `NaN` give `None`.
    pub fn opt_num(&self, row: &csv::StringRecord, col: usize) -> Result<Option<f64>, ReportError> {
        let s = self.text(row, col);
        if is_null(s) {
            return Ok(None);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_nan() => Ok(None),
            Ok(v) => Ok(Some(v)),
            Err(_) => Err(self.cell_error(row, col, "a number")),
        }
    }

    /// Number in the cell; must be present (`NaN` is allowed and kept).
    pub fn num(&self, row: &csv::StringRecord, col: usize) -> Result<f64, ReportError> {
        self.text(row, col)
            .parse::<f64>()
            .map_err(|_| self.cell_error(row, col, "a number"))
    }

    /// Non-negative integer in the cell; empty, `NA`, `null` or `None` give `None`.
    pub fn opt_uint(
        &self,
        row: &csv::StringRecord,
        col: usize,
    ) -> Result<Option<u64>, ReportError> {
        let s = self.text(row, col);
        if is_null(s) {
            return Ok(None);
        }
        s.parse::<u64>()
            .map(Some)
            .map_err(|_| self.cell_error(row, col, "a non-negative integer"))
    }
}

/// Whether a cell spells a missing value.
fn is_null(s: &str) -> bool {
    s.is_empty()
        || ["na", "null", "none"]
            .iter()
            .any(|n| s.eq_ignore_ascii_case(n))
}

fn csv_error(path: &Path, e: csv::Error) -> ReportError {
    let msg = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => format!(
            "line {}: expected {expected_len} fields like the header, found {len}",
            pos.as_ref().map(|p| p.line()).unwrap_or(0)
        ),
        csv::ErrorKind::Io(io) => format!("read failed: {io}"),
        _ => format!("not valid CSV: {e}"),
    };
    ReportError::format(path, msg)
}
