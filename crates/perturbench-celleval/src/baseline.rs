//! `cell-eval baseline`: the per-perturbation mean baseline. Every perturbation is predicted
//! as the mean of the per-group means of X (control group included, as cell-eval 0.8.2
//! averages every group's mean), with as many cells as the perturbation has (or as a counts
//! table says), followed by the real control cells; optionally its DE table.
//!
//! The baseline is a float32 matrix (as cell-eval's), so its DE averages in float32. Rows
//! come in perturbation label order; cell-eval's order follows a polars `group_by` and
//! varies from run to run (the numbers do not depend on it beyond float32 rounding of the
//! mean over groups).

use crate::de::{differential_expression, DeOptions};
use crate::error::{CellEvalError, Result};
use crate::groups::Groups;
use crate::input::read_input;
use crate::pseudobulk::Pseudobulks;
use crate::run::with_threads;
use crate::staging::Staging;
use perturbench_io::{write_h5ad, AnnData, Column, Csr, WriteOptions};
use std::path::{Path, PathBuf};

/// The options of `cell-eval baseline` (cell-eval 0.8.2's flags).
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct BaselineOptions {
    /// Real .h5ad.
    #[arg(short = 'a', long)]
    pub adata: PathBuf,
    /// CSV of cells per perturbation.
    #[arg(short = 'c', long)]
    pub counts: Option<PathBuf>,
    /// Baseline .h5ad to write.
    #[arg(short = 'o', long, default_value = "./baseline.h5ad")]
    pub output_path: PathBuf,
    /// Baseline DE table to write.
    #[arg(short = 'O', long, default_value = "./baseline_de.csv")]
    pub output_de_path: PathBuf,
    /// Name of the control perturbation.
    #[arg(long, default_value = "non-targeting")]
    pub control_pert: String,
    /// obs column of the perturbations.
    #[arg(long, default_value = "target_gene")]
    pub pert_col: String,
    /// Column of the counts CSV holding the number of cells.
    #[arg(long, default_value = "n_cells")]
    pub counts_col: String,
    /// Worker threads (default: all cores).
    #[arg(short = 't', long)]
    pub num_threads: Option<usize>,
    /// Accept integer (count) matrices as they are.
    #[arg(long)]
    pub allow_discrete: bool,
    /// Do not compute the baseline's DE table.
    #[arg(long)]
    pub skip_de: bool,
}

/// What `baseline` wrote.
#[derive(Debug, Clone)]
pub struct BaselineSummary {
    /// Baseline cells (without the control cells).
    pub n_baseline_cells: usize,
    /// Control cells appended.
    pub n_control_cells: usize,
    /// The baseline profile (one value per gene).
    pub profile: Vec<f64>,
}

fn read_counts(
    path: &Path,
    pert_col: &str,
    counts_col: &str,
    control: &str,
) -> Result<Vec<(String, usize)>> {
    let shown = path.display().to_string();
    let err = |m: String| CellEvalError::Input {
        path: shown.clone(),
        message: m,
    };
    let mut rdr = csv::Reader::from_path(path).map_err(|e| err(e.to_string()))?;
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| err(e.to_string()))?
        .iter()
        .map(String::from)
        .collect();
    let col = |n: &str| {
        headers.iter().position(|h| h == n).ok_or_else(|| {
            err(format!(
                "column '{n}' not found (columns: {})",
                headers.join(", ")
            ))
        })
    };
    let (cp, cc) = (col(pert_col)?, col(counts_col)?);
    let mut out = Vec::new();
    for (line, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| err(e.to_string()))?;
        let p = rec.get(cp).unwrap_or("").to_string();
        let c = rec.get(cc).unwrap_or("");
        let n: usize = c
            .trim()
            .parse()
            .map_err(|_| err(format!("row {}: '{c}' is not a cell count", line + 2)))?;
        if p != control {
            out.push((p, n));
        }
    }
    Ok(out)
}

/// Builds the baseline and writes `output_path` (and `output_de_path` unless `skip_de`),
/// atomically.
pub fn baseline(opts: &BaselineOptions) -> Result<BaselineSummary> {
    with_threads(opts.num_threads, || baseline_inner(opts))?
}

fn baseline_inner(opts: &BaselineOptions) -> Result<BaselineSummary> {
    let input = read_input(&opts.adata, opts.allow_discrete)?;
    let ad = &input.adata;
    let groups = Groups::from_obs(ad, &opts.pert_col, &opts.control_pert).map_err(|e| {
        CellEvalError::Input {
            path: opts.adata.display().to_string(),
            message: e.to_string(),
        }
    })?;
    let bulks = Pseudobulks::from_csr(&ad.x, &groups, ad.var_names())?;
    let ng = ad.n_vars();
    // cell-eval: polars group means (float32 for float32 X), then numpy's mean over the
    // groups, a float32 running sum divided by the number of groups.
    let k = bulks.means.len() as f32;
    let profile: Vec<f64> = (0..ng)
        .map(|j| {
            let sum = bulks
                .means
                .iter()
                .map(|m| m[j] as f32)
                .reduce(|a, b| a + b)
                .unwrap_or(0.0);
            (sum / k) as f64
        })
        .collect();
    let counts = match &opts.counts {
        Some(p) => read_counts(p, &opts.pert_col, &opts.counts_col, &opts.control_pert)?,
        None => groups
            .perturbations()
            .into_iter()
            .map(|g| (groups.names[g].clone(), groups.cells[g].len()))
            .collect(),
    };
    let n_base: usize = counts.iter().map(|c| c.1).sum();
    let row: Vec<f32> = profile.iter().map(|&v| v as f32).collect();
    let ctrl_rows = &groups.cells[groups.control];
    let base =
        Csr::from_dense(n_base, ng, &row.repeat(n_base)).map_err(|e| CellEvalError::Input {
            path: opts.output_path.display().to_string(),
            message: e.to_string(),
        })?;
    let ctrl = ad.select_obs(ctrl_rows);
    let x = Csr::vstack(&[&base, &ctrl.x]).map_err(|e| CellEvalError::Input {
        path: opts.output_path.display().to_string(),
        message: e.to_string(),
    })?;
    let mut labels: Vec<String> = counts
        .iter()
        .flat_map(|(p, n)| std::iter::repeat_n(p.clone(), *n))
        .collect();
    labels.extend(std::iter::repeat_n(
        opts.control_pert.clone(),
        ctrl_rows.len(),
    ));
    let mut names: Vec<String> = (0..n_base).map(|i| format!("p.{i}")).collect();
    names.extend(ctrl.obs_names().iter().cloned());
    let mut out = AnnData::new(x, names, ad.var_names().to_vec());
    out.var = ad.var.clone();
    out.obs
        .set_column(&opts.pert_col, Column::categorical_from_strings(&labels));

    let staging = Staging::new(&staging_dir(&opts.output_path))?;
    let h5 = staging.path("baseline.h5ad");
    write_h5ad(&h5, &out, &WriteOptions::default())?;
    let de_file = staging.path("baseline_de.csv");
    if !opts.skip_de {
        let g = Groups::from_labels(&labels, &opts.control_pert)?;
        // cell-eval's baseline always asks pdex for log1p data; its matrix is float32.
        let de_opts = DeOptions {
            is_log1p: true,
            ..DeOptions::for_stored_dtype("float32")
        };
        differential_expression(&out.x, &g, out.var_names(), &de_opts)?.write_csv(&de_file)?;
    }
    let io = |p: &Path, e: std::io::Error| CellEvalError::File {
        path: p.display().to_string(),
        source: e,
    };
    let mut moves = vec![(h5, &opts.output_path)];
    if !opts.skip_de {
        moves.push((de_file, &opts.output_de_path));
    }
    for (src, dst) in moves {
        if let Some(parent) = dst.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::rename(&src, dst).map_err(|e| io(dst, e))?;
    }
    drop(staging);
    Ok(BaselineSummary {
        n_baseline_cells: n_base,
        n_control_cells: ctrl_rows.len(),
        profile,
    })
}

/// A staging directory name next to the baseline output.
fn staging_dir(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "baseline".into());
    output.with_file_name(format!("{name}.staging"))
}
