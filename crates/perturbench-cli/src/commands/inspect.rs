//! `perturbench inspect`: what a file holds and how its perturbation design looks.

use crate::Global;
use perturbench_data::{Design, GroupIndex, PerturbationSpec};
use perturbench_io::{H5adReader, MatrixEncoding};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Options of `perturbench inspect`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .h5ad file.
    file: PathBuf,
    /// obs column with the perturbations.
    #[arg(long, default_value = "condition")]
    perturbation_key: String,
    /// Label of control cells.
    #[arg(long, default_value = "control")]
    control: String,
    /// Delimiter of combinations.
    #[arg(long, default_value = "+")]
    delimiter: String,
    /// Covariate obs columns, comma-separated (default: cell_type when the file has it).
    #[arg(long, value_delimiter = ',')]
    covariate_keys: Option<Vec<String>>,
}

/// Runs the command.
pub fn run(a: Args, g: Global) -> anyhow::Result<()> {
    let r = H5adReader::open(&a.file)?;
    let obs = r.read_frame("obs")?;
    let var = r.read_frame("var")?;
    let mut out = String::new();
    let _ = writeln!(out, "file: {}", a.file.display());
    let x = if r.has_x() {
        Some(r.matrix_info("X")?)
    } else {
        None
    };
    match &x {
        Some(info) => {
            if info.shape != (obs.nrows(), var.nrows()) {
                anyhow::bail!(
                    "{}: X: has shape {}x{} but obs has {} cells and var {} genes",
                    a.file.display(),
                    info.shape.0,
                    info.shape.1,
                    obs.nrows(),
                    var.nrows()
                );
            }
            let _ = writeln!(
                out,
                "shape: {} cells x {} genes",
                info.shape.0, info.shape.1
            );
            let _ = writeln!(out, "X: {}", describe_matrix(info));
        }
        None => {
            let _ = writeln!(
                out,
                "shape: {} cells x {} genes (no X)",
                obs.nrows(),
                var.nrows()
            );
        }
    }
    perturbench_data::check_unique_var_names(&var.index, &a.file.display().to_string())?;
    let layers = r.layer_names()?;
    if layers.is_empty() {
        let _ = writeln!(out, "layers: none");
    }
    for l in &layers {
        let info = r.matrix_info(&format!("layers/{l}"))?;
        let _ = writeln!(out, "layers/{l}: {}", describe_matrix(&info));
    }
    let obsm = r.read_dense_dict("obsm")?;
    for (k, m) in &obsm {
        let _ = writeln!(out, "obsm/{k}: {} x {}", m.nrows, m.ncols);
    }
    let _ = writeln!(out, "obs columns ({}):", obs.columns.len());
    let width = obs.columns.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, col) in &obs.columns {
        let _ = writeln!(out, "  {name:<width$}  {}", col.type_name());
    }
    let covariate_keys = match a.covariate_keys {
        Some(k) => k,
        None if obs.column("cell_type").is_some() => vec!["cell_type".to_string()],
        None => Vec::new(),
    };
    let spec = PerturbationSpec {
        key: a.perturbation_key,
        control: a.control,
        delimiter: a.delimiter,
        covariate_keys,
    };
    let design = Design::from_obs(&obs, &spec, &a.file.display().to_string())?;
    summarize_design(&mut out, &design, &spec);
    let skipped = r.skipped();
    if !skipped.is_empty() {
        let _ = writeln!(
            out,
            "not read (encodings perturbench does not use): {}",
            skipped.join(", ")
        );
    }
    if !g.quiet {
        print!("{out}");
    }
    Ok(())
}

fn describe_matrix(info: &perturbench_io::MatrixInfo) -> String {
    let cells = (info.shape.0 * info.shape.1).max(1) as f64;
    match info.encoding {
        MatrixEncoding::Dense => format!(
            "dense array, {}, compression {}",
            info.dtype, info.compression
        ),
        enc => format!(
            "{enc}, {}, {} stored values ({:.2} % of entries), compression {}",
            info.dtype,
            info.stored,
            100.0 * info.stored as f64 / cells,
            info.compression
        ),
    }
}

fn summarize_design(out: &mut String, d: &Design, spec: &PerturbationSpec) {
    let groups = GroupIndex::build(d);
    let control = d.control;
    let singles = d.perturbations.iter().filter(|p| p.len() == 1).count();
    let combos = d.perturbations.iter().filter(|p| p.is_combo()).count();
    let max_order = d.perturbations.iter().map(|p| p.len()).max().unwrap_or(0);
    let n_control = (0..d.n_cells()).filter(|&r| d.is_control(r)).count();
    let cov_desc = if spec.covariate_keys.is_empty() {
        "none".to_string()
    } else {
        spec.covariate_keys.join(", ")
    };
    let _ = writeln!(
        out,
        "perturbations (key '{}', control '{}', delimiter '{}', covariates: {cov_desc}):",
        spec.key, spec.control, spec.delimiter
    );
    let _ = writeln!(
        out,
        "  singles: {singles}, combinations: {combos}{}, control cells: {n_control}",
        if combos > 0 {
            format!(" (up to {max_order} names)")
        } else {
            String::new()
        }
    );
    let mut sizes: Vec<usize> = groups
        .groups()
        .iter()
        .filter(|g| Some(g.perturbation) != control)
        .map(|g| g.rows.len())
        .collect();
    sizes.sort_unstable();
    if let (Some(min), Some(max)) = (sizes.first(), sizes.last()) {
        let median = if sizes.len() % 2 == 1 {
            sizes[sizes.len() / 2] as f64
        } else {
            (sizes[sizes.len() / 2 - 1] + sizes[sizes.len() / 2]) as f64 / 2.0
        };
        let _ = writeln!(
            out,
            "  cells per group (covariates x perturbation, controls excluded): min {min} / median {median} / max {max} over {} groups",
            sizes.len()
        );
    }
    let _ = writeln!(out, "  groups per covariate combination:");
    let labels: Vec<String> = (0..d.covariates.len())
        .map(|c| {
            if spec.covariate_keys.is_empty() {
                "(all cells)".into()
            } else {
                d.covariate_label(c as u32)
            }
        })
        .collect();
    let width = labels.iter().map(|l| l.len()).max().unwrap_or(0);
    for (c, label) in labels.iter().enumerate() {
        let gs: Vec<_> = groups
            .groups()
            .iter()
            .filter(|g| g.covariate == c as u32)
            .collect();
        let perts = gs
            .iter()
            .filter(|g| Some(g.perturbation) != control)
            .count();
        let ctrl = gs
            .iter()
            .filter(|g| Some(g.perturbation) == control)
            .map(|g| g.rows.len())
            .sum::<usize>();
        let cells: usize = gs.iter().map(|g| g.rows.len()).sum();
        let _ = writeln!(
            out,
            "    {label:<width$}  {perts} perturbations, {ctrl} control cells, {cells} cells"
        );
    }
}
