//! `perturbench benchmark`: run a suite (models × datasets × tasks × seeds) through the same
//! store and workers as tuning, so one machine or fifty run it the same way; then write the
//! leaderboard and the report.

use super::worker::{current_exe, launcher, Terminal};
use crate::Global;
use perturbench_experiment::orchestra::{run_benchmark, BenchmarkOptions};
use perturbench_hpo::storage;
use std::path::PathBuf;

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
pub fn run(a: BenchmarkOptions, g: Global) -> anyhow::Result<()> {
    run_suite(&a, g).map(|_| ())
}
