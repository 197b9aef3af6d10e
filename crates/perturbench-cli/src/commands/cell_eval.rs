//! `perturbench cell-eval run|baseline|score`: a drop-in for cell-eval 0.8.2's command line
//! (same flags, same files); the work is done by `perturbench-celleval`.

use crate::Global;
use anyhow::Context;
use perturbench_celleval::{BaselineOptions, RunOptions};
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
    Run(Box<RunOptions>),
    /// Build the per-perturbation mean baseline (cell-eval 0.8.2 `baseline`).
    Baseline(BaselineOptions),
    /// Normalise a model's agg_results.csv against the baseline's (cell-eval 0.8.2 `score`).
    Score(ScoreArgs),
}

/// Options of `cell-eval score`.
#[derive(clap::Args, Debug)]
pub struct ScoreArgs {
    /// agg_results.csv of the model (cell-eval2: `--user-agg`).
    #[arg(short = 'i', long, visible_alias = "user-agg")]
    user_input: PathBuf,
    /// agg_results.csv of the baseline (cell-eval2: `--baseline-agg`).
    #[arg(short = 'I', long, visible_alias = "baseline-agg")]
    base_input: PathBuf,
    /// `--profile vcc2026` runs: score on the replicate scale against this anchor
    /// (the directory of `run --anchor`, or its anchor_agg.csv), as `cell-eval2 score
    /// --anchor` writes `from_replicate`.
    #[arg(long)]
    anchor: Option<PathBuf>,
    /// CSV to write.
    #[arg(short = 'o', long, default_value = "./baseline_diff.csv")]
    output: PathBuf,
}

/// Runs one `cell-eval` subcommand.
pub fn run(cmd: CellEvalCommand, g: Global) -> anyhow::Result<()> {
    match cmd {
        CellEvalCommand::Run(opts) => {
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
        CellEvalCommand::Baseline(opts) => {
            let s = perturbench_celleval::baseline(&opts).context("cell-eval baseline")?;
            if !g.quiet {
                println!(
                    "wrote {} ({} baseline cells + {} control cells){}",
                    opts.output_path.display(),
                    s.n_baseline_cells,
                    s.n_control_cells,
                    if opts.skip_de {
                        String::new()
                    } else {
                        format!(" and {}", opts.output_de_path.display())
                    }
                );
            }
        }
        CellEvalCommand::Score(a) if a.anchor.is_some() => {
            let anchor = a.anchor.as_ref().expect("checked");
            let s = perturbench_celleval::vcc2026::replicate_score::score_replicate_files(
                &a.user_input,
                &a.base_input,
                anchor,
                &a.output,
            )
            .context("cell-eval score --anchor")?;
            if !g.quiet {
                println!(
                    "avg_score {:.6} (replicate scale: 0 = baseline, 1 = replicate) over {} members; wrote {}",
                    s.avg_score,
                    s.rows.len(),
                    a.output.display()
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
