//! `--profile vcc2026`: the Virtual Cell Challenge 2026 profile as cell-eval2 0.20.0 defines
//! it (`configs/vcc2026.yaml`), on raw counts.
//!
//! Computed here: the DE of both sides against the real control (CPM, `log1p`, Wilcoxon
//! rank-sum, 5-CPM control filter, BH per perturbation; [`wilcoxon`]), and the scored
//! members `pds_cosine`, `de_wilcoxon_sig_jaccard` ([`metrics`]), `de_wilcoxon_lfc_nmae`,
//! `de_wilcoxon_direction_fidelity_yield_raw`, `de_wilcoxon_direction_reach_raw`
//! ([`direction`]), `expr_mse_unbiased_capped_norm` with its components
//! `expr_mse_unbiased(_capped)` and `expr_distance_unbiased` ([`unbiased`]), and the
//! diagnostic `expr_real_mass_ratio`: every member of the profile. [`score`] turns a
//! member's aggregate into its replicate-scale score `(u − b)/(r − b)` with its clamps.

pub mod direction;
pub mod metrics;
pub mod output;
pub mod record;
pub mod score;
pub mod unbiased;
pub mod wilcoxon;

use crate::error::{CellEvalError, Result};
use crate::groups::Groups;
use crate::input::sha256_file;
use crate::metrics::MetricTable;
use crate::record::{InputRecord, RunRecord, Skipped};
use crate::run::{RunOptions, RunSummary};
use crate::staging::Staging;
use perturbench_io::{AnnData, H5adReader, ReadOptions};
use rayon::prelude::*;
use record::{Vcc2026Record, RULES, SETTINGS};
use std::path::{Path, PathBuf};
use wilcoxon::{de_table, kept_genes, CellColumns};

/// A metric of one perturbation's real and predicted DE rows and its own gene.
type PerPert<'a> = dyn Fn(&wilcoxon::DeRows, &wilcoxon::DeRows, Option<usize>) -> Option<f64> + 'a;

/// The members of cell-eval2's `vcc2026` profile, in its catalog order, and whether each is
/// computed here.
pub const MEMBERS: [(&str, bool); 10] = [
    ("pds_cosine", true),
    ("expr_mse_unbiased", true),
    ("expr_mse_unbiased_capped", true),
    ("expr_distance_unbiased", true),
    ("expr_real_mass_ratio", true),
    ("expr_mse_unbiased_capped_norm", true),
    ("de_wilcoxon_lfc_nmae", true),
    ("de_wilcoxon_direction_fidelity_yield_raw", true),
    ("de_wilcoxon_direction_reach_raw", true),
    ("de_wilcoxon_sig_jaccard", true),
];

fn input_error(path: &Path, message: impl Into<String>) -> CellEvalError {
    CellEvalError::Input {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Options of `run` that the vcc2026 profile fixes or does not have.
fn check_options(opts: &RunOptions) -> Result<()> {
    let refuse = |flag: &str| {
        Err(CellEvalError::Option(format!(
            "{flag} does not apply to --profile vcc2026 (its DE settings, control and metrics are fixed by the profile)"
        )))
    };
    if opts.de_pred.is_some() || opts.de_real.is_some() {
        return refuse("--de-pred/--de-real");
    }
    if opts.celltype_col.is_some() {
        return refuse("--celltype-col");
    }
    if opts.embed_key.is_some() {
        return refuse("--embed-key");
    }
    if opts.ceiling {
        return refuse("--ceiling");
    }
    if opts.cpm_filter.is_some() {
        return refuse("--cpm-filter");
    }
    if opts.epsilon != 0.0 {
        return refuse("--epsilon");
    }
    if !opts.skip_metrics.is_empty() {
        return refuse("--skip-metrics");
    }
    Ok(())
}

/// One counts file, checked.
struct Counts {
    path: PathBuf,
    adata: AnnData,
    dtype: String,
}

/// Reads `path` and checks that X holds raw counts: finite non-negative integers, each
/// cell's total at most `max_counts_per_cell`.
fn read_counts(path: &Path) -> Result<Counts> {
    let reader = H5adReader::open(path)?;
    let dtype = reader.matrix_info("X")?.dtype;
    let adata = reader.read(&ReadOptions {
        layers: Some(Vec::new()),
        side_arrays: false,
        uns: false,
    })?;
    let x = &adata.x;
    for r in 0..x.nrows() {
        let (idx, vals) = x.row(r);
        let mut total = 0.0f64;
        for (&j, &v) in idx.iter().zip(vals) {
            if !v.is_finite() || v < 0.0 {
                return Err(input_error(
                    path,
                    format!("X[{r}, {j}] = {v}: --profile vcc2026 needs raw counts (finite, non-negative integers)"),
                ));
            }
            if v.fract() != 0.0 {
                return Err(input_error(
                    path,
                    format!("X[{r}, {j}] = {v} is not an integer: --profile vcc2026 needs raw counts, not log-normalised or scaled values (cell-eval2: input_type counts, allow_fractional_counts false)"),
                ));
            }
            total += v as f64;
        }
        if total > SETTINGS.max_counts_per_cell {
            return Err(input_error(
                path,
                format!(
                    "cell {r} has {total} counts, above the {} per cell that --profile vcc2026 accepts",
                    SETTINGS.max_counts_per_cell
                ),
            ));
        }
    }
    Ok(Counts {
        path: path.to_path_buf(),
        adata,
        dtype,
    })
}

fn record_of(role: &str, c: &Counts) -> Result<InputRecord> {
    Ok(InputRecord {
        role: role.into(),
        path: c.path.display().to_string(),
        sha256: sha256_file(&c.path)?,
        dtype: Some(c.dtype.clone()),
        scale: None,
        shape: Some((c.adata.n_obs(), c.adata.n_vars())),
    })
}

fn check_same_genes(real: &Counts, pred: &Counts) -> Result<()> {
    let (a, b) = (real.adata.var_names(), pred.adata.var_names());
    if a.len() != b.len() {
        return Err(CellEvalError::GeneMismatch(format!(
            "{} has {} genes, {} has {}",
            real.path.display(),
            a.len(),
            pred.path.display(),
            b.len()
        )));
    }
    if let Some(j) = (0..a.len()).find(|&j| a[j] != b[j]) {
        return Err(CellEvalError::GeneMismatch(format!(
            "gene {j} is '{}' in {} but '{}' in {} (same genes in the same order required)",
            a[j],
            real.path.display(),
            b[j],
            pred.path.display()
        )));
    }
    Ok(())
}

/// The non-control labels of `g` with their cells, in label order.
fn perturbation_cells(g: &Groups) -> Vec<(String, Vec<usize>)> {
    g.perturbations()
        .into_iter()
        .map(|i| (g.names[i].clone(), g.cells[i].clone()))
        .collect()
}

/// Runs the vcc2026 profile and writes `results.csv`, `agg_results.csv` and
/// `conventions.json` into `opts.outdir` (all at once or nothing).
pub fn run(opts: &RunOptions) -> Result<RunSummary> {
    check_options(opts)?;
    let pred_path = opts.adata_pred.as_ref().ok_or_else(|| {
        CellEvalError::Option("--adata-pred is required with --profile vcc2026".into())
    })?;
    let real = read_counts(&opts.adata_real)?;
    let pred = read_counts(pred_path)?;
    check_same_genes(&real, &pred)?;
    let control = opts.control_pert.as_str();
    let real_groups = Groups::from_obs(&real.adata, &opts.pert_col, control)
        .map_err(|e| input_error(&real.path, e.to_string()))?;
    // The prediction holds the control label too (its cells are not used: the DE and the
    // deltas use the real control), as cell-eval2 requires the same label sets.
    let pred_groups = Groups::from_obs(&pred.adata, &opts.pert_col, control)
        .map_err(|e| input_error(&pred.path, e.to_string()))?;
    let real_perts = perturbation_cells(&real_groups);
    let pred_perts = perturbation_cells(&pred_groups);
    let rl: Vec<&String> = real_perts.iter().map(|p| &p.0).collect();
    let pl: Vec<&String> = pred_perts.iter().map(|p| &p.0).collect();
    if rl != pl {
        let only = |a: &[&String], b: &[&String]| -> Vec<String> {
            a.iter()
                .filter(|x| !b.contains(x))
                .map(|s| s.to_string())
                .collect()
        };
        return Err(CellEvalError::PerturbationMismatch(format!(
            "only in real ({}): [{}]; only in pred ({}): [{}]",
            real.path.display(),
            only(&rl, &pl).join(", "),
            pred.path.display(),
            only(&pl, &rl).join(", ")
        )));
    }
    if real_perts.is_empty() {
        return Err(input_error(
            &real.path,
            format!(
                "no perturbation besides the control '{control}' in column '{}'",
                opts.pert_col
            ),
        ));
    }
    let labels: Vec<String> = real_perts.iter().map(|p| p.0.clone()).collect();
    let genes: Vec<String> = real.adata.var_names().to_vec();

    // DE of both sides against the real control cells.
    let ctrl_rows = &real_groups.cells[real_groups.control];
    let ctrl = CellColumns::of_rows(&real.adata.x, ctrl_rows, SETTINGS.target_sum);
    let kept = kept_genes(&ctrl, SETTINGS.filter_gene_min_cpm_cell);
    let cols =
        |x: &perturbench_io::Csr, perts: &[(String, Vec<usize>)]| -> Vec<(String, CellColumns)> {
            perts
                .par_iter()
                .map(|(l, rows)| {
                    (
                        l.clone(),
                        CellColumns::of_rows(x, rows, SETTINGS.target_sum),
                    )
                })
                .collect()
        };
    let real_de = de_table(
        &cols(&real.adata.x, &real_perts),
        &ctrl,
        &kept,
        SETTINGS.epsilon,
    );
    let pred_de = de_table(
        &cols(&pred.adata.x, &pred_perts),
        &ctrl,
        &kept,
        SETTINGS.epsilon,
    );
    let alpha = SETTINGS.p_adj_threshold;
    let jaccard = metrics::sig_jaccard(&real_de, &pred_de, &genes, alpha);
    let own = direction::own_genes(&real_de, &genes)?;
    let per_pert = |f: &PerPert| {
        real_de
            .iter()
            .zip(&pred_de)
            .zip(&own)
            .map(|((r, p), &o)| f(r, p, o))
            .collect::<Vec<Option<f64>>>()
    };
    let nmae = per_pert(&|r, p, o| direction::lfc_nmae(r, p, o, alpha));
    let fidelity = per_pert(&|r, p, o| Some(direction::fidelity_yield_raw(r, p, o, alpha)));
    let reach = per_pert(&|r, p, o| Some(direction::reach_raw(r, p, o, alpha, &genes)));

    // pds_cosine on bulk_lognorm pseudobulks, both deltas against the real control.
    let real_rows: Vec<Vec<usize>> = real_perts.iter().map(|p| p.1.clone()).collect();
    let pred_rows: Vec<Vec<usize>> = pred_perts.iter().map(|p| p.1.clone()).collect();
    let t = SETTINGS.bulk_target_sum;
    let real_bulk = metrics::bulk_lognorm(&real.adata.x, &real_rows, t);
    let pred_bulk = metrics::bulk_lognorm(&pred.adata.x, &pred_rows, t);
    let ctrl_bulk =
        metrics::bulk_lognorm(&real.adata.x, std::slice::from_ref(ctrl_rows), t).remove(0);
    let pds = metrics::pds_cosine(&labels, &real_bulk, &pred_bulk, &ctrl_bulk, &genes)?;

    // The sampling-corrected expression errors (jackknife of each group's bulk_lognorm).
    let jk = |x: &perturbench_io::Csr, rows: &[Vec<usize>]| -> Vec<f64> {
        rows.par_iter()
            .map(|r| unbiased::jackknife(x, r, t))
            .collect()
    };
    let real_c = jk(&real.adata.x, &real_rows);
    let pred_c = jk(&pred.adata.x, &pred_rows);
    let ctrl_c = unbiased::jackknife(&real.adata.x, ctrl_rows, t);
    let own_cols = unbiased::own_columns(&labels, &genes);
    let ub = unbiased::unbiased(
        &pred_bulk, &real_bulk, &pred_c, &real_c, &ctrl_bulk, ctrl_c, &own_cols,
    );
    let norm = unbiased::capped_norm(&ub.mse_capped, &ub.distance).ok_or_else(|| {
        input_error(
            &real.path,
            "expr_mse_unbiased_capped_norm: the summed expr_distance_unbiased of the real perturbations is not positive (no measurable effect at this cell depth)",
        )
    })?;
    let mass: Vec<f64> = real_bulk
        .iter()
        .map(|m| metrics::mass_ratio(m, t))
        .collect();
    let some = |v: Vec<f64>| -> Vec<Option<f64>> { v.into_iter().map(Some).collect() };
    let columns: Vec<(String, Vec<Option<f64>>)> = vec![
        ("de_wilcoxon_lfc_nmae".into(), nmae),
        ("de_wilcoxon_direction_fidelity_yield_raw".into(), fidelity),
        ("de_wilcoxon_direction_reach_raw".into(), reach),
        ("de_wilcoxon_sig_jaccard".into(), some(jaccard)),
        ("pds_cosine".into(), some(pds)),
        ("expr_mse_unbiased".into(), some(ub.mse)),
        ("expr_mse_unbiased_capped".into(), some(ub.mse_capped)),
        ("expr_distance_unbiased".into(), some(ub.distance)),
        ("expr_real_mass_ratio".into(), some(mass)),
    ];
    let mut rows = Vec::new();
    for (m, vals) in &columns {
        for (l, v) in labels.iter().zip(vals) {
            if let Some(v) = v {
                rows.push((l.clone(), m.clone(), *v));
            }
        }
    }
    let skipped: Vec<Skipped> = MEMBERS
        .iter()
        .filter(|m| !m.1)
        .map(|m| Skipped {
            metric: m.0.into(),
            reason: "member of cell-eval2's vcc2026 profile not implemented yet".into(),
        })
        .collect();
    let inputs = vec![record_of("real", &real)?, record_of("pred", &pred)?];
    let resolved: Vec<String> = metrics::target_columns(&labels, &genes)
        .into_keys()
        .collect();
    let rec = Vcc2026Record {
        command: "run".into(),
        profile: "vcc2026".into(),
        reference: "cell-eval2 0.20.0 (configs/vcc2026.yaml; DE through scanpy 1.11 rank_genes_groups, CPU backend)",
        version: env!("CARGO_PKG_VERSION").into(),
        settings: SETTINGS,
        metrics: columns
            .iter()
            .map(|c| c.0.clone())
            .chain(std::iter::once("expr_mse_unbiased_capped_norm".to_string()))
            .collect(),
        skipped: skipped.clone(),
        resolved_targets: resolved,
        de_genes_kept: (kept.len(), genes.len()),
        inputs: inputs.clone(),
        rules: RULES.to_vec(),
    };

    let staging = Staging::new(&opts.outdir)?;
    let files = vec![
        "results.csv".to_string(),
        "agg_results.csv".to_string(),
        "conventions.json".to_string(),
    ];
    staging.write("results.csv", &output::results_csv(&rows))?;
    let derived = [("expr_mse_unbiased_capped_norm".to_string(), norm)];
    staging.write(
        "agg_results.csv",
        &output::agg_results_csv(&columns, &derived),
    )?;
    staging.write("conventions.json", &rec.to_json())?;
    let outdir = staging.commit()?;

    let mut record = RunRecord::new(
        "run",
        "vcc2026",
        crate::Conventions::cell_eval_0_8_2(crate::DeOptions::default()),
    );
    record.metrics = rec.metrics.clone();
    record.skipped = skipped;
    record.inputs = inputs;
    let table = MetricTable {
        perturbations: labels,
        columns,
    };
    Ok(RunSummary {
        outdir,
        files,
        results: vec![(None, table)],
        record,
    })
}
