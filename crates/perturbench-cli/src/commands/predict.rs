//! `perturbench predict`: counterfactual predictions of a saved model for a table of targets,
//! from the control cells of a data file.

use crate::{progress::Progress, Global};
use perturbench_experiment::predict::{predict_file, PredictOptions};
use perturbench_io::{write_h5ad, Compression, WriteOptions};
use std::path::PathBuf;

/// Options of `perturbench predict`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Checkpoint directory written by `perturbench train` (its `checkpoint/`).
    #[arg(long)]
    checkpoint: PathBuf,
    /// .h5ad file whose control cells are perturbed in silico.
    #[arg(long)]
    data: PathBuf,
    /// CSV with a header: the perturbation column and every covariate column of the model.
    #[arg(long)]
    targets: PathBuf,
    /// Output .h5ad: one predicted cell per (target row, sampled control cell).
    #[arg(long)]
    out: PathBuf,
    /// Control cells sampled per covariate combination.
    #[arg(long, default_value_t = 1000)]
    max_control_cells: usize,
    /// Seed of the control-cell sample.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Device of neural models: cpu, cuda or cuda:N (cuda needs the `cuda` build feature).
    #[arg(long, default_value = "cpu")]
    device: String,
}

/// Runs the command.
pub fn run(a: Args, g: Global) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    let progress = Progress::new(g.quiet);
    let (pred, n_targets) = predict_file(
        &PredictOptions {
            checkpoint: a.checkpoint,
            data: a.data,
            targets: a.targets,
            max_control_cells: a.max_control_cells,
            seed: a.seed,
            device: a.device,
        },
        &progress,
    )?;
    write_h5ad(
        &a.out,
        &pred,
        &WriteOptions {
            compression: Compression::None,
        },
    )?;
    progress.finish();
    if !g.quiet {
        println!(
            "wrote {} ({} cells for {} targets, {:.2} s)",
            a.out.display(),
            pred.n_obs(),
            n_targets,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
