//! Leaderboard tables: runs grouped by (dataset, task), averaged over seeds, best value per
//! column marked.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::escape::escape;
use crate::input::LeaderRow;
use crate::stats::{better, fmt_sig, is_rank, mean_sd, Better};

/// Mean (± sd) of one metric of one model over its runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Mean over runs.
    pub mean: f64,
    /// Sample standard deviation, when more than one run has a value.
    pub sd: Option<f64>,
    /// Number of runs with a value.
    pub n: usize,
}

/// One leaderboard table: the models × metrics of one (dataset, task).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Dataset.
    pub dataset: String,
    /// Task.
    pub task: String,
    /// Models, in order of first appearance.
    pub models: Vec<String>,
    /// Number of runs (seeds) per model.
    pub runs: Vec<usize>,
    /// Metric columns (`{metric}_{aggregation}`): non-rank metrics first, then by name.
    pub columns: Vec<String>,
    /// `cells[model][column]`.
    pub cells: Vec<Vec<Option<Cell>>>,
    /// `best[model][column]`: whether the cell holds the best value of its column.
    pub best: Vec<Vec<bool>>,
}

/// Groups leaderboard rows by (dataset, task) in order of first appearance.
pub fn groups(rows: &[LeaderRow]) -> Vec<Group> {
    let mut keys: Vec<(String, String)> = Vec::new();
    for r in rows {
        let k = (r.dataset.clone(), r.task.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|(dataset, task)| {
            let members: Vec<&LeaderRow> = rows
                .iter()
                .filter(|r| r.dataset == dataset && r.task == task)
                .collect();
            build_group(dataset, task, &members)
        })
        .collect()
}

fn build_group(dataset: String, task: String, rows: &[&LeaderRow]) -> Group {
    let mut models: Vec<String> = Vec::new();
    for r in rows {
        if !models.contains(&r.model) {
            models.push(r.model.clone());
        }
    }
    let mut columns: Vec<String> = rows
        .iter()
        .flat_map(|r| r.metrics.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    columns.sort_by_key(|c| (is_rank(c), c.clone()));
    let mut runs = Vec::new();
    let mut cells = Vec::new();
    for m in &models {
        let mine: Vec<&&LeaderRow> = rows.iter().filter(|r| &r.model == m).collect();
        runs.push(mine.len());
        let mut vals: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for r in &mine {
            for (k, v) in &r.metrics {
                vals.entry(k.as_str()).or_default().push(*v);
            }
        }
        cells.push(
            columns
                .iter()
                .map(|c| {
                    let v = vals.get(c.as_str())?;
                    let (mean, sd) = mean_sd(v)?;
                    let n = v.iter().filter(|x| x.is_finite()).count();
                    Some(Cell { mean, sd, n })
                })
                .collect::<Vec<_>>(),
        );
    }
    let mut best = vec![vec![false; columns.len()]; models.len()];
    for (j, c) in columns.iter().enumerate() {
        let Some(dir) = better(c) else { continue };
        let col: Vec<Option<f64>> = cells
            .iter()
            .map(|row| row[j].as_ref().map(|x| x.mean))
            .collect();
        for (i, is_best) in best_of(&col, dir).into_iter().enumerate() {
            best[i][j] = is_best;
        }
    }
    Group {
        dataset,
        task,
        models,
        runs,
        columns,
        cells,
        best,
    }
}

/// Which entries hold the best value (ties all marked) in direction `dir`; none if fewer than
/// two values are present.
pub fn best_of(values: &[Option<f64>], dir: Better) -> Vec<bool> {
    let present: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if present.len() < 2 {
        return vec![false; values.len()];
    }
    let target = match dir {
        Better::Lower => present.iter().copied().fold(f64::INFINITY, f64::min),
        Better::Higher => present.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    };
    let tol = 1e-12 * target.abs().max(1e-300);
    values
        .iter()
        .map(|v| v.is_some_and(|v| (v - target).abs() <= tol))
        .collect()
}

/// Splits a column `{metric}_{aggregation}` at its last underscore.
pub fn split_column(col: &str) -> (&str, &str) {
    col.rsplit_once('_').unwrap_or((col, ""))
}

/// HTML of all leaderboard tables; `color` gives each model's chart colour.
pub fn render(rows: &[LeaderRow], color: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    for g in groups(rows) {
        let _ = write!(
            out,
            r#"<h3>{} <span class="sep">·</span> {}</h3><div class="table-wrap"><table class="leaderboard" data-dataset="{}" data-task="{}"><thead><tr><th class="model">model</th><th class="num">runs</th>"#,
            escape(&g.dataset),
            escape(&g.task),
            escape(&g.dataset),
            escape(&g.task)
        );
        for c in &g.columns {
            let (metric, agg) = split_column(c);
            let arrow = match better(c) {
                Some(Better::Lower) => r#"<span class="dir" title="lower is better">↓</span>"#,
                Some(Better::Higher) => r#"<span class="dir" title="higher is better">↑</span>"#,
                None => "",
            };
            let _ = write!(
                out,
                r#"<th class="num{}" data-column="{}">{}{arrow}<br><span class="agg">{}</span></th>"#,
                if is_rank(c) { " rank" } else { "" },
                escape(c),
                escape(metric),
                escape(agg)
            );
        }
        out.push_str("</tr></thead><tbody>");
        for (i, m) in g.models.iter().enumerate() {
            let _ = write!(
                out,
                r#"<tr><td class="model"><span class="swatch" style="background:{}"></span>{}</td><td class="num runs">{}</td>"#,
                color(m),
                escape(m),
                g.runs[i]
            );
            for (j, c) in g.columns.iter().enumerate() {
                let cls = if g.best[i][j] { " best" } else { "" };
                match &g.cells[i][j] {
                    None => {
                        let _ = write!(
                            out,
                            r#"<td class="num missing" data-column="{}">–</td>"#,
                            escape(c)
                        );
                    }
                    Some(cell) => {
                        let sd = cell
                            .sd
                            .map(|s| format!(r#" <span class="sd">± {}</span>"#, fmt_sig(s)))
                            .unwrap_or_default();
                        let v = if g.best[i][j] {
                            format!("<strong>{}</strong>", fmt_sig(cell.mean))
                        } else {
                            fmt_sig(cell.mean)
                        };
                        let _ = write!(
                            out,
                            r#"<td class="num{cls}" data-column="{}" title="n = {}">{v}{sd}</td>"#,
                            escape(c),
                            cell.n
                        );
                    }
                }
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></div>");
    }
    out
}
