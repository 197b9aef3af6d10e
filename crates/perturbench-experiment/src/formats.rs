//! The files a run and an evaluation write, defined once: `losses.csv`, `truth.csv`,
//! `per_perturbation.csv`, `summary.csv`, `logfc_examples.csv`, `run.json`, and the
//! write-to-a-temporary-directory-then-rename of an output directory.

use crate::error::{Context, Result};
use perturbench_eval::EvalOutput;
use perturbench_io::write_csv_atomic;
use perturbench_models::nn::EpochLog;
use perturbench_models::TruthRow;
use std::path::{Path, PathBuf};

/// Columns of `losses.csv` (one row per epoch).
pub const LOSSES_HEADER: [&str; 8] = [
    "epoch",
    "train_loss",
    "val_loss",
    "lr",
    "seconds",
    "train_seconds",
    "train_cells",
    "best",
];

pub use perturbench_report::tables::{EXAMPLES_HEADER, PER_PERTURBATION_HEADER, SUMMARY_HEADER};

/// Columns of `truth.csv` (simulated data: predicted effects against the simulation's truth).
pub const TRUTH_HEADER: [&str; 5] = [
    "perturbation",
    "covariates",
    "rmse_delta",
    "cosine_delta",
    "pearson_delta",
];

/// Writes `losses.csv`.
pub fn write_losses(path: &Path, log: &[EpochLog]) -> Result<()> {
    let rows = log.iter().map(|l| {
        vec![
            l.epoch.to_string(),
            l.train_loss.to_string(),
            l.val_loss.map(|v| v.to_string()).unwrap_or_default(),
            l.lr.to_string(),
            l.seconds.to_string(),
            l.train_seconds.to_string(),
            l.train_cells.to_string(),
            l.best.to_string(),
        ]
    });
    write_csv_atomic(path, Some(&LOSSES_HEADER), rows)?;
    Ok(())
}

/// Writes `truth.csv`.
pub fn write_truth(path: &Path, rows: &[TruthRow]) -> Result<()> {
    let table = rows.iter().map(|r| {
        vec![
            r.perturbation.clone(),
            r.covariates.clone(),
            r.rmse.to_string(),
            r.cosine.to_string(),
            r.pearson.to_string(),
        ]
    });
    write_csv_atomic(path, Some(&TRUTH_HEADER), table)?;
    Ok(())
}

/// Writes an evaluation into `dir`: per_perturbation.csv, summary.csv, logfc_examples.csv
/// (when there are examples) and run.json (`run`).
pub fn write_evaluation(dir: &Path, out: &EvalOutput, run: &serde_json::Value) -> Result<()> {
    let rows = out.per_perturbation.iter().map(|r| {
        vec![
            r.model.clone(),
            r.aggregation.clone(),
            r.metric.clone(),
            r.covariates.clone(),
            r.perturbation.clone(),
            format!("{}", r.value),
        ]
    });
    write_csv_atomic(
        &dir.join("per_perturbation.csv"),
        Some(&PER_PERTURBATION_HEADER),
        rows,
    )?;
    let rows = out.summary.iter().map(|s| {
        vec![
            s.model.clone(),
            s.aggregation.clone(),
            s.metric.clone(),
            format!("{}", s.value),
        ]
    });
    write_csv_atomic(&dir.join("summary.csv"), Some(&SUMMARY_HEADER), rows)?;
    if !out.examples.is_empty() {
        let rows = out.examples.iter().map(|e| {
            vec![
                e.model.clone(),
                e.covariates.clone(),
                e.perturbation.clone(),
                e.gene.clone(),
                format!("{}", e.observed),
                format!("{}", e.predicted),
            ]
        });
        write_csv_atomic(
            &dir.join("logfc_examples.csv"),
            Some(&EXAMPLES_HEADER),
            rows,
        )?;
    }
    perturbench_io::write_atomic(
        &dir.join("run.json"),
        serde_json::to_string_pretty(run)?.as_bytes(),
    )?;
    Ok(())
}

/// The hidden siblings of an output directory `out`: the temporary directory a run writes
/// into (`.NAME.PID.tmp`) and the directory of resumable training state (`.NAME.state`).
pub fn siblings(out: &Path, default_name: &str) -> (PathBuf, PathBuf) {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| default_name.into());
    (
        parent.join(format!(".{name}.{}.tmp", std::process::id())),
        parent.join(format!(".{name}.state")),
    )
}

/// Creates the output directory `out` all at once: `write` fills a fresh temporary directory
/// next to it, which then replaces `out`; on failure nothing is left behind and `out` is
/// untouched.
pub fn replace_dir<T>(
    out: &Path,
    default_name: &str,
    write: impl FnOnce(&Path) -> Result<T>,
) -> Result<T> {
    let (tmp, _) = siblings(out, default_name);
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)
        .with_context(|| format!("{}: cannot create the output directory", out.display()))?;
    let done = write(&tmp).and_then(|t| {
        if out.exists() {
            std::fs::remove_dir_all(out)
                .with_context(|| format!("{}: cannot replace", out.display()))?;
        }
        std::fs::rename(&tmp, out)
            .with_context(|| format!("{}: cannot move the results into place", out.display()))?;
        Ok(t)
    });
    if done.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    done
}
