//! The files a study or a suite exports, defined once: `trials.csv` (every trial of a
//! study), `best.yaml` (the best trial as a `train` configuration) and `leaderboard.csv` (one
//! row per complete benchmark job). The report reads them (perturbench-report's `formats`).

use crate::Result;
use perturbench_hpo::storage::{self, Storage, Study, TrialRecord, TrialState};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

pub use perturbench_report::tables::{LEADERBOARD_KEYS, TRIALS_COLUMNS};

/// Writes `trials.csv` ([`TRIALS_COLUMNS`]).
pub fn write_trials_csv(path: &Path, study: &Study, trials: &[TrialRecord]) -> Result<()> {
    let rows = trials.iter().map(|t| {
        vec![
            study.spec.name.clone(),
            t.number.to_string(),
            t.state.to_string(),
            t.value.map(|v| v.to_string()).unwrap_or_default(),
            Value::Object(t.params.clone()).to_string(),
            t.attempts.to_string(),
            t.worker.clone().unwrap_or_default(),
            match (t.started, t.finished) {
                (Some(a), Some(b)) => format!("{:.3}", b - a),
                _ => String::new(),
            },
        ]
    });
    perturbench_io::write_csv_atomic(path, Some(&TRIALS_COLUMNS), rows)?;
    Ok(())
}

/// The text of `best.yaml`: a comment naming the best trial (its `number`, the study, the
/// objective and its `value`) above `body` (the resolved `train` configuration).
pub fn best_yaml(number: i64, study: &str, objective: &str, value: f64, body: &str) -> String {
    format!(
        "# Best trial {number} of study '{study}' (objective {objective} = {value}).\n# Train with: perturbench train --config best.yaml\n{body}"
    )
}

/// One leaderboard row per complete job: job fields and every summary metric.
pub fn leaderboard(
    store: &mut dyn Storage,
    study: &storage::Study,
) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let mut metrics: Vec<String> = Vec::new();
    let mut rows: Vec<(BTreeMap<String, String>, BTreeMap<String, f64>)> = Vec::new();
    let mut seen_runs: Vec<String> = Vec::new();
    for t in store.trials(study.id)? {
        if t.state != TrialState::Complete {
            continue;
        }
        // One row per job, even if it was queued twice.
        let run = t
            .params
            .get("run")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if seen_runs.contains(&run) {
            continue;
        }
        seen_runs.push(run);
        let job = t.params.get("job").cloned().unwrap_or(Value::Null);
        let field = |k: &str| match job.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        };
        let ids: BTreeMap<String, String> = LEADERBOARD_KEYS
            .iter()
            .map(|k| (k.to_string(), field(k)))
            .collect();
        let mut m = BTreeMap::new();
        if let Some(Value::Object(o)) = t.attrs.get("metrics") {
            for (k, v) in o {
                if !metrics.contains(k) {
                    metrics.push(k.clone());
                }
                m.insert(k.clone(), v.as_f64().unwrap_or(f64::NAN));
            }
        }
        rows.push((ids, m));
    }
    rows.sort_by(|a, b| {
        (&a.0["dataset"], &a.0["task"], &a.0["model"], &a.0["seed"]).cmp(&(
            &b.0["dataset"],
            &b.0["task"],
            &b.0["model"],
            &b.0["seed"],
        ))
    });
    let mut header: Vec<String> = LEADERBOARD_KEYS.iter().map(|s| s.to_string()).collect();
    header.extend(metrics.iter().cloned());
    let table = rows
        .iter()
        .map(|(ids, m)| {
            let mut r: Vec<String> = LEADERBOARD_KEYS.iter().map(|k| ids[*k].clone()).collect();
            r.extend(
                metrics
                    .iter()
                    .map(|k| m.get(k).map(|v| v.to_string()).unwrap_or_default()),
            );
            r
        })
        .collect();
    Ok((header, table))
}

/// Writes `leaderboard.csv` (`header` and `rows` of [`leaderboard`]).
pub fn write_leaderboard(path: &Path, header: &[String], rows: &[Vec<String>]) -> Result<()> {
    perturbench_io::write_csv_atomic(
        path,
        Some(&header.iter().map(String::as_str).collect::<Vec<_>>()),
        rows.to_vec(),
    )?;
    Ok(())
}
