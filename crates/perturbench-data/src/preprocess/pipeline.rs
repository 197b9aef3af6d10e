//! The preprocessing pipeline of PerturBench (`analysis/preprocess.py`), step by step:
//! drop rarely detected genes, keep the counts as a layer, normalise and log1p, select highly
//! variable genes per covariate batch, find the top DEGs of every perturbation against the
//! control cells of its covariate group, and keep perturbed genes ∪ HVGs ∪ DEGs in the original
//! gene order. Differences from the reference: the normalisation target defaults to 1e4 (the
//! reference uses scanpy's median default; `TargetSum::Median` restores it) and genes keep their
//! file order (the reference's order comes from a Python set).

use super::normalize::{LogNormalized, SizeFactors};
use super::{genes_in_min_cells, highly_variable_genes, seurat_v3_among, HvgFlavor, TargetSum};
use crate::de::{group_scores, top_n, DeMethod, Expression, Reference};
use crate::{DataError, Design, GroupIndex, PerturbationSpec};
use perturbench_io::{AnnData, Column, Uns};
use rayon::prelude::*;
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

/// A non-negative integer (every finite float32 from 2^24 on is one).
fn is_count(v: f32) -> bool {
    if v < 16_777_216.0 {
        v >= 0.0 && v as u32 as f32 == v
    } else {
        v.is_finite()
    }
}

fn is_counts(values: &[f32]) -> bool {
    values
        .par_chunks(1 << 20)
        .all(|c| c.iter().all(|&v| is_count(v)))
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
    // With seurat_v3 HVGs the genes below the threshold stay in the matrix, ignored by every
    // step, and leave with the final gene selection (one pass over the data fewer); otherwise
    // they are removed now.
    let mut active: Option<Vec<bool>> = None;
    if keep.len() < adata.n_vars() {
        if opts.n_hvg > 0 && opts.hvg_flavor == HvgFlavor::SeuratV3 {
            let mut a = vec![false; adata.n_vars()];
            keep.iter().for_each(|&j| a[j] = true);
            active = Some(a);
        } else {
            adata.retain_vars(&keep);
        }
    }
    let is_active = |j: usize| active.as_ref().is_none_or(|a| a[j]);

    // 2–3. Normalisation and log1p. Counts stay in X until the genes are chosen: the
    // log-normalised values are computed from them where needed (bit for bit what normalising
    // and log1p in place store), so the full matrix is never held twice.
    let factors = (opts.input == InputKind::Counts).then(|| {
        let f = SizeFactors::new(&adata.x, opts.target_sum, active.as_deref());
        stamp(
            &mut log,
            format!(
                "normalised every cell to {} counts and applied log1p; counts kept in layers['{}']",
                f.target(),
                opts.counts_layer
            ),
        );
        f
    });
    if factors.is_some() {
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
        .filter(|(j, g)| is_active(*j) && names.contains(g.as_str()))
        .map(|(j, _)| j)
        .collect();

    if opts.n_hvg == 0 {
        log.push("no HVG/DEG selection (--hvg 0): all genes kept".into());
        if let Some(f) = &factors {
            store_log_normalized(&mut adata, f, &opts.counts_layer);
        }
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
    let stored_log;
    let hvg_input = match (opts.hvg_flavor, &factors) {
        (HvgFlavor::Seurat, Some(f)) => {
            stored_log = LogNormalized::new(&adata.x, f).to_csr();
            Some(&stored_log)
        }
        (HvgFlavor::Seurat, None) => Some(&adata.x),
        (HvgFlavor::SeuratV3, Some(_)) => Some(&adata.x),
        (HvgFlavor::SeuratV3, None) => adata.layers.get(&opts.counts_layer),
    };
    let mut selected: BTreeSet<usize> = perturbed.clone();
    match hvg_input {
        Some(x) => {
            let hv = match &active {
                Some(a) => seurat_v3_among(x, &batches, opts.n_hvg, a),
                None => highly_variable_genes(x, &batches, adata.var_names(), opts.hvg_flavor, opts.n_hvg),
            };
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
    let degs = match &factors {
        Some(f) => top_degs(
            &LogNormalized::new(&adata.x, f),
            &design,
            spec,
            opts,
            &cov_label,
            active.as_deref(),
        ),
        None => top_degs(&adata.x, &design, spec, opts, &cov_label, active.as_deref()),
    };
    for list in degs.lists.values() {
        selected.extend(list.iter().copied());
    }
    stamp(
        &mut log,
        format!(
            "found the top {} DEGs ({:?}) of {} perturbation groups",
            opts.n_degs,
            opts.de_method,
            degs.lists.len()
        ),
    );
    if !degs.skipped.is_empty() {
        log.push(format!(
            "DE skipped for {} groups: {}",
            degs.skipped.len(),
            degs.skipped.join("; ")
        ));
    }
    let deg_lists: BTreeMap<String, Uns> = degs
        .lists
        .into_iter()
        .map(|(k, top)| {
            (
                k,
                Uns::StrList(top.iter().map(|&j| adata.var_names()[j].clone()).collect()),
            )
        })
        .collect();
    adata
        .uns
        .insert("rank_genes_groups_cov".into(), Uns::Dict(deg_lists));

    // 6. Perturbed genes ∪ HVGs ∪ DEGs, in the original order.
    let keep: Vec<usize> = selected.into_iter().collect();
    adata.retain_vars(&keep);
    if let Some(f) = &factors {
        store_log_normalized(&mut adata, f, &opts.counts_layer);
    }
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

/// Moves the counts in X to `layer` and puts their log-normalised values in X.
fn store_log_normalized(adata: &mut AnnData, factors: &SizeFactors, layer: &str) {
    let x = LogNormalized::new(&adata.x, factors).to_csr();
    let counts = std::mem::replace(&mut adata.x, x);
    adata.layers.insert(layer.to_string(), counts);
}

/// The top DEGs of every (covariate, perturbation) group, and the groups without a test.
struct Degs {
    /// Gene indices, best first, keyed `{covariates}_{perturbation}` (or the perturbation).
    lists: BTreeMap<String, Vec<usize>>,
    /// Why groups were skipped, for the user.
    skipped: Vec<String>,
}

/// Tests every perturbed group of `x` against its covariate's controls (groups on all cores);
/// DEGs are chosen among the genes marked in `active` (all when `None`).
fn top_degs<E: Expression>(
    x: &E,
    design: &Design,
    spec: &PerturbationSpec,
    opts: &PreprocessOptions,
    cov_label: &[String],
    active: Option<&[bool]>,
) -> Degs {
    // Ranking the active genes' scores in gene order gives what ranking a matrix without the
    // others gives (ties keep gene order).
    let candidates: Option<Vec<usize>> = active.map(|a| (0..a.len()).filter(|&j| a[j]).collect());
    let best = |scores: Vec<f64>| match &candidates {
        None => top_n(&scores, opts.n_degs, true),
        Some(c) => {
            let sub: Vec<f64> = c.iter().map(|&j| scores[j]).collect();
            top_n(&sub, opts.n_degs, true)
                .into_iter()
                .map(|k| c[k])
                .collect()
        }
    };
    let groups = GroupIndex::build(design);
    let control = design.control.expect("design has a control");
    let no_cov = spec.covariate_keys.is_empty();
    let mut lists = BTreeMap::new();
    let mut skipped = Vec::new();
    for (c, label) in cov_label.iter().enumerate() {
        let Some(ctrl) = groups.get(c as u32, control) else {
            skipped.push(format!("{label}: no control cells"));
            continue;
        };
        let reference = Reference::new(x, &ctrl.rows, opts.de_method);
        let tests: Vec<(String, Option<Vec<usize>>)> = groups
            .groups()
            .par_iter()
            .filter(|g| g.covariate == c as u32 && g.perturbation != control)
            .map(|g| {
                let pert = design.perturbations[g.perturbation as usize]
                    .names()
                    .join(&spec.delimiter);
                if g.rows.len() < 2 {
                    return (format!("{label}/{pert}"), None);
                }
                let scores = group_scores(x, &g.rows, &reference, opts.de_method);
                let key = if no_cov {
                    pert
                } else {
                    format!("{label}_{pert}")
                };
                (key, Some(best(scores)))
            })
            .collect();
        for (key, top) in tests {
            match top {
                Some(top) => {
                    lists.insert(key, top);
                }
                None => skipped.push(format!("{key}: a single cell")),
            }
        }
    }
    Degs { lists, skipped }
}

#[cfg(test)]
mod tests {
    use super::is_count;

    #[test]
    fn counts_are_non_negative_integers() {
        for v in [0.0, -0.0, 1.0, 15.0, 16_777_215.0, 16_777_216.0, 3e9, 1e30] {
            assert!(is_count(v), "{v}");
        }
        for v in [-1.0, 0.5, 2.25, 8_388_607.5, f32::NAN, f32::INFINITY, -3e9] {
            assert!(!is_count(v), "{v}");
        }
    }
}
