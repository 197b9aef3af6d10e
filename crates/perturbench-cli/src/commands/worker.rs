//! `perturbench worker`: claim trials and benchmark jobs from a store and run them until none
//! are left. Any number of workers on any number of machines share one store; start them with
//! whatever launches processes (a shell loop, a Slurm array, a Kubernetes Job). Also the
//! terminal display and the trial launcher that tune and benchmark share.

use crate::SelfCommand;
use crate::{progress, Global};
use indicatif::ProgressBar;
use perturbench_experiment::orchestra::{self, Launcher, Observer, WorkerOptions};
use perturbench_hpo::storage::TrialState;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The command that runs every trial as `perturbench train` (this executable, or what the
/// Python module set).
pub fn current_exe() -> anyhow::Result<SelfCommand> {
    crate::self_command::self_command()
}

/// The launcher of trials: `exe [prefix] train`.
pub fn launcher(cmd: &SelfCommand) -> Launcher<'_> {
    Launcher {
        exe: &cmd.exe,
        prefix: &cmd.prefix,
    }
}

/// Tune's and benchmark's progress on the terminal: notes (unless quiet), warnings (always),
/// bars over the simulation and the trials, a spinner while the report is written.
pub struct Terminal {
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Terminal {
    /// A display that shows only warnings when `quiet`.
    pub fn new(quiet: bool) -> Terminal {
        Terminal {
            quiet,
            bar: Mutex::new(None),
        }
    }

    fn start(&self, pb: ProgressBar) {
        *self.bar.lock().unwrap() = Some(pb);
    }

    fn clear(&self) {
        if let Some(pb) = self.bar.lock().unwrap().take() {
            pb.finish_and_clear();
        }
    }
}

impl Observer for Terminal {
    fn note(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }
    fn warning(&self, line: &str) {
        eprintln!("{line}");
    }
    fn simulating(&self, done: u64, total: u64) {
        let mut bar = self.bar.lock().unwrap();
        let pb = bar.get_or_insert_with(|| progress::bar(0, "simulating", self.quiet));
        pb.set_length(total);
        pb.set_position(done);
    }
    fn simulated(&self) {
        self.clear();
    }
    fn trials(&self, total: u64) {
        self.start(progress::bar(total, "trials", self.quiet));
    }
    fn trial_done(&self, _worker: &str, _state: TrialState) {
        if let Some(pb) = self.bar.lock().unwrap().as_ref() {
            pb.inc(1);
        }
    }
    fn trials_done(&self) {
        self.clear();
    }
    fn writing_report(&self) {
        self.start(progress::spinner("writing the report", self.quiet));
    }
    fn report_written(&self) {
        self.clear();
    }
}

/// A lone worker's spinner: trials done and the state of the last one.
struct WorkerDisplay {
    spinner: ProgressBar,
    done: AtomicUsize,
}

impl Observer for WorkerDisplay {
    fn warning(&self, line: &str) {
        eprintln!("{line}");
    }
    fn trial_done(&self, worker: &str, state: TrialState) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.spinner
            .set_message(format!("worker {worker}: {n} trial(s) done, last {state}"));
    }
}

/// `perturbench worker`.
pub fn run(opts: WorkerOptions, g: Global) -> anyhow::Result<()> {
    let worker = opts
        .worker_id
        .clone()
        .unwrap_or_else(orchestra::worker::default_worker_id);
    let display = WorkerDisplay {
        spinner: progress::spinner(&format!("worker {worker}"), g.quiet),
        done: AtomicUsize::new(0),
    };
    let exe = current_exe()?;
    let stats = orchestra::serve(&opts, launcher(&exe), &worker, &display)?;
    display.spinner.finish_and_clear();
    if !g.quiet {
        println!(
            "worker {worker}: {} complete, {} failed, {} pruned, {} taken over by others; no work left",
            stats.complete, stats.failed, stats.pruned, stats.lost
        );
    }
    Ok(())
}
