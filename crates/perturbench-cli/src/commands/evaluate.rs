//! `perturbench evaluate`: score predictions against observed cells with PerturBench's
//! pipelines and write stable tables.

use crate::{progress::Progress, Global};
use anyhow::bail;
use perturbench_eval::EvalOutput;
use perturbench_experiment::cell_eval::CellEvalSetup;
use perturbench_experiment::evaluation::evaluate_files;
use perturbench_experiment::flags::EvalFlags;
use std::path::PathBuf;

/// Options of `perturbench evaluate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The observed cells (.h5ad).
    #[arg(long)]
    reference: PathBuf,
    /// A model's predicted cells as NAME=FILE.h5ad (repeatable).
    #[arg(long = "prediction", value_name = "NAME=FILE", required = true)]
    predictions: Vec<String>,
    /// Output directory (per_perturbation.csv, summary.csv, run.json).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    settings: EvalFlags,
    /// Skip the SHA-256 checksums of the inputs in run.json (computed alongside the evaluation,
    /// one thread per file; about 0.5 s per GB of input on one core).
    #[arg(long)]
    no_checksums: bool,
    /// Also score each prediction with cell-eval under this profile (full, vcc, minimal, pds,
    /// de, anndata): cell-eval's files in OUT/cell_eval/NAME/, its metrics in the tables with
    /// aggregation `cell-eval`.
    #[arg(long, value_name = "PROFILE", default_value = "none")]
    cell_eval: String,
}

/// 4 significant digits, as PerturBench's summaries.
fn sig4(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = 3 - v.abs().log10().floor() as i32;
    if digits >= 0 {
        format!("{:.*}", digits as usize, v)
    } else {
        format!("{:.0}", v)
    }
}

/// Prints the models × metric table (4 significant digits).
pub fn print_table(out: &EvalOutput) {
    let mut cols: Vec<String> = Vec::new();
    let mut models: Vec<String> = Vec::new();
    for s in &out.summary {
        let c = format!("{}_{}", s.metric, s.aggregation);
        if !cols.contains(&c) {
            cols.push(c);
        }
        if !models.contains(&s.model) {
            models.push(s.model.clone());
        }
    }
    let w0 = models.iter().map(|m| m.len()).max().unwrap_or(5).max(5);
    let widths: Vec<usize> = cols.iter().map(|c| c.len().max(10)).collect();
    print!("{:<w0$}", "model");
    for (c, w) in cols.iter().zip(&widths) {
        print!("  {c:>w$}");
    }
    println!();
    for m in &models {
        print!("{m:<w0$}");
        for (c, w) in cols.iter().zip(&widths) {
            let v = out
                .summary
                .iter()
                .find(|s| &s.model == m && &format!("{}_{}", s.metric, s.aggregation) == c)
                .map(|s| s.value);
            print!("  {:>w$}", v.map(sig4).unwrap_or_default());
        }
        println!();
    }
}

/// Runs the command.
pub fn run(a: Args, g: Global) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    let cfg = a.settings.resolve_for(|column| {
        let obs = perturbench_io::H5adReader::open(&a.reference)?.read_frame("obs")?;
        Ok(obs.column(column).is_some())
    })?;
    let cell_eval = CellEvalSetup::new(
        &a.cell_eval,
        &cfg.perturbation_key,
        &cfg.control,
        &cfg.covariate_keys,
    )?;
    let mut preds: Vec<(String, PathBuf)> = Vec::new();
    for p in &a.predictions {
        let Some((name, file)) = p.split_once('=') else {
            bail!("--prediction '{p}': expected NAME=FILE.h5ad")
        };
        if name.is_empty() || preds.iter().any(|(n, _)| n == name) {
            bail!("--prediction '{p}': model names must be non-empty and distinct");
        }
        preds.push((name.to_string(), PathBuf::from(file)));
    }
    let progress = Progress::new(g.quiet);
    let out = evaluate_files(
        &a.reference,
        &preds,
        &cfg,
        cell_eval.as_ref(),
        &a.out,
        !a.no_checksums,
        &progress,
    );
    progress.finish();
    let out = out?;
    for w in &out.warnings {
        eprintln!("warning: {w}");
    }
    if !g.quiet {
        print_table(&out);
        println!(
            "wrote {} ({:.2} s)",
            a.out.display(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
