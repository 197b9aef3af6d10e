//! `perturbench benchmark`: run a suite (models × datasets × tasks × seeds) through the same
//! store and workers as tuning, so one machine or fifty run it the same way; then write the
//! leaderboard and the report.

use super::suite::{self, Job, Suite};
use super::worker::{serve_local, Args as WorkerArgs};
use crate::{progress, Global};
use anyhow::{bail, Context};
use perturbench_hpo::storage::{self, Direction, Storage, StudySpec, TrialState};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Options of `perturbench benchmark`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
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

/// Simulates the suite's simulated datasets that `out/data/` does not have yet.
fn prepare_data(s: &Suite, out: &Path, quiet: bool) -> anyhow::Result<()> {
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
            .map_err(|e| anyhow::anyhow!("suite '{}': dataset '{}': {e}", s.name, d.name))?;
        if !quiet {
            eprintln!("simulating {} ({})", d.name, sim.preset);
        }
        super::simulate::write_simulation(
            preset,
            sim.seed,
            (sim.cells, sim.genes, sim.perturbations),
            &file,
            quiet,
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
) -> anyhow::Result<()> {
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
        let fail = |e: anyhow::Error| {
            anyhow::anyhow!(
                "suite '{}': job {} (dataset {}, task {}, seed {}): {e:#}; no job was queued",
                s.name,
                j.run,
                j.dataset,
                j.task,
                j.seed
            )
        };
        let config = super::train::config_from_args(&j.args).map_err(fail)?;
        // The split's and the evaluation's settings, without the model and trainer ones.
        let key = config.split_key();
        if !seen.insert(key) {
            continue;
        }
        perturbench_experiment::feasible::check_feasible(&config, how, cache)
            .map_err(|e| fail(e.into()))?;
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
) -> anyhow::Result<storage::Study> {
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
        storage::StorageError::StudyConflict { .. } => anyhow::anyhow!(
            "{e}; pass --force-new to replace it (its results are deleted) or --study NAME"
        ),
        e => e.into(),
    })?;
    // Jobs with a complete, waiting or running trial are kept; the others (new, or failed
    // before) are queued (again), atomically: two machines queueing at once queue each once.
    let batch: Vec<_> = jobs.iter().map(Job::params).collect();
    store.enqueue_missing(study.id, "run", &batch)?;
    Ok(study)
}

/// One leaderboard row per complete job: job fields and every summary metric.
pub fn leaderboard(
    store: &mut dyn Storage,
    study: &storage::Study,
) -> anyhow::Result<(Vec<String>, Vec<Vec<String>>)> {
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
        let ids: BTreeMap<String, String> = ["model", "dataset", "task", "seed"]
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
    let mut header: Vec<String> = ["model", "dataset", "task", "seed"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(metrics.iter().cloned());
    let table = rows
        .iter()
        .map(|(ids, m)| {
            let mut r: Vec<String> = ["model", "dataset", "task", "seed"]
                .iter()
                .map(|k| ids[*k].clone())
                .collect();
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

/// Prints the leaderboard (4 significant digits), one block per dataset and task.
pub fn print_leaderboard(header: &[String], rows: &[Vec<String>]) {
    let shown: Vec<usize> = (4..header.len()).collect();
    let mut last = (String::new(), String::new());
    let w0 = rows.iter().map(|r| r[0].len()).max().unwrap_or(5).max(5);
    for r in rows {
        if (r[1].clone(), r[2].clone()) != last {
            last = (r[1].clone(), r[2].clone());
            println!("\n{} / {}", r[1], r[2]);
            print!("{:<w0$}  {:>4}", "model", "seed");
            for &c in &shown {
                print!("  {:>w$}", header[c], w = header[c].len().max(10));
            }
            println!();
        }
        print!("{:<w0$}  {:>4}", r[0], r[3]);
        for &c in &shown {
            let v = r[c]
                .parse::<f64>()
                .map(|v| format!("{v:.4}"))
                .unwrap_or_else(|_| "-".into());
            print!("  {:>w$}", v, w = header[c].len().max(10));
        }
        println!();
    }
}

/// Runs a suite and writes its outputs; returns the output directory's leaderboard path.
pub fn run_suite(a: &Args, g: Global) -> anyhow::Result<PathBuf> {
    super::worker::check_timing(a.heartbeat, a.stale_after)?;
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
    prepare_data(&s, &out, g.quiet)?;
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
    if !g.quiet {
        eprintln!(
            "suite '{}': {} jobs ({} to run) in {}",
            s.name,
            jobs.len(),
            left,
            store.describe()
        );
    }
    if a.jobs == 0 {
        if !g.quiet {
            println!(
                "queued; start workers with: perturbench worker --storage {} --study {name}",
                storage::redact_url(&url)
            );
        }
        return Ok(out.join("leaderboard.csv"));
    }
    let wa = WorkerArgs {
        storage: url.clone(),
        study: Some(name.clone()),
        worker_id: None,
        heartbeat: a.heartbeat,
        stale_after: a.stale_after,
        poll: 1.0,
        max_attempts: 3,
    };
    let stats = serve_local(&wa, a.jobs, left as u64, g)?;
    let (header, rows) = leaderboard(store.as_mut(), &study)?;
    let lb = out.join("leaderboard.csv");
    perturbench_io::write_csv_atomic(
        &lb,
        Some(&header.iter().map(String::as_str).collect::<Vec<_>>()),
        rows.clone(),
    )?;
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
    let sp = progress::spinner("writing the report", g.quiet);
    let report = super::report::write(std::slice::from_ref(&out), &out.join("report.html"));
    sp.finish_and_clear();
    if !g.quiet {
        print_leaderboard(&header, &rows);
        println!(
            "\n{} jobs complete ({} in this process), {} failed; wrote {} and {}",
            rows.len(),
            stats.complete,
            failed.len(),
            lb.display(),
            out.join("report.html").display()
        );
    }
    report?;
    if !failed.is_empty() {
        bail!("{} job(s) failed: {}", failed.len(), failed.join(", "));
    }
    Ok(lb)
}

/// `perturbench benchmark`.
pub fn run(a: Args, g: Global) -> anyhow::Result<()> {
    run_suite(&a, g).map(|_| ())
}
