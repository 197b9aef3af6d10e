//! The evaluation run: aggregate the reference and every prediction, compare matched groups,
//! rank within covariate groups, and summarise.

use crate::aggregate::{aggregate, control_means, Aggregate};
use crate::groups::{group_sums, FileGroups, GroupKey, GroupSums};
use crate::pairs;
use crate::{metric, rank, Aggregation, ControlSource, EvalConfig, EvalError};
use perturbench_data::PerturbationSpec;
use perturbench_io::{CellSource, H5adReader, Uns};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// One value of one metric for one model and one (covariates, perturbation) group.
#[derive(Debug, Clone, PartialEq)]
pub struct PerPerturbation {
    /// Model name.
    pub model: String,
    /// Aggregation name.
    pub aggregation: String,
    /// Metric name (`<metric>_rank` for rank metrics).
    pub metric: String,
    /// Covariate values joined with `_`.
    pub covariates: String,
    /// Perturbation as written in the reference.
    pub perturbation: String,
    /// The value.
    pub value: f64,
}

/// Mean of one metric over groups for one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Model name.
    pub model: String,
    /// Aggregation name.
    pub aggregation: String,
    /// Metric name (`<metric>_rank` for rank metrics).
    pub metric: String,
    /// Mean over groups (NaN values skipped, as pandas does).
    pub value: f64,
}

/// Everything an evaluation produced.
#[derive(Debug, Clone)]
pub struct EvalOutput {
    /// Per-group values.
    pub per_perturbation: Vec<PerPerturbation>,
    /// Per-model means, in pipeline order.
    pub summary: Vec<Summary>,
    /// Things the user should know (missing perturbations, ...).
    pub warnings: Vec<String>,
    /// Per-gene logFC of a few perturbations per model (`scatter_examples`).
    pub examples: Vec<crate::ExampleRow>,
}

/// An input of an evaluation.
struct Loaded<'a> {
    reader: Box<dyn CellSource + 'a>,
    groups: FileGroups,
    sums: GroupSums,
}

fn load<'a>(
    reader: Box<dyn CellSource + 'a>,
    ref_genes: Option<&[String]>,
    spec: &PerturbationSpec,
    with_f64: bool,
    with_sq: bool,
) -> Result<Loaded<'a>, EvalError> {
    let source = reader.source_name();
    // Only the columns the design needs (cell names would cost ~100 bytes per cell); the
    // whole frame only to explain a missing column.
    let wanted: Vec<&str> = std::iter::once(spec.key.as_str())
        .chain(spec.covariate_keys.iter().map(String::as_str))
        .collect();
    let mut obs = reader.read_frame_columns("obs", &wanted)?;
    if obs.columns.len() < wanted.len() {
        obs = reader.read_frame("obs")?;
    }
    let var = reader.read_frame("var")?;
    perturbench_data::check_unique_var_names(&var.index, &source)?;
    let genes = ref_genes.unwrap_or(&var.index);
    let groups = FileGroups::new(&obs, &var.index, genes, spec, &source)?;
    let info = if reader.has_x() {
        Some(reader.matrix_info("X")?)
    } else {
        None
    };
    match info {
        Some(i) if i.shape.0 == obs.nrows() => {}
        Some(i) => {
            return Err(EvalError::Input {
                source_name: source,
                message: format!("X has {} rows but obs has {} cells", i.shape.0, obs.nrows()),
            })
        }
        None => {
            return Err(EvalError::Input {
                source_name: source,
                message: "the file has no X".into(),
            })
        }
    }
    let sums = group_sums(reader.as_ref(), &groups, genes.len(), with_f64, with_sq)?;
    Ok(Loaded {
        reader,
        groups,
        sums,
    })
}

fn mean_skip_nan(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v
        .filter(|x| !x.is_nan())
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        s / n as f64
    }
}

/// DEG lists of the reference: key `{covariates}_{perturbation}` → gene positions.
fn deg_lists(
    reader: &dyn CellSource,
    key: &str,
    genes: &[String],
    top: Option<usize>,
) -> Result<HashMap<String, Vec<usize>>, EvalError> {
    let uns = reader.read_uns()?;
    let source = reader.source_name();
    let dict = uns
        .get(key)
        .and_then(Uns::as_dict)
        .ok_or_else(|| EvalError::Input {
            source_name: source.clone(),
            message: format!("uns['{key}'] is missing or not a dictionary of gene lists"),
        })?;
    let pos: HashMap<&str, usize> = genes
        .iter()
        .enumerate()
        .map(|(i, g)| (g.as_str(), i))
        .collect();
    let mut out = HashMap::new();
    for (k, v) in dict {
        let list = v.as_str_list().ok_or_else(|| EvalError::Input {
            source_name: source.clone(),
            message: format!("uns['{key}']['{k}'] is not a list of gene names"),
        })?;
        let n = top.unwrap_or(list.len()).min(list.len());
        out.insert(
            k.clone(),
            list[..n]
                .iter()
                .filter_map(|g| pos.get(g.as_str()).copied())
                .collect(),
        );
    }
    Ok(out)
}

/// The principal components the `pca` aggregation uses for `reference` under `cfg`
/// (`pca_components`, `pca_iterations`, `pca_tolerance`, `seed`).
pub fn reference_pca(reference: &PathBuf, cfg: &EvalConfig) -> Result<crate::pca::Pca, EvalError> {
    cfg.validate()?;
    let source = reference.display().to_string();
    let reader = H5adReader::open(reference)?;
    let obs = reader.read_frame("obs")?;
    let var = reader.read_frame("var")?;
    perturbench_data::check_unique_var_names(&var.index, &source)?;
    let groups = FileGroups::new(&obs, &var.index, &var.index, &cfg.spec(), &source)?;
    crate::pca::fit(
        &reader,
        &groups,
        var.index.len(),
        cfg.pca_components,
        cfg.pca_iterations,
        cfg.pca_tolerance,
        cfg.seed,
    )
}

/// Evaluates `predictions` (name, file) against `reference` under `cfg`.
pub fn evaluate(
    reference: &PathBuf,
    predictions: &[(String, PathBuf)],
    cfg: &EvalConfig,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<EvalOutput, EvalError> {
    cfg.validate()?;
    let reference = H5adReader::open(reference)?;
    let opened: Vec<(String, Box<dyn CellSource>)> = predictions
        .iter()
        .map(|(n, p)| {
            Ok((
                n.clone(),
                Box::new(H5adReader::open(p)?) as Box<dyn CellSource>,
            ))
        })
        .collect::<Result<_, EvalError>>()?;
    evaluate_sources(Box::new(reference), opened, cfg, progress)
}

/// Evaluates `predictions` (name, cells) against the observed cells `reference` under `cfg`:
/// [`evaluate`] for cells from any [`CellSource`], e.g. arrays in memory.
pub fn evaluate_sources<'a>(
    reference: Box<dyn CellSource + 'a>,
    predictions: Vec<(String, Box<dyn CellSource + 'a>)>,
    cfg: &EvalConfig,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<EvalOutput, EvalError> {
    cfg.validate()?;
    let spec = cfg.spec();
    let aggs: Vec<Aggregation> = {
        let mut v: Vec<Aggregation> = cfg.pipelines.iter().map(|p| p.aggregation).collect();
        v.dedup();
        let mut seen = Vec::new();
        v.retain(|a| {
            if seen.contains(a) {
                false
            } else {
                seen.push(*a);
                true
            }
        });
        v
    };
    let with_sq = aggs.iter().any(|a| {
        matches!(
            a,
            Aggregation::Var | Aggregation::Scaled | Aggregation::None
        )
    });
    let with_f64 = !cfg.float32_aggregates || aggs.contains(&Aggregation::None);
    progress(&format!("reading {}", reference.source_name()));
    let r = load(reference, None, &spec, with_f64, with_sq)?;
    let ref_genes: Vec<String> = r.reader.read_frame("var")?.index;
    let degs = match &cfg.deg_key {
        Some(k) => Some(deg_lists(r.reader.as_ref(), k, &ref_genes, cfg.top_degs)?),
        None => None,
    };
    let round = cfg.float32_aggregates;
    let ref_controls = |cov: &str| control_means(&r.groups, &r.sums, cov, round);
    let pca = if aggs.contains(&Aggregation::Pca) {
        progress("fitting the reference's principal components");
        Some(crate::pca::fit(
            r.reader.as_ref(),
            &r.groups,
            ref_genes.len(),
            cfg.pca_components,
            cfg.pca_iterations,
            cfg.pca_tolerance,
            cfg.seed,
        )?)
    } else {
        None
    };
    let mut warnings = Vec::new();
    if let Some(p) = pca.as_ref().filter(|p| p.residual > cfg.pca_tolerance) {
        warnings.push(format!(
            "the PCA stopped after pca_iterations = {} block Krylov steps with the top eigenvalues still changing by {:.1e} (relative; pca_tolerance {:.0e}): pca metrics use approximate components; raise pca_iterations for exact ones",
            cfg.pca_iterations, p.residual, cfg.pca_tolerance
        ));
    }
    let mut ref_aggs: HashMap<Aggregation, Aggregate> = HashMap::new();
    for &a in &aggs {
        ref_aggs.insert(
            a,
            aggregate(
                a,
                r.reader.as_ref(),
                &r.groups,
                &r.sums,
                &ref_controls,
                pca.as_ref(),
                cfg,
            )?,
        );
    }
    // Reference rows in output order: (covariates, perturbation label).
    let mut per_perturbation = Vec::new();
    let mut summary = Vec::new();
    let mut models: Vec<(String, Loaded)> = Vec::new();
    for (name, cells) in predictions {
        progress(&format!("reading {} ({name})", cells.source_name()));
        let loaded = load(cells, Some(&ref_genes), &spec, with_f64, with_sq)?;
        models.push((name, loaded));
    }
    let mut model_aggs: Vec<HashMap<Aggregation, Aggregate>> = Vec::new();
    for (_, m) in &models {
        let own = |cov: &str| control_means(&m.groups, &m.sums, cov, round);
        let controls: &dyn Fn(&str) -> Option<Vec<f64>> = match cfg.control_source {
            ControlSource::Own => &own,
            ControlSource::Reference => &ref_controls,
        };
        let mut map = HashMap::new();
        for &a in &aggs {
            map.insert(
                a,
                aggregate(
                    a,
                    m.reader.as_ref(),
                    &m.groups,
                    &m.sums,
                    controls,
                    pca.as_ref(),
                    cfg,
                )?,
            );
        }
        model_aggs.push(map);
    }
    let mut examples = Vec::new();
    let mut with_examples: Vec<usize> = Vec::new();
    for (pi, p) in cfg.pipelines.iter().enumerate() {
        progress(&format!("pipeline {p}"));
        let ra = &ref_aggs[&p.aggregation];
        // The reference stores average and scaled aggregates as float32.
        let f32_agg = cfg.float32_aggregates
            && matches!(p.aggregation, Aggregation::Average | Aggregation::Scaled);
        // Reference rows sorted by (covariates, label).
        let mut ref_rows: Vec<usize> = (0..ra.groups.len()).collect();
        ref_rows.sort_by(|&a, &b| {
            let (ga, gb) = (ra.groups[a], ra.groups[b]);
            (&r.groups.keys[ga].covariates, &r.groups.labels[ga])
                .cmp(&(&r.groups.keys[gb].covariates, &r.groups.labels[gb]))
        });
        for (mi, (name, m)) in models.iter().enumerate() {
            let ma = &model_aggs[mi][&p.aggregation];
            let row_of: HashMap<&GroupKey, usize> = ma
                .groups
                .iter()
                .enumerate()
                .map(|(i, &g)| (&m.groups.keys[g], i))
                .collect();
            // Matched (reference row, model row) pairs.
            let mut matched: Vec<(usize, usize)> = Vec::new();
            let mut missing: Vec<String> = Vec::new();
            for &rr in &ref_rows {
                let key = &r.groups.keys[ra.groups[rr]];
                match row_of.get(key) {
                    Some(&mr) => matched.push((rr, mr)),
                    None => missing.push(display(&r.groups, ra.groups[rr])),
                }
            }
            if matched.is_empty() {
                return Err(EvalError::Input {
                    source_name: m.groups.source.clone(),
                    message: format!("model '{name}' shares no (covariates, perturbation) group with the reference"),
                });
            }
            if !missing.is_empty() && pi == 0 {
                let first: Vec<&str> = missing.iter().take(10).map(String::as_str).collect();
                warnings.push(format!(
                    "model '{name}' lacks {} of the reference's perturbations (scored on the {} shared): {}{}",
                    missing.len(),
                    matched.len(),
                    first.join(", "),
                    if missing.len() > 10 { ", ..." } else { "" }
                ));
            }
            let genes_for = |rr: usize| -> Option<&Vec<usize>> {
                degs.as_ref()
                    .and_then(|d| d.get(&deg_key(&r.groups, ra.groups[rr])))
            };
            let values: Vec<f64> = matched
                .par_iter()
                .map(|&(rr, mr)| {
                    if p.metric.is_cell_level() {
                        return crate::cells::value(p.metric, ma, mr, ra, rr);
                    }
                    metric::compute(
                        p.metric,
                        ma.row(mr),
                        ra.row(rr),
                        genes_for(rr).map(Vec::as_slice),
                        f32_agg,
                        cfg,
                    )
                })
                .collect();
            if p.aggregation == Aggregation::Logfc
                && cfg.scatter_examples > 0
                && !with_examples.contains(&mi)
            {
                with_examples.push(mi);
                examples.extend(crate::examples::logfc_examples(
                    name,
                    &matched,
                    ma,
                    ra,
                    &r.groups,
                    &ref_genes,
                    cfg.scatter_examples,
                ));
            }
            for (&(rr, _), &v) in matched.iter().zip(&values) {
                per_perturbation.push(row(
                    name,
                    p.aggregation.name(),
                    p.metric.name(),
                    &r.groups,
                    ra.groups[rr],
                    v,
                ));
            }
            summary.push(Summary {
                model: name.clone(),
                aggregation: p.aggregation.name().into(),
                metric: p.metric.name().into(),
                value: mean_skip_nan(values.iter().copied()),
            });
            if p.rank {
                let rank_name = format!("{}_rank", p.metric.name());
                let mut by_cov: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();
                for &(rr, mr) in &matched {
                    by_cov
                        .entry(r.groups.keys[ra.groups[rr]].covariates.as_str())
                        .or_default()
                        .push((rr, mr));
                }
                let mut all = Vec::new();
                for (ci, (_, members)) in by_cov.iter().enumerate() {
                    let n = members.len();
                    let mat: Vec<f64> = if p.metric.is_cell_level() {
                        (0..n * n)
                            .into_par_iter()
                            .map(|k| {
                                let (i, j) = (k / n, k % n);
                                crate::cells::value(p.metric, ma, members[i].1, ra, members[j].0)
                            })
                            .collect()
                    } else if degs.is_none() {
                        let xs: Vec<&[f64]> = members.iter().map(|&(_, mr)| ma.row(mr)).collect();
                        let ys: Vec<&[f64]> = members.iter().map(|&(rr, _)| ra.row(rr)).collect();
                        pairs::matrix(p.metric, &xs, &ys, f32_agg, cfg)
                    } else {
                        (0..n * n)
                            .into_par_iter()
                            .map(|k| {
                                let (i, j) = (k / n, k % n);
                                let genes: Option<Vec<usize>> = degs.as_ref().map(|_| {
                                    let mut u: Vec<usize> =
                                        genes_for(members[i].0).cloned().unwrap_or_default();
                                    u.extend(genes_for(members[j].0).cloned().unwrap_or_default());
                                    u.sort_unstable();
                                    u.dedup();
                                    u
                                });
                                metric::compute(
                                    p.metric,
                                    ma.row(members[i].1),
                                    ra.row(members[j].0),
                                    genes.as_deref(),
                                    f32_agg,
                                    cfg,
                                )
                            })
                            .collect()
                    };
                    let stream = ((pi as u64) << 40) | ((mi as u64) << 20) | ci as u64;
                    let rk = rank::ranks(&mat, n, p.metric.higher_is_better(), cfg, stream);
                    for (&(rr, _), &v) in members.iter().zip(&rk) {
                        per_perturbation.push(row(
                            name,
                            p.aggregation.name(),
                            &rank_name,
                            &r.groups,
                            ra.groups[rr],
                            v,
                        ));
                    }
                    all.extend(rk);
                }
                summary.push(Summary {
                    model: name.clone(),
                    aggregation: p.aggregation.name().into(),
                    metric: rank_name,
                    value: mean_skip_nan(all.into_iter()),
                });
            }
        }
    }
    Ok(EvalOutput {
        per_perturbation,
        summary,
        warnings,
        examples,
    })
}

fn display(g: &FileGroups, gi: usize) -> String {
    if g.keys[gi].covariates.is_empty() {
        g.labels[gi].clone()
    } else {
        format!("{}_{}", g.keys[gi].covariates, g.labels[gi])
    }
}

/// The reference's DEG dictionary key of a group.
fn deg_key(g: &FileGroups, gi: usize) -> String {
    display(g, gi)
}

fn row(
    model: &str,
    aggregation: &str,
    metric: &str,
    g: &FileGroups,
    gi: usize,
    value: f64,
) -> PerPerturbation {
    PerPerturbation {
        model: model.to_string(),
        aggregation: aggregation.to_string(),
        metric: metric.to_string(),
        covariates: g.keys[gi].covariates.clone(),
        perturbation: g.labels[gi].clone(),
        value,
    }
}
