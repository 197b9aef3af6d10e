//! `perturbench benchmark`: run a suite (models × datasets × tasks × seeds) through the same
//! store and workers as tuning, so one machine or fifty run it the same way; then write the
//! leaderboard and the report.

use super::worker::{current_exe, launcher, Terminal};
use crate::Global;
use perturbench_experiment::orchestra::{run_benchmark, BenchmarkOptions};
use perturbench_hpo::storage;
use std::path::PathBuf;

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

impl From<Args> for BenchmarkOptions {
    fn from(a: Args) -> BenchmarkOptions {
        BenchmarkOptions {
            suite: a.suite,
            storage: a.storage,
            out: a.out,
            data_dir: a.data_dir,
            study: a.study,
            jobs: a.jobs,
            force_new: a.force_new,
            keep_predictions: a.keep_predictions,
            heartbeat: a.heartbeat,
            stale_after: a.stale_after,
        }
    }
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

/// Runs a suite and prints its leaderboard; returns the output directory's leaderboard path.
pub fn run_suite(a: &BenchmarkOptions, g: Global) -> anyhow::Result<PathBuf> {
    let exe = current_exe()?;
    let b = run_benchmark(a, launcher(&exe), &Terminal::new(g.quiet))?;
    let Some(stats) = b.stats else {
        if !g.quiet {
            println!(
                "queued; start workers with: perturbench worker --storage {} --study {}",
                storage::redact_url(&b.storage),
                b.study
            );
        }
        return Ok(b.leaderboard);
    };
    if !g.quiet {
        print_leaderboard(&b.header, &b.rows);
        println!(
            "\n{} jobs complete ({} in this process), {} failed; wrote {} and {}",
            b.rows.len(),
            stats.complete,
            b.failed.len(),
            b.leaderboard.display(),
            b.report.display()
        );
    }
    Ok(b.check()?)
}

/// `perturbench benchmark`.
pub fn run(a: Args, g: Global) -> anyhow::Result<()> {
    run_suite(&BenchmarkOptions::from(a), g).map(|_| ())
}
