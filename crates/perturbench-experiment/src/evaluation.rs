//! Scoring prediction files against observed cells into an output directory
//! (`perturbench evaluate`): the evaluation, the inputs' checksums and `run.json`.

use crate::cell_eval::{score, CellEvalSetup};
use crate::error::{Error, Result};
use crate::formats::{replace_dir, write_evaluation};
use crate::Observer;
use perturbench_eval::{evaluate, EvalConfig, EvalOutput};
use std::path::{Path, PathBuf};

/// Evaluates the predictions `preds` (model name, file) against `reference` under `cfg` and
/// writes per_perturbation.csv, summary.csv, logfc_examples.csv and run.json (with the
/// inputs' SHA-256 when `checksums`) into `out_dir`, all at once. With `cell_eval`, each
/// prediction is also scored by cell-eval (files in `cell_eval/<model>/`, rows with
/// aggregation `cell-eval`).
pub fn evaluate_files(
    reference: &Path,
    preds: &[(String, PathBuf)],
    cfg: &EvalConfig,
    cell_eval: Option<&CellEvalSetup>,
    out_dir: &Path,
    checksums: bool,
    observer: &dyn Observer,
) -> Result<EvalOutput> {
    let start = std::time::Instant::now();
    // Checksums of the inputs are computed on a separate thread while the evaluation runs.
    let mut paths: Vec<PathBuf> = vec![reference.to_path_buf()];
    for (_, p) in preds {
        if !paths.contains(p) {
            paths.push(p.clone());
        }
    }
    let hash_paths = if !checksums { Vec::new() } else { paths };
    let hasher = std::thread::spawn(move || crate::checksum::sha256_all(hash_paths));
    observer.stage("evaluating");
    let trace = std::env::var_os("PERTURBENCH_TRACE").is_some();
    let out = evaluate(&reference.to_path_buf(), preds, cfg, &|msg: &str| {
        if trace {
            eprintln!("[{:.3} s] {msg}", start.elapsed().as_secs_f64());
        }
        observer.stage(msg)
    })?;
    if trace {
        eprintln!("[{:.3} s] evaluated", start.elapsed().as_secs_f64());
    }
    let sums: std::collections::HashMap<PathBuf, String> = hasher
        .join()
        .map_err(|_| Error::msg("checksum thread failed"))??
        .into_iter()
        .collect();
    let mut inputs = vec![serde_json::json!({
        "role": "reference", "path": reference.display().to_string(), "sha256": sums.get(reference)
    })];
    for (n, p) in preds {
        inputs.push(serde_json::json!({
            "role": "prediction", "model": n, "path": p.display().to_string(), "sha256": sums.get(p)
        }));
    }
    // Everything goes to a temporary directory first, renamed into place when complete.
    replace_dir(out_dir, "eval", |tmp| {
        let mut out = out;
        if let Some(setup) = cell_eval {
            for (name, path) in preds {
                observer.stage(&format!("cell-eval ({name})"));
                let rows = score(
                    reference,
                    path,
                    name,
                    setup,
                    &tmp.join("cell_eval").join(name),
                )?;
                out.per_perturbation.extend(rows.per_perturbation);
                out.summary.extend(rows.summary);
                out.warnings.extend(rows.warnings);
            }
        }
        let run = serde_json::json!({
            "tool": "perturbench",
            "version": env!("CARGO_PKG_VERSION"),
            "config": cfg,
            "cell_eval": cell_eval.map(|s| s.profile.name()),
            "inputs": inputs,
            "warnings": out.warnings,
            "wall_seconds": start.elapsed().as_secs_f64(),
        });
        if trace {
            eprintln!("[{:.3} s] writing", start.elapsed().as_secs_f64());
        }
        write_evaluation(tmp, &out, &run)?;
        Ok(out)
    })
}
