//! cell-eval's metrics inside PerturBench evaluations (`evaluation.cell_eval=PROFILE` of
//! `train`/`benchmark`, `perturbench evaluate --cell-eval PROFILE`): `perturbench-celleval`
//! scores each prediction against the reference exactly as `perturbench cell-eval run` does,
//! its files go to `cell_eval/<model>/` inside the evaluation directory, and its
//! per-perturbation values become evaluation rows with aggregation [`AGGREGATION`], so that
//! `summary.csv`, leaderboards and the report carry them.

use crate::bail;
use crate::error::{Error, Result};
use perturbench_celleval::{Profile, RunOptions};
use perturbench_eval::{PerPerturbation, Summary};
use perturbench_io::{read_h5ad, write_h5ad, Compression, H5adReader, WriteOptions};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The aggregation name of cell-eval rows in `per_perturbation.csv` and `summary.csv` (no
/// underscore: leaderboard columns are `{metric}_{aggregation}`).
pub const AGGREGATION: &str = "cell-eval";

/// What a PerturBench evaluation needs to know to run cell-eval on its files.
#[derive(Debug, Clone, PartialEq)]
pub struct CellEvalSetup {
    /// The cell-eval profile.
    pub profile: Profile,
    /// obs column of the perturbations (cell-eval's `--pert-col`).
    pub perturbation_key: String,
    /// Label of the control cells (`--control-pert`).
    pub control: String,
    /// The covariate column, if any (`--celltype-col`).
    pub covariate: Option<String>,
}

impl CellEvalSetup {
    /// The setup for `profile` (`none` or empty: `None`) on data with these keys; refused
    /// before any work when cell-eval cannot score such data.
    pub fn new(
        profile: &str,
        perturbation_key: &str,
        control: &str,
        covariate_keys: &[String],
    ) -> Result<Option<Self>> {
        let name = profile.trim();
        if name.is_empty() || name == "none" {
            return Ok(None);
        }
        let profile = Profile::parse(name).map_err(|e| {
            Error::Invalid(format!(
                "evaluation.cell_eval: {e} (or none); PerturBench data is log-normalised, so \
                 every profile but vcc2026 applies"
            ))
        })?;
        if profile == Profile::Vcc2026 {
            bail!(
                "evaluation.cell_eval=vcc2026: the vcc2026 profile scores raw counts, but \
                 PerturBench evaluates log-normalised X; run `perturbench cell-eval run \
                 --profile vcc2026` on count files instead, or pick full, vcc, minimal, pds, de \
                 or anndata"
            );
        }
        if covariate_keys.len() > 1 {
            bail!(
                "evaluation.cell_eval={name}: cell-eval splits results by one column \
                 (--celltype-col), but this task has {} covariate keys ({}); use a task with at \
                 most one covariate",
                covariate_keys.len(),
                covariate_keys.join(", ")
            );
        }
        Ok(Some(CellEvalSetup {
            profile,
            perturbation_key: perturbation_key.to_string(),
            control: control.to_string(),
            covariate: covariate_keys.first().cloned(),
        }))
    }
}

/// cell-eval's rows for one model.
#[derive(Debug, Clone, Default)]
pub struct CellEvalRows {
    /// One row per (cell type, perturbation, metric).
    pub per_perturbation: Vec<PerPerturbation>,
    /// Per metric: the mean over every (cell type, perturbation), NaN skipped.
    pub summary: Vec<Summary>,
    /// Perturbations left out because only one side has them.
    pub warnings: Vec<String>,
}

/// The perturbation labels of a file (as strings).
fn labels(path: &Path, key: &str) -> Result<Vec<String>> {
    let obs = H5adReader::open(path)?.read_frame_columns("obs", &[key])?;
    let col = obs.column(key).ok_or_else(|| {
        Error::Invalid(format!(
            "{}: obs has no column '{key}' (the perturbation key)",
            path.display()
        ))
    })?;
    Ok((0..col.len())
        .map(|i| col.value_string(i).unwrap_or_default())
        .collect())
}

/// Writes the cells of `path` whose label is in `keep` to `to`.
fn write_subset(path: &Path, labels: &[String], keep: &BTreeSet<&str>, to: &Path) -> Result<()> {
    let ad = read_h5ad(path)?;
    let rows: Vec<usize> = (0..labels.len())
        .filter(|&i| keep.contains(labels[i].as_str()))
        .collect();
    let opts = WriteOptions {
        compression: Compression::None,
    };
    write_h5ad(to, &ad.select_obs(&rows), &opts)?;
    Ok(())
}

/// Scores `prediction` against `reference` with cell-eval under `setup`, writing cell-eval's
/// files into `outdir`. Perturbations present on one side only are left out (with a
/// warning) rather than refused, as PerturBench's own evaluation does.
pub fn score(
    reference: &Path,
    prediction: &Path,
    model: &str,
    setup: &CellEvalSetup,
    outdir: &Path,
) -> Result<CellEvalRows> {
    let key = &setup.perturbation_key;
    let (ref_labels, pred_labels) = (labels(reference, key)?, labels(prediction, key)?);
    let ref_set: BTreeSet<&str> = ref_labels.iter().map(String::as_str).collect();
    let pred_set: BTreeSet<&str> = pred_labels.iter().map(String::as_str).collect();
    let mut warnings = Vec::new();
    let (mut real, mut pred) = (reference.to_path_buf(), prediction.to_path_buf());
    let scratch: PathBuf = outdir.with_extension("inputs");
    if ref_set != pred_set {
        let both: BTreeSet<&str> = ref_set.intersection(&pred_set).copied().collect();
        let only_ref: Vec<&str> = ref_set.difference(&both).copied().collect();
        let only_pred: Vec<&str> = pred_set.difference(&both).copied().collect();
        if !both.contains(setup.control.as_str()) {
            bail!(
                "cell-eval: the control '{}' must be in both {} and {} (column '{key}')",
                setup.control,
                reference.display(),
                prediction.display()
            );
        }
        std::fs::create_dir_all(&scratch)?;
        if !only_ref.is_empty() {
            warnings.push(format!(
                "cell-eval ({model}): {} perturbation(s) of the reference are not predicted and \
                 are left out: {}",
                only_ref.len(),
                only_ref.join(", ")
            ));
            real = scratch.join("real.h5ad");
            write_subset(reference, &ref_labels, &both, &real)?;
        }
        if !only_pred.is_empty() {
            warnings.push(format!(
                "cell-eval ({model}): {} predicted perturbation(s) are not in the reference and \
                 are left out: {}",
                only_pred.len(),
                only_pred.join(", ")
            ));
            pred = scratch.join("pred.h5ad");
            write_subset(prediction, &pred_labels, &both, &pred)?;
        }
    }
    let mut opts = RunOptions::new(&real, &pred);
    opts.control_pert = setup.control.clone();
    opts.pert_col = key.clone();
    opts.celltype_col = setup.covariate.clone();
    opts.profile = setup.profile;
    opts.outdir = outdir.to_path_buf();
    let done = perturbench_celleval::run(&opts);
    let _ = std::fs::remove_dir_all(&scratch);
    let summary = done.map_err(|e| Error::Invalid(format!("cell-eval ({model}): {e}")))?;
    let mut rows = CellEvalRows {
        warnings,
        ..Default::default()
    };
    let mut metrics: Vec<(String, f64, usize)> = Vec::new();
    for (context, table) in &summary.results {
        for (metric, values) in &table.columns {
            let at = match metrics.iter().position(|m| &m.0 == metric) {
                Some(i) => i,
                None => {
                    metrics.push((metric.clone(), 0.0, 0));
                    metrics.len() - 1
                }
            };
            for (p, v) in table.perturbations.iter().zip(values) {
                let value = v.unwrap_or(f64::NAN);
                rows.per_perturbation.push(PerPerturbation {
                    model: model.to_string(),
                    aggregation: AGGREGATION.to_string(),
                    metric: metric.clone(),
                    covariates: context.clone().unwrap_or_default(),
                    perturbation: p.clone(),
                    value,
                });
                if !value.is_nan() {
                    metrics[at].1 += value;
                    metrics[at].2 += 1;
                }
            }
        }
    }
    rows.summary = metrics
        .into_iter()
        .map(|(metric, sum, n)| Summary {
            model: model.to_string(),
            aggregation: AGGREGATION.to_string(),
            metric,
            value: if n == 0 { f64::NAN } else { sum / n as f64 },
        })
        .collect();
    Ok(rows)
}
