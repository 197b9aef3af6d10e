//! What a file holds and how its perturbation design looks (`perturbench inspect`): shape,
//! encodings, obs columns, and the design under the given settings or, when none are given and
//! the defaults do not fit, under a convention inferred from obs (GEARS' `ctrl` / `A+ctrl`).

use crate::error::{Error, Result};
use perturbench_data::{Design, GroupIndex, PerturbationSpec};
use perturbench_io::{Column, Frame, H5adReader, MatrixEncoding};
use std::fmt::Write as _;
use std::path::Path;

/// The settings `describe` reads a design with (unset: defaults, or inferred).
pub type InspectOptions = crate::flags::DesignFlags;

/// A file's description, and the error when settings given explicitly do not fit it (the
/// file is described all the same).
pub struct Description {
    /// The text, one item per line.
    pub text: String,
    /// Why the given settings do not fit the file.
    pub error: Option<Error>,
}

/// Control labels of common conventions, tried when the default one is absent.
const CONTROL_LABELS: [&str; 7] = [
    "ctrl",
    "control",
    "non-targeting",
    "Non-targeting",
    "NTC",
    "DMSO",
    "vehicle",
];

/// Values of obs columns shown.
const SHOWN_VALUES: usize = 4;

/// Describes `file` under `a`. Only an unreadable file fails; settings given explicitly that
/// do not fit are reported in [`Description::error`].
pub fn describe(file: &Path, a: &InspectOptions) -> Result<Description> {
    let source = file.display().to_string();
    let r = H5adReader::open(file)?;
    let obs = r.read_frame("obs")?;
    let var = r.read_frame("var")?;
    let mut out = String::new();
    let _ = writeln!(out, "file: {source}");
    let x = if r.has_x() {
        Some(r.matrix_info("X")?)
    } else {
        None
    };
    match &x {
        Some(info) => {
            if info.shape != (obs.nrows(), var.nrows()) {
                crate::bail!(
                    "{source}: X: has shape {}x{} but obs has {} cells and var {} genes",
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
    perturbench_data::check_unique_var_names(&var.index, &source)?;
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
    let twidth = obs
        .columns
        .iter()
        .map(|(_, c)| c.type_name().len())
        .max()
        .unwrap_or(0);
    for (name, col) in &obs.columns {
        let _ = writeln!(
            out,
            "  {name:<width$}  {:<twidth$}  {}",
            col.type_name(),
            some_values(col)
        );
    }
    let explicit =
        a.perturbation_key.is_some() || a.control.is_some() || a.covariate_keys.is_some();
    let covariate_keys = match a.covariate_keys.clone() {
        Some(k) => k,
        None if obs.column("cell_type").is_some() => vec!["cell_type".to_string()],
        None => Vec::new(),
    };
    let mut spec = PerturbationSpec {
        key: a
            .perturbation_key
            .clone()
            .unwrap_or_else(|| "condition".into()),
        control: a.control.clone().unwrap_or_else(|| "control".into()),
        delimiter: a.delimiter.clone().unwrap_or_else(|| "+".into()),
        covariate_keys,
    };
    let design = match Design::from_obs(&obs, &spec, &source) {
        Ok(d) => Some(d),
        Err(e) if explicit => {
            // The file is described all the same; the settings given do not fit it.
            return Ok(Description {
                text: out,
                error: Some(e.into()),
            });
        }
        Err(e) => {
            let inferred = infer_convention(&obs, &spec);
            match inferred {
                Some((key, control, gears)) => {
                    spec.key = key;
                    spec.control = control;
                    let d = Design::from_obs(&obs, &spec, &source).ok();
                    let _ = writeln!(
                        out,
                        "note: {e};
      {} pass --perturbation-key {} --control {} to perturbench's commands (data.perturbation_key={} data.control={} in train's items); the design under it:",
                        if gears {
                            "this file follows GEARS' convention (control 'ctrl', a single written 'A+ctrl'):"
                        } else {
                            "obs has another control label:"
                        },
                        spec.key,
                        spec.control,
                        spec.key,
                        spec.control
                    );
                    d
                }
                None => {
                    let _ = writeln!(
                        out,
                        "note: no perturbation design under the defaults: {e};
      pass --perturbation-key KEY and --control LABEL (the obs column with the perturbations and the label of control cells)"
                    );
                    None
                }
            }
        }
    };
    if let Some(design) = &design {
        summarize_design(&mut out, design, &spec);
    }
    let skipped = r.skipped();
    if !skipped.is_empty() {
        let _ = writeln!(
            out,
            "not read (encodings perturbench does not use): {}",
            skipped.join(", ")
        );
    }
    Ok(Description {
        text: out,
        error: None,
    })
}

/// The first few distinct values of a column, e.g. `ctrl, AHR+ctrl, ...`.
fn some_values(col: &Column) -> String {
    let mut shown: Vec<String> = Vec::new();
    let mut more = false;
    if let Column::Categorical { categories, .. } = col {
        shown.extend(categories.iter().take(SHOWN_VALUES).cloned());
        more = categories.len() > SHOWN_VALUES;
    }
    // Other columns: the distinct values among the first rows.
    let scanned = if shown.is_empty() {
        col.len().min(10_000)
    } else {
        0
    };
    for i in 0..scanned {
        let v = col.value_string(i).unwrap_or_else(|| "(missing)".into());
        if shown.contains(&v) {
            continue;
        }
        if shown.len() == SHOWN_VALUES {
            more = true;
            break;
        }
        shown.push(v);
    }
    let mut s = shown
        .iter()
        .map(|v| {
            if v.chars().count() > 24 {
                format!("{}...", v.chars().take(24).collect::<String>())
            } else {
                v.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    if more {
        s.push_str(", ...");
    }
    s
}

/// A perturbation column and control label that obs supports when the given ones do not fit:
/// `(key, control, GEARS convention)`. The given key is tried first, then the other text
/// columns; a column fits when one of [`CONTROL_LABELS`] is among its values.
fn infer_convention(obs: &Frame, spec: &PerturbationSpec) -> Option<(String, String, bool)> {
    let mut keys: Vec<&str> = vec![spec.key.as_str()];
    keys.extend(
        obs.columns
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| *n != spec.key && !spec.covariate_keys.iter().any(|k| k == n)),
    );
    for key in keys {
        let Some(col) = obs.column(key) else { continue };
        if !matches!(
            col,
            Column::Categorical { .. } | Column::Str(_) | Column::NullableStr { .. }
        ) {
            continue;
        }
        let values: std::collections::BTreeSet<String> =
            (0..col.len()).filter_map(|i| col.value_string(i)).collect();
        for label in CONTROL_LABELS {
            if label == spec.control || !values.contains(label) {
                continue;
            }
            let gears = label == "ctrl"
                && values.iter().any(|v| {
                    v.ends_with(&format!("{}ctrl", spec.delimiter))
                        || v.starts_with(&format!("ctrl{}", spec.delimiter))
                });
            return Some((key.to_string(), label.to_string(), gears));
        }
    }
    None
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
