//! `perturbench cell-eval run|baseline|score`: a drop-in for cell-eval 0.8.2's command line
//! (same flags, same files); the work is done by `perturbench-celleval`.

use crate::Global;
use anyhow::Context;
use perturbench_celleval::{BaselineOptions, Profile, RunOptions};
use std::path::PathBuf;

/// cell-eval's two-letter short flags, which clap cannot declare, and their long forms.
const SHORT_FLAGS: [(&str, &str); 4] = [
    ("-ap", "--adata-pred"),
    ("-ar", "--adata-real"),
    ("-dp", "--de-pred"),
    ("-dr", "--de-real"),
];

/// Rewrites cell-eval's `-ap/-ar/-dp/-dr` (also as `-ap=FILE`) into their long forms when
/// the command is `cell-eval`; other command lines are returned unchanged.
pub fn expand_short_flags(argv: Vec<String>) -> Vec<String> {
    if !argv.iter().any(|a| a == "cell-eval") {
        return argv;
    }
    argv.into_iter()
        .map(|a| {
            for (short, long) in SHORT_FLAGS {
                if a == short {
                    return long.to_string();
                }
                if let Some(v) = a.strip_prefix(short).and_then(|r| r.strip_prefix('=')) {
                    return format!("{long}={v}");
                }
            }
            a
        })
        .collect()
}

/// The subcommands of `perturbench cell-eval`.
#[derive(clap::Subcommand, Debug)]
pub enum CellEvalCommand {
    /// Evaluate a prediction against real cells (cell-eval 0.8.2 `run`).
    Run(Box<RunArgs>),
    /// Build the per-perturbation mean baseline (cell-eval 0.8.2 `baseline`).
    Baseline(BaselineArgs),
    /// Normalise a model's agg_results.csv against the baseline's (cell-eval 0.8.2 `score`).
    Score(ScoreArgs),
}

/// Options of `cell-eval run` (`-ap`, `-ar`, `-dp`, `-dr` are accepted as in cell-eval).
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Predicted .h5ad (`-ap`).
    #[arg(long = "adata-pred")]
    adata_pred: Option<PathBuf>,
    /// Real .h5ad (`-ar`).
    #[arg(long = "adata-real")]
    adata_real: PathBuf,
    /// Precomputed DE of the prediction (`-dp`).
    #[arg(long = "de-pred")]
    de_pred: Option<PathBuf>,
    /// Precomputed DE of the real data (`-dr`).
    #[arg(long = "de-real")]
    de_real: Option<PathBuf>,
    /// Name of the control perturbation.
    #[arg(long, default_value = "non-targeting")]
    control_pert: String,
    /// obs column of the perturbations.
    #[arg(long, default_value = "target_gene")]
    pert_col: String,
    /// obs column to split the results by (one set of files per cell type).
    #[arg(long)]
    celltype_col: Option<String>,
    /// .obsm key for the embedding metrics (not supported yet: refused).
    #[arg(long)]
    embed_key: Option<String>,
    /// Output directory.
    #[arg(short = 'o', long, default_value = "./cell-eval-outdir")]
    outdir: PathBuf,
    /// Worker threads (default: all cores; cell-eval's default is 1).
    #[arg(long)]
    num_threads: Option<usize>,
    /// Evaluate integer (count) matrices as they are instead of refusing them.
    #[arg(long)]
    allow_discrete: bool,
    /// Metric profile: full, vcc, minimal, pds, de, anndata.
    #[arg(long, default_value = "full")]
    profile: String,
    /// Metrics to skip (comma-separated).
    #[arg(long)]
    skip_metrics: Option<String>,
    /// Data ceiling (not supported yet: refused).
    #[arg(long)]
    ceiling: bool,
    /// Seed of the data ceiling's split.
    #[arg(long, default_value_t = 0)]
    ceiling_seed: u64,
    /// Pooled-CPM floor of the DE (not supported yet: refused).
    #[arg(long)]
    cpm_filter: Option<f64>,
    /// Pseudocount of the log fold change.
    #[arg(long, default_value_t = 0.0)]
    epsilon: f64,
}

/// Options of `cell-eval baseline`.
#[derive(clap::Args, Debug)]
pub struct BaselineArgs {
    /// Real .h5ad.
    #[arg(short = 'a', long)]
    adata: PathBuf,
    /// CSV of cells per perturbation.
    #[arg(short = 'c', long)]
    counts: Option<PathBuf>,
    /// Baseline .h5ad to write.
    #[arg(short = 'o', long, default_value = "./baseline.h5ad")]
    output_path: PathBuf,
    /// Baseline DE table to write.
    #[arg(short = 'O', long, default_value = "./baseline_de.csv")]
    output_de_path: PathBuf,
    /// Name of the control perturbation.
    #[arg(long, default_value = "non-targeting")]
    control_pert: String,
    /// obs column of the perturbations.
    #[arg(long, default_value = "target_gene")]
    pert_col: String,
    /// Column of the counts CSV holding the number of cells.
    #[arg(long, default_value = "n_cells")]
    counts_col: String,
    /// Worker threads (default: all cores).
    #[arg(short = 't', long)]
    num_threads: Option<usize>,
    /// Accept integer (count) matrices as they are.
    #[arg(long)]
    allow_discrete: bool,
    /// Do not compute the baseline's DE table.
    #[arg(long)]
    skip_de: bool,
}

/// Options of `cell-eval score`.
#[derive(clap::Args, Debug)]
pub struct ScoreArgs {
    /// agg_results.csv of the model.
    #[arg(short = 'i', long)]
    user_input: PathBuf,
    /// agg_results.csv of the baseline.
    #[arg(short = 'I', long)]
    base_input: PathBuf,
    /// CSV to write.
    #[arg(short = 'o', long, default_value = "./baseline_diff.csv")]
    output: PathBuf,
}

fn run_options(a: RunArgs) -> anyhow::Result<RunOptions> {
    Ok(RunOptions {
        adata_pred: a.adata_pred,
        adata_real: a.adata_real,
        de_pred: a.de_pred,
        de_real: a.de_real,
        control_pert: a.control_pert,
        pert_col: a.pert_col,
        celltype_col: a.celltype_col,
        embed_key: a.embed_key,
        outdir: a.outdir,
        num_threads: a.num_threads,
        allow_discrete: a.allow_discrete,
        profile: Profile::parse(&a.profile)?,
        skip_metrics: a
            .skip_metrics
            .map(|s| s.split(',').map(|m| m.trim().to_string()).collect())
            .unwrap_or_default(),
        ceiling: a.ceiling,
        ceiling_seed: a.ceiling_seed,
        cpm_filter: a.cpm_filter,
        epsilon: a.epsilon,
    })
}

/// Runs one `cell-eval` subcommand.
pub fn run(cmd: CellEvalCommand, g: Global) -> anyhow::Result<()> {
    match cmd {
        CellEvalCommand::Run(a) => {
            let opts = run_options(*a)?;
            let t0 = std::time::Instant::now();
            let s = perturbench_celleval::run(&opts).context("cell-eval run")?;
            if !g.quiet {
                for skipped in &s.record.skipped {
                    eprintln!("note: {} not computed: {}", skipped.metric, skipped.reason);
                }
                println!(
                    "wrote {} files to {} in {:.2}s: {}",
                    s.files.len(),
                    s.outdir.display(),
                    t0.elapsed().as_secs_f64(),
                    s.files.join(", ")
                );
            }
        }
        CellEvalCommand::Baseline(a) => {
            let opts = BaselineOptions {
                adata: a.adata,
                counts: a.counts,
                output_path: a.output_path,
                output_de_path: (!a.skip_de).then_some(a.output_de_path),
                control_pert: a.control_pert,
                pert_col: a.pert_col,
                counts_col: a.counts_col,
                num_threads: a.num_threads,
                allow_discrete: a.allow_discrete,
            };
            let s = perturbench_celleval::baseline(&opts).context("cell-eval baseline")?;
            if !g.quiet {
                println!(
                    "wrote {} ({} baseline cells + {} control cells){}",
                    opts.output_path.display(),
                    s.n_baseline_cells,
                    s.n_control_cells,
                    opts.output_de_path
                        .map(|p| format!(" and {}", p.display()))
                        .unwrap_or_default()
                );
            }
        }
        CellEvalCommand::Score(a) => {
            let s = perturbench_celleval::score_files(&a.user_input, &a.base_input, &a.output)
                .context("cell-eval score")?;
            if !g.quiet {
                println!(
                    "avg_score {:.6} over {} metrics; wrote {}",
                    s.avg_score,
                    s.rows.len(),
                    a.output.display()
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_flags_expand_only_for_cell_eval() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            expand_short_flags(v(&["pb", "cell-eval", "run", "-ap", "p.h5ad", "-dr=x.csv"])),
            v(&[
                "pb",
                "cell-eval",
                "run",
                "--adata-pred",
                "p.h5ad",
                "--de-real=x.csv"
            ])
        );
        assert_eq!(
            expand_short_flags(v(&["pb", "evaluate", "-ap"])),
            v(&["pb", "evaluate", "-ap"])
        );
    }
}
