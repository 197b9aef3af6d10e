//! Hyper-parameter optimisation of a model. A study (search space, sampler, objective and
//! the `train` arguments every trial shares) is created in a store or resumed; workers in this
//! process, and any worker on other machines pointed at the same store, run its trials; the
//! best parameters are exported as a configuration file that `perturbench train --config`
//! reads.

use super::exports::{best_yaml, write_trials_csv};
use super::study::{best_trial, parse_objective, SamplerConfig, StudyConfig, Synthetic};
use super::trial::{override_value, sanitize, Launcher};
use super::worker::{check_timing, positive_seconds, serve_local, Stats, WorkerOptions};
use super::Observer;
use crate::error::chain;
use crate::tree as run_config;
use crate::{bail, Context, Error, Result};
use perturbench_hpo::storage::{self, Direction, Study, StudySpec, TrialRecord, TrialState};
use perturbench_hpo::SearchSpace;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// How a study is tuned (the options of `perturbench tune`).
#[derive(clap::Args, Debug, Clone)]
pub struct TuneOptions {
    /// `hpo=NAME` (a built-in search space: linear_additive, latent_additive, decoder_only,
    /// cpa, sams_vae, sams_vae_modified, biolord), the data file, and `train`'s items (`model=`, `experiment=`,
    /// `data=`, `data.task=`, `seed=N`, `KEY=VALUE`) shared by every trial. They are checked
    /// before the study is created, as `train` would check them.
    #[arg(value_name = "ITEMS")]
    pub items: Vec<String>,
    /// `train` configuration files shared by every trial (repeatable).
    #[arg(long)]
    pub config: Vec<PathBuf>,
    /// A search-space file (YAML/JSON: `space: {model.lr: {type: float, low: .., high: .., log: true}, ...}`).
    #[arg(long)]
    pub space: Option<PathBuf>,
    /// Trials in the study (all states count; a resumed study runs only the missing ones).
    #[arg(long, default_value_t = 20)]
    pub trials: u32,
    /// Study name (resumed when it exists with the same search space).
    #[arg(long)]
    pub study: String,
    /// The store: `sqlite:///path/study.db` (default: OUT/study.db) or `postgresql://user@host:port/db`.
    #[arg(long)]
    pub storage: Option<String>,
    /// Workers in this process (0: only create the study, for `perturbench worker`s elsewhere).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Sampler: tpe (Optuna's defaults) or random.
    #[arg(long, default_value = "tpe", value_parser = ["tpe", "random"])]
    pub sampler: String,
    /// TPE models all parameters jointly (Optuna's multivariate TPE) instead of one by one.
    #[arg(long)]
    pub multivariate: bool,
    /// Random trials before TPE starts.
    #[arg(long, default_value_t = 10)]
    pub n_startup_trials: usize,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Objective (minimised): weighted sum of evaluation summary metrics.
    #[arg(long, default_value = "rmse_average=1.0,rmse_rank_average=0.1")]
    pub objective: String,
    /// Stop trials whose validation loss is worse than the median of completed trials.
    #[arg(long)]
    pub prune: bool,
    /// Replace an existing study of this name that has another search space.
    #[arg(long)]
    pub force_new: bool,
    /// Optimise the synthetic benchmark function (SECONDS per trial) instead of training: for
    /// testing a store and its workers.
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
    pub synthetic: Option<f64>,
    /// Seconds between heartbeats of this process's workers.
    #[arg(long, default_value_t = 10.0, value_parser = positive_seconds)]
    pub heartbeat: f64,
    /// A running trial without a heartbeat for this many seconds is re-queued.
    #[arg(long, default_value_t = 60.0, value_parser = positive_seconds)]
    pub stale_after: f64,
    /// Keep every trial's predictions.h5ad and reference.h5ad (removed once evaluated by default).
    #[arg(long)]
    pub keep_predictions: bool,
    /// Output: trials/ (every trial's run), trials.csv, best.yaml (default: a directory
    /// named after the study, in the current directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// What tuning did.
#[derive(Debug)]
pub struct TuneOutcome {
    /// The study.
    pub study: Study,
    /// The store's URL.
    pub storage: String,
    /// The output directory.
    pub out: PathBuf,
    /// What this process's workers did; `None` when the study was only created.
    pub stats: Option<Stats>,
    /// The study's trials after the workers stopped.
    pub trials: Vec<TrialRecord>,
    /// The best complete trial.
    pub best: Option<TrialRecord>,
}

impl TuneOutcome {
    /// An error when trials ran, none completed and some failed.
    pub fn check(&self) -> Result<()> {
        if self.stats.is_some()
            && self.best.is_none()
            && self.trials.iter().any(|t| t.state == TrialState::Fail)
        {
            bail!(
                "no trial of study '{}' completed; the failed trials' logs are in {}",
                self.study.spec.name,
                self.out.join("trials").display()
            );
        }
        Ok(())
    }
}

/// Reads a search-space file or preset text: `{model: NAME?, space: {...}}`.
fn parse_space(text: &str, origin: &str) -> Result<(Option<String>, SearchSpace)> {
    let v = run_config::parse_text(text, origin)?;
    let model = v.get("model").and_then(Value::as_str).map(str::to_string);
    let space = v
        .get("space")
        .with_context(|| format!("{origin}: no 'space' mapping"))?;
    let space = SearchSpace::from_json(space).with_context(|| format!("{origin}: search space"))?;
    if space.params.is_empty() {
        bail!("{origin}: the search space is empty");
    }
    Ok((model, space))
}

/// The synthetic benchmark function's space.
fn synthetic_space() -> SearchSpace {
    SearchSpace::from_json(&json!({
        "x": {"type": "float", "low": 1e-4, "high": 1.0, "log": true},
        "n": {"type": "int", "low": 1, "high": 9},
        "c": {"type": "categorical", "choices": ["a", "b", "c"]},
    }))
    .expect("static space")
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p)
        .with_context(|| format!("{}: cannot make the path absolute", p.display()))
}

/// The default store of an output directory.
pub fn default_storage(out: &Path) -> Result<String> {
    Ok(format!(
        "sqlite://{}",
        absolute(&out.join("study.db"))?.display()
    ))
}

/// How a tuning study takes its task.
const TUNE_TASK_HOW: &str = "data.task=NAME among tune's items (e.g. data.task=combination), or a data preset that sets one (data=norman19, data=sciplex3, data=mcfaline23)";

/// The trials' `train` settings resolved and checked in this process, as every trial's
/// `train` would check them before fitting (including whether the evaluation split has a
/// group that can be predicted); returns the resolved configuration as YAML. Errors name
/// `tune` and the setting.
fn check_trial_args(
    args: &[String],
    cache: &mut std::collections::BTreeMap<PathBuf, (perturbench_io::Frame, Vec<String>)>,
) -> Result<String> {
    let checked = crate::flags::config_from_args(args).and_then(|c| {
        crate::feasible::check_feasible(&c, TUNE_TASK_HOW, cache)?;
        Ok(c.to_yaml())
    });
    match checked {
        Ok(yaml) => Ok(yaml),
        Err(e) => bail!(
            "tune: the trials' train settings are invalid: {}",
            chain(&e)
        ),
    }
}

/// Creates or resumes the study, runs its missing trials with `a.jobs` workers of this
/// process, and writes `trials.csv` and `best.yaml`.
pub fn run_tune(
    a: &TuneOptions,
    launcher: Launcher<'_>,
    obs: &dyn Observer,
) -> Result<TuneOutcome> {
    let out_dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(sanitize(&a.study)));
    let out = absolute(&out_dir)?;
    let url = match &a.storage {
        Some(u) => u.clone(),
        None => default_storage(&out)?,
    };
    let objective = parse_objective(&a.objective)?;
    check_timing(a.heartbeat, a.stale_after)?;
    // Train arguments: data file and config files made absolute (workers run elsewhere).
    let mut train_args: Vec<String> = Vec::new();
    let mut hpo: Option<String> = None;
    for it in &a.items {
        if let Some(name) = it.strip_prefix("hpo=") {
            hpo = Some(name.trim_end_matches("_hpo").to_string());
        } else if let Some(path) = it.strip_prefix("data.path=") {
            train_args.push(format!(
                "data.path={}",
                absolute(Path::new(path))?.display()
            ));
        } else if it.contains('=') {
            train_args.push(it.clone());
        } else {
            train_args.push(absolute(Path::new(it))?.display().to_string());
        }
    }
    for c in &a.config {
        if !c.exists() {
            bail!("{}: --config file does not exist", c.display());
        }
        train_args.push("--config".into());
        train_args.push(absolute(c)?.display().to_string());
    }
    let (model, space) = if a.synthetic.is_some() {
        (None, synthetic_space())
    } else if let Some(p) = &a.space {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("{}: cannot read the search space", p.display()))?;
        parse_space(&text, &p.display().to_string())?
    } else if let Some(name) = &hpo {
        let spaces = crate::registry::search_spaces();
        let Some((_, text)) = spaces.iter().find(|(n, _)| n == name) else {
            bail!(
                "hpo={name}: no such search space (built in: {})",
                spaces
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        parse_space(text, &format!("hpo={name}"))?
    } else {
        bail!("no search space: pass hpo=NAME, --space FILE or --synthetic SECONDS");
    };
    if let Some(m) = model {
        // The space's model first, so that a user's experiment= or model.* still apply.
        train_args.insert(0, format!("model={m}"));
    }
    let mut data_cache = std::collections::BTreeMap::new();
    if a.synthetic.is_none() {
        // Fail now, not in every trial: the arguments with one sampled point must resolve,
        // and the evaluation split must have a group that can be predicted.
        let mut probe = train_args.clone();
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
        let p = space.sample(&mut perturbench_hpo::RandomSampler, &[], &mut rng);
        probe.extend(p.iter().map(|(k, v)| format!("{k}={}", override_value(v))));
        check_trial_args(&probe, &mut data_cache)?;
    }
    // Nothing is created before the settings are known to be valid.
    std::fs::create_dir_all(&out)
        .with_context(|| format!("{}: cannot create the output directory", out.display()))?;
    let mut store = storage::open(&url)?;
    let cfg = StudyConfig {
        train_args: train_args.clone(),
        objective: if a.synthetic.is_some() {
            Default::default()
        } else {
            objective
        },
        sampler: Some(SamplerConfig {
            name: a.sampler.clone(),
            seed: a.seed,
            n_startup_trials: a.n_startup_trials,
            n_ei_candidates: 24,
            multivariate: a.multivariate,
        }),
        out: out.clone(),
        prune: a.prune,
        synthetic: a.synthetic.map(|seconds| Synthetic { seconds }),
        keep_predictions: a.keep_predictions,
    };
    let spec = StudySpec {
        name: a.study.clone(),
        kind: if a.synthetic.is_some() {
            "synthetic".into()
        } else {
            "tune".into()
        },
        direction: Direction::Minimize,
        space: space.to_json(),
        config: serde_json::to_value(&cfg)?,
        n_trials: Some(a.trials),
    };
    let study = store
        .create_study(&spec, a.force_new)
        .map_err(|e| match e {
            storage::StorageError::StudyConflict { .. } => Error::msg(format!(
                "{e}; pass --force-new to replace it (its trials are deleted)"
            )),
            e => e.into(),
        })?;
    if a.force_new {
        // A replaced study's old trial directories (and resumable states) must not be reused.
        let _ = std::fs::remove_dir_all(out.join("trials").join(sanitize(&a.study)));
    }
    let done = store.trials(study.id)?.len() as u32;
    obs.note(&format!(
        "study '{}' in {}: {} of {} trials exist",
        a.study,
        store.describe(),
        done,
        a.trials
    ));
    let mut outcome = TuneOutcome {
        study: study.clone(),
        storage: url.clone(),
        out: out.clone(),
        stats: None,
        trials: Vec::new(),
        best: None,
    };
    if a.jobs == 0 {
        return Ok(outcome);
    }
    let wa = WorkerOptions {
        storage: url.clone(),
        study: Some(a.study.clone()),
        worker_id: None,
        heartbeat: a.heartbeat,
        stale_after: a.stale_after,
        poll: 1.0,
        max_attempts: 3,
    };
    let stats = serve_local(
        &wa,
        launcher,
        a.jobs,
        u64::from(a.trials.saturating_sub(done)),
        obs,
    )?;
    let trials = store.trials(study.id)?;
    write_trials_csv(&out.join("trials.csv"), &study, &trials)?;
    let best = best_trial(&study, &trials).cloned();
    if let Some(b) = &best {
        let mut args = train_args.clone();
        args.extend(
            b.params
                .iter()
                .map(|(k, v)| format!("{k}={}", override_value(v))),
        );
        let text = if a.synthetic.is_some() {
            format!("{}\n", serde_json::to_string_pretty(&b.params)?)
        } else {
            check_trial_args(&args, &mut data_cache)?
        };
        let yaml = best_yaml(
            b.number,
            &a.study,
            &a.objective,
            b.value.unwrap_or(f64::NAN),
            &text,
        );
        perturbench_io::write_atomic(&out.join("best.yaml"), yaml.as_bytes())?;
    }
    outcome.stats = Some(stats);
    outcome.trials = trials;
    outcome.best = best;
    Ok(outcome)
}
