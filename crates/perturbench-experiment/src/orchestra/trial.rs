//! Running one claimed trial: a tuning trial or a benchmark job is a `perturbench train`
//! child process (its objective read from the evaluation summary it writes), a synthetic trial
//! is a benchmark function evaluated in place. While it runs, a second connection sends
//! heartbeats; intermediate values (the validation loss per epoch) are reported and, with the
//! median pruner on, a trial worse than the median is stopped.

use super::heartbeat::{die_with_parent, ChildGuard, Heartbeat};
use super::study::{objective_value, read_summary, StudyConfig, SYNTHETIC_STEPS};
use crate::error::chain;
use crate::{Context, Error, Result};
use perturbench_hpo::storage::{self, Study, TrialRecord, TrialState};
use perturbench_hpo::MedianPruner;
use serde_json::{Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// How a worker runs trials.
#[derive(Debug, Clone)]
pub struct TrialSettings {
    /// The store's URL (the heartbeat thread opens its own connection).
    pub url: String,
    /// This worker's name.
    pub worker: String,
    /// Seconds between heartbeats.
    pub heartbeat_s: f64,
    /// Seconds without a heartbeat after which a trial is re-queued (this worker stops its
    /// trial a little earlier when its heartbeats do not get through).
    pub stale_after_s: f64,
}

/// How trials are started: the `perturbench` executable whose `train --config FILE --out OUT`
/// runs a trial (its `train` argument list, the study's stored items and the trial's
/// parameters, is resolved here by [`crate::flags::config_from_args`]).
#[derive(Debug, Clone, Copy)]
pub struct Launcher<'a> {
    /// The executable to run (`perturbench`, or `python` under the Python module).
    pub exe: &'a Path,
    /// Arguments before `train` (empty for the binary; `-m perturbench` under Python).
    pub prefix: &'a [std::ffi::OsString],
}

/// How a trial ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Final state.
    pub state: TrialState,
    /// Objective (complete trials; the last intermediate value of pruned ones).
    pub value: Option<f64>,
    /// Attributes stored with the trial (output directory, metrics, error).
    pub attrs: Map<String, Value>,
}

/// The value of a JSON parameter on a `KEY=VALUE` command line.
pub fn override_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Appends one line to `path` (a single write, so concurrent workers do not interleave).
/// Synthetic studies log `start NUMBER WORKER` when a trial starts and `end NUMBER WORKER` once
/// its result is stored, in `OUT/synthetic.log`.
pub fn log_line(path: &Path, line: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("{}: cannot append", path.display()))?;
    f.write_all(format!("{line}\n").as_bytes())
        .with_context(|| format!("{}: cannot append", path.display()))?;
    Ok(())
}

/// The synthetic objective of the queue tests and cluster smoke tests: a bowl over
/// `x` (log-uniform, best 0.01), `n` (integer, best 5) and `c` (categorical, best "b").
pub fn synthetic_value(p: &Map<String, Value>) -> f64 {
    let x = p.get("x").and_then(Value::as_f64).unwrap_or(1.0).max(1e-12);
    let n = p.get("n").and_then(Value::as_f64).unwrap_or(0.0);
    let c = p.get("c").and_then(Value::as_str).unwrap_or("");
    (x / 1e-2).ln().powi(2) / 4.0 + (n - 5.0).powi(2) / 8.0 + if c == "b" { 0.0 } else { 1.0 }
}

/// The directory of a trial's run: `runs/NAME` for benchmark jobs, `trials/STUDY/NUMBER` for
/// tuning trials (several studies may share one output directory).
pub fn trial_dir(cfg: &StudyConfig, study: &Study, trial: &TrialRecord) -> (PathBuf, String) {
    match trial.params.get("run").and_then(Value::as_str) {
        Some(run) => (cfg.out.join("runs"), run.to_string()),
        None => (
            cfg.out.join("trials").join(sanitize(&study.spec.name)),
            format!("{:04}", trial.number),
        ),
    }
}

/// A file-name-safe version of `s`.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Runs `trial` of `study` to its end; `None` when it was lost to another worker.
pub fn run_trial(
    store: &mut dyn storage::Storage,
    launcher: Launcher<'_>,
    s: &TrialSettings,
    study: &Study,
    cfg: &StudyConfig,
    trial: &TrialRecord,
) -> Result<Option<Outcome>> {
    let hb = Heartbeat::start(
        &s.url,
        &s.worker,
        trial.id,
        s.heartbeat_s,
        0.8 * s.stale_after_s,
    )?;
    let pruner = cfg.prune.then(MedianPruner::default);
    let mut reported: Vec<(i64, f64)> = Vec::new();
    // Reports one intermediate value: Some(true) = prune, None = the trial was lost.
    let mut step_done =
        |store: &mut dyn storage::Storage, step: i64, value: f64| -> Result<Option<bool>> {
            if !value.is_finite() {
                return Ok(Some(false));
            }
            if !store.report(trial.id, &s.worker, step, value)? {
                return Ok(None);
            }
            reported.push((step, value));
            let Some(p) = &pruner else {
                return Ok(Some(false));
            };
            let completed: Vec<Vec<(i64, f64)>> = store
                .trials(study.id)?
                .into_iter()
                .filter(|t| t.state == TrialState::Complete)
                .map(|t| t.intermediate)
                .collect();
            Ok(Some(p.should_prune(step, &reported, &completed)))
        };
    if let Some(syn) = &cfg.synthetic {
        std::fs::create_dir_all(&cfg.out)
            .with_context(|| format!("{}: cannot create", cfg.out.display()))?;
        let log = cfg.out.join("synthetic.log");
        log_line(&log, &format!("start {} {}", trial.number, s.worker))?;
        let value = synthetic_value(&trial.params);
        for step in 0..SYNTHETIC_STEPS {
            std::thread::sleep(Duration::from_secs_f64(
                syn.seconds / SYNTHETIC_STEPS as f64,
            ));
            if hb.lost() {
                return Ok(None);
            }
            let remaining = (SYNTHETIC_STEPS - 1 - step) as f64 / (SYNTHETIC_STEPS - 1) as f64;
            let v = value + remaining;
            match step_done(store, step as i64, v)? {
                None => return Ok(None),
                Some(true) => {
                    return Ok(Some(Outcome {
                        state: TrialState::Pruned,
                        value: Some(v),
                        attrs: Map::new(),
                    }))
                }
                Some(false) => {}
            }
        }
        return Ok(Some(Outcome {
            state: TrialState::Complete,
            value: Some(value),
            attrs: Map::new(),
        }));
    }
    // A `perturbench train` child.
    let (dir, name) = trial_dir(cfg, study, trial);
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let out = dir.join(&name);
    let state_dir = dir.join(format!(".{name}.state"));
    let state_json = state_dir.join("state.json");
    // The trial's settings: the study's `train` arguments and the sampled point (or the
    // benchmark job's own arguments), resolved here into one configuration file that the
    // child `train` reads.
    let mut items: Vec<String> = cfg.train_args.clone();
    match trial.params.get("args") {
        // A benchmark job carries its own arguments.
        Some(Value::Array(a)) => items.extend(a.iter().map(override_value)),
        _ => items.extend(
            trial
                .params
                .iter()
                .map(|(k, v)| format!("{k}={}", override_value(v))),
        ),
    }
    let mut attrs = Map::new();
    let config = match crate::flags::config_from_args(&items) {
        Ok(c) => c,
        Err(e) => {
            attrs.insert("error".into(), Value::from(chain(&e)));
            return Ok(Some(Outcome {
                state: TrialState::Fail,
                value: None,
                attrs,
            }));
        }
    };
    let config_path = dir.join(format!("{name}.config.json"));
    config.write(&config_path)?;
    let mut args: Vec<String> = vec![
        "--quiet".into(),
        "train".into(),
        "--config".into(),
        config_path.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ];
    // A re-queued trial continues from the epoch its last run saved.
    if state_json.exists() {
        args.push("--resume".into());
    }
    let log_path = dir.join(format!("{name}.log"));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("{}: cannot create", log_path.display()))?;
    let exe = launcher.exe;
    let mut cmd = Command::new(exe);
    cmd.args(launcher.prefix)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    die_with_parent(&mut cmd);
    let mut child = ChildGuard(Some(
        cmd.spawn()
            .with_context(|| format!("cannot start {}", exe.display()))?,
    ));
    attrs.insert("out".into(), Value::from(out.display().to_string()));
    attrs.insert("log".into(), Value::from(log_path.display().to_string()));
    let mut seen_epochs = 0usize;
    let status = loop {
        if let Some(st) = child.child().try_wait()? {
            break st;
        }
        std::thread::sleep(Duration::from_millis(250));
        if hb.lost() {
            return Ok(None); // the guard kills the child
        }
        // Intermediate values: the validation loss of each finished epoch.
        for (epoch, loss) in epochs(&state_json).into_iter().skip(seen_epochs) {
            seen_epochs += 1;
            match step_done(store, epoch, loss)? {
                None => return Ok(None),
                Some(true) => {
                    drop(child);
                    // A pruned trial is never resumed.
                    let _ = std::fs::remove_dir_all(&state_dir);
                    return Ok(Some(Outcome {
                        state: TrialState::Pruned,
                        value: Some(loss),
                        attrs,
                    }));
                }
                Some(false) => {}
            }
        }
    };
    drop(hb);
    if !status.success() {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(12).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        attrs.insert("error".into(), Value::from(tail.join("\n")));
        return Ok(Some(Outcome {
            state: TrialState::Fail,
            value: None,
            attrs,
        }));
    }
    // Epochs that ended after the last look (the state is removed when training ends).
    for (epoch, loss) in logged_losses(&out.join("losses.csv"))
        .into_iter()
        .skip(seen_epochs)
    {
        if step_done(store, epoch, loss)?.is_none() {
            return Ok(None);
        }
    }
    if let Some(job) = trial.params.get("job") {
        perturbench_io::write_atomic(
            &out.join("job.json"),
            serde_json::to_string_pretty(job)?.as_bytes(),
        )?;
    }
    let summary = read_summary(&out.join("evaluation").join("summary.csv"))?;
    if !cfg.keep_predictions {
        for f in ["predictions.h5ad", "reference.h5ad"] {
            let _ = std::fs::remove_file(out.join(f));
        }
    }
    let metrics: Map<String, Value> = summary
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(*v)))
        .collect();
    attrs.insert("metrics".into(), Value::Object(metrics));
    let value = if cfg.objective.is_empty() {
        None
    } else {
        Some(objective_value(&cfg.objective, &summary).map_err(Error::msg)?)
    };
    Ok(Some(Outcome {
        state: TrialState::Complete,
        value,
        attrs,
    }))
}

/// (epoch, validation loss, else training loss) of the epochs a training state has logged.
fn epochs(state_json: &PathBuf) -> Vec<(i64, f64)> {
    let Ok(text) = std::fs::read_to_string(state_json) else {
        return Vec::new();
    };
    let Ok(v) = serde_json::from_str::<Value>(&text) else {
        return Vec::new();
    };
    v.get("log")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    let epoch = e.get("epoch")?.as_i64()?;
                    let loss = e
                        .get("val_loss")
                        .and_then(Value::as_f64)
                        .or_else(|| e.get("train_loss").and_then(Value::as_f64))?;
                    Some((epoch, loss))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// (epoch, validation loss, else training loss) of a finished run's `losses.csv`.
fn logged_losses(path: &Path) -> Vec<(i64, f64)> {
    let Ok(mut r) = csv::Reader::from_path(path) else {
        return Vec::new();
    };
    r.records()
        .filter_map(Result::ok)
        .filter_map(|rec| {
            let epoch = rec.get(0)?.parse().ok()?;
            let loss = rec
                .get(2)
                .and_then(|v| v.parse().ok())
                .or_else(|| rec.get(1)?.parse().ok())?;
            Some((epoch, loss))
        })
        .collect()
}
