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

pub mod anchor;
pub mod direction;
pub mod evaluate;
pub mod metrics;
pub mod output;
pub mod record;
pub mod replicate_score;
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
use evaluate::{evaluate, ControlSource, Side};
use perturbench_io::{AnnData, H5adReader, ReadOptions};
use record::{AnchorRecord, Vcc2026Record, RULES, SETTINGS};
use std::path::{Path, PathBuf};

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
        precision: None,
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

/// The prediction's evaluation, ready to write.
struct Scored {
    pred_input: InputRecord,
    labels: Vec<String>,
    columns: Vec<(String, Vec<Option<f64>>)>,
    norm: f64,
    kept: usize,
    /// The real perturbations' rows and the real control's rows.
    real_perts: Vec<(String, Vec<usize>)>,
    real_control: Vec<usize>,
    /// The full-real DE table (reused by the anchor).
    real_de: Vec<wilcoxon::DeRows>,
}

/// Evaluates the prediction at `pred_path` against the real counts.
fn score_prediction(
    opts: &RunOptions,
    real: &Counts,
    real_groups: &Groups,
    genes: &[String],
    pred_path: &Path,
) -> Result<Scored> {
    let pred = read_counts(pred_path)?;
    check_same_genes(real, &pred)?;
    let control = opts.control_pert.as_str();
    // The prediction holds the control label too (its cells are not used: the DE and the
    // deltas use the real control), as cell-eval2 requires the same label sets.
    let pred_groups = Groups::from_obs(&pred.adata, &opts.pert_col, control)
        .map_err(|e| input_error(&pred.path, e.to_string()))?;
    let real_perts = perturbation_cells(real_groups);
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
    let real_side = Side {
        x: &real.adata.x,
        perts: real_perts,
        control: real_groups.cells[real_groups.control].clone(),
    };
    let pred_side = Side {
        x: &pred.adata.x,
        perts: pred_perts,
        control: Vec::new(),
    };
    let ev = evaluate(&real_side, &pred_side, genes, ControlSource::Real)?;
    let norm = ev.norm.ok_or_else(|| {
        input_error(
            &real.path,
            "expr_mse_unbiased_capped_norm: the summed expr_distance_unbiased of the real perturbations is not positive (no measurable effect at this cell depth)",
        )
    })?;
    Ok(Scored {
        pred_input: record_of("pred", &pred)?,
        labels: ev.labels,
        columns: ev.columns,
        norm,
        kept: ev.kept,
        real_perts: real_side.perts,
        real_control: real_side.control,
        real_de: ev.real_de,
    })
}

/// Runs the vcc2026 profile and writes `results.csv`, `agg_results.csv` (with `-ap`),
/// `anchor_agg.csv`, `anchor_splits.csv` (with `--anchor`) and `conventions.json` into
/// `opts.outdir` (all at once or nothing).
pub fn run(opts: &RunOptions) -> Result<RunSummary> {
    check_options(opts)?;
    if opts.adata_pred.is_none() && !opts.anchor {
        return Err(CellEvalError::Option(
            "--adata-pred is required with --profile vcc2026 unless --anchor is passed (anchor-only mode)".into(),
        ));
    }
    if !opts.anchor && (opts.anchor_base_seed != 0 || opts.anchor_splits != 5) {
        return Err(CellEvalError::Option(
            "--anchor-base-seed/--anchor-splits apply only with --anchor".into(),
        ));
    }
    let real = read_counts(&opts.adata_real)?;
    let control = opts.control_pert.as_str();
    let real_groups = Groups::from_obs(&real.adata, &opts.pert_col, control)
        .map_err(|e| input_error(&real.path, e.to_string()))?;
    if real_groups.perturbations().is_empty() {
        return Err(input_error(
            &real.path,
            format!(
                "no perturbation besides the control '{control}' in column '{}'",
                opts.pert_col
            ),
        ));
    }
    let genes: Vec<String> = real.adata.var_names().to_vec();
    let scored = match &opts.adata_pred {
        Some(p) => Some(score_prediction(opts, &real, &real_groups, &genes, p)?),
        None => None,
    };
    let anchor = if opts.anchor {
        let groups = anchor::groupby_order(&real.adata, &opts.pert_col)
            .map_err(|e| input_error(&real.path, e.to_string()))?;
        Some(anchor::replicate_anchor(
            &real.path.display().to_string(),
            &real.adata.x,
            &groups,
            control,
            &genes,
            opts.anchor_base_seed,
            opts.anchor_splits,
            scored.as_ref().map(|s| anchor::FullDe {
                perts: &s.real_perts,
                control: &s.real_control,
                de: &s.real_de,
            }),
        )?)
    } else {
        None
    };

    let skipped: Vec<Skipped> = MEMBERS
        .iter()
        .filter(|m| !m.1)
        .map(|m| Skipped {
            metric: m.0.into(),
            reason: "member of cell-eval2's vcc2026 profile not implemented yet".into(),
        })
        .collect();
    let mut inputs = vec![record_of("real", &real)?];
    let labels: Vec<String> = real_groups
        .perturbations()
        .into_iter()
        .map(|i| real_groups.names[i].clone())
        .collect();
    let resolved: Vec<String> = metrics::target_columns(&labels, &genes)
        .into_keys()
        .collect();
    let metric_names: Vec<String> = match &scored {
        Some(s) => s
            .columns
            .iter()
            .map(|c| c.0.clone())
            .chain(std::iter::once("expr_mse_unbiased_capped_norm".to_string()))
            .collect(),
        None => Vec::new(),
    };
    if let Some(s) = &scored {
        inputs.push(s.pred_input.clone());
    }
    let rec = Vcc2026Record {
        command: "run".into(),
        profile: "vcc2026".into(),
        reference: "cell-eval2 0.20.0 (configs/vcc2026.yaml; DE through scanpy 1.11 rank_genes_groups, CPU backend)",
        version: env!("CARGO_PKG_VERSION").into(),
        settings: SETTINGS,
        metrics: metric_names.clone(),
        skipped: skipped.clone(),
        resolved_targets: resolved,
        de_genes_kept: scored.as_ref().map(|s| (s.kept, genes.len())),
        anchor: anchor.as_ref().map(AnchorRecord::of),
        inputs: inputs.clone(),
        rules: RULES.to_vec(),
    };

    let staging = Staging::new(&opts.outdir)?;
    let mut files = Vec::new();
    if let Some(s) = &scored {
        let mut rows = Vec::new();
        for (m, vals) in &s.columns {
            for (l, v) in s.labels.iter().zip(vals) {
                if let Some(v) = v {
                    rows.push((l.clone(), m.clone(), *v));
                }
            }
        }
        staging.write("results.csv", &output::results_csv(&rows))?;
        let derived = [("expr_mse_unbiased_capped_norm".to_string(), s.norm)];
        staging.write(
            "agg_results.csv",
            &output::agg_results_csv(&s.columns, &derived),
        )?;
        files.extend(["results.csv".to_string(), "agg_results.csv".to_string()]);
    }
    if let Some(a) = &anchor {
        staging.write("anchor_agg.csv", &output::anchor_agg_csv(a))?;
        staging.write("anchor_splits.csv", &output::anchor_splits_csv(a))?;
        files.extend([
            "anchor_agg.csv".to_string(),
            "anchor_splits.csv".to_string(),
        ]);
    }
    staging.write("conventions.json", &rec.to_json())?;
    files.push("conventions.json".to_string());
    let outdir = staging.commit()?;

    let mut record = RunRecord::new(
        "run",
        "vcc2026",
        crate::Conventions::cell_eval_0_8_2(crate::DeOptions::default()),
    );
    record.metrics = metric_names;
    record.skipped = skipped;
    record.inputs = inputs;
    let results = match scored {
        Some(s) => vec![(
            None,
            MetricTable {
                perturbations: s.labels,
                columns: s.columns,
            },
        )],
        None => Vec::new(),
    };
    Ok(RunSummary {
        outdir,
        files,
        results,
        record,
    })
}
