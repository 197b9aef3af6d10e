//! `cell-eval score --anchor`: a vcc2026 submission's aggregates scored on the replicate
//! scale (0 = the baseline's aggregate, 1 = the replicate anchor), as cell-eval2 0.20.0's
//! `score --anchor` writes its `from_replicate` column.

use super::score::{score_members, MEMBERS};
use crate::error::{CellEvalError, Result};
use crate::results::{polars_float, AggTable};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// cell-eval2's row order: the lower-is-better members, then the higher-is-better ones.
const ORDER: [&str; 6] = [
    "de_wilcoxon_lfc_nmae",
    "expr_mse_unbiased_capped_norm",
    "de_wilcoxon_direction_fidelity_yield_raw",
    "de_wilcoxon_direction_reach_raw",
    "de_wilcoxon_sig_jaccard",
    "pds_cosine",
];

/// One scored member.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberScore {
    /// The member.
    pub metric: String,
    /// The submission's aggregate (`None`: no value).
    pub user: Option<f64>,
    /// The baseline's aggregate.
    pub baseline: f64,
    /// The replicate anchor.
    pub replicate: f64,
    /// The score on the replicate scale.
    pub from_replicate: f64,
}

/// The six scored members (lower-is-better first, then higher-is-better, as cell-eval2
/// orders them) and their mean.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicateScores {
    /// Per member.
    pub rows: Vec<MemberScore>,
    /// Mean of the six scores.
    pub avg_score: f64,
}

fn csv_err(path: &Path, message: String) -> CellEvalError {
    CellEvalError::Csv {
        path: path.display().to_string(),
        message,
    }
}

/// The `replicate` column of an `anchor_agg.csv` (the file, or the directory holding it).
pub fn read_anchor(path: &Path) -> Result<BTreeMap<String, f64>> {
    let file: PathBuf = if path.is_dir() {
        let f = path.join("anchor_agg.csv");
        if !f.exists() && path.join("anchor_agg.parquet").exists() {
            return Err(csv_err(
                path,
                "holds cell-eval2's anchor_agg.parquet, not anchor_agg.csv; compute the anchor with `perturbench cell-eval run --profile vcc2026 --anchor`".into(),
            ));
        }
        f
    } else {
        path.to_path_buf()
    };
    let mut rdr = csv::Reader::from_path(&file).map_err(|e| csv_err(&file, e.to_string()))?;
    let head = rdr
        .headers()
        .map_err(|e| csv_err(&file, e.to_string()))?
        .clone();
    let col = |name: &str| {
        head.iter().position(|h| h == name).ok_or_else(|| {
            csv_err(
                &file,
                format!("no '{name}' column (expected an anchor_agg.csv)"),
            )
        })
    };
    let (m, r) = (col("metric")?, col("replicate")?);
    let mut out = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_err(&file, e.to_string()))?;
        let v: f64 = rec[r].parse().map_err(|_| {
            csv_err(
                &file,
                format!("replicate of '{}' is not a number: '{}'", &rec[m], &rec[r]),
            )
        })?;
        out.insert(rec[m].to_string(), v);
    }
    Ok(out)
}

/// The `mean` row of an `agg_results.csv`, by metric.
fn means(path: &Path, t: &AggTable) -> Result<BTreeMap<String, f64>> {
    let row = t
        .row("mean")
        .ok_or_else(|| csv_err(path, "no 'mean' statistic row".into()))?;
    Ok(t.metrics.iter().cloned().zip(row.iter().copied()).collect())
}

/// Scores the submission's `agg_results.csv` against the baseline's and the anchor.
pub fn score_replicate(user: &Path, base: &Path, anchor: &Path) -> Result<ReplicateScores> {
    let u = means(user, &AggTable::read_csv(user)?)?;
    let b = means(base, &AggTable::read_csv(base)?)?;
    let r = read_anchor(anchor)?;
    for (name, _) in MEMBERS {
        for (what, path, map) in [("submission", user, &u), ("baseline", base, &b)] {
            if !map.contains_key(name) {
                return Err(csv_err(
                    path,
                    format!("the {what} has no '{name}' column (an agg_results.csv of --profile vcc2026 is expected)"),
                ));
            }
        }
        if !r.contains_key(name) {
            return Err(csv_err(anchor, format!("the anchor has no '{name}' row")));
        }
    }
    let finite = |v: Option<&f64>| v.copied().filter(|x| x.is_finite());
    let (scores, avg) =
        score_members(|m| (finite(u.get(m)), b.get(m).copied(), r.get(m).copied()))?;
    let mut rows: Vec<MemberScore> = scores
        .into_iter()
        .map(|(metric, s)| MemberScore {
            user: finite(u.get(&metric)),
            baseline: b[&metric],
            replicate: r[&metric],
            from_replicate: s,
            metric,
        })
        .collect();
    rows.sort_by_key(|row| ORDER.iter().position(|m| *m == row.metric));
    Ok(ReplicateScores {
        rows,
        avg_score: avg,
    })
}

impl ReplicateScores {
    /// CSV text: `metric,from_replicate,user,baseline,replicate`, `avg_score` last.
    pub fn to_csv_string(&self) -> String {
        let mut s = String::from("metric,from_replicate,user,baseline,replicate\n");
        for r in &self.rows {
            s.push_str(&format!(
                "{},{},{},{},{}\n",
                r.metric,
                polars_float(r.from_replicate),
                r.user.map(polars_float).unwrap_or_default(),
                polars_float(r.baseline),
                polars_float(r.replicate)
            ));
        }
        s.push_str(&format!("avg_score,{},,,\n", polars_float(self.avg_score)));
        s
    }
}

/// Scores and writes `output` atomically.
pub fn score_replicate_files(
    user: &Path,
    base: &Path,
    anchor: &Path,
    output: &Path,
) -> Result<ReplicateScores> {
    let s = score_replicate(user, base, anchor)?;
    perturbench_io::write_atomic(output, s.to_csv_string().as_bytes())?;
    Ok(s)
}
