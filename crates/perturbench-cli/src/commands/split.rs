//! `perturbench split`: train/val/test labels for a benchmark task.

use crate::Global;
use perturbench_data::split::summarize;
use perturbench_experiment::flags::SplitFlags;
use perturbench_io::{write_csv_atomic, H5adReader};
use std::path::PathBuf;

/// Options of `perturbench split`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .h5ad file (only obs is read).
    data: PathBuf,
    /// Output CSV: `cell_id,split` with train/val/test or empty (excluded).
    #[arg(long)]
    out: PathBuf,
    /// Also write the summary table (per covariate: perturbations in train/val/test).
    #[arg(long)]
    summary: Option<PathBuf>,
    #[command(flatten)]
    opts: SplitFlags,
}

/// Runs the command.
pub fn run(a: Args, g: Global) -> anyhow::Result<()> {
    let opts = a.opts.data_config()?;
    opts.task("--task combination")?;
    let source = a.data.display().to_string();
    let reader = H5adReader::open(&a.data)?;
    let obs = reader.read_frame("obs")?;
    let (_, design, split) = opts.build_split(&obs, &source, &|line| {
        if !g.quiet {
            println!("{line}")
        }
    })?;
    let rows = obs
        .index
        .iter()
        .zip(&split.labels)
        .map(|(id, l)| vec![id.as_str(), l.map_or("", |l| l.as_str())]);
    write_csv_atomic(&a.out, Some(&["cell_id", "split"]), rows)?;
    let summary = summarize(&design, &split);
    if let Some(path) = &a.summary {
        let rows = summary.iter().map(|r| {
            vec![
                r.covariates.clone(),
                r.train.to_string(),
                r.val.to_string(),
                r.test.to_string(),
            ]
        });
        write_csv_atomic(path, Some(&["covariates", "train", "val", "test"]), rows)?;
    }
    if !g.quiet {
        let (tr, va, te, none) = split.counts();
        println!(
            "{}: cells train {tr} / val {va} / test {te} / excluded {none} -> {}",
            split.key,
            a.out.display()
        );
        let w = summary
            .iter()
            .map(|r| r.covariates.len())
            .max()
            .unwrap_or(10)
            .max(10);
        println!(
            "{:<w$}  {:>6}  {:>6}  {:>6}   (perturbations incl. control)",
            "covariates", "train", "val", "test"
        );
        for r in &summary {
            println!(
                "{:<w$}  {:>6}  {:>6}  {:>6}",
                r.covariates, r.train, r.val, r.test
            );
        }
    }
    Ok(())
}
