//! Synthetic perturbation screens with known ground truth.
//!
//! Counts are negative binomial with log-normal library sizes and a dispersion that falls with
//! the mean (the statistics of real 10x and sci-RNA-seq data in the shared data notes). A
//! mixture of strong and near-null perturbations acts on gene means as log fold changes: a
//! shared effect with a per-cell-type magnitude, cell-type-specific genes, and for genetic
//! perturbations the target gene itself (CRISPRa up 3–30×, CRISPRi down to 20–75 %).
//! Combinations add their singles' effects plus a small interaction. The simulated genes are a
//! panel of a larger transcriptome (like PerturBench's processed files): a cell's library is
//! its panel counts plus the expected counts of the rest, stored as `obs['ncounts']`, and
//! X = `log1p(counts / ncounts × 1e4)`; `layers['counts']` holds the panel counts and the truth
//! goes into `uns['simulation']`.
//!
//! Randomness: one seed. The design is drawn from stream 0 of a ChaCha8 generator and every
//! cell from its own stream, so results do not depend on the number of threads.

mod config;
mod counts;
mod effects;
mod truth;

pub use config::{Modality, Preset, SimConfig};

use perturbench_io::{AnnData, Column, Csr, Uns};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a simulation cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// An option is out of range.
    #[error("{option}: {message}")]
    Option {
        option: &'static str,
        message: String,
    },
    /// The generated parts did not fit together (a bug; please report).
    #[error("internal error building the dataset: {0}")]
    Internal(String),
}

/// The per-group ground truth of a simulation (control groups excluded).
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTruth {
    /// Perturbation of each group (as in `obs['condition']`).
    pub perturbations: Vec<String>,
    /// Cell type of each group.
    pub covariates: Vec<String>,
    /// Gene count (columns of the matrices).
    pub n_genes: usize,
    /// Groups × genes, row-major: ln of the multiplier of the NB mean vs control.
    pub log_fold_change: Vec<f32>,
    /// Groups × genes, row-major: E[X | perturbed] − E[X | control] in log1p(CP10k) space.
    pub expected_delta: Vec<f32>,
}

/// A simulated dataset and its truth.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The dataset, ready to write as `.h5ad`.
    pub adata: AnnData,
    /// The truth (also stored in `adata.uns["simulation"]`).
    pub truth: GroundTruth,
}

/// One simulated cell: its group and counts.
struct Cell {
    cell_type: usize,
    /// Index into the plan's perturbations; `None` = control.
    pert: Option<usize>,
}

/// Runs a simulation. `progress(done, total)` is called as cells are drawn.
pub fn simulate(
    cfg: &SimConfig,
    seed: u64,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Simulation, SimError> {
    cfg.validate()?;
    let mut design_rng = ChaCha8Rng::seed_from_u64(seed);
    let plan = effects::plan(cfg, &mut design_rng);
    let np = plan.perts.len();
    let nt = cfg.cell_types.len();
    let g = cfg.n_genes;

    // Cells: every group gets 0.6–1.4× the mean size; controls a fixed number per cell type.
    let mut cells: Vec<Cell> = Vec::new();
    for t in 0..nt {
        for _ in 0..cfg.controls_per_cell_type {
            cells.push(Cell {
                cell_type: t,
                pert: None,
            });
        }
        for p in 0..np {
            let n = ((cfg.cells_per_group as f64) * design_rng.random_range(0.6..1.4))
                .round()
                .max(1.0) as usize;
            for _ in 0..n {
                cells.push(Cell {
                    cell_type: t,
                    pert: Some(p),
                });
            }
        }
    }
    // Real files are not ordered by group.
    use rand::seq::SliceRandom;
    cells.shuffle(&mut design_rng);
    let n = cells.len();

    // Per group: relative gene means (baseline × fold change), and per cell type the share of
    // the library outside the simulated genes (the panel is part of a transcriptome).
    let rel: Vec<Vec<f64>> = (0..nt)
        .flat_map(|t| (0..=np).map(move |p| (t, p)))
        .map(|(t, p)| {
            let base = &plan.baseline[t];
            if p == np {
                base.clone()
            } else {
                base.iter()
                    .zip(&plan.lfc[t * np + p])
                    .map(|(&b, &l)| b * (l as f64).exp())
                    .collect()
            }
        })
        .collect();
    let rest: Vec<f64> = plan
        .baseline
        .iter()
        .map(|b| (1.0 - b.iter().sum::<f64>() / 2000.0).max(0.0))
        .collect();
    let lib_noise =
        Normal::new(0.0, cfg.library_sd_ln).map_err(|e| SimError::Internal(e.to_string()))?;
    let done = AtomicU64::new(0);
    let total = n as u64;
    progress(0, total);
    struct Row {
        idx: Vec<u32>,
        counts: Vec<f32>,
        x: Vec<f32>,
        library: f64,
    }
    let rows: Vec<Row> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(i as u64 + 1);
            let c = &cells[i];
            let library = cfg.library_median
                * cfg.cell_type_depth[c.cell_type]
                * lib_noise.sample(&mut rng).exp();
            let scale = library / 2000.0;
            let means = &rel[c.cell_type * (np + 1) + c.pert.unwrap_or(np)];
            let phi = &plan.dispersion[c.cell_type];
            let mut idx = Vec::with_capacity(64);
            let mut counts = Vec::with_capacity(64);
            let mut panel = 0u64;
            for j in 0..g {
                let k = counts::nb_draw(&mut rng, means[j] * scale, phi[j]);
                if k > 0 {
                    idx.push(j as u32);
                    counts.push(k as f32);
                    panel += k as u64;
                }
            }
            // The whole library: the panel's counts plus the expected rest of the transcriptome.
            let library = (panel as f64 + library * rest[c.cell_type])
                .round()
                .max(1.0);
            let x = counts
                .iter()
                .map(|&k| ((k as f64 / library) * 1e4).ln_1p() as f32)
                .collect();
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            if d % 4096 == 0 {
                progress(d, total);
            }
            Row {
                idx,
                counts,
                x,
                library,
            }
        })
        .collect();
    progress(total, total);

    // X = log1p(counts / library * 1e4), counts as a layer.
    let nnz: usize = rows.iter().map(|r| r.idx.len()).sum();
    let mut indptr = Vec::with_capacity(n + 1);
    indptr.push(0u64);
    let mut indices = Vec::with_capacity(nnz);
    let mut xdata = Vec::with_capacity(nnz);
    let mut cdata = Vec::with_capacity(nnz);
    let mut ncounts = Vec::with_capacity(n);
    let mut ngenes = Vec::with_capacity(n);
    for r in rows {
        indices.extend_from_slice(&r.idx);
        cdata.extend_from_slice(&r.counts);
        xdata.extend_from_slice(&r.x);
        indptr.push(indices.len() as u64);
        ncounts.push(r.library);
        ngenes.push(r.idx.len() as i64);
    }
    let internal = |e: perturbench_io::CsrError| SimError::Internal(e.to_string());
    let x = Csr::from_parts(n, g, indptr.clone(), indices.clone(), xdata).map_err(internal)?;
    let counts = Csr::from_parts(n, g, indptr, indices, cdata).map_err(internal)?;

    let width = n.to_string().len().max(6);
    let obs_names: Vec<String> = (1..=n).map(|i| format!("cell{i:0width$}")).collect();
    let mut adata = AnnData::new(x, obs_names, plan.gene_names.clone());
    let condition: Vec<&str> = cells
        .iter()
        .map(|c| c.pert.map_or("control", |p| plan.perts[p].name.as_str()))
        .collect();
    adata
        .obs
        .set_column("condition", Column::categorical_from_strings(&condition));
    let ct: Vec<&str> = cells
        .iter()
        .map(|c| cfg.cell_types[c.cell_type].as_str())
        .collect();
    adata
        .obs
        .set_column("cell_type", Column::categorical_from_strings(&ct));
    if cfg.modality == Modality::Drug {
        adata.obs.set_column(
            "dose",
            Column::Float(
                cells
                    .iter()
                    .map(|c| if c.pert.is_some() { 10.0 } else { 0.0 })
                    .collect(),
            ),
        );
    } else {
        let dose: Vec<&str> = cells
            .iter()
            .map(|c| match c.pert {
                Some(p) if plan.perts[p].components.len() > 1 => "1+1",
                _ => "1",
            })
            .collect();
        adata
            .obs
            .set_column("dose", Column::categorical_from_strings(&dose));
    }
    let ptype: Vec<&str> = cells
        .iter()
        .map(|c| {
            if c.pert.is_some() {
                cfg.modality.label()
            } else {
                "control"
            }
        })
        .collect();
    adata.obs.set_column(
        "perturbation_type",
        Column::categorical_from_strings(&ptype),
    );
    adata.obs.set_column("ncounts", Column::Float(ncounts));
    adata.obs.set_column("ngenes", Column::Int(ngenes));
    adata.layers.insert("counts".into(), counts);

    let truth = ground_truth(cfg, &plan);
    let mut uns = truth_uns(cfg, seed, &truth);
    if let Uns::Dict(d) = &mut uns {
        let singles = &plan.perts[..cfg.n_singles];
        d.insert(
            "single_perturbation".into(),
            Uns::StrList(singles.iter().map(|p| p.name.clone()).collect()),
        );
        d.insert(
            "single_strong".into(),
            Uns::IntArray {
                shape: vec![cfg.n_singles],
                data: plan.strong.iter().map(|&b| b as i64).collect(),
            },
        );
        d.insert(
            "single_target_gene".into(),
            Uns::StrList(
                plan.target
                    .iter()
                    .map(|t| t.map_or(String::new(), |g| plan.gene_names[g].clone()))
                    .collect(),
            ),
        );
    }
    adata.uns.insert("simulation".into(), uns);
    adata.check_shapes().map_err(SimError::Internal)?;
    Ok(Simulation { adata, truth })
}

fn ground_truth(cfg: &SimConfig, plan: &effects::Plan) -> GroundTruth {
    let rest: Vec<f64> = plan
        .baseline
        .iter()
        .map(|b| (1.0 - b.iter().sum::<f64>() / 2000.0).max(0.0))
        .collect();
    let np = plan.perts.len();
    let nt = cfg.cell_types.len();
    let g = cfg.n_genes;
    let control_x: Vec<Vec<f64>> = (0..nt)
        .into_par_iter()
        .map(|t| {
            truth::expected_x(
                &plan.baseline[t],
                &plan.dispersion[t],
                cfg.library_median * cfg.cell_type_depth[t],
                cfg.library_sd_ln,
                rest[t],
            )
        })
        .collect();
    let groups: Vec<(usize, usize)> = (0..nt).flat_map(|t| (0..np).map(move |p| (t, p))).collect();
    let deltas: Vec<Vec<f32>> = groups
        .par_iter()
        .map(|&(t, p)| {
            let lfc = &plan.lfc[t * np + p];
            let rel: Vec<f64> = plan.baseline[t]
                .iter()
                .zip(lfc)
                .map(|(&b, &l)| b * (l as f64).exp())
                .collect();
            let x = truth::expected_x(
                &rel,
                &plan.dispersion[t],
                cfg.library_median * cfg.cell_type_depth[t],
                cfg.library_sd_ln,
                rest[t],
            );
            x.iter()
                .zip(&control_x[t])
                .map(|(a, b)| (a - b) as f32)
                .collect()
        })
        .collect();
    let mut log_fold_change = Vec::with_capacity(groups.len() * g);
    let mut expected_delta = Vec::with_capacity(groups.len() * g);
    for (i, &(t, p)) in groups.iter().enumerate() {
        log_fold_change.extend_from_slice(&plan.lfc[t * np + p]);
        expected_delta.extend_from_slice(&deltas[i]);
    }
    GroundTruth {
        perturbations: groups
            .iter()
            .map(|&(_, p)| plan.perts[p].name.clone())
            .collect(),
        covariates: groups
            .iter()
            .map(|&(t, _)| cfg.cell_types[t].clone())
            .collect(),
        n_genes: g,
        log_fold_change,
        expected_delta,
    }
}

fn truth_uns(cfg: &SimConfig, seed: u64, truth: &GroundTruth) -> Uns {
    let rows = truth.perturbations.len();
    let arr = |v: &[f32]| Uns::Array {
        shape: vec![rows, truth.n_genes],
        data: v.iter().map(|&x| x as f64).collect(),
        f32: true,
    };
    let mut d = BTreeMap::new();
    d.insert("preset".into(), Uns::Str(cfg.preset.to_string()));
    d.insert("seed".into(), Uns::Int(seed as i64));
    d.insert("config".into(), Uns::Str(format!("{cfg:?}")));
    d.insert(
        "truth_note".into(),
        Uns::Str(
            "truth_log_fold_change: ln of the multiplier of each gene's NB mean vs control of the same cell type; \
             truth_expected_delta: E[X|perturbed] - E[X|control] in X = log1p(CP10k) space (NB pmf + Gauss-Hermite over library size, \
             expected totals). Rows: groups (truth_perturbation x truth_covariate), columns: var order."
                .into(),
        ),
    );
    d.insert(
        "truth_perturbation".into(),
        Uns::StrList(truth.perturbations.clone()),
    );
    d.insert(
        "truth_covariate".into(),
        Uns::StrList(truth.covariates.clone()),
    );
    d.insert("truth_log_fold_change".into(), arr(&truth.log_fold_change));
    d.insert("truth_expected_delta".into(), arr(&truth.expected_delta));
    Uns::Dict(d)
}

#[cfg(test)]
mod tests;
