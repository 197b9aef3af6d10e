//! Tuning studies and benchmark suites run through a store of trials: studies and what they
//! store ([`study`]), suites expanded into jobs ([`suite`]), one trial as a `perturbench train`
//! child process ([`trial`], kept alive by [`heartbeat`]s), workers that claim trials until
//! none are left ([`worker`]), and the two commands built on them, [`tune`] and [`benchmark`],
//! with their exported files ([`exports`]).

pub mod benchmark;
pub mod exports;
pub mod heartbeat;
pub mod study;
pub mod suite;
pub mod trial;
pub mod tune;
pub mod worker;

pub use benchmark::{run_benchmark, BenchmarkOptions, BenchmarkOutcome};
pub use trial::Launcher;
pub use tune::{run_tune, TuneOptions, TuneOutcome};
pub use worker::{serve, serve_local, Stats, WorkerOptions};

use perturbench_hpo::storage::TrialState;

/// What tuning, benchmarks and workers report while they go (progress display, messages);
/// every method has a default that ignores it.
pub trait Observer: Sync {
    /// A line about what is being done (shown unless the user asked for quiet).
    fn note(&self, _line: &str) {}
    /// A warning or note that does not stop the work (always shown; the line carries its
    /// `warning:` or `note:` prefix).
    fn warning(&self, _line: &str) {}
    /// A dataset of a suite is being simulated: `done` of `total` steps.
    fn simulating(&self, _done: u64, _total: u64) {}
    /// The simulation ended.
    fn simulated(&self) {}
    /// Workers of this process start on about `total` trials.
    fn trials(&self, _total: u64) {}
    /// `worker` finished a trial in `state`.
    fn trial_done(&self, _worker: &str, _state: TrialState) {}
    /// This process's workers stopped.
    fn trials_done(&self) {}
    /// The HTML report is being written.
    fn writing_report(&self) {}
    /// The report was written (or failed).
    fn report_written(&self) {}
}

/// An observer that reports nothing.
pub struct Quiet;
impl Observer for Quiet {}
