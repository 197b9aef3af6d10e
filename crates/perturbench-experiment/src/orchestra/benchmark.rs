//! Benchmarks: a suite (models × datasets × tasks × seeds) run through the same store and
//! workers as tuning, so one machine or fifty run it the same way; then the leaderboard and
//! the report.

use super::exports::{leaderboard, write_leaderboard};
use super::suite::{self, Job, Suite};
use super::trial::Launcher;
use super::worker::{check_timing, serve_local, Stats, WorkerOptions};
use super::Observer;
use crate::error::chain;
use crate::{bail, Context, Error, Result};
use perturbench_data::simulator::{simulate, SimConfig};
use perturbench_hpo::storage::{self, Direction, Storage, StudySpec, TrialState};
use perturbench_io::{write_h5ad, Compression, WriteOptions};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How a suite is run (the options of `perturbench benchmark`).
#[derive(clap::Args, Debug, Clone)]
pub struct BenchmarkOptions {
    /// A built-in suite (demo, paper) or a suite file (YAML/TOML).
    #[arg(long)]
    pub suite: String,
    /// The store: `sqlite:///path.db` (default: OUT/benchmark.db) or `postgresql://user@host:port/db`.
    #[arg(long)]
    pub storage: Option<String>,
    /// Output: data/ (simulated datasets), runs/ (one train output per job),
    /// leaderboard.csv, report.html.
    #[arg(long)]
    pub out: PathBuf,
    /// Directory of the suite's data files (built-in suites; default: the current directory).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Study name in the store (default: the suite's name).
    #[arg(long)]
    pub study: Option<String>,
    /// Workers in this process (0: only queue the jobs for `perturbench worker`s elsewhere).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Replace a study of this name that holds another suite.
    #[arg(long)]
    pub force_new: bool,
    /// Keep every job's predictions.h5ad and reference.h5ad (removed once evaluated by default).
    #[arg(long)]
    pub keep_predictions: bool,
    /// Seconds between heartbeats of this process's workers.
    #[arg(long, default_value_t = 10.0)]
    pub heartbeat: f64,
    /// A running job without a heartbeat for this many seconds is re-queued.
    #[arg(long, default_value_t = 60.0)]
    pub stale_after: f64,
}

/// What a benchmark did.
#[derive(Debug)]
pub struct BenchmarkOutcome {
    /// The study's name in the store.
    pub study: String,
    /// The store's URL.
    pub storage: String,
    /// What this process's workers did; `None` when the jobs were only queued.
    pub stats: Option<Stats>,
    /// The leaderboard's header and rows (empty when the jobs were only queued).
    pub header: Vec<String>,
    /// One row per complete job.
    pub rows: Vec<Vec<String>>,
    /// `OUT/leaderboard.csv`.
    pub leaderboard: PathBuf,
    /// `OUT/report.html`.
    pub report: PathBuf,
    /// Why the report could not be written, if it could not.
    pub report_error: Option<Error>,
    /// Jobs without a complete run, with their logs.
    pub failed: Vec<String>,
}

impl BenchmarkOutcome {
    /// The leaderboard's path, or an error when the report could not be written or a job
    /// failed.
    pub fn check(self) -> Result<PathBuf> {
        if let Some(e) = self.report_error {
            return Err(e);
        }
        if !self.failed.is_empty() {
            bail!(
                "{} job(s) failed: {}",
                self.failed.len(),
                self.failed.join(", ")
            );
        }
        Ok(self.leaderboard)
    }
}

/// Simulates `preset` (with optional size overrides) into `out` (gzip), reporting progress.
fn write_simulation(
    preset: perturbench_data::simulator::Preset,
    seed: u64,
    sizes: (Option<usize>, Option<usize>, Option<usize>),
    out: &Path,
    obs: &dyn Observer,
) -> Result<()> {
    let cfg = SimConfig::preset(preset)
        .with_overrides(sizes.0, sizes.1, sizes.2)
        .context("invalid simulation sizes")?;
    let sim = simulate(&cfg, seed, &|done, total| obs.simulating(done, total));
    obs.simulated();
    let sim = sim?;
    write_h5ad(
        out,
        &sim.adata,
        &WriteOptions {
            compression: Compression::Gzip(4),
        },
    )?;
    Ok(())
}

/// Simulates the suite's simulated datasets that `out/data/` does not have yet.
fn prepare_data(s: &Suite, out: &Path, obs: &dyn Observer) -> Result<()> {
    for d in &s.datasets {
        let Some(sim) = &d.simulate else { continue };
        let file = suite::data_file(d, Path::new("."), out);
        if file.exists() {
            continue;
        }
        std::fs::create_dir_all(out.join("data"))?;
        let preset = sim
            .preset
            .parse()
            .map_err(|e| Error::msg(format!("suite '{}': dataset '{}': {e}", s.name, d.name)))?;
        obs.note(&format!("simulating {} ({})", d.name, sim.preset));
        write_simulation(
            preset,
            sim.seed,
            (sim.cells, sim.genes, sim.perturbations),
            &file,
            obs,
        )?;
    }
    Ok(())
}

/// Checks the `train` settings of the jobs on the suite's given (`simulated` false) or
/// simulated datasets as `train` would before fitting: valid items, a task, and an evaluation
/// split with a group that can be predicted. The split depends on the dataset, the task's and
/// the job's items and the seed, not on the model, so each distinct setting is checked once.
fn check_jobs(
    s: &Suite,
    jobs: &[Job],
    simulated: bool,
    cache: &mut BTreeMap<PathBuf, (perturbench_io::Frame, Vec<String>)>,
) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    let how = "data.task=NAME in the suite's task items (tasks: NAME: [data.task=...]) or a data preset in the dataset's args (data=norman19)";
    for j in jobs {
        let is_sim = s
            .datasets
            .iter()
            .any(|d| d.name == j.dataset && d.simulate.is_some());
        if is_sim != simulated {
            continue;
        }
        let fail = |e: Error| {
            Error::msg(format!(
                "suite '{}': job {} (dataset {}, task {}, seed {}): {}; no job was queued",
                s.name,
                j.run,
                j.dataset,
                j.task,
                j.seed,
                chain(&e)
            ))
        };
        let config = crate::flags::config_from_args(&j.args).map_err(fail)?;
        // The split's and the evaluation's settings, without the model and trainer ones.
        let key = config.split_key();
        if !seen.insert(key) {
            continue;
        }
        crate::feasible::check_feasible(&config, how, cache).map_err(fail)?;
    }
    Ok(())
}

/// Creates or resumes the suite's study and queues the jobs it lacks.
fn queue(
    store: &mut dyn Storage,
    name: &str,
    jobs: &[Job],
    out: &Path,
    force_new: bool,
    keep_predictions: bool,
) -> Result<storage::Study> {
    let listing: Vec<Value> = jobs.iter().map(|j| Value::Object(j.params())).collect();
    let cfg = super::study::StudyConfig {
        train_args: Vec::new(),
        objective: Default::default(),
        sampler: None,
        out: out.to_path_buf(),
        prune: false,
        synthetic: None,
        keep_predictions,
    };
    let spec = StudySpec {
        name: name.to_string(),
        kind: "benchmark".into(),
        direction: Direction::Minimize,
        space: Value::Array(listing),
        config: serde_json::to_value(&cfg)?,
        n_trials: None,
    };
    let study = store.create_study(&spec, force_new).map_err(|e| match e {
        storage::StorageError::StudyConflict { .. } => Error::msg(format!(
            "{e}; pass --force-new to replace it (its results are deleted) or --study NAME"
        )),
        e => e.into(),
    })?;
    // Jobs with a complete, waiting or running trial are kept; the others (new, or failed
    // before) are queued (again), atomically: two machines queueing at once queue each once.
    let batch: Vec<_> = jobs.iter().map(Job::params).collect();
    store.enqueue_missing(study.id, "run", &batch)?;
    Ok(study)
}

/// Runs a suite: checks every job, simulates the suite's simulated datasets, queues the jobs
/// in the store, runs them with `a.jobs` workers of this process, and writes the leaderboard
/// and the report.
pub fn run_benchmark(
    a: &BenchmarkOptions,
    launcher: Launcher<'_>,
    obs: &dyn Observer,
) -> Result<BenchmarkOutcome> {
    check_timing(a.heartbeat, a.stale_after)?;
    let (s, base) = suite::load(&a.suite, a.data_dir.as_deref())?;
    let out = std::path::absolute(&a.out)
        .with_context(|| format!("{}: cannot make the path absolute", a.out.display()))?;
    // Every given data file must exist before anything is queued or run.
    let jobs = suite::jobs(&s, &base, &out)?;
    // Every job's settings and split are checked before anything is created: the given
    // datasets now, the simulated ones once simulated (their files do not exist before).
    let mut cache = BTreeMap::new();
    check_jobs(&s, &jobs, false, &mut cache)?;
    std::fs::create_dir_all(&out)
        .with_context(|| format!("{}: cannot create the output directory", a.out.display()))?;
    prepare_data(&s, &out, obs)?;
    check_jobs(&s, &jobs, true, &mut cache)?;
    let url = match &a.storage {
        Some(u) => u.clone(),
        None => format!(
            "sqlite://{}",
            std::path::absolute(out.join("benchmark.db"))?.display()
        ),
    };
    let mut store = storage::open(&url)?;
    let name = a.study.clone().unwrap_or_else(|| s.name.clone());
    let study = queue(
        store.as_mut(),
        &name,
        &jobs,
        &out,
        a.force_new,
        a.keep_predictions,
    )?;
    let left = store
        .trials(study.id)?
        .iter()
        .filter(|t| matches!(t.state, TrialState::Waiting | TrialState::Running))
        .count();
    obs.note(&format!(
        "suite '{}': {} jobs ({} to run) in {}",
        s.name,
        jobs.len(),
        left,
        store.describe()
    ));
    let mut outcome = BenchmarkOutcome {
        study: name.clone(),
        storage: url.clone(),
        stats: None,
        header: Vec::new(),
        rows: Vec::new(),
        leaderboard: out.join("leaderboard.csv"),
        report: out.join("report.html"),
        report_error: None,
        failed: Vec::new(),
    };
    if a.jobs == 0 {
        return Ok(outcome);
    }
    let wa = WorkerOptions {
        storage: url.clone(),
        study: Some(name.clone()),
        worker_id: None,
        heartbeat: a.heartbeat,
        stale_after: a.stale_after,
        poll: 1.0,
        max_attempts: 3,
    };
    outcome.stats = Some(serve_local(&wa, launcher, a.jobs, left as u64, obs)?);
    let (header, rows) = leaderboard(store.as_mut(), &study)?;
    write_leaderboard(&outcome.leaderboard, &header, &rows)?;
    // Jobs without a complete run (a job that failed once and then completed is not listed).
    let trials = store.trials(study.id)?;
    let run_of = |t: &storage::TrialRecord| {
        t.params
            .get("run")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    let complete: Vec<String> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .map(run_of)
        .collect();
    let mut failed: Vec<String> = trials
        .iter()
        .filter(|t| t.state == TrialState::Fail && !complete.contains(&run_of(t)))
        .map(|t| {
            let run = run_of(t);
            format!("{run} (log: {}/runs/{run}.log)", out.display())
        })
        .collect();
    failed.dedup();
    obs.writing_report();
    outcome.report_error = write_report(std::slice::from_ref(&out), &outcome.report).err();
    obs.report_written();
    outcome.header = header;
    outcome.rows = rows;
    outcome.failed = failed;
    Ok(outcome)
}

/// Reads `dirs` and writes the HTML report to `out` (atomically).
pub fn write_report(dirs: &[PathBuf], out: &Path) -> Result<()> {
    let input = perturbench_report::load(dirs)?;
    let html = perturbench_report::render(&input);
    perturbench_io::write_atomic(out, html.as_bytes())?;
    Ok(())
}
