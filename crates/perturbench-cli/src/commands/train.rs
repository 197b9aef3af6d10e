//! `perturbench train`: the command line of one experiment (see `perturbench-experiment`):
//! arguments resolved into a typed run configuration, the run, its progress and its table.

use super::evaluate::print_table;
use crate::{progress::Progress, Global};
use anyhow::Context;
use clap::ArgMatches;
use perturbench_experiment::flags::train::{ordered_items, TrainArgs};
use perturbench_experiment::{run_experiment, RunOptions};

/// Runs the command (`m`: its matches, for the order of the items).
pub fn run(a: TrainArgs, m: &ArgMatches, g: Global) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    let (items, data) = ordered_items(m)?;
    let config = a.config(&items, data.as_deref())?;
    if a.print_config {
        print!("{}", config.to_yaml());
        return Ok(());
    }
    config.data_path()?;
    config
        .data
        .task(perturbench_experiment::data_config::TRAIN_TASK_HOW)?;
    let out = a.out.context("no output directory: pass --out DIR")?;
    let progress = Progress::new(g.quiet);
    let done = run_experiment(
        &config,
        &RunOptions {
            out: out.clone(),
            resume: a.resume,
        },
        &progress,
    );
    progress.finish();
    let done = done?;
    for w in &done.evaluation.warnings {
        eprintln!("warning: {w}");
    }
    if !g.quiet {
        print_table(&done.evaluation);
        println!(
            "wrote {} ({:.2} s)",
            out.display(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
