//! Scanning result directories for report inputs.
//!
//! Each given directory is examined for
//! 1. a benchmark output: `leaderboard.csv`, plus `runs/<run_id>/job.json` and
//!    `runs/<run_id>/evaluation/` (or `runs/<run_id>/summary.csv`) for every run;
//! 2. an evaluate/train output: `evaluation/summary.csv` or `summary.csv`, with
//!    `per_perturbation.csv`, `run.json` and `logfc_examples.csv` next to it (all optional);
//!    when there is no `leaderboard.csv`, leaderboard rows are made from `summary.csv`;
//! 3. an HPO study: `trials.csv` and optionally `best.yaml`.
//!
//! A directory holding none of these has its immediate subdirectories examined instead.

use std::path::{Path, PathBuf};

use crate::error::ReportError;
use crate::formats::{
    read_job, read_leaderboard, read_logfc_examples, read_per_perturbation, read_run_json,
    read_summary, read_trials, RunContext,
};
use crate::input::ReportInput;

/// Reads every recognised input under `dirs` into one [`ReportInput`].
///
/// Errors if a directory cannot be read, a file is malformed (the error names the file and
/// the column or key), or no directory holds any input.
pub fn load(dirs: &[PathBuf]) -> Result<ReportInput, ReportError> {
    let mut input = ReportInput {
        title: "PerturBench report".into(),
        ..ReportInput::default()
    };
    let mut found = false;
    for dir in dirs {
        if !dir.is_dir() {
            return Err(ReportError::io(
                dir,
                std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            ));
        }
        if scan(dir, &mut input)? {
            found = true;
            continue;
        }
        for child in subdirs(dir)? {
            found |= scan(&child, &mut input)?;
        }
    }
    if !found {
        let names: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(ReportError::NothingFound {
            dirs: if names.is_empty() {
                "(no directories given)".into()
            } else {
                names.join(", ")
            },
        });
    }
    Ok(input)
}

/// Sorted subdirectories of `dir`.
fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ReportError::io(dir, e))?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| ReportError::io(dir, e))?.path();
        if path.is_dir() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// The directory holding `summary.csv` for a run directory: `evaluation/` or the run directory.
fn eval_dir(dir: &Path) -> Option<PathBuf> {
    let nested = dir.join("evaluation");
    if nested.join("summary.csv").is_file() {
        Some(nested)
    } else if dir.join("summary.csv").is_file() {
        Some(dir.to_path_buf())
    } else {
        None
    }
}

/// Reads the inputs of one directory; whether any were found.
fn scan(dir: &Path, input: &mut ReportInput) -> Result<bool, ReportError> {
    let mut any = false;
    let leaderboard = dir.join("leaderboard.csv");
    if leaderboard.is_file() {
        any = true;
        input.leaderboard.extend(read_leaderboard(&leaderboard)?);
        let runs = dir.join("runs");
        if runs.is_dir() {
            for run in subdirs(&runs)? {
                if let Some(eval) = eval_dir(&run) {
                    read_run(&run, &eval, false, input)?;
                }
            }
        }
    } else if let Some(eval) = eval_dir(dir) {
        any = true;
        read_run(dir, &eval, true, input)?;
    }
    let trials = dir.join("trials.csv");
    if trials.is_file() {
        any = true;
        let best = dir.join("best.yaml");
        let best_yaml = if best.is_file() {
            Some(std::fs::read_to_string(&best).map_err(|e| ReportError::io(&best, e))?)
        } else {
            None
        };
        let source = dir.display().to_string();
        input
            .studies
            .extend(read_trials(&trials, &source, best_yaml)?);
    }
    Ok(any)
}

/// Reads one evaluate/train output: `run` is the run directory, `eval` the directory holding
/// `summary.csv`. Leaderboard rows are added only if `add_leaderboard`.
fn read_run(
    run: &Path,
    eval: &Path,
    add_leaderboard: bool,
    input: &mut ReportInput,
) -> Result<(), ReportError> {
    let dir_name = run
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| run.display().to_string());
    let mut ctx = RunContext::default();
    for job in [eval.join("job.json"), run.join("job.json")] {
        if job.is_file() {
            ctx = read_job(&job)?.0;
            break;
        }
    }
    if ctx.dataset.is_empty() {
        ctx.dataset = dir_name;
    }
    if ctx.task.is_empty() {
        ctx.task = "-".into();
    }
    let summary = read_summary(&eval.join("summary.csv"), &ctx)?;
    let mut models: Vec<String> = summary.iter().map(|r| r.model.clone()).collect();
    if add_leaderboard {
        input.leaderboard.extend(summary);
    }
    let per = eval.join("per_perturbation.csv");
    if per.is_file() {
        let rows = read_per_perturbation(&per, &ctx)?;
        for r in &rows {
            if !models.contains(&r.model) {
                models.push(r.model.clone());
            }
        }
        input.per_perturbation.extend(rows);
    }
    for examples in [
        eval.join("logfc_examples.csv"),
        run.join("logfc_examples.csv"),
    ] {
        if examples.is_file() {
            input.scatter.extend(read_logfc_examples(&examples, &ctx)?);
            break;
        }
    }
    let run_json = eval.join("run.json");
    if run_json.is_file() {
        let source = run.display().to_string();
        input
            .provenance
            .push(read_run_json(&run_json, &source, &ctx, models)?);
    }
    Ok(())
}
