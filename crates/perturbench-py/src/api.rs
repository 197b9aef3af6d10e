//! The in-memory API: `evaluate` and `split` on AnnData objects, with the command line's
//! flags and results, no files in between.

use crate::memory;
use crate::to_py_err;
use clap::Parser;
use perturbench_data::split::SplitLabel;
use perturbench_eval::EvalOutput;
use perturbench_experiment::external::request_columns;
use perturbench_experiment::flags::{EvalFlags, SplitFlags};
use perturbench_experiment::formats::{PER_PERTURBATION_HEADER, SUMMARY_HEADER};
use perturbench_experiment::requests::plan_requests;
use perturbench_io::{CellSource, MemoryCells};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::sync::Mutex;

/// `perturbench evaluate`'s settings flags.
#[derive(Parser, Debug)]
#[command(name = "perturbench evaluate", no_binary_name = true)]
struct EvalArgs {
    #[command(flatten)]
    settings: EvalFlags,
}

/// `perturbench split`'s task flags.
#[derive(Parser, Debug)]
#[command(name = "perturbench split", no_binary_name = true)]
struct SplitArgs {
    #[command(flatten)]
    opts: SplitFlags,
}

/// Parses `flags` as a command's options; a usage error is a ValueError with clap's text.
fn parse<P: Parser>(flags: Vec<String>) -> PyResult<P> {
    P::try_parse_from(flags)
        .map_err(|e| PyValueError::new_err(e.render().to_string().trim().to_string()))
}

/// A table as `(header, text columns, value column)`.
type Table = (Vec<&'static str>, Vec<Vec<String>>, Vec<f64>);

/// `per_perturbation.csv` and `summary.csv` of an evaluation, as columns.
fn tables(out: &EvalOutput) -> (Table, Table) {
    let pp = &out.per_perturbation;
    let per = (
        PER_PERTURBATION_HEADER.to_vec(),
        vec![
            pp.iter().map(|r| r.model.clone()).collect(),
            pp.iter().map(|r| r.aggregation.clone()).collect(),
            pp.iter().map(|r| r.metric.clone()).collect(),
            pp.iter().map(|r| r.covariates.clone()).collect(),
            pp.iter().map(|r| r.perturbation.clone()).collect(),
        ],
        pp.iter().map(|r| r.value).collect(),
    );
    let s = &out.summary;
    let summary = (
        SUMMARY_HEADER.to_vec(),
        vec![
            s.iter().map(|r| r.model.clone()).collect(),
            s.iter().map(|r| r.aggregation.clone()).collect(),
            s.iter().map(|r| r.metric.clone()).collect(),
        ],
        s.iter().map(|r| r.value).collect(),
    );
    (per, summary)
}

/// Evaluates `predictions` (name, cells) against `reference` with `perturbench evaluate`'s
/// settings `flags`. Returns `(per_perturbation, summary, warnings)`, the tables as
/// `(header, text columns, values)`. The work runs without the GIL.
#[pyfunction]
pub fn evaluate(
    py: Python<'_>,
    reference: Bound<'_, PyAny>,
    predictions: Vec<(String, Bound<'_, PyAny>)>,
    flags: Vec<String>,
) -> PyResult<(Table, Table, Vec<String>)> {
    let args: EvalArgs = parse(flags)?;
    let cfg = args
        .settings
        .resolve_for(|c| {
            memory::has_column(&reference, c).map_err(perturbench_experiment::Error::msg)
        })
        .map_err(|e| to_py_err(e.into()))?;
    let spec = cfg.spec();
    let wanted: Vec<&str> = std::iter::once(spec.key.as_str())
        .chain(spec.covariate_keys.iter().map(String::as_str))
        .collect();
    let cells = |o: &Bound<'_, PyAny>, with_uns: bool| -> PyResult<MemoryCells<'_>> {
        Ok(MemoryCells {
            name: memory::name(o)?,
            obs: memory::obs(o, Some(&wanted), false)?,
            var: memory::var(o)?,
            // SAFETY: the arrays belong to `o`, which the caller holds for this whole call;
            // the cells are dropped before it returns.
            x: unsafe { memory::x(o)? },
            uns: match (&cfg.deg_key, with_uns) {
                (Some(k), true) => memory::uns_lists(o, k)?,
                _ => Default::default(),
            },
        })
    };
    let reference = cells(&reference, true)?;
    let predictions = predictions
        .iter()
        .map(|(n, o)| Ok((n.clone(), cells(o, false)?)))
        .collect::<PyResult<Vec<_>>>()?;
    let out = py.detach(move || {
        let preds = predictions
            .into_iter()
            .map(|(n, c)| (n, Box::new(c) as Box<dyn CellSource>))
            .collect();
        perturbench_eval::evaluate_sources(Box::new(reference), preds, &cfg, &|_| {})
    });
    let out = out.map_err(|e| to_py_err(e.into()))?;
    let (per, summary) = tables(&out);
    Ok((per, summary, out.warnings))
}

/// Splits the cells of `cells` with `perturbench split`'s flags. Returns each cell's label
/// (`train`, `val`, `test` or None) in obs order and the split's report lines.
#[pyfunction]
pub fn split(
    py: Python<'_>,
    cells: Bound<'_, PyAny>,
    flags: Vec<String>,
) -> PyResult<(Vec<Option<&'static str>>, Vec<String>)> {
    let args: SplitArgs = parse(flags)?;
    let source = memory::name(&cells)?;
    let obs = memory::obs(&cells, None, true)?;
    let lines = Mutex::new(Vec::new());
    let result = py.detach(|| {
        let opts = args.opts.data_config()?;
        opts.task("task=... (e.g. task=\"combination\")")?;
        opts.build_split(&obs, &source, &|line| {
            lines.lock().expect("not poisoned").push(line.to_string())
        })
    });
    let (_, _, split) = result.map_err(|e| to_py_err(e.into()))?;
    let labels = split.labels.iter().map(|l| l.map(|l| l.as_str())).collect();
    Ok((labels, lines.into_inner().expect("not poisoned")))
}

/// The prediction requests as columns: the control rows, the perturbation column's name and
/// values, each covariate column's name and values, the control cells' names, the design
/// (`perturbation_key`, `control`, `delimiter`, `covariate_keys`), warnings and split lines.
type RequestColumns = (
    Vec<usize>,
    (String, Vec<String>),
    Vec<(String, Vec<String>)>,
    Vec<String>,
    (String, String, String, Vec<String>),
    Vec<String>,
    Vec<String>,
);

/// Parses one split label: `train`, `val`, `test`, or empty / None for excluded cells.
fn label_of(label: Option<&str>, cell: &str) -> PyResult<Option<SplitLabel>> {
    match label.map(str::trim) {
        None | Some("") => Ok(None),
        Some(l) => SplitLabel::parse(l).map(Some).ok_or_else(|| {
            PyValueError::new_err(format!(
                "split: invalid label '{l}' for cell '{cell}' (expected train, val, test or empty)"
            ))
        }),
    }
}

/// The prediction requests of `cells` (obs and var only) as `train … model=external` writes
/// them to `{requests}`: split by `flags` (`perturbench split`'s) or labelled by `labels` (one
/// per cell), evaluated split `which`, at most `max_control_cells` controls per covariate
/// combination sampled with `seed`. The work runs without the GIL.
#[pyfunction]
pub fn prediction_requests(
    py: Python<'_>,
    cells: Bound<'_, PyAny>,
    flags: Vec<String>,
    labels: Option<Vec<Option<String>>>,
    which: String,
    max_control_cells: usize,
    seed: u64,
) -> PyResult<RequestColumns> {
    let args: SplitArgs = parse(flags)?;
    let label = match which.as_str() {
        "val" => SplitLabel::Val,
        "test" => SplitLabel::Test,
        w => {
            return Err(PyValueError::new_err(format!(
                "which: '{w}', expected 'val' or 'test'"
            )))
        }
    };
    let source = memory::name(&cells)?;
    let obs = memory::obs(&cells, None, true)?;
    let genes = memory::var(&cells)?.index;
    if let Some(l) = &labels {
        if l.len() != obs.index.len() {
            return Err(PyValueError::new_err(format!(
                "split: {} labels for {} cells",
                l.len(),
                obs.index.len()
            )));
        }
    }
    let labels = labels
        .map(|l| {
            l.iter()
                .zip(&obs.index)
                .map(|(l, cell)| label_of(l.as_deref(), cell))
                .collect::<PyResult<Vec<_>>>()
        })
        .transpose()?;
    let lines = Mutex::new(Vec::new());
    let result = py.detach(|| {
        let data = args.opts.data_config()?;
        plan_requests(
            &obs,
            &genes,
            &data,
            labels,
            label,
            max_control_cells,
            seed,
            &source,
            &|line| lines.lock().expect("not poisoned").push(line.to_string()),
        )
    });
    let (_, enc, requests, rows) = result.map_err(|e| to_py_err(e.into()))?;
    let (pert, covs) = request_columns(&enc, &requests.targets, &rows.ranges);
    let controls = rows.rows.iter().map(|&r| obs.index[r].clone()).collect();
    let covariates = enc.covariate_keys.iter().cloned().zip(covs).collect();
    let warnings = requests
        .skipped_warning(label.as_str())
        .into_iter()
        .collect();
    Ok((
        rows.rows,
        (enc.perturbation_key.clone(), pert),
        covariates,
        controls,
        (
            enc.perturbation_key.clone(),
            enc.control.clone(),
            enc.delimiter.clone(),
            enc.covariate_keys.clone(),
        ),
        warnings,
        lines.into_inner().expect("not poisoned"),
    ))
}
