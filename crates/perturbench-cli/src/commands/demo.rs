//! `perturbench demo`: the whole pipeline on built-in simulated data in a few minutes —
//! simulate Norman-like and sci-Plex-like datasets, split them (combination prediction and
//! covariate transfer), train the baselines and three networks, evaluate, print the
//! leaderboard and write the HTML report.

use super::benchmark::run_suite;
use crate::Global;
use perturbench_experiment::orchestra::BenchmarkOptions;
use std::path::PathBuf;

/// Options of `perturbench demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output directory.
    #[arg(long, default_value = "perturbench-demo")]
    out: PathBuf,
    /// Jobs run at once (each is a `perturbench train` process).
    #[arg(long, default_value_t = 2)]
    jobs: usize,
}

/// `perturbench demo`.
pub fn run(a: Args, g: Global) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    let b = BenchmarkOptions {
        suite: "demo".into(),
        storage: None,
        out: a.out.clone(),
        data_dir: None,
        study: None,
        jobs: a.jobs,
        force_new: false,
        keep_predictions: false,
        heartbeat: 10.0,
        stale_after: 60.0,
    };
    run_suite(&b, g)?;
    if !g.quiet {
        println!(
            "demo finished in {:.0} s; open {} in a browser",
            start.elapsed().as_secs_f64(),
            a.out.join("report.html").display()
        );
    }
    Ok(())
}
