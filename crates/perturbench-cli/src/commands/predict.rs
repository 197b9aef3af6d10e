//! `perturbench predict`: counterfactual predictions of a saved model for a table of targets,
//! from the control cells of a data file.

use crate::{progress, Global};
use anyhow::{bail, Context};
use perturbench_data::Design;
use perturbench_io::{read_csv_records, read_h5ad, write_h5ad, Compression, WriteOptions};
use perturbench_models::{load_model, predict_targets, sample_controls, Target};
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
    let sp = progress::spinner("reading", g.quiet);
    let (ck, model) = load_model(&a.checkpoint, &a.device)?;
    let enc = &ck.encoding;
    let source = a.data.display().to_string();
    let ad = read_h5ad(&a.data)?;
    if ad.var_names() != enc.genes.as_slice() {
        let missing = enc
            .genes
            .iter()
            .filter(|g| !ad.var_names().contains(g))
            .count();
        bail!(
            "{source}: var names differ from the checkpoint's {} genes ({missing} of them are missing, {} genes in the file); predict needs the genes the model was trained on, in the same order",
            enc.genes.len(),
            ad.n_vars()
        );
    }
    let spec = enc.spec();
    let design = Design::from_obs(&ad.obs, &spec, &source)?;
    let table = read_csv_records(&a.targets)?;
    let shown = a.targets.display().to_string();
    let Some((header, rows)) = table.split_first() else {
        bail!(
            "{shown}: empty; expected a header with {} and the covariate columns",
            enc.perturbation_key
        )
    };
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{shown}: no column '{name}' (header: {})", header.join(",")))
    };
    let pcol = col(&enc.perturbation_key)?;
    let ccols: Vec<usize> = enc
        .covariate_keys
        .iter()
        .map(|k| col(k))
        .collect::<anyhow::Result<_>>()?;
    let targets: Vec<Target> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let get = |c: usize| {
                r.get(c).cloned().with_context(|| {
                    format!(
                        "{shown}: line {} has {} fields, expected {}",
                        i + 2,
                        r.len(),
                        header.len()
                    )
                })
            };
            Ok(Target {
                perturbation: get(pcol)?,
                covariates: ccols
                    .iter()
                    .map(|&c| get(c))
                    .collect::<anyhow::Result<_>>()?,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    if targets.is_empty() {
        bail!("{shown}: no target rows");
    }
    let all: Vec<usize> = (0..ad.n_obs()).collect();
    sp.set_message("predicting");
    let sampled = sample_controls(&design, &all, a.max_control_cells, a.seed);
    let embedding = perturbench_experiment::embedding::embedding_key(&ck.config)
        .map(|k| perturbench_experiment::embedding::embedding(&ad.obsm, k, &source, ad.n_obs()))
        .transpose()?;
    if let (Some(e), Some(d)) = (embedding, &ck.dims) {
        if e.ncols != d.input_width {
            bail!(
                "{source}: the embedding has {} columns, the model was trained on {}",
                e.ncols,
                d.input_width
            );
        }
    }
    let pred = predict_targets(
        model.as_ref(),
        &ad.x,
        &design,
        enc,
        &targets,
        &sampled,
        &[],
        embedding,
    )
    .with_context(|| format!("{shown}: cannot predict"))?;
    write_h5ad(
        &a.out,
        &pred,
        &WriteOptions {
            compression: Compression::None,
        },
    )?;
    sp.finish_and_clear();
    if !g.quiet {
        println!(
            "wrote {} ({} cells for {} targets, {:.2} s)",
            a.out.display(),
            pred.n_obs(),
            targets.len(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
