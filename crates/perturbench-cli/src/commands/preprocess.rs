//! `perturbench preprocess`: PerturBench's preprocessing of a counts (or log-normalised) file.

use crate::{progress, Global};
use perturbench_data::de::DeMethod;
use perturbench_data::preprocess::{
    preprocess, HvgFlavor, InputKind, PreprocessOptions, TargetSum,
};
use perturbench_io::{write_h5ad, Compression, H5adReader, ReadOptions, WriteOptions};
use std::path::PathBuf;

/// Options of `perturbench preprocess`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input .h5ad.
    input_file: PathBuf,
    /// Output .h5ad.
    output_file: PathBuf,
    #[command(flatten)]
    design: perturbench_experiment::flags::DesignFlags,
    /// What X holds: `counts` or `log-normalized`.
    #[arg(long, default_value = "counts", value_parser = ["counts", "log-normalized"])]
    input: String,
    /// Drop genes detected in fewer cells.
    #[arg(long, default_value_t = 10)]
    min_cells: u32,
    /// Per-cell total after normalisation: a number or `median` (scanpy's default).
    #[arg(long, default_value = "1e4")]
    target_sum: TargetSum,
    /// Number of highly variable genes (0 keeps all genes and finds no DEGs).
    #[arg(long, default_value_t = 4000)]
    hvg: usize,
    /// HVG method: seurat_v3 (on counts) or seurat (on log data).
    #[arg(long, default_value = "seurat_v3")]
    hvg_flavor: HvgFlavor,
    /// DEGs kept per (covariates, perturbation) group.
    #[arg(long, default_value_t = 25)]
    degs: usize,
    /// DE test: t-test, t-test_overestim_var or wilcoxon.
    #[arg(long, default_value = "t-test")]
    de_method: DeMethod,
    /// Layer with counts (for log-normalised input) and where counts are stored.
    #[arg(long, default_value = "counts")]
    counts_layer: String,
    /// Fail instead of skipping steps when counts are needed but absent.
    #[arg(long)]
    require_counts: bool,
    /// Compression of the output.
    #[arg(long, value_parser = super::simulate::parse_compression, default_value = "gzip")]
    compression: Compression,
}

/// Runs the command.
pub fn run(a: Args, g: Global) -> anyhow::Result<()> {
    let source = a.input_file.display().to_string();
    let clock = std::time::Instant::now();
    let sp = progress::spinner(&format!("reading {source}"), g.quiet);
    let adata = H5adReader::open(&a.input_file)?.read(&ReadOptions::default())?;
    sp.finish_and_clear();
    let read_s = clock.elapsed().as_secs_f64();
    let spec = a.design.spec(&adata.obs);
    let opts = PreprocessOptions {
        input: if a.input == "counts" {
            InputKind::Counts
        } else {
            InputKind::LogNormalized
        },
        min_cells: a.min_cells,
        target_sum: a.target_sum,
        n_hvg: a.hvg,
        hvg_flavor: a.hvg_flavor,
        n_degs: a.degs,
        de_method: a.de_method,
        counts_layer: a.counts_layer,
        require_counts: a.require_counts,
    };
    let sp = progress::spinner("preprocessing", g.quiet);
    let out = preprocess(adata, &spec, &opts, &source)?;
    sp.finish_and_clear();
    let sp = progress::spinner(&format!("writing {}", a.output_file.display()), g.quiet);
    let write_start = std::time::Instant::now();
    write_h5ad(
        &a.output_file,
        &out.adata,
        &WriteOptions {
            compression: a.compression,
        },
    )?;
    sp.finish_and_clear();
    if !g.quiet {
        println!("read {} [{read_s:.2} s]", a.input_file.display());
        for line in &out.log {
            println!("{line}");
        }
        println!(
            "wrote {}: {} cells x {} genes [{:.2} s; {:.2} s in all]",
            a.output_file.display(),
            out.adata.n_obs(),
            out.adata.n_vars(),
            write_start.elapsed().as_secs_f64(),
            clock.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
