//! `perturbench simulate`: a synthetic dataset with ground truth.

use crate::{progress, Global};
use anyhow::Context;
use perturbench_data::simulator::{simulate, Preset, SimConfig};
use perturbench_io::{write_h5ad, Compression, WriteOptions};
use std::path::PathBuf;

/// Options of `perturbench simulate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Preset: small (tests), norman-like (combinations), sciplex-like (covariate transfer).
    #[arg(long, default_value = "small")]
    preset: Preset,
    /// Random seed; the same seed gives identical data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output .h5ad file.
    #[arg(long)]
    out: PathBuf,
    /// Total number of cells (overrides the preset).
    #[arg(long)]
    cells: Option<usize>,
    /// Number of genes (overrides the preset).
    #[arg(long)]
    genes: Option<usize>,
    /// Number of distinct perturbations (overrides the preset).
    #[arg(long)]
    perturbations: Option<usize>,
    /// Median UMIs per cell (overrides the preset; deeper libraries give denser X).
    #[arg(long)]
    library_median: Option<f64>,
    /// Compression of the written file.
    #[arg(long, value_parser = parse_compression, default_value = "gzip")]
    compression: Compression,
}

/// Parses `gzip`, `gzip:LEVEL` or `none`.
pub fn parse_compression(s: &str) -> Result<Compression, String> {
    match s {
        "none" => Ok(Compression::None),
        "gzip" => Ok(Compression::Gzip(4)),
        _ => match s.strip_prefix("gzip:").and_then(|l| l.parse::<u8>().ok()) {
            Some(l) if (1..=9).contains(&l) => Ok(Compression::Gzip(l)),
            _ => Err(format!(
                "expected 'gzip', 'gzip:1'..'gzip:9' or 'none', got '{s}'"
            )),
        },
    }
}

/// Runs the command.
pub fn run(a: Args, g: Global) -> anyhow::Result<()> {
    let mut cfg = SimConfig::preset(a.preset);
    if let Some(l) = a.library_median {
        cfg.library_median = l;
    }
    let cfg = cfg
        .with_overrides(a.cells, a.genes, a.perturbations)
        .context("invalid simulate options")?;
    let start = std::time::Instant::now();
    let pb = progress::bar(0, "simulating", g.quiet);
    let sim = simulate(&cfg, a.seed, &|done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })?;
    pb.finish_and_clear();
    let sp = progress::spinner(&format!("writing {}", a.out.display()), g.quiet);
    write_h5ad(
        &a.out,
        &sim.adata,
        &WriteOptions {
            compression: a.compression,
        },
    )?;
    sp.finish_and_clear();
    if !g.quiet {
        let ad = &sim.adata;
        println!(
            "wrote {}: {} cells x {} genes, {} perturbation groups with ground truth (preset {}, seed {}) in {:.1} s",
            a.out.display(),
            ad.n_obs(),
            ad.n_vars(),
            sim.truth.perturbations.len(),
            a.preset,
            a.seed,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
