//! The replicate anchor `r` of cell-eval2 0.20.0 (`anchor.compute_replicate_anchor`): the
//! "1" end of the vcc2026 score scale, measured on the real data alone.
//!
//! Each of `n_splits` splits (seeds `SeedSequence(base_seed).generate_state(n_splits)`)
//! shuffles every group's cells (the control's too) with numpy's `default_rng(seed)` in the
//! obs column's group order and cuts them into two disjoint halves of `⌊n/2⌋` cells (an odd
//! cell out is dropped). Half B is then scored as a prediction of half A with each half
//! tested against its own control ([`ControlSource::Pred`]); a metric's split value is the
//! mean over perturbations (`expr_mse_unbiased_capped_norm`: its ratio of sums). The
//! exception is `de_wilcoxon_lfc_nmae`, whose split value is the full-gate reference: per
//! perturbation `mean|lfc_A − lfc_B| / mean|lfc_full|` over the genes significant in the
//! DE of all real cells (own gene removed, finite fold change; a gene a half's table lacks
//! counts as 0), reported when at least 10 genes pass, averaged over perturbations. The
//! anchor of a metric is the mean of its split values.

use super::evaluate::{evaluate, side_de, ControlSource, Side};
use super::output::statistics;
use super::record::SETTINGS;
use super::wilcoxon::DeRows;
use crate::error::{CellEvalError, Result};
use perturbench_data::split::pcg64::{generate_state_u32, NpGenerator};
use perturbench_io::{AnnData, Column, Csr};
use std::collections::HashMap;

/// How the split seeds come off the base seed (as cell-eval2 records it).
pub const SEED_DERIVATION: &str = "numpy.random.SeedSequence(base_seed).generate_state(n_splits)";

/// The estimator of every member but `de_wilcoxon_lfc_nmae`.
pub const SPLIT_HALF_RAW: &str = "split_half_raw";

/// The estimator of `de_wilcoxon_lfc_nmae`.
pub const FULL_GATE_RAW: &str = "full_gate_raw";

/// The members an anchor covers, in cell-eval2's output order.
pub const ANCHOR_METRICS: [&str; 10] = [
    "de_wilcoxon_direction_fidelity_yield_raw",
    "de_wilcoxon_direction_reach_raw",
    "de_wilcoxon_lfc_nmae",
    "de_wilcoxon_sig_jaccard",
    "expr_distance_unbiased",
    "expr_mse_unbiased",
    "expr_mse_unbiased_capped",
    "expr_mse_unbiased_capped_norm",
    "expr_real_mass_ratio",
    "pds_cosine",
];

/// One metric's value in one split.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitValue {
    /// 0-based split number.
    pub split_index: usize,
    /// The split's seed.
    pub seed: u32,
    /// The metric.
    pub metric: String,
    /// Its split value.
    pub value: f64,
    /// Perturbations with a value (none for the derived ratio of sums).
    pub n_perturbations: Option<usize>,
}

/// One metric's anchor over the splits.
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorValue {
    /// The metric.
    pub metric: String,
    /// Mean of the split values: the replicate end `r`.
    pub replicate: f64,
    /// Population standard deviation of the split values.
    pub replicate_sd: f64,
    /// Smallest split value.
    pub replicate_min: f64,
    /// Largest split value.
    pub replicate_max: f64,
    /// Fewest perturbations with a value in a split.
    pub n_perturbations_min: Option<usize>,
    /// Most perturbations with a value in a split.
    pub n_perturbations_max: Option<usize>,
    /// [`SPLIT_HALF_RAW`] or [`FULL_GATE_RAW`].
    pub estimator: &'static str,
}

/// An anchor: its seeds, every split's values and the per-metric anchor.
#[derive(Debug, Clone)]
pub struct Anchor {
    /// The base seed.
    pub base_seed: u64,
    /// The derived split seeds.
    pub seeds: Vec<u32>,
    /// Split values, by split then metric name.
    pub splits: Vec<SplitValue>,
    /// One row per metric, sorted by name.
    pub anchor: Vec<AnchorValue>,
}

fn err(path: &str, message: String) -> CellEvalError {
    CellEvalError::Input {
        path: path.into(),
        message,
    }
}

/// The groups of obs column `column` in pandas' `groupby(observed=True)` order (the
/// categories' order for a categorical column, numeric order for numbers, sorted strings
/// otherwise), each with its rows in file order.
pub fn groupby_order(ad: &AnnData, column: &str) -> Result<Vec<(String, Vec<usize>)>> {
    let col = ad
        .obs
        .column(column)
        .ok_or_else(|| CellEvalError::MissingColumn(column.into()))?;
    let labels = crate::groups::obs_labels(ad, column)?;
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (row, l) in labels.iter().enumerate() {
        let g = *first.entry(l.as_str()).or_insert_with(|| {
            groups.push((l.clone(), Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(row);
    }
    match col {
        Column::Categorical { categories, .. } => {
            let pos: HashMap<&str, usize> = categories
                .iter()
                .enumerate()
                .map(|(i, c)| (c.as_str(), i))
                .collect();
            groups.sort_by_key(|g| pos.get(g.0.as_str()).copied().unwrap_or(usize::MAX));
        }
        Column::Int(_) | Column::Float(_) | Column::NullableInt { .. } => {
            groups.sort_by(|a, b| {
                let (x, y) = (
                    a.0.parse::<f64>().unwrap_or(f64::NAN),
                    b.0.parse::<f64>().unwrap_or(f64::NAN),
                );
                x.total_cmp(&y)
            });
        }
        _ => groups.sort_by(|a, b| a.0.cmp(&b.0)),
    }
    Ok(groups)
}

/// One group's label and its two halves' rows.
type Halves = (String, Vec<usize>, Vec<usize>);

/// The two disjoint halves of one split: (label, half-A rows, half-B rows) per group, in
/// `groups`' order, drawn from one `default_rng(seed)`.
pub fn disjoint_halves(groups: &[(String, Vec<usize>)], seed: u32) -> Vec<Halves> {
    let mut rng = NpGenerator::new(u64::from(seed));
    groups
        .iter()
        .map(|(l, rows)| {
            let perm = rng.permutation(rows);
            let h = perm.len() / 2;
            (l.clone(), perm[..h].to_vec(), perm[h..2 * h].to_vec())
        })
        .collect()
}

/// The full-gate `lfc_nmae` reference of one split: mean over the perturbations with at
/// least `min_gate` gate genes of `mean|lfc_a − lfc_b| / mean|lfc_full|`, and how many.
fn lfc_nmae_reference(
    full: &[DeRows],
    a: &[DeRows],
    b: &[DeRows],
    own: &[Option<usize>],
    min_gate: usize,
) -> Option<(f64, usize)> {
    let lfc = |t: &DeRows, g: usize| -> f64 {
        match t.genes.binary_search(&g) {
            Ok(i) if t.log2_fold_change[i].is_finite() => t.log2_fold_change[i],
            _ => 0.0,
        }
    };
    let alpha = SETTINGS.p_adj_threshold;
    let mut values = Vec::new();
    for (((f, ta), tb), &o) in full.iter().zip(a).zip(b).zip(own) {
        let (mut num, mut den, mut n) = (0.0f64, 0.0f64, 0usize);
        for (i, &g) in f.genes.iter().enumerate() {
            let l = f.log2_fold_change[i];
            // A NaN fold change forces p_adj to 1 (never significant).
            let significant = f.p_adj[i] < alpha;
            if Some(g) == o || !significant || !l.is_finite() {
                continue;
            }
            num += (lfc(ta, g) - lfc(tb, g)).abs();
            den += l.abs();
            n += 1;
        }
        if n == 0 || n < min_gate {
            continue;
        }
        let (num, den) = (num / n as f64, den / n as f64);
        if !den.is_finite() || den == 0.0 {
            continue;
        }
        values.push(num / den);
    }
    if values.is_empty() {
        None
    } else {
        Some((
            values.iter().sum::<f64>() / values.len() as f64,
            values.len(),
        ))
    }
}

/// A full-real DE table already computed by a run: the perturbations' rows, the control's
/// rows and the table of the one against the other.
pub struct FullDe<'a> {
    /// (label, rows) per perturbation, sorted by label.
    pub perts: &'a [(String, Vec<usize>)],
    /// The control's rows.
    pub control: &'a [usize],
    /// Their DE table, in `perts`' order.
    pub de: &'a [DeRows],
}

/// The replicate anchor of the real counts `x` (path `path`, for messages), grouped by
/// `groups` (pandas order, the control among them), with `n_splits` splits from
/// `base_seed`. `known` is the full-real DE table when the caller has it (used only when
/// its groups are exactly these).
#[allow(clippy::too_many_arguments)]
pub fn replicate_anchor(
    path: &str,
    x: &Csr,
    groups: &[(String, Vec<usize>)],
    control: &str,
    genes: &[String],
    base_seed: u64,
    n_splits: usize,
    known: Option<FullDe<'_>>,
) -> Result<Anchor> {
    if n_splits < 1 {
        return Err(CellEvalError::Option(format!(
            "--anchor-splits must be at least 1, got {n_splits}"
        )));
    }
    if !groups.iter().any(|g| g.0 == control) {
        return Err(err(
            path,
            format!("the control '{control}' has no cells; the replicate anchor splits it in two"),
        ));
    }
    let thin: Vec<&str> = groups
        .iter()
        .filter(|g| g.1.len() <= 1)
        .map(|g| g.0.as_str())
        .collect();
    if let Some(first) = thin.first() {
        return Err(err(
            path,
            format!(
                "{} group(s) have fewer than 2 cells (e.g. '{first}'); the replicate anchor needs two disjoint halves of every group (cell-eval2 refuses the same input)",
                thin.len()
            ),
        ));
    }
    if groups.len() < 2 {
        return Err(err(
            path,
            format!("no perturbation besides the control '{control}'"),
        ));
    }
    let mut sorted: Vec<(String, Vec<usize>)> = groups.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let control_rows = sorted.iter().find(|g| g.0 == control).unwrap().1.clone();
    sorted.retain(|g| g.0 != control);

    // The full-real DE table: the lfc_nmae gate and denominator.
    let full = Side {
        x,
        perts: sorted.clone(),
        control: control_rows.clone(),
    };
    let computed: Vec<DeRows>;
    let de_full: &[DeRows] = match known {
        Some(k) if k.perts == full.perts.as_slice() && k.control == control_rows.as_slice() => k.de,
        _ => {
            computed = side_de(&full, x, &control_rows).0;
            &computed
        }
    };
    let features: HashMap<&str, usize> = de_full
        .first()
        .map(|t| t.genes.iter().map(|&j| (genes[j].as_str(), j)).collect())
        .unwrap_or_default();
    let own_full: Vec<Option<usize>> = de_full
        .iter()
        .map(|t| features.get(t.target.as_str()).copied())
        .collect();

    let seeds = generate_state_u32(base_seed, n_splits);
    let mut splits = Vec::new();
    for (i, &seed) in seeds.iter().enumerate() {
        let halves = disjoint_halves(groups, seed);
        let side = |pick: fn(&Halves) -> &Vec<usize>| -> Side {
            let mut perts: Vec<(String, Vec<usize>)> = halves
                .iter()
                .filter(|h| h.0 != control)
                .map(|h| (h.0.clone(), pick(h).clone()))
                .collect();
            perts.sort_by(|a, b| a.0.cmp(&b.0));
            let control = halves
                .iter()
                .find(|h| h.0 == control)
                .map(pick)
                .unwrap()
                .clone();
            Side { x, perts, control }
        };
        let a = side(|h| &h.1);
        let b = side(|h| &h.2);
        let ev = evaluate(&a, &b, genes, ControlSource::Pred)?;
        let Some(norm) = ev.norm else {
            return Err(err(
                path,
                format!(
                    "split {i} (seed {seed}): expr_mse_unbiased_capped_norm is undefined, the summed expr_distance_unbiased of half A's perturbations is not positive (no measurable effect at half depth: the replicate anchor needs more cells per perturbation)"
                ),
            ));
        };
        let mut vals: HashMap<String, (f64, Option<usize>)> = HashMap::new();
        for (m, v) in &ev.columns {
            let present: Vec<f64> = v.iter().flatten().copied().collect();
            let n = present.iter().filter(|x| !x.is_nan()).count();
            vals.insert(m.clone(), (statistics(&present)[2], Some(n)));
        }
        vals.insert("expr_mse_unbiased_capped_norm".into(), (norm, None));
        let (raw, n_ref) =
            lfc_nmae_reference(de_full, &ev.real_de, &ev.pred_de, &own_full, 10).ok_or_else(
                || {
                    err(
                        path,
                        format!(
                            "the lfc_nmae reference scored no perturbation at split {i} (seed {seed}): too few genes are significant in the real DE (at least 10 per perturbation are needed), so this dataset has no replicate anchor for de_wilcoxon_lfc_nmae"
                        ),
                    )
                },
            )?;
        vals.insert("de_wilcoxon_lfc_nmae".into(), (raw, Some(n_ref)));
        let absent: Vec<&str> = ANCHOR_METRICS
            .iter()
            .filter(|m| !vals.get(**m).is_some_and(|v| v.0.is_finite()))
            .copied()
            .collect();
        if !absent.is_empty() {
            return Err(err(
                path,
                format!(
                    "split {i} (seed {seed}) produced no usable value for {}; the anchor must cover every member",
                    absent.join(", ")
                ),
            ));
        }
        for m in ANCHOR_METRICS {
            let (value, n) = vals[m];
            splits.push(SplitValue {
                split_index: i,
                seed,
                metric: m.to_string(),
                value,
                n_perturbations: n,
            });
        }
    }
    let anchor = ANCHOR_METRICS
        .iter()
        .map(|m| {
            let v: Vec<&SplitValue> = splits.iter().filter(|s| s.metric == *m).collect();
            let k = v.len() as f64;
            let mean = v.iter().map(|s| s.value).sum::<f64>() / k;
            let var = v.iter().map(|s| (s.value - mean).powi(2)).sum::<f64>() / k;
            let ns: Vec<usize> = v.iter().filter_map(|s| s.n_perturbations).collect();
            AnchorValue {
                metric: m.to_string(),
                replicate: mean,
                replicate_sd: var.sqrt(),
                replicate_min: v.iter().map(|s| s.value).fold(f64::INFINITY, f64::min),
                replicate_max: v.iter().map(|s| s.value).fold(f64::NEG_INFINITY, f64::max),
                n_perturbations_min: ns.iter().min().copied(),
                n_perturbations_max: ns.iter().max().copied(),
                estimator: if *m == "de_wilcoxon_lfc_nmae" {
                    FULL_GATE_RAW
                } else {
                    SPLIT_HALF_RAW
                },
            }
        })
        .collect();
    Ok(Anchor {
        base_seed,
        seeds,
        splits,
        anchor,
    })
}
