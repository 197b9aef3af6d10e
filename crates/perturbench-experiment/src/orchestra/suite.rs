//! Benchmark suites: models × datasets × tasks × seeds, read from YAML (or the built-in
//! `demo` and `paper` suites) and expanded into jobs (one `perturbench train` each).

use crate::tree as run_config;
use crate::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::presets::SUITES;

/// A dataset simulated for the suite (written once into `OUT/data/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulateEntry {
    /// Simulator preset: small, norman-like, sciplex-like.
    pub preset: String,
    /// Cells (default: the preset's).
    #[serde(default)]
    pub cells: Option<usize>,
    /// Genes (default: the preset's).
    #[serde(default)]
    pub genes: Option<usize>,
    /// Distinct perturbations (default: the preset's).
    #[serde(default)]
    pub perturbations: Option<usize>,
    /// Seed of the simulation.
    #[serde(default = "default_sim_seed")]
    pub seed: u64,
}

fn default_sim_seed() -> u64 {
    42
}

/// One dataset of a suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetEntry {
    /// Name in the leaderboard.
    pub name: String,
    /// A processed .h5ad (relative to the suite file, or to `--data-dir` for built-in suites).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Or a simulated dataset.
    #[serde(default)]
    pub simulate: Option<SimulateEntry>,
    /// Tasks run on this dataset.
    pub tasks: Vec<String>,
    /// `train` items for every job on this dataset (e.g. `data=norman19`).
    #[serde(default)]
    pub args: Vec<String>,
}

/// A benchmark suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Name (the study's name in the store unless `--study` says otherwise).
    pub name: String,
    /// Models (names of `perturbench train --model`).
    pub models: Vec<String>,
    /// Datasets with their tasks.
    pub datasets: Vec<DatasetEntry>,
    /// Seeds (each sets the split's and the trainer's seed).
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// `train` items per task (built in: combination, transfer).
    #[serde(default)]
    pub tasks: BTreeMap<String, Vec<String>>,
    /// `train` items per model or per `dataset/model` (e.g. tuned presets).
    #[serde(default)]
    pub model_args: BTreeMap<String, Vec<String>>,
    /// `train` items of every job.
    #[serde(default)]
    pub args: Vec<String>,
}

fn default_seeds() -> Vec<u64> {
    vec![42]
}

/// `train` items of the built-in tasks.
fn builtin_task(task: &str) -> Option<Vec<String>> {
    match task {
        "combination" => Some(vec![
            "data.task=combination".into(),
            "data.max_heldout_fraction=0.7".into(),
        ]),
        "transfer" => Some(vec!["data.task=transfer".into()]),
        _ => None,
    }
}

/// One job: the parameters stored with its trial.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Run directory name.
    pub run: String,
    /// Model.
    pub model: String,
    /// Dataset name.
    pub dataset: String,
    /// Task name.
    pub task: String,
    /// Seed.
    pub seed: u64,
    /// `train` arguments (data file first).
    pub args: Vec<String>,
}

impl Job {
    /// The trial parameters: `run`, `job` (what the leaderboard shows) and `args`.
    pub fn params(&self) -> Map<String, Value> {
        let v = json!({
            "run": self.run,
            "job": {"model": self.model, "dataset": self.dataset, "task": self.task, "seed": self.seed},
            "args": self.args,
        });
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }
}

/// Reads a suite: a built-in name or a YAML/TOML file. Returns the suite and the directory
/// its relative data paths are resolved against (`data_dir` for built-in suites).
pub fn load(name_or_file: &str, data_dir: Option<&Path>) -> Result<(Suite, PathBuf)> {
    let (text, origin, base) =
        match SUITES.iter().find(|(n, _)| *n == name_or_file) {
            Some((_, t)) => (
                t.to_string(),
                format!("suite {name_or_file}"),
                data_dir
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from(".")),
            ),
            None => {
                let p = Path::new(name_or_file);
                if !p.exists() {
                    bail!(
                    "--suite {name_or_file}: neither a built-in suite ({}) nor an existing file",
                    SUITES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                );
                }
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("{name_or_file}: cannot read"))?;
                let base = data_dir
                    .map(Path::to_path_buf)
                    .or_else(|| p.parent().map(Path::to_path_buf))
                    .unwrap_or_else(|| PathBuf::from("."));
                (text, name_or_file.to_string(), base)
            }
        };
    let tree = run_config::parse_text(&text, &origin)?;
    let suite: Suite =
        serde_json::from_value(tree).with_context(|| format!("{origin}: not a valid suite"))?;
    if suite.models.is_empty() || suite.datasets.is_empty() || suite.seeds.is_empty() {
        bail!("{origin}: a suite needs at least one model, dataset and seed");
    }
    let mut names: Vec<&str> = Vec::new();
    for d in &suite.datasets {
        let safe = !d.name.is_empty()
            && d.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            && !d.name.starts_with('.');
        if !safe {
            bail!(
                "{origin}: dataset name '{}' must be letters, digits, '-', '_' or '.' (it names files)",
                d.name
            );
        }
        if names.contains(&d.name.as_str()) {
            bail!("{origin}: dataset '{}' is listed twice", d.name);
        }
        names.push(&d.name);
        if d.path.is_some() == d.simulate.is_some() {
            bail!(
                "{origin}: dataset '{}' needs exactly one of path and simulate",
                d.name
            );
        }
        for t in &d.tasks {
            if !suite.tasks.contains_key(t) && builtin_task(t).is_none() {
                bail!(
                    "{origin}: dataset '{}': unknown task '{t}' (define it under tasks: or use combination, transfer)",
                    d.name
                );
            }
        }
    }
    for (i, m) in suite.models.iter().enumerate() {
        if suite.models[..i].contains(m) {
            bail!("{origin}: model '{m}' is listed twice");
        }
    }
    let mut seeds = suite.seeds.clone();
    seeds.sort_unstable();
    seeds.dedup();
    if seeds.len() != suite.seeds.len() {
        bail!("{origin}: a seed is listed twice");
    }
    Ok((suite, base))
}

/// Where a dataset's file is: its path (resolved against `base`) or `data/NAME.h5ad` of the
/// output for simulated ones.
pub fn data_file(d: &DatasetEntry, base: &Path, out: &Path) -> PathBuf {
    match &d.path {
        Some(p) if p.is_absolute() => p.clone(),
        Some(p) => base.join(p),
        None => out.join("data").join(format!("{}.h5ad", d.name)),
    }
}

/// Checks that every dataset file exists (before any job runs) and expands the jobs.
pub fn jobs(suite: &Suite, base: &Path, out: &Path) -> Result<Vec<Job>> {
    let missing: Vec<String> = suite
        .datasets
        .iter()
        .filter(|d| d.path.is_some())
        .map(|d| data_file(d, base, out))
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "suite '{}': data file(s) missing: {} (pass --data-dir DIR for the built-in suites); no job was run",
            suite.name,
            missing.join(", ")
        );
    }
    let mut jobs = Vec::new();
    for d in &suite.datasets {
        let file = std::path::absolute(data_file(d, base, out))?;
        for t in &d.tasks {
            let task_args = suite
                .tasks
                .get(t)
                .cloned()
                .or_else(|| builtin_task(t))
                .unwrap_or_default();
            for m in &suite.models {
                for &seed in &suite.seeds {
                    let mut args = vec![file.display().to_string(), format!("model={m}")];
                    args.extend(d.args.iter().cloned());
                    args.extend(task_args.iter().cloned());
                    args.extend(suite.args.iter().cloned());
                    for key in [m.clone(), format!("{}/{m}", d.name)] {
                        if let Some(extra) = suite.model_args.get(&key) {
                            args.extend(extra.iter().cloned());
                        }
                    }
                    args.push(format!("data.seed={seed}"));
                    args.push(format!("trainer.seed={seed}"));
                    jobs.push(Job {
                        run: super::trial::sanitize(&format!("{}-{t}-{m}-s{seed}", d.name)),
                        model: m.clone(),
                        dataset: d.name.clone(),
                        task: t.clone(),
                        seed,
                        args,
                    });
                }
            }
        }
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_suites_parse_and_expand() {
        let dir = tempfile::tempdir().unwrap();
        let (demo, base) = load("demo", None).unwrap();
        let jobs = jobs(&demo, &base, dir.path()).unwrap();
        let n: usize = demo.datasets.iter().map(|d| d.tasks.len()).sum();
        assert_eq!(jobs.len(), n * demo.models.len() * demo.seeds.len());
        assert!(jobs
            .iter()
            .all(|j| j.args.iter().any(|a| a == "data.seed=42")));
        let (paper, base) = load("paper", Some(dir.path())).unwrap();
        let e = super::jobs(&paper, &base, dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("norman19") && e.contains("no job was run"),
            "{e}"
        );
    }
}
