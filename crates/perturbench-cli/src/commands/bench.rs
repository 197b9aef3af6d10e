//! `perturbench bench`: timed workloads for the side-by-side benchmark scripts in bench/.

use crate::Global;
use perturbench_io::{H5adReader, ReadOptions};
use std::path::PathBuf;
use std::time::Instant;

/// Benchmarks.
#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Read a whole .h5ad (X, layers, obs, var, obsm, uns) and report time and peak memory.
    Read {
        /// The file to read.
        file: PathBuf,
        /// Number of timed reads (the best is reported too).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
    },
    /// Time cell-eval 0.8.2's DE (pdex's Mann–Whitney, every perturbation against the control)
    /// on one file, as `perturbench cell-eval run` computes it: the computation only, reading
    /// the file and writing the table not counted (as bench/pdex_de.py times pdex).
    De {
        /// The file (log1p X).
        file: PathBuf,
        /// Column of `obs` holding the perturbation labels.
        #[arg(long, default_value = "target_gene")]
        pert_col: String,
        /// The control label.
        #[arg(long, default_value = "non-targeting")]
        control_pert: String,
        /// Number of timed runs (the best is reported too).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
    },
    /// Time cell-eval 0.8.2's energy distances (each perturbation against the control, all
    /// cell pairs; one side of pearson_edistance) on one file, as `perturbench cell-eval run`
    /// computes them: the computation only, reading the file not counted.
    Edistance {
        /// The file (log1p X).
        file: PathBuf,
        /// Column of `obs` holding the perturbation labels.
        #[arg(long, default_value = "target_gene")]
        pert_col: String,
        /// The control label.
        #[arg(long, default_value = "non-targeting")]
        control_pert: String,
        /// Number of timed runs (the best is reported too).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
    },
}

/// Prints one timed workload's line and its best time as `NAME_seconds,BEST`.
fn report(name: &str, what: &str, times: &[f64]) {
    let best = times.iter().cloned().fold(f64::INFINITY, f64::min);
    println!(
        "{name} {what}; seconds: {}; best {best:.3}; peak RSS {:.0} MiB",
        times
            .iter()
            .map(|t| format!("{t:.3}"))
            .collect::<Vec<_>>()
            .join(" "),
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    println!("{name}_seconds,{best:.3}");
}

/// Peak resident memory of this process in MiB (Linux `VmHWM`), if known.
pub fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Runs the command.
pub fn run(b: BenchCommand, _g: Global) -> anyhow::Result<()> {
    match b {
        BenchCommand::Read { file, repeat } => {
            let mut times = Vec::new();
            let mut shape = (0, 0, 0);
            for _ in 0..repeat.max(1) {
                let t = Instant::now();
                let ad = H5adReader::open(&file)?.read(&ReadOptions::default())?;
                times.push(t.elapsed().as_secs_f64());
                shape = (ad.n_obs(), ad.n_vars(), ad.x.nnz());
            }
            let best = times.iter().cloned().fold(f64::INFINITY, f64::min);
            println!(
                "read {}: {} x {} ({} nnz); seconds: {}; best {:.3}; peak RSS {:.0} MiB",
                file.display(),
                shape.0,
                shape.1,
                shape.2,
                times
                    .iter()
                    .map(|t| format!("{t:.3}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                best,
                peak_rss_mib().unwrap_or(f64::NAN)
            );
            Ok(())
        }
        BenchCommand::De {
            file,
            pert_col,
            control_pert,
            repeat,
        } => {
            use perturbench_celleval::{differential_expression, run::de_options, Groups};
            let input = perturbench_celleval::input::read_input_with(&file, false, None)?;
            let groups = Groups::from_obs(&input.adata, &pert_col, &control_pert)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let opts = de_options(&input, 0.0, None);
            let genes = input.adata.var_names();
            let mut times = Vec::new();
            let mut rows = 0;
            for _ in 0..repeat.max(1) {
                let t = Instant::now();
                let table = differential_expression(&input.adata.x, &groups, genes, &opts)?;
                times.push(t.elapsed().as_secs_f64());
                rows = table.n_rows();
            }
            report("de", &format!("{}: {rows} rows", file.display()), &times);
            Ok(())
        }
        BenchCommand::Edistance {
            file,
            pert_col,
            control_pert,
            repeat,
        } => {
            use perturbench_celleval::{metrics::edistance::energy_distances, Groups};
            let input = perturbench_celleval::input::read_input_with(&file, false, None)?;
            let groups = Groups::from_obs(&input.adata, &pert_col, &control_pert)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let single = matches!(input.dtype.as_str(), "float32" | "float16");
            let mut times = Vec::new();
            let mut sum = 0.0;
            for _ in 0..repeat.max(1) {
                let t = Instant::now();
                sum = energy_distances(&input.adata.x, &groups, single)
                    .iter()
                    .sum::<f64>();
                times.push(t.elapsed().as_secs_f64());
            }
            let what = format!(
                "{}: {} perturbations, sum of energy distances {sum:.17e}",
                file.display(),
                groups.perturbations().len()
            );
            report("edistance", &what, &times);
            Ok(())
        }
    }
}
