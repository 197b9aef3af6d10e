//! `perturbench worker`: claim trials and benchmark jobs from a store and run them until none
//! are left. Any number of workers on any number of machines share one store; start them with
//! whatever launches processes (a shell loop, a Slurm array, a Kubernetes Job).

use super::study::{propose, StudyConfig};
use super::trial::Launcher;
use super::trial::{run_trial, Outcome, TrialSettings};
use super::Observer;
use crate::error::chain;
use crate::{bail, Context, Error, Result};
use perturbench_hpo::storage::{self, Storage, TrialState};
use std::time::Duration;

/// How a worker serves a store (the options of `perturbench worker`).
#[derive(clap::Args, Debug, Clone)]
pub struct WorkerOptions {
    /// The store: `sqlite:///path/study.db` or `postgresql://user@host:port/db`.
    #[arg(long)]
    pub storage: String,
    /// Serve only this study (default: every study in the store).
    #[arg(long)]
    pub study: Option<String>,
    /// This worker's name in the store (default: host name and process id).
    #[arg(long)]
    pub worker_id: Option<String>,
    /// Seconds between heartbeats.
    #[arg(long, default_value_t = 10.0, value_parser = positive_seconds)]
    pub heartbeat: f64,
    /// A running trial without a heartbeat for this many seconds is re-queued (use the same
    /// value on every machine).
    #[arg(long, default_value_t = 60.0, value_parser = positive_seconds)]
    pub stale_after: f64,
    /// Seconds to wait before looking again while other workers' trials are running.
    #[arg(long, default_value_t = 2.0, value_parser = positive_seconds)]
    pub poll: f64,
    /// A trial whose runs were cut short (its worker died) this many times is marked FAIL
    /// instead of being run again.
    #[arg(long, default_value_t = 3)]
    pub max_attempts: i64,
}

/// Parses a finite, positive number of seconds (a command-line value).
pub fn positive_seconds(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 1e7 => Ok(v),
        _ => Err(format!("expected a positive number of seconds, got '{s}'")),
    }
}

/// Checks that heartbeats come often enough for the stale limit.
pub fn check_timing(heartbeat: f64, stale_after: f64) -> Result<()> {
    if stale_after < 2.0 * heartbeat {
        bail!(
            "--stale-after ({stale_after} s) must be at least twice --heartbeat ({heartbeat} s), or live trials are re-queued"
        );
    }
    Ok(())
}

impl WorkerOptions {
    /// Checks that heartbeats come often enough for the stale limit and that a trial may run
    /// at least once.
    pub fn check(&self) -> Result<()> {
        check_timing(self.heartbeat, self.stale_after)?;
        if self.max_attempts < 1 {
            bail!("--max-attempts must be at least 1");
        }
        Ok(())
    }
}

/// What a worker did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    /// Trials that completed.
    pub complete: usize,
    /// Trials that failed.
    pub failed: usize,
    /// Trials stopped by the pruner.
    pub pruned: usize,
    /// Trials another worker took over while this one ran them.
    pub lost: usize,
}

/// The default worker name: host name, process id and a random tag (a restarted container
/// may get the same host name and process id; two live workers must never share a name).
pub fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "host".into());
    let tag: u32 = rand::random();
    format!("{}-{}-{:08x}", host.trim(), std::process::id(), tag)
}

/// Ends a trial, reconnecting and retrying when the store is briefly unreachable (the result
/// of a finished run is worth a few seconds of retries).
fn finish_with_retry(
    store: &mut Box<dyn Storage>,
    url: &str,
    trial_id: i64,
    worker: &str,
    outcome: &Outcome,
    obs: &dyn Observer,
) -> Result<bool> {
    let mut wait = Duration::from_millis(500);
    let mut attempt = 0;
    loop {
        match store.finish(
            trial_id,
            worker,
            outcome.state,
            outcome.value,
            &outcome.attrs,
        ) {
            Ok(done) => return Ok(done),
            Err(e) if attempt < 5 => {
                obs.warning(&format!(
                    "warning: recording trial {trial_id} failed ({e}); retrying"
                ));
                std::thread::sleep(wait);
                wait *= 2;
                attempt += 1;
                if let Ok(s) = storage::open(url) {
                    *store = s;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Runs trials until the served studies have neither waiting nor running trials and no room
/// for new ones, as `worker`. `obs` sees every finished trial.
pub fn serve(
    a: &WorkerOptions,
    launcher: Launcher<'_>,
    worker: &str,
    obs: &dyn Observer,
) -> Result<Stats> {
    let mut store = storage::open(&a.storage)?;
    let study_id = match &a.study {
        Some(name) => Some(
            store
                .study(name)?
                .with_context(|| format!("{}: no study named '{name}'", store.describe()))?
                .id,
        ),
        None => None,
    };
    a.check()?;
    let settings = TrialSettings {
        url: a.storage.clone(),
        worker: worker.to_string(),
        heartbeat_s: a.heartbeat,
        stale_after_s: a.stale_after,
    };
    let mut stats = Stats::default();
    loop {
        let requeued = store.requeue_stale(a.stale_after)?;
        if !requeued.is_empty() {
            obs.warning(&format!(
                "note: re-queued {} trial(s) whose worker stopped sending heartbeats",
                requeued.len()
            ));
        }
        let claimed = store.claim(study_id, worker, &mut |s, t| match propose(s, t) {
            Ok(p) => p,
            Err(e) => {
                obs.warning(&format!(
                    "warning: no new trial for study '{}': {e}",
                    s.spec.name
                ));
                None
            }
        })?;
        let Some(trial) = claimed else {
            if running_elsewhere(store.as_mut(), study_id)? {
                std::thread::sleep(Duration::from_secs_f64(a.poll.max(0.05)));
                continue;
            }
            return Ok(stats);
        };
        let study = store
            .studies()?
            .into_iter()
            .find(|s| s.id == trial.study_id)
            .context("the claimed trial's study disappeared")?;
        let cfg = StudyConfig::of(&study);
        let outcome = if trial.attempts > a.max_attempts {
            Ok(Some(Outcome {
                state: TrialState::Fail,
                value: None,
                attrs: [(
                    "error".to_string(),
                    format!(
                        "its runs were cut short {} times (the worker died or lost the store); not run again (--max-attempts {})",
                        trial.attempts - 1,
                        a.max_attempts
                    )
                    .into(),
                )]
                .into_iter()
                .collect(),
            }))
        } else {
            cfg.as_ref()
                .map_err(Error::msg)
                .and_then(|cfg| run_trial(store.as_mut(), launcher, &settings, &study, cfg, &trial))
        };
        let outcome = match outcome {
            Ok(Some(o)) => o,
            Ok(None) => {
                stats.lost += 1;
                continue;
            }
            Err(e) => Outcome {
                state: TrialState::Fail,
                value: None,
                attrs: [("error".to_string(), chain(&e).into())]
                    .into_iter()
                    .collect(),
            },
        };
        let mut outcome = outcome;
        if outcome.value.is_some_and(|v| !v.is_finite()) {
            outcome.attrs.insert(
                "error".into(),
                format!("the objective is not finite ({:?})", outcome.value).into(),
            );
            outcome.state = TrialState::Fail;
            outcome.value = None;
        }
        let ended = finish_with_retry(&mut store, &a.storage, trial.id, worker, &outcome, obs)?;
        if !ended {
            stats.lost += 1;
            continue;
        }
        if let Ok(StudyConfig {
            synthetic: Some(_),
            out,
            ..
        }) = &cfg
        {
            super::trial::log_line(
                &out.join("synthetic.log"),
                &format!("end {} {worker}", trial.number),
            )?;
        }
        match outcome.state {
            TrialState::Complete => stats.complete += 1,
            TrialState::Pruned => stats.pruned += 1,
            _ => {
                stats.failed += 1;
                if let Some(e) = outcome.attrs.get("error").and_then(|v| v.as_str()) {
                    obs.warning(&format!(
                        "warning: trial {} of study '{}' failed:\n{e}",
                        trial.number, study.spec.name
                    ));
                }
            }
        }
        obs.trial_done(worker, outcome.state);
    }
}

/// Whether a served study has a trial running (on another worker, which may die and leave it
/// to be re-queued).
fn running_elsewhere(store: &mut dyn Storage, study_id: Option<i64>) -> Result<bool> {
    let ids: Vec<i64> = match study_id {
        Some(id) => vec![id],
        None => store.studies()?.iter().map(|s| s.id).collect(),
    };
    for id in ids {
        if store
            .trials(id)?
            .iter()
            .any(|t| matches!(t.state, TrialState::Running | TrialState::Waiting))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Runs `jobs` workers in this process (threads; trials are child processes) until the work
/// runs out; `obs` is told of the `total` trials expected, each finished one, and the end.
pub fn serve_local(
    a: &WorkerOptions,
    launcher: Launcher<'_>,
    jobs: usize,
    total: u64,
    obs: &dyn Observer,
) -> Result<Stats> {
    obs.trials(total);
    let base = a.worker_id.clone().unwrap_or_else(default_worker_id);
    let results: Vec<Result<Stats>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs.max(1))
            .map(|j| {
                let name = if jobs > 1 {
                    format!("{base}-{j}")
                } else {
                    base.clone()
                };
                scope.spawn(move || serve(a, launcher, &name, obs))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::msg("a worker thread panicked")))
            })
            .collect()
    });
    obs.trials_done();
    let mut total = Stats::default();
    for r in results {
        let s = r?;
        total.complete += s.complete;
        total.failed += s.failed;
        total.pruned += s.pruned;
        total.lost += s.lost;
    }
    Ok(total)
}
