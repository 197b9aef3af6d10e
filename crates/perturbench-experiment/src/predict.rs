//! Counterfactual predictions of a saved model for a table of targets, from the control cells
//! of a data file (`perturbench predict`).

use crate::error::{Context, Result};
use crate::{bail, Observer};
use perturbench_data::Design;
use perturbench_io::{read_csv_records, read_h5ad, AnnData};
use perturbench_models::{load_model, predict_targets, sample_controls, Target};
use std::path::PathBuf;

/// What to predict, from which cells, with which model.
#[derive(Debug, Clone)]
pub struct PredictOptions {
    /// Checkpoint directory written by a run (its `checkpoint/`).
    pub checkpoint: PathBuf,
    /// .h5ad file whose control cells are perturbed in silico.
    pub data: PathBuf,
    /// CSV with a header: the perturbation column and every covariate column of the model.
    pub targets: PathBuf,
    /// Control cells sampled per covariate combination.
    pub max_control_cells: usize,
    /// Seed of the control-cell sample.
    pub seed: u64,
    /// Device of neural models: cpu, cuda or cuda:N.
    pub device: String,
}

/// The predicted cells (one per target row and sampled control cell) and the number of
/// targets.
pub fn predict_file(o: &PredictOptions, observer: &dyn Observer) -> Result<(AnnData, usize)> {
    observer.stage("reading");
    let (ck, model) = load_model(&o.checkpoint, &o.device)?;
    let enc = &ck.encoding;
    let source = o.data.display().to_string();
    let ad = read_h5ad(&o.data)?;
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
    let table = read_csv_records(&o.targets)?;
    let shown = o.targets.display().to_string();
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
        .collect::<Result<_>>()?;
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
                covariates: ccols.iter().map(|&c| get(c)).collect::<Result<_>>()?,
            })
        })
        .collect::<Result<_>>()?;
    if targets.is_empty() {
        bail!("{shown}: no target rows");
    }
    let all: Vec<usize> = (0..ad.n_obs()).collect();
    observer.stage("predicting");
    let sampled = sample_controls(&design, &all, o.max_control_cells, o.seed);
    let embedding = crate::embedding::embedding_key(&ck.config)
        .map(|k| crate::embedding::embedding(&ad.obsm, k, &source, ad.n_obs()))
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
    Ok((pred, targets.len()))
}
