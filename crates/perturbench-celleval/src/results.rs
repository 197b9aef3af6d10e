//! `results.csv` and `agg_results.csv` as cell-eval 0.8.2 writes them: the per-perturbation
//! table (a polars pivot of the metric results) and its `describe()` summary.

use crate::error::{CellEvalError, Result};
use crate::metrics::MetricTable;
use crate::profile::metric_columns;

/// A float as polars' CSV writer prints it: shortest round-trip digits, `.0` on integral
/// values, `e+N`/`e-N` exponents outside `[1e-5, 1e16)`, `NaN`, `inf`, `-inf`.
pub fn polars_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    if v == 0.0 || (1e-5..1e16).contains(&v.abs()) {
        let s = format!("{v}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{v:e}");
        match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        }
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The columns of `all` that the metric names in `metrics` produce, in that order; a
/// metric without any column in `all` (not computed) is left out.
pub fn select_metrics(all: &MetricTable, metrics: &[&str]) -> MetricTable {
    let mut out = MetricTable {
        perturbations: all.perturbations.clone(),
        columns: Vec::new(),
    };
    for m in metrics {
        for c in metric_columns(m) {
            if let Some(col) = all.columns.iter().find(|(n, _)| *n == c) {
                out.columns.push(col.clone());
            }
        }
    }
    out
}

/// `results.csv`: `perturbation`, then one column per metric; empty cells where a metric
/// has no value for a perturbation; a metric with no value at all has no column (the
/// pivot never sees it).
pub fn results_csv(t: &MetricTable) -> String {
    let cols: Vec<&(String, Vec<Option<f64>>)> = t
        .columns
        .iter()
        .filter(|(_, v)| v.iter().any(Option::is_some))
        .collect();
    let mut s = String::from("perturbation");
    for (n, _) in &cols {
        s.push(',');
        s.push_str(&csv_field(n));
    }
    s.push('\n');
    for (i, p) in t.perturbations.iter().enumerate() {
        s.push_str(&csv_field(p));
        for (_, col) in &cols {
            s.push(',');
            if let Some(v) = col[i] {
                s.push_str(&polars_float(v));
            }
        }
        s.push('\n');
    }
    s
}

/// The rows of polars' `describe()`, in order.
pub const DESCRIBE_ROWS: [&str; 9] = [
    "count",
    "null_count",
    "mean",
    "std",
    "min",
    "25%",
    "50%",
    "75%",
    "max",
];

/// polars' `describe()` of one float column: count (non-null, NaN included), null count,
/// mean and sample standard deviation (NaN propagates), min and max (NaN ignored), and the
/// 25/50/75 % quantiles by the "nearest" rule (sorted non-null values, NaN last, index
/// `round((n − 1)·q)`, halves away from zero). Null for an all-null column.
pub fn describe(values: &[Option<f64>]) -> [Option<f64>; 9] {
    let mut v: Vec<f64> = values.iter().flatten().copied().collect();
    let n = v.len();
    let nulls = (values.len() - n) as f64;
    if n == 0 {
        return [
            Some(0.0),
            Some(nulls),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ];
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    let std = if n > 1 {
        let ss: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
        Some((ss / (n - 1) as f64).sqrt())
    } else {
        None
    };
    let finite_or_inf: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    let min = finite_or_inf.iter().copied().reduce(f64::min);
    let max = finite_or_inf.iter().copied().reduce(f64::max);
    v.sort_by(f64::total_cmp);
    // total_cmp puts negative NaN first; polars sorts every NaN last.
    let (mut nan, mut rest): (Vec<f64>, Vec<f64>) = v.into_iter().partition(|x| x.is_nan());
    rest.append(&mut nan);
    let q = |p: f64| Some(rest[((n - 1) as f64 * p).round() as usize]);
    [
        Some(n as f64),
        Some(nulls),
        Some(mean),
        std,
        min.or(Some(f64::NAN)),
        q(0.25),
        q(0.5),
        q(0.75),
        max.or(Some(f64::NAN)),
    ]
}

/// `agg_results.csv`: `statistic` then one column per metric column of `results.csv`.
pub fn agg_results_csv(t: &MetricTable) -> String {
    let cols: Vec<&(String, Vec<Option<f64>>)> = t
        .columns
        .iter()
        .filter(|(_, v)| v.iter().any(Option::is_some))
        .collect();
    let stats: Vec<[Option<f64>; 9]> = cols.iter().map(|(_, v)| describe(v)).collect();
    let mut s = String::from("statistic");
    for (n, _) in &cols {
        s.push(',');
        s.push_str(&csv_field(n));
    }
    s.push('\n');
    for (r, name) in DESCRIBE_ROWS.iter().enumerate() {
        s.push_str(name);
        for st in &stats {
            s.push(',');
            if let Some(v) = st[r] {
                s.push_str(&polars_float(v));
            }
        }
        s.push('\n');
    }
    s
}

/// An aggregate table read back from CSV (`agg_results.csv`): statistic names and, per
/// metric column, one value per statistic (empty cells are NaN).
#[derive(Debug, Clone, PartialEq)]
pub struct AggTable {
    /// Metric column names, in file order.
    pub metrics: Vec<String>,
    /// Statistic names (`count`, `mean`, ...), in file order.
    pub statistics: Vec<String>,
    /// `values[s][m]`: statistic `s` of metric `m`.
    pub values: Vec<Vec<f64>>,
}

impl AggTable {
    /// Reads a file written by `agg_results_csv` (or by cell-eval).
    pub fn read_csv(path: &std::path::Path) -> Result<Self> {
        let shown = path.display().to_string();
        let err = |message: String| CellEvalError::Csv {
            path: shown.clone(),
            message,
        };
        let mut rdr = csv::Reader::from_path(path).map_err(|e| err(e.to_string()))?;
        let headers: Vec<String> = rdr
            .headers()
            .map_err(|e| err(e.to_string()))?
            .iter()
            .map(String::from)
            .collect();
        if headers.first().map(String::as_str) != Some("statistic") {
            return Err(err(
                "missing 'statistic' column in agg results (likely wrong file input)".into(),
            ));
        }
        let mut statistics = Vec::new();
        let mut values = Vec::new();
        for (line, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| err(e.to_string()))?;
            statistics.push(rec.get(0).unwrap_or("").to_string());
            let row = rec
                .iter()
                .skip(1)
                .map(|f| {
                    crate::metrics::de_frame::parse_float(f)
                        .ok_or_else(|| err(format!("row {}: bad number '{f}'", line + 2)))
                })
                .collect::<Result<Vec<f64>>>()?;
            values.push(row);
        }
        Ok(AggTable {
            metrics: headers[1..].to_vec(),
            statistics,
            values,
        })
    }

    /// The row of statistic `name`.
    pub fn row(&self, name: &str) -> Option<&[f64]> {
        let i = self.statistics.iter().position(|s| s == name)?;
        Some(&self.values[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values printed by polars 2.1.0 (`pl.DataFrame(...).describe()` and
    // `write_csv`) for the same columns.
    #[test]
    fn describe_matches_polars() {
        let nan = f64::NAN;
        let x = describe(&[Some(1.0), Some(nan), Some(3.0), Some(0.5), Some(2.0)]);
        assert_eq!(x[0], Some(5.0));
        assert!(x[2].unwrap().is_nan() && x[3].unwrap().is_nan());
        assert_eq!(
            &x[4..],
            &[Some(0.5), Some(1.0), Some(2.0), Some(3.0), Some(3.0)]
        );
        let w = describe(&[Some(0.1), Some(0.2), None, None, Some(0.7)]);
        assert_eq!(w[1], Some(2.0));
        assert_eq!(polars_float(w[2].unwrap()), "0.3333333333333333");
        assert_eq!(polars_float(w[3].unwrap()), "0.3214550253664318");
        assert_eq!(&w[5..8], &[Some(0.2), Some(0.2), Some(0.7)]);
        let e: Vec<Option<f64>> = (1..=8).map(|i| Some(i as f64)).collect();
        assert_eq!(&describe(&e)[5..8], &[Some(3.0), Some(5.0), Some(6.0)]);
        assert_eq!(polars_float(1e-7), "1e-7");
        assert_eq!(polars_float(1e20), "1e+20");
        assert_eq!(polars_float(5.0), "5.0");
        assert_eq!(polars_float(0.1 + 0.2), "0.30000000000000004");
    }
}
