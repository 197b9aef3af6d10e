//! `perturbench tune`: hyper-parameter optimisation of a model. A study (search space,
//! sampler, objective and the `train` arguments every trial shares) is created in a store or
//! resumed; workers in this process (`--jobs`), and any `perturbench worker` on other machines
//! pointed at the same store, run its trials; the best parameters are exported as a
//! configuration file that `perturbench train --config` reads.

use super::worker::{current_exe, launcher, positive_seconds, Terminal};
use crate::Global;
use perturbench_experiment::orchestra::{run_tune, TuneOptions};
use perturbench_hpo::storage::{self, TrialState};
use serde_json::Value;
use std::path::PathBuf;

/// Options of `perturbench tune`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// `hpo=NAME` (a built-in search space: linear_additive, latent_additive, decoder_only,
    /// cpa, sams_vae, sams_vae_modified, biolord), the data file, and `train`'s items (`model=`, `experiment=`,
    /// `data=`, `data.task=`, `seed=N`, `KEY=VALUE`) shared by every trial. They are checked
    /// before the study is created, as `train` would check them.
    #[arg(value_name = "ITEMS")]
    items: Vec<String>,
    /// `train` configuration files shared by every trial (repeatable).
    #[arg(long)]
    config: Vec<PathBuf>,
    /// A search-space file (YAML/JSON: `space: {model.lr: {type: float, low: .., high: .., log: true}, ...}`).
    #[arg(long)]
    space: Option<PathBuf>,
    /// Trials in the study (all states count; a resumed study runs only the missing ones).
    #[arg(long, default_value_t = 20)]
    trials: u32,
    /// Study name (resumed when it exists with the same search space).
    #[arg(long)]
    study: String,
    /// The store: `sqlite:///path/study.db` (default: OUT/study.db) or `postgresql://user@host:port/db`.
    #[arg(long)]
    storage: Option<String>,
    /// Workers in this process (0: only create the study, for `perturbench worker`s elsewhere).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Sampler: tpe (Optuna's defaults) or random.
    #[arg(long, default_value = "tpe", value_parser = ["tpe", "random"])]
    sampler: String,
    /// TPE models all parameters jointly (Optuna's multivariate TPE) instead of one by one.
    #[arg(long)]
    multivariate: bool,
    /// Random trials before TPE starts.
    #[arg(long, default_value_t = 10)]
    n_startup_trials: usize,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Objective (minimised): weighted sum of evaluation summary metrics.
    #[arg(long, default_value = "rmse_average=1.0,rmse_rank_average=0.1")]
    objective: String,
    /// Stop trials whose validation loss is worse than the median of completed trials.
    #[arg(long)]
    prune: bool,
    /// Replace an existing study of this name that has another search space.
    #[arg(long)]
    force_new: bool,
    /// Optimise the synthetic benchmark function (SECONDS per trial) instead of training: for
    /// testing a store and its workers.
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
    synthetic: Option<f64>,
    /// Seconds between heartbeats of this process's workers.
    #[arg(long, default_value_t = 10.0, value_parser = positive_seconds)]
    heartbeat: f64,
    /// A running trial without a heartbeat for this many seconds is re-queued.
    #[arg(long, default_value_t = 60.0, value_parser = positive_seconds)]
    stale_after: f64,
    /// Keep every trial's predictions.h5ad and reference.h5ad (removed once evaluated by default).
    #[arg(long)]
    keep_predictions: bool,
    /// Output: trials/ (every trial's run), trials.csv, best.yaml (default: a directory
    /// named after the study, in the current directory).
    #[arg(long)]
    out: Option<PathBuf>,
}

impl From<Args> for TuneOptions {
    fn from(a: Args) -> TuneOptions {
        TuneOptions {
            items: a.items,
            config: a.config,
            space: a.space,
            trials: a.trials,
            study: a.study,
            storage: a.storage,
            jobs: a.jobs,
            sampler: a.sampler,
            multivariate: a.multivariate,
            n_startup_trials: a.n_startup_trials,
            seed: a.seed,
            objective: a.objective,
            prune: a.prune,
            force_new: a.force_new,
            synthetic: a.synthetic,
            heartbeat: a.heartbeat,
            stale_after: a.stale_after,
            keep_predictions: a.keep_predictions,
            out: a.out,
        }
    }
}

/// `perturbench tune`.
pub fn run(a: Args, g: Global) -> anyhow::Result<()> {
    let a = TuneOptions::from(a);
    let exe = current_exe()?;
    let t = run_tune(&a, launcher(&exe), &Terminal::new(g.quiet))?;
    let Some(stats) = t.stats else {
        if !g.quiet {
            println!(
                "created; start workers with: perturbench worker --storage {} --study {}",
                storage::redact_url(&t.storage),
                a.study
            );
        }
        return Ok(());
    };
    if !g.quiet {
        let trials = &t.trials;
        let out = &t.out;
        let count = |s: TrialState| trials.iter().filter(|t| t.state == s).count();
        println!(
            "study '{}': {} complete, {} pruned, {} failed (this process: {} complete)",
            a.study,
            count(TrialState::Complete),
            count(TrialState::Pruned),
            count(TrialState::Fail),
            stats.complete
        );
        match &t.best {
            Some(b) => println!(
                "best: trial {} value {:.6} {}\nwrote {}/trials.csv and {}/best.yaml",
                b.number,
                b.value.unwrap_or(f64::NAN),
                Value::Object(b.params.clone()),
                out.display(),
                out.display()
            ),
            None => println!("no complete trial; wrote {}/trials.csv", out.display()),
        }
    }
    t.check()?;
    Ok(())
}
