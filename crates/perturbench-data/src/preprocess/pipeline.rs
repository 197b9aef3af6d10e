//! The preprocessing pipeline of PerturBench (`analysis/preprocess.py`), step by step:
//! drop rarely detected genes, keep the counts as a layer, normalise and log1p, select highly
//! variable genes per covariate batch, find the top DEGs of every perturbation against the
//! control cells of its covariate group, and keep perturbed genes ∪ HVGs ∪ DEGs in the original
//! gene order. Differences from the reference: the normalisation target defaults to 1e4 (the
//! reference uses scanpy's median default; `TargetSum::Median` restores it) and genes keep their
//! file order (the reference's order comes from a Python set).

use super::{
    genes_in_min_cells, highly_variable_genes, log1p, normalize_total, HvgFlavor, TargetSum,
};
use crate::de::{group_scores, top_n, DeMethod, Reference};
use crate::{DataError, Design, GroupIndex, PerturbationSpec};
use perturbench_io::{AnnData, Column, Uns};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// What X holds on input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Raw counts (non-negative integers).
    Counts,
    /// Already log-normalised; counts, when needed, come from a layer.
    LogNormalized,
}

/// Options of [`preprocess`]; defaults follow the issue (target 1e4) and PerturBench otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct PreprocessOptions {
    /// What X holds.
    pub input: InputKind,
    /// Drop genes detected in fewer cells than this.
    pub min_cells: u32,
    /// Per-cell normalisation total.
    pub target_sum: TargetSum,
    /// Number of highly variable genes (0 = no selection, keep all genes).
    pub n_hvg: usize,
    /// HVG method.
    pub hvg_flavor: HvgFlavor,
    /// DEGs kept per (covariates, perturbation).
    pub n_degs: usize,
    /// DE test.
    pub de_method: DeMethod,
    /// Layer holding counts for log-normalised input (and where counts are stored).
    pub counts_layer: String,
    /// Fail instead of skipping when a step needs counts that are not there.
    pub require_counts: bool,
}

impl Default for PreprocessOptions {
    fn default() -> Self {
        PreprocessOptions {
            input: InputKind::Counts,
            min_cells: 10,
            target_sum: TargetSum::Fixed(1e4),
            n_hvg: 4000,
            hvg_flavor: HvgFlavor::SeuratV3,
            n_degs: 25,
            de_method: DeMethod::TTest,
            counts_layer: "counts".into(),
            require_counts: false,
        }
    }
}

/// Why preprocessing failed.
#[derive(Debug, thiserror::Error)]
pub enum PreprocessError {
    /// The design could not be parsed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The input does not hold what the options say.
    #[error("{source_name}: {message}")]
    Input {
        source_name: String,
        message: String,
    },
}

/// The result: the processed object and what happened, step by step.
#[derive(Debug, Clone)]
pub struct Preprocessed {
    /// The processed dataset.
    pub adata: AnnData,
    /// One line per step, for the user.
    pub log: Vec<String>,
}

fn is_counts(values: &[f32]) -> bool {
    values.iter().all(|&v| v >= 0.0 && v.fract() == 0.0)
}

/// Runs the pipeline on `adata` (read from `source`, named in errors).
pub fn preprocess(
    mut adata: AnnData,
    spec: &PerturbationSpec,
    opts: &PreprocessOptions,
    source: &str,
) -> Result<Preprocessed, PreprocessError> {
    let err = |message: String| PreprocessError::Input {
        source_name: source.to_string(),
        message,
    };
    let mut log = Vec::new();
    let clock = std::time::Instant::now();
    let stamp = |log: &mut Vec<String>, line: String| {
        log.push(format!("{line} [+{:.2} s]", clock.elapsed().as_secs_f64()))
    };
    let design = Design::from_obs(&adata.obs, spec, source)?;
    crate::check_unique_var_names(adata.var_names(), source)?;
    match opts.input {
        InputKind::Counts => {
            if !is_counts(adata.x.data()) {
                return Err(err(
                    "X holds values that are not non-negative integers, so it is not counts; pass --input log-normalized (counts may then come from a layer)".into(),
                ));
            }
        }
        InputKind::LogNormalized => {
            if opts.require_counts && !adata.layers.contains_key(&opts.counts_layer) {
                return Err(err(format!(
                    "layers['{}'] is absent, but counts were required",
                    opts.counts_layer
                )));
            }
            if let Some(c) = adata.layers.get(&opts.counts_layer) {
                if !is_counts(c.data()) {
                    return Err(err(format!(
                        "layers['{}'] holds values that are not non-negative integers",
                        opts.counts_layer
                    )));
                }
            }
        }
    }

    // 1. Genes detected in at least min_cells cells.
    let keep = genes_in_min_cells(&adata.x, opts.min_cells);
    stamp(
        &mut log,
        format!(
            "kept {} of {} genes detected in >= {} cells",
            keep.len(),
            adata.n_vars(),
            opts.min_cells
        ),
    );
    if keep.len() < adata.n_vars() {
        adata.retain_vars(&keep);
    }

    // 2–3. Counts layer, normalisation, log1p.
    if opts.input == InputKind::Counts {
        adata
            .layers
            .insert(opts.counts_layer.clone(), adata.x.par_clone());
        let t = normalize_total(&mut adata.x, opts.target_sum);
        log1p(&mut adata.x);
        stamp(
            &mut log,
            format!(
            "normalised every cell to {t} counts and applied log1p; counts kept in layers['{}']",
            opts.counts_layer
        ),
        );
        adata.uns.insert("log1p".into(), Uns::Dict(BTreeMap::new()));
    } else {
        log.push("input is log-normalised: normalisation and log1p skipped".into());
    }

    // Merged covariates (the reference's `cov_merged`), and the perturbed genes.
    let cov_label: Vec<String> = (0..design.covariates.len() as u32)
        .map(|c| design.covariate_label(c))
        .collect();
    let merged: Vec<&str> = design
        .cell_covariate
        .iter()
        .map(|&c| cov_label[c as usize].as_str())
        .collect();
    adata
        .obs
        .set_column("cov_merged", Column::categorical_from_strings(&merged));
    let names: HashSet<&str> = design
        .condition_names
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let perturbed: BTreeSet<usize> = adata
        .var_names()
        .iter()
        .enumerate()
        .filter(|(_, g)| names.contains(g.as_str()))
        .map(|(j, _)| j)
        .collect();

    if opts.n_hvg == 0 {
        log.push("no HVG/DEG selection (--hvg 0): all genes kept".into());
        return Ok(Preprocessed { adata, log });
    }

    // 4. Highly variable genes per covariate batch (batches in sorted label order).
    let mut order: Vec<usize> = (0..cov_label.len()).collect();
    order.sort_by(|&a, &b| cov_label[a].cmp(&cov_label[b]));
    let batches: Vec<Vec<u32>> = order
        .iter()
        .map(|&c| {
            (0..design.n_cells() as u32)
                .filter(|&r| design.cell_covariate[r as usize] == c as u32)
                .collect()
        })
        .collect();
    let hvg_input = match opts.hvg_flavor {
        HvgFlavor::Seurat => Some(&adata.x),
        HvgFlavor::SeuratV3 => adata.layers.get(&opts.counts_layer),
    };
    let mut selected: BTreeSet<usize> = perturbed.clone();
    match hvg_input {
        Some(x) => {
            let hv = highly_variable_genes(x, &batches, adata.var_names(), opts.hvg_flavor, opts.n_hvg);
            let n = hv.highly_variable.iter().filter(|&&b| b).count();
            stamp(&mut log, format!("selected {n} highly variable genes ({:?}) over {} covariate batches", opts.hvg_flavor, batches.len()));
            selected.extend((0..hv.highly_variable.len()).filter(|&j| hv.highly_variable[j]));
            adata.var.set_column("highly_variable", Column::Bool(hv.highly_variable.clone()));
            adata.var.set_column("highly_variable_nbatches", Column::Int(hv.n_batches.iter().map(|&v| v as i64).collect()));
        }
        None => log.push(format!(
            "HVG selection skipped: seurat_v3 needs counts and layers['{}'] is absent (use --hvg-flavor seurat on log data)",
            opts.counts_layer
        )),
    }

    // 5. DEGs of every perturbation against its covariate's controls.
    let groups = GroupIndex::build(&design);
    let control = design.control.expect("design has a control");
    let mut deg_lists: BTreeMap<String, Uns> = BTreeMap::new();
    let mut skipped = Vec::new();
    let no_cov = spec.covariate_keys.is_empty();
    for (c, label) in cov_label.iter().enumerate() {
        let Some(ctrl) = groups.get(c as u32, control) else {
            skipped.push(format!("{label}: no control cells"));
            continue;
        };
        let reference = Reference::new(&adata.x, &ctrl.rows, opts.de_method);
        for g in groups
            .groups()
            .iter()
            .filter(|g| g.covariate == c as u32 && g.perturbation != control)
        {
            let pert = design.perturbations[g.perturbation as usize]
                .names()
                .join(&spec.delimiter);
            if g.rows.len() < 2 {
                skipped.push(format!("{label}/{pert}: a single cell"));
                continue;
            }
            let scores = group_scores(&adata.x, &g.rows, &reference, opts.de_method);
            let top = top_n(&scores, opts.n_degs, true);
            selected.extend(top.iter().copied());
            let key = if no_cov {
                pert
            } else {
                format!("{label}_{pert}")
            };
            deg_lists.insert(
                key,
                Uns::StrList(top.iter().map(|&j| adata.var_names()[j].clone()).collect()),
            );
        }
    }
    stamp(
        &mut log,
        format!(
            "found the top {} DEGs ({:?}) of {} perturbation groups",
            opts.n_degs,
            opts.de_method,
            deg_lists.len()
        ),
    );
    if !skipped.is_empty() {
        log.push(format!(
            "DE skipped for {} groups: {}",
            skipped.len(),
            skipped.join("; ")
        ));
    }
    adata
        .uns
        .insert("rank_genes_groups_cov".into(), Uns::Dict(deg_lists));

    // 6. Perturbed genes ∪ HVGs ∪ DEGs, in the original order.
    let keep: Vec<usize> = selected.into_iter().collect();
    adata.retain_vars(&keep);
    stamp(
        &mut log,
        format!(
            "kept {} genes (perturbed ∪ HVGs ∪ DEGs; {} perturbed genes are in the data)",
            keep.len(),
            perturbed.len()
        ),
    );
    Ok(Preprocessed { adata, log })
}
