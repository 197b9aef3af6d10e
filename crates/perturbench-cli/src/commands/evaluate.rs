//! `perturbench evaluate`: score predictions against observed cells with PerturBench's
//! pipelines and write stable tables.

use crate::{progress::Progress, Global};
use anyhow::{bail, Context};
use perturbench_eval::{
    ControlSource, EvalConfig, EvalOutput, Pipeline, RankDenominator, RankDirection, TiePolicy,
};
use perturbench_experiment::evaluation::evaluate_files;
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
    /// TOML file with EvalConfig fields; command-line options override it.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    design: super::design::DesignFlags,
    /// Pipeline AGG:METRIC[:rank] (repeatable; default average:rmse:rank and logfc:cosine:rank).
    #[arg(long = "pipeline")]
    pipelines: Vec<Pipeline>,
    /// Controls for logfc: `own` (each file's, the reference behaviour) or `reference`.
    #[arg(long, value_parser = named::<ControlSource>)]
    control_source: Option<ControlSource>,
    /// Rank denominator: `n` (reference) or `n-1`.
    #[arg(long, value_parser = named::<RankDenominator>)]
    rank_denominator: Option<RankDenominator>,
    /// Rank ties: `random` (seeded, reference) or `mid`.
    #[arg(long, value_parser = named::<TiePolicy>)]
    ties: Option<TiePolicy>,
    /// Rank direction: `observed` (reference) or `transposed` (cell-eval's PDS).
    #[arg(long, value_parser = named::<RankDirection>)]
    rank_direction: Option<RankDirection>,
    /// Seed of the rank tie-breaking.
    #[arg(long)]
    seed: Option<u64>,
    /// r2_score in the conventional orientation (observation as y_true).
    #[arg(long)]
    r2_conventional: bool,
    /// Restrict metrics to the reference's DEG lists in uns[KEY] (e.g. rank_genes_groups_cov).
    #[arg(long)]
    deg_key: Option<String>,
    /// With --deg-key: the first N genes of each list.
    #[arg(long)]
    top_degs: Option<usize>,
    /// Pseudocount of logfc.
    #[arg(long)]
    pseudocount: Option<f64>,
    /// Skip the SHA-256 checksums of the inputs in run.json (computed alongside the evaluation,
    /// one thread per file; about 0.5 s per GB of input on one core).
    #[arg(long)]
    no_checksums: bool,
}

/// A value of a setting enum by its configuration name (`reference`, `n-1`, `mid`, ...).
fn named<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::from(s)).map_err(|e| e.to_string())
}

/// The resolved configuration: defaults, then the config file, then command-line options.
fn resolve(a: &Args) -> anyhow::Result<EvalConfig> {
    let mut cfg = match &a.config {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("{}: cannot read", p.display()))?;
            toml::from_str::<EvalConfig>(&text)
                .with_context(|| format!("{}: invalid evaluation config", p.display()))?
        }
        None => EvalConfig::default(),
    };
    let d = &a.design;
    if let Some(v) = &d.perturbation_key {
        cfg.perturbation_key = v.clone();
    }
    if let Some(v) = &d.control {
        cfg.control = v.clone();
    }
    if let Some(v) = &d.delimiter {
        cfg.delimiter = v.clone();
    }
    if let Some(v) = &d.covariate_keys {
        cfg.covariate_keys = v.clone();
    }
    if !a.pipelines.is_empty() {
        cfg.pipelines = a.pipelines.clone();
    }
    cfg.control_source = a.control_source.unwrap_or(cfg.control_source);
    cfg.rank_denominator = a.rank_denominator.unwrap_or(cfg.rank_denominator);
    cfg.ties = a.ties.unwrap_or(cfg.ties);
    cfg.rank_direction = a.rank_direction.unwrap_or(cfg.rank_direction);
    if let Some(v) = a.seed {
        cfg.seed = v;
    }
    if a.r2_conventional {
        cfg.r2_prediction_as_truth = false;
    }
    if a.deg_key.is_some() {
        cfg.deg_key = a.deg_key.clone();
    }
    if a.top_degs.is_some() {
        cfg.top_degs = a.top_degs;
    }
    if let Some(v) = a.pseudocount {
        cfg.pseudocount = v;
    }
    if cfg != EvalConfig::default() {
        cfg.preset = "custom".into();
    }
    Ok(cfg)
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
    let mut cfg = resolve(&a)?;
    if a.design.covariate_keys.is_none() && cfg.covariate_keys.is_empty() {
        let obs = perturbench_io::H5adReader::open(&a.reference)?.read_frame("obs")?;
        if obs.column("cell_type").is_some() {
            cfg.covariate_keys = vec!["cell_type".into()];
        }
    }
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
