//! Builds the report's charts from the input rows: per-perturbation box plots, rank-metric box
//! plots, predicted-vs-observed logFC scatters and HPO histories.

use std::fmt::Write as _;

use crate::escape::escape;
use crate::input::{Direction, PerPertRow, ScatterPoint, StudyHistory, TrialState};
use crate::plots::{box_plot, xy_chart, BoxPlot, Series, XyChart};
use crate::stats::{better, fmt_sig, is_rank, BoxStats};
use crate::svg::{direction_note, Mark, PALETTE};

/// Distinct values of `key` over `items`, in order of first appearance.
fn distinct<T, K: PartialEq + Clone>(items: &[T], key: impl Fn(&T) -> K) -> Vec<K> {
    let mut out: Vec<K> = Vec::new();
    for it in items {
        let k = key(it);
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

/// Heading of a (dataset, task) block.
fn dataset_heading(dataset: &str, task: &str) -> String {
    format!(
        r#"<h3>{} <span class="sep">·</span> {}</h3>"#,
        escape(dataset),
        escape(task)
    )
}

/// Box plots of per-perturbation metrics, one chart per (metric, aggregation) and per
/// (dataset, task); `rank` selects the rank metrics (with the 0.5 "random" line) or the others.
/// Empty string when there is nothing to show.
pub fn per_perturbation(rows: &[PerPertRow], rank: bool, color: &dyn Fn(&str) -> String) -> String {
    let rows: Vec<&PerPertRow> = rows
        .iter()
        .filter(|r| is_rank(&r.metric) == rank && r.value.is_finite())
        .collect();
    let mut out = String::new();
    for (dataset, task) in distinct(&rows, |r| (r.dataset.clone(), r.task.clone())) {
        let block: Vec<&PerPertRow> = rows
            .iter()
            .copied()
            .filter(|r| r.dataset == dataset && r.task == task)
            .collect();
        let mut keys = distinct(&block, |r| (r.metric.clone(), r.aggregation.clone()));
        keys.sort();
        let models = distinct(&block, |r| r.model.clone());
        let mut charts = String::new();
        for (metric, agg) in keys {
            let groups: Vec<(String, String, BoxStats)> = models
                .iter()
                .filter_map(|m| {
                    let v: Vec<f64> = block
                        .iter()
                        .filter(|r| &r.model == m && r.metric == metric && r.aggregation == agg)
                        .map(|r| r.value)
                        .collect();
                    Some((m.clone(), color(m), BoxStats::new(&v)?))
                })
                .collect();
            if groups.is_empty() {
                continue;
            }
            let n = groups.iter().map(|g| g.2.n).max().unwrap_or(0);
            let perts = distinct(&block, |r| {
                (r.metric == metric && r.aggregation == agg)
                    .then(|| (r.covariates.clone(), r.perturbation.clone()))
            })
            .into_iter()
            .flatten()
            .count();
            let count = if n > perts {
                format!("{perts} perturbations, {n} values")
            } else {
                format!("{perts} perturbations")
            };
            let note = direction_note(better(&metric)).unwrap_or_default();
            let spec = BoxPlot {
                title: format!("{metric} · {agg}"),
                subtitle: Some(if note.is_empty() {
                    count
                } else {
                    format!("{note} · {count}")
                }),
                y_label: metric.clone(),
                x_label: "model".into(),
                groups,
                reference: rank.then(|| (0.5, "random".to_string())),
                y_range: rank.then_some((0.0, 1.0)),
            };
            charts.push_str(&format!(
                r#"<figure class="chart-box">{}</figure>"#,
                box_plot(&spec)
            ));
        }
        if !charts.is_empty() {
            out.push_str(&dataset_heading(&dataset, &task));
            let _ = write!(out, r#"<div class="charts">{charts}</div>"#);
        }
    }
    out
}

/// Pearson correlation of paired finite values; `None` if undefined.
fn pearson(points: &[(f64, f64)]) -> Option<f64> {
    let p: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .collect();
    if p.len() < 2 {
        return None;
    }
    let n = p.len() as f64;
    let (mx, my) = (
        p.iter().map(|q| q.0).sum::<f64>() / n,
        p.iter().map(|q| q.1).sum::<f64>() / n,
    );
    let sxy: f64 = p.iter().map(|q| (q.0 - mx) * (q.1 - my)).sum();
    let sxx: f64 = p.iter().map(|q| (q.0 - mx).powi(2)).sum();
    let syy: f64 = p.iter().map(|q| (q.1 - my).powi(2)).sum();
    let r = sxy / (sxx * syy).sqrt();
    r.is_finite().then_some(r)
}

/// One scatter of predicted against observed logFC per (dataset, task, covariates,
/// perturbation), one colour per model, with the y = x line.
pub fn logfc_scatter(points: &[ScatterPoint], color: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    for (dataset, task) in distinct(points, |p| (p.dataset.clone(), p.task.clone())) {
        let block: Vec<&ScatterPoint> = points
            .iter()
            .filter(|p| p.dataset == dataset && p.task == task)
            .collect();
        let mut charts = String::new();
        for (cov, pert) in distinct(&block, |p| (p.covariates.clone(), p.perturbation.clone())) {
            let mine: Vec<&&ScatterPoint> = block
                .iter()
                .filter(|p| p.covariates == cov && p.perturbation == pert)
                .collect();
            let series: Vec<Series> = distinct(&mine, |p| p.model.clone())
                .into_iter()
                .map(|m| {
                    let sel: Vec<&&&ScatterPoint> = mine.iter().filter(|p| p.model == m).collect();
                    let pts: Vec<(f64, f64)> =
                        sel.iter().map(|p| (p.observed, p.predicted)).collect();
                    let r = pearson(&pts)
                        .map(|r| format!(" (r = {r:.2})"))
                        .unwrap_or_default();
                    Series {
                        name: format!("{m}{r}"),
                        color: color(&m),
                        mark: Mark::Dots,
                        tips: sel
                            .iter()
                            .map(|p| {
                                format!(
                                    "{} · {m}\nobserved {}\npredicted {}",
                                    p.gene,
                                    fmt_sig(p.observed),
                                    fmt_sig(p.predicted)
                                )
                            })
                            .collect(),
                        points: pts,
                    }
                })
                .collect();
            let genes = distinct(&mine, |p| p.gene.clone()).len();
            let cov_note = if cov.is_empty() {
                String::new()
            } else {
                format!("{cov} · ")
            };
            let spec = XyChart {
                title: pert.clone(),
                subtitle: Some(format!("{cov_note}{genes} genes")),
                x_label: "observed logFC".into(),
                y_label: "predicted logFC".into(),
                series,
                identity: true,
                no_value: Vec::new(),
                width: 320.0,
                height: 320.0,
            };
            let _ = write!(
                charts,
                r#"<figure class="chart-box">{}</figure>"#,
                xy_chart(&spec)
            );
        }
        out.push_str(&dataset_heading(&dataset, &task));
        let _ = write!(out, r#"<div class="charts">{charts}</div>"#);
    }
    out
}

/// Objective by trial number with the best-so-far step line, pruned/failed trials in a strip,
/// a one-line count of states and the best trial's parameters, per study.
pub fn hpo(studies: &[StudyHistory]) -> String {
    let mut out = String::new();
    for s in studies.iter().filter(|s| !s.trials.is_empty()) {
        let mut trials: Vec<_> = s.trials.iter().collect();
        trials.sort_by_key(|t| t.number);
        let complete: Vec<(f64, f64)> = trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .filter_map(|t| Some((t.number as f64, t.value?)))
            .filter(|q| q.1.is_finite())
            .collect();
        let is_better = |a: f64, b: f64| match s.direction {
            Direction::Minimize => a < b,
            Direction::Maximize => a > b,
        };
        let mut best: Vec<(f64, f64)> = Vec::new();
        let mut best_trial: Option<&crate::input::Trial> = None;
        for t in &trials {
            if let (TrialState::Complete, Some(v)) = (t.state, t.value) {
                if v.is_finite()
                    && best_trial
                        .and_then(|b| b.value)
                        .is_none_or(|b| is_better(v, b))
                {
                    best_trial = Some(t);
                }
            }
            if let Some(b) = best_trial.and_then(|b| b.value) {
                best.push((t.number as f64, b));
            }
        }
        let tips: Vec<String> = trials
            .iter()
            .filter(|t| t.state == TrialState::Complete && t.value.is_some_and(f64::is_finite))
            .map(|t| {
                format!(
                    "trial {} · value {}\n{}",
                    t.number,
                    fmt_sig(t.value.unwrap_or(f64::NAN)),
                    params_text(&t.params)
                )
            })
            .collect();
        let xs = |st: TrialState| -> Vec<f64> {
            trials
                .iter()
                .filter(|t| t.state == st)
                .map(|t| t.number as f64)
                .collect()
        };
        let dir_text = match s.direction {
            Direction::Minimize => "minimised",
            Direction::Maximize => "maximised",
        };
        let spec = XyChart {
            title: s.name.clone(),
            subtitle: Some(format!("objective ({dir_text}) by trial")),
            x_label: "trial number".into(),
            y_label: "objective".into(),
            series: vec![
                Series {
                    name: "best so far".into(),
                    color: PALETTE[5].into(),
                    mark: Mark::Step,
                    points: best,
                    tips: Vec::new(),
                },
                Series {
                    name: "complete trial".into(),
                    color: PALETTE[0].into(),
                    mark: Mark::Dots,
                    points: complete,
                    tips,
                },
            ],
            identity: false,
            no_value: vec![
                (
                    "pruned".into(),
                    "#777777".into(),
                    Mark::Triangles,
                    xs(TrialState::Pruned),
                ),
                (
                    "failed".into(),
                    PALETTE[5].into(),
                    Mark::Crosses,
                    xs(TrialState::Fail),
                ),
                (
                    "running/waiting".into(),
                    PALETTE[4].into(),
                    Mark::HollowDots,
                    {
                        let mut v = xs(TrialState::Running);
                        v.extend(xs(TrialState::Waiting));
                        v
                    },
                ),
            ],
            width: 560.0,
            height: 240.0,
        };
        let count = |st: TrialState| trials.iter().filter(|t| t.state == st).count();
        let _ = write!(
            out,
            r#"<div class="study"><figure class="chart-box">{}</figure><div class="study-info"><p class="counts">{} trials: {} complete, {} pruned, {} failed, {} running/waiting</p>"#,
            xy_chart(&spec),
            trials.len(),
            count(TrialState::Complete),
            count(TrialState::Pruned),
            count(TrialState::Fail),
            count(TrialState::Running) + count(TrialState::Waiting)
        );
        if let Some(b) = best_trial {
            let _ = write!(
                out,
                r#"<p>Best: trial {} with objective <strong>{}</strong></p><table class="params"><tbody>"#,
                b.number,
                fmt_sig(b.value.unwrap_or(f64::NAN))
            );
            for (k, v) in &b.params {
                let _ = write!(
                    out,
                    "<tr><th>{}</th><td>{}</td></tr>",
                    escape(k),
                    escape(&value_text(v))
                );
            }
            out.push_str("</tbody></table>");
        }
        if let Some(y) = &s.best_yaml {
            let _ = write!(
                out,
                "<details><summary>best.yaml</summary><pre>{}</pre></details>",
                escape(y)
            );
        }
        let _ = write!(
            out,
            r#"<p class="source">{}</p></div></div>"#,
            escape(&s.source)
        );
    }
    out
}

/// A JSON value as short text (strings unquoted, floats with 4 significant digits).
fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            n.as_f64().map(fmt_sig).unwrap_or_else(|| n.to_string())
        }
        other => other.to_string(),
    }
}

/// `k = v` lines of a parameter map.
fn params_text(p: &std::collections::BTreeMap<String, serde_json::Value>) -> String {
    p.iter()
        .map(|(k, v)| format!("{k} = {}", value_text(v)))
        .collect::<Vec<_>>()
        .join("\n")
}
