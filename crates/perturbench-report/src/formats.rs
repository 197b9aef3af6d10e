//! Parsers of the individual input files: `leaderboard.csv`, `summary.csv`,
//! `per_perturbation.csv`, `logfc_examples.csv`, `run.json`, `job.json`, `trials.csv` and
//! `best.yaml`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::digest::config_digest;
use crate::error::ReportError;
use crate::input::{
    Direction, InputFile, LeaderRow, PerPertRow, Provenance, ScatterPoint, StudyHistory, Trial,
    TrialState,
};
use crate::table::Table;
use crate::tables::{
    EXAMPLES_HEADER, LEADERBOARD_KEYS, PER_PERTURBATION_HEADER, SUMMARY_HEADER, TRIALS_COLUMNS,
};

/// Dataset, task, seed (and model) a run's files belong to.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunContext {
    /// Dataset name.
    pub dataset: String,
    /// Task name.
    pub task: String,
    /// Seed, if known.
    pub seed: Option<u64>,
}

/// `leaderboard.csv`: `model,dataset,task,seed,<metric columns...>`; empty cells are missing.
pub(crate) fn read_leaderboard(path: &Path) -> Result<Vec<LeaderRow>, ReportError> {
    let t = Table::read(path)?;
    let [m, d, k, s] = t.cols(&LEADERBOARD_KEYS)?;
    let metric_cols: Vec<(usize, String)> = t
        .headers()
        .iter()
        .enumerate()
        .filter(|(i, h)| ![m, d, k, s].contains(i) && !h.is_empty())
        .map(|(i, h)| (i, h.clone()))
        .collect();
    let mut out = Vec::with_capacity(t.rows.len());
    for row in &t.rows {
        let mut metrics = BTreeMap::new();
        for (i, name) in &metric_cols {
            if let Some(v) = t.opt_num(row, *i)? {
                metrics.insert(name.clone(), v);
            }
        }
        out.push(LeaderRow {
            model: t.text(row, m).to_string(),
            dataset: non_empty(t.text(row, d)),
            task: non_empty(t.text(row, k)),
            seed: t.opt_uint(row, s)?,
            metrics,
        });
    }
    Ok(out)
}

/// `summary.csv`: `model,aggregation,metric,value`, one leaderboard row per model with
/// metrics keyed `{metric}_{aggregation}` (models in order of first appearance).
pub(crate) fn read_summary(path: &Path, ctx: &RunContext) -> Result<Vec<LeaderRow>, ReportError> {
    let t = Table::read(path)?;
    let [m, a, k, v] = t.cols(&SUMMARY_HEADER)?;
    let mut out: Vec<LeaderRow> = Vec::new();
    for row in &t.rows {
        let model = t.text(row, m);
        let key = format!("{}_{}", t.text(row, k), t.text(row, a));
        let value = t.opt_num(row, v)?;
        let idx = match out.iter().position(|r| r.model == model) {
            Some(i) => i,
            None => {
                out.push(LeaderRow {
                    model: model.to_string(),
                    dataset: ctx.dataset.clone(),
                    task: ctx.task.clone(),
                    seed: ctx.seed,
                    metrics: BTreeMap::new(),
                });
                out.len() - 1
            }
        };
        if let Some(value) = value {
            out[idx].metrics.insert(key, value);
        }
    }
    Ok(out)
}

/// `per_perturbation.csv`: `model,aggregation,metric,covariates,perturbation,value`.
pub(crate) fn read_per_perturbation(
    path: &Path,
    ctx: &RunContext,
) -> Result<Vec<PerPertRow>, ReportError> {
    let t = Table::read(path)?;
    let cols = t.cols(&PER_PERTURBATION_HEADER)?;
    let mut out = Vec::with_capacity(t.rows.len());
    for row in &t.rows {
        out.push(PerPertRow {
            dataset: ctx.dataset.clone(),
            task: ctx.task.clone(),
            model: t.text(row, cols[0]).to_string(),
            aggregation: t.text(row, cols[1]).to_string(),
            metric: t.text(row, cols[2]).to_string(),
            covariates: t.text(row, cols[3]).to_string(),
            perturbation: t.text(row, cols[4]).to_string(),
            value: t.opt_num(row, cols[5])?.unwrap_or(f64::NAN),
        });
    }
    Ok(out)
}

/// `logfc_examples.csv`: `model,covariates,perturbation,gene,observed,predicted`.
pub(crate) fn read_logfc_examples(
    path: &Path,
    ctx: &RunContext,
) -> Result<Vec<ScatterPoint>, ReportError> {
    let t = Table::read(path)?;
    let cols = t.cols(&EXAMPLES_HEADER)?;
    let mut out = Vec::with_capacity(t.rows.len());
    for row in &t.rows {
        out.push(ScatterPoint {
            dataset: ctx.dataset.clone(),
            task: ctx.task.clone(),
            model: t.text(row, cols[0]).to_string(),
            covariates: t.text(row, cols[1]).to_string(),
            perturbation: t.text(row, cols[2]).to_string(),
            gene: t.text(row, cols[3]).to_string(),
            observed: t.num(row, cols[4])?,
            predicted: t.num(row, cols[5])?,
        });
    }
    Ok(out)
}

/// Reads a JSON file that must hold an object.
fn read_json_object(path: &Path) -> Result<serde_json::Map<String, Value>, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|e| ReportError::io(path, e))?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ReportError::format(path, "expected a JSON object")),
        Err(e) => Err(ReportError::format(path, format!("not valid JSON: {e}"))),
    }
}

/// A JSON scalar as text (strings unquoted); `None` for null, arrays and objects.
fn scalar_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `job.json`: `{"model":..,"dataset":..,"task":..,"seed":..}`; every key optional, the seed a
/// number or a numeric string.
pub(crate) fn read_job(path: &Path) -> Result<(RunContext, Option<String>), ReportError> {
    let map = read_json_object(path)?;
    let seed = match map.get("seed") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.as_u64().ok_or_else(|| {
            ReportError::format(
                path,
                format!("key 'seed': expected a non-negative integer, got {n}"),
            )
        })?),
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().parse::<u64>().map_err(|_| {
            ReportError::format(
                path,
                format!("key 'seed': expected a non-negative integer, got '{s}'"),
            )
        })?),
        Some(other) => {
            return Err(ReportError::format(
                path,
                format!("key 'seed': expected a non-negative integer, got {other}"),
            ))
        }
    };
    let ctx = RunContext {
        dataset: scalar_text(map.get("dataset")).unwrap_or_default(),
        task: scalar_text(map.get("task")).unwrap_or_default(),
        seed,
    };
    Ok((ctx, scalar_text(map.get("model"))))
}

/// `run.json` (provenance): reads `version`, `config` (digested), `inputs` (`[{path, sha256,
/// role}]`) and `wall_seconds`; other keys and ill-typed values are ignored.
pub(crate) fn read_run_json(
    path: &Path,
    source: &str,
    ctx: &RunContext,
    models: Vec<String>,
) -> Result<Provenance, ReportError> {
    let map = read_json_object(path)?;
    let inputs = match map.get("inputs") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| match item {
                Value::Object(o) => Some(InputFile {
                    role: scalar_text(o.get("role")),
                    path: scalar_text(o.get("path")).unwrap_or_else(|| "?".into()),
                    sha256: scalar_text(o.get("sha256")),
                }),
                Value::String(s) => Some(InputFile {
                    role: None,
                    path: s.clone(),
                    sha256: None,
                }),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Provenance {
        source: source.to_string(),
        models,
        dataset: ctx.dataset.clone(),
        task: ctx.task.clone(),
        seed: ctx.seed,
        version: scalar_text(map.get("version")),
        config_digest: digest_of_run(&map),
        inputs,
        wall_seconds: map.get("wall_seconds").and_then(Value::as_f64),
    })
}

/// The digest of a run's configuration: `config`, with `model_config` and `trainer` when a
/// training run recorded them (so that two trainings with different settings differ).
fn digest_of_run(map: &serde_json::Map<String, Value>) -> Option<String> {
    let parts: serde_json::Map<String, Value> = ["config", "model_config", "trainer"]
        .iter()
        .filter_map(|k| map.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    match parts.len() {
        0 => None,
        1 if parts.contains_key("config") => Some(config_digest(&parts["config"])),
        _ => Some(config_digest(&Value::Object(parts))),
    }
}

/// `trials.csv`: `study,number,state,value,params`, one [`StudyHistory`] per distinct `study`
/// (in order of first appearance; extra columns are ignored). `best_yaml` is the text of
/// `best.yaml`, if any; a line `direction: maximize` (or `# direction: maximize`) in it makes
/// the studies maximise.
pub(crate) fn read_trials(
    path: &Path,
    source: &str,
    best_yaml: Option<String>,
) -> Result<Vec<StudyHistory>, ReportError> {
    let t = Table::read(path)?;
    let c = &TRIALS_COLUMNS; // the first five are read; attempts, worker, seconds may be absent
    let [s, n, st, v, p] = t.cols(&[c[0], c[1], c[2], c[3], c[4]])?;
    let direction = best_yaml.as_deref().map(yaml_direction).unwrap_or_default();
    let mut out: Vec<StudyHistory> = Vec::new();
    for row in &t.rows {
        let name = t.text(row, s);
        let number = t
            .opt_uint(row, n)?
            .ok_or_else(|| t.cell_error(row, n, "a trial number"))?;
        let state = TrialState::parse(t.text(row, st)).ok_or_else(|| {
            t.cell_error(row, st, "one of COMPLETE, FAIL, PRUNED, RUNNING, WAITING")
        })?;
        let value = t.opt_num(row, v)?;
        let ptext = t.text(row, p);
        let params = if ptext.is_empty() {
            BTreeMap::new()
        } else {
            match serde_json::from_str::<Value>(ptext) {
                Ok(Value::Object(o)) => o.into_iter().collect(),
                _ => return Err(t.cell_error(row, p, "a JSON object")),
            }
        };
        let trial = Trial {
            number,
            state,
            value,
            params,
        };
        match out.iter_mut().find(|h| h.name == name) {
            Some(h) => h.trials.push(trial),
            None => out.push(StudyHistory {
                name: name.to_string(),
                source: source.to_string(),
                direction,
                trials: vec![trial],
                best_yaml: best_yaml.clone(),
            }),
        }
    }
    Ok(out)
}

/// Direction from the text of `best.yaml`: a `direction:` line (also as a `# direction:`
/// comment) whose value starts with `max` selects maximisation.
fn yaml_direction(text: &str) -> Direction {
    for line in text.lines() {
        let line = line.trim().trim_start_matches('#').trim_start();
        if let Some(rest) = line.strip_prefix("direction:") {
            let v = rest.trim().trim_matches(|c| c == '"' || c == '\'');
            if v.to_ascii_lowercase().starts_with("max") {
                return Direction::Maximize;
            }
        }
    }
    Direction::Minimize
}

fn non_empty(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_string()
    }
}
