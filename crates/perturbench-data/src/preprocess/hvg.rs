//! Highly variable genes as scanpy's `highly_variable_genes` selects them: `seurat` (normalised
//! dispersion of expm1(log data) within 20 mean bins) and `seurat_v3` (standardised variance of
//! counts around a loess fit of log variance on log mean), per batch and combined as scanpy
//! combines batches.

use super::loess::loess_fit;
use crate::de::{add_in_order, stats_from_sums, sums, SUM_BLOCK};
use perturbench_io::Csr;
use rayon::prelude::*;

/// The selection method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HvgFlavor {
    /// Seurat's dispersion method on log-normalised data.
    Seurat,
    /// Seurat v3's variance-stabilising method on counts (loess span 0.3).
    SeuratV3,
}

impl std::str::FromStr for HvgFlavor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "seurat" => Ok(HvgFlavor::Seurat),
            "seurat_v3" => Ok(HvgFlavor::SeuratV3),
            other => Err(format!(
                "unknown HVG flavor '{other}'; expected seurat or seurat_v3"
            )),
        }
    }
}

/// Per-gene results of the seurat flavour in one batch.
struct SeuratBatch {
    mean: Vec<f64>,
    dispersion: Vec<f64>,
    dispersion_norm: Vec<f64>,
    highly_variable: Vec<bool>,
}

/// `pd.cut(values, n_bins)` bin codes (right-closed bins over [min, max]).
fn cut_codes(values: &[f64], n_bins: usize) -> Vec<usize> {
    let mn = values.iter().copied().fold(f64::INFINITY, f64::min);
    let mx = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let edges: Vec<f64> = if mn == mx {
        let adj = if mn != 0.0 { 0.001 * mn.abs() } else { 0.001 };
        let (lo, hi) = (mn - adj, mx + adj);
        let step = (hi - lo) / n_bins as f64;
        (0..=n_bins)
            .map(|i| {
                if i == n_bins {
                    hi
                } else {
                    i as f64 * step + lo
                }
            })
            .collect()
    } else {
        let step = (mx - mn) / n_bins as f64;
        let mut e: Vec<f64> = (0..=n_bins)
            .map(|i| {
                if i == n_bins {
                    mx
                } else {
                    i as f64 * step + mn
                }
            })
            .collect();
        e[0] -= (mx - mn) * 0.001;
        e
    };
    values
        .iter()
        .map(|&v| {
            let ids = edges.partition_point(|&e| e < v); // searchsorted side="left"
            ids.clamp(1, n_bins) - 1
        })
        .collect()
}

/// Seurat-flavour statistics of one batch; `x` holds log-normalised values of the batch's cells.
fn seurat_batch(x: &Csr, rows: &[u32], n_top: usize) -> SeuratBatch {
    // expm1 of the data (float32), then scanpy's mean/variance.
    let mut e = x.select_rows(&rows.iter().map(|&r| r as usize).collect::<Vec<_>>());
    for v in e.data_mut() {
        *v = (*v as f64).exp_m1() as f32;
    }
    let all: Vec<u32> = (0..e.nrows() as u32).collect();
    let (s, q) = sums(&e, &all);
    let st = stats_from_sums(e.nrows(), &s, &q);
    let g = st.mean.len();
    let mut mean = st.mean.clone();
    let mut dispersion = vec![0.0; g];
    for j in 0..g {
        if mean[j] == 0.0 {
            mean[j] = 1e-12;
        }
        let d = st.var[j] / mean[j];
        dispersion[j] = if d == 0.0 { f64::NAN } else { d.ln() };
        mean[j] = mean[j].ln_1p();
    }
    let bins = cut_codes(&mean, 20);
    let mut per_bin: Vec<Vec<f64>> = vec![Vec::new(); 20];
    for j in 0..g {
        if !dispersion[j].is_nan() {
            per_bin[bins[j]].push(dispersion[j]);
        }
    }
    let stats: Vec<(f64, f64)> = per_bin
        .iter()
        .map(|v| {
            let n = v.len() as f64;
            if v.is_empty() {
                return (f64::NAN, f64::NAN);
            }
            let avg = v.iter().sum::<f64>() / n;
            if v.len() < 2 {
                // A bin with one gene: its normalised dispersion is set to 1.
                return (0.0, avg);
            }
            let dev = (v.iter().map(|d| (d - avg).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            (avg, dev)
        })
        .collect();
    let dispersion_norm: Vec<f64> = (0..g)
        .map(|j| (dispersion[j] - stats[bins[j]].0) / stats[bins[j]].1)
        .collect();
    let mut finite: Vec<f64> = dispersion_norm
        .iter()
        .copied()
        .filter(|v| !v.is_nan())
        .collect();
    finite.sort_by(|a, b| b.total_cmp(a));
    let highly_variable = if finite.is_empty() {
        vec![false; g]
    } else {
        let cutoff = finite[n_top.min(finite.len()) - 1];
        dispersion_norm
            .iter()
            .map(|&d| !d.is_nan() && d >= cutoff)
            .collect()
    };
    SeuratBatch {
        mean,
        dispersion,
        dispersion_norm,
        highly_variable,
    }
}

/// The result of a selection.
#[derive(Debug, Clone, PartialEq)]
pub struct HvgResult {
    /// Per gene: selected.
    pub highly_variable: Vec<bool>,
    /// Per gene: number of batches in which it was selected.
    pub n_batches: Vec<usize>,
}

/// Selects `n_top` genes of `x` (log-normalised data for `Seurat`, counts for `SeuratV3`);
/// `batches` lists the rows of each batch in scanpy's order (sorted batch names).
pub fn highly_variable_genes(
    x: &Csr,
    batches: &[Vec<u32>],
    gene_names: &[String],
    flavor: HvgFlavor,
    n_top: usize,
) -> HvgResult {
    match flavor {
        HvgFlavor::Seurat => seurat(x, batches, gene_names, n_top),
        HvgFlavor::SeuratV3 => seurat_v3(x, batches, n_top),
    }
}

fn seurat(x: &Csr, batches: &[Vec<u32>], gene_names: &[String], n_top: usize) -> HvgResult {
    let g = x.ncols();
    let n_top = n_top.min(g);
    if batches.len() == 1 {
        let b = seurat_batch(x, &batches[0], n_top);
        let nb = b.highly_variable.iter().map(|&h| h as usize).collect();
        return HvgResult {
            highly_variable: b.highly_variable,
            n_batches: nb,
        };
    }
    // Per batch on the genes expressed in it; unexpressed genes count as zeros.
    let (mut sum_mean, mut sum_disp, mut sum_norm) = (vec![0.0; g], vec![0.0; g], vec![0.0; g]);
    let mut n_norm = vec![0usize; g];
    let mut n_hv = vec![0usize; g];
    for rows in batches {
        let mut expressed = vec![false; g];
        for &r in rows {
            let (idx, val) = x.row(r as usize);
            for (&j, &v) in idx.iter().zip(val) {
                if v > 0.0 {
                    expressed[j as usize] = true;
                }
            }
        }
        let keep: Vec<usize> = (0..g).filter(|&j| expressed[j]).collect();
        let sub = x.select_cols(&keep);
        let b = seurat_batch(&sub, rows, n_top);
        let mut from_batch = vec![None; g];
        for (k, &j) in keep.iter().enumerate() {
            from_batch[j] = Some(k);
        }
        for j in 0..g {
            let (m, d, dn, hv) = match from_batch[j] {
                Some(k) => (
                    b.mean[k],
                    b.dispersion[k],
                    b.dispersion_norm[k],
                    b.highly_variable[k],
                ),
                None => (0.0, 0.0, 0.0, false),
            };
            sum_mean[j] += m;
            if !d.is_nan() {
                sum_disp[j] += d;
            }
            if !dn.is_nan() {
                sum_norm[j] += dn;
                n_norm[j] += 1;
            }
            n_hv[j] += hv as usize;
        }
    }
    let norm: Vec<f64> = (0..g)
        .map(|j| {
            if n_norm[j] > 0 {
                sum_norm[j] / n_norm[j] as f64
            } else {
                f64::NAN
            }
        })
        .collect();
    // Sort by (batches selected desc, mean normalised dispersion desc, NaN last), stable over
    // genes in name order (pandas groups by gene name before sorting).
    let mut order: Vec<usize> = (0..g).collect();
    order.sort_by(|&a, &b| gene_names[a].cmp(&gene_names[b]));
    order.sort_by(|&a, &b| {
        n_hv[b]
            .cmp(&n_hv[a])
            .then_with(|| match (norm[a].is_nan(), norm[b].is_nan()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                _ => norm[b].total_cmp(&norm[a]),
            })
    });
    let mut highly_variable = vec![false; g];
    for &j in order.iter().take(n_top) {
        highly_variable[j] = true;
    }
    let _ = (sum_mean, sum_disp);
    HvgResult {
        highly_variable,
        n_batches: n_hv,
    }
}

/// Per gene Σ min(x, clip) and Σ min(x, clip)² over the cells `rows`, in blocks of
/// `SUM_BLOCK` cells on all cores, added in block order (as [`sums`] does).
fn clipped_sums(x: &Csr, rows: &[u32], clip: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let g = x.ncols();
    let parts = rows
        .par_chunks(SUM_BLOCK)
        .map(|part| {
            let (mut cs, mut cq) = (vec![0.0; g], vec![0.0; g]);
            for &r in part {
                let (idx, val) = x.row(r as usize);
                for (&j, &v) in idx.iter().zip(val) {
                    let e = (v as f64).min(clip[j as usize]);
                    cs[j as usize] += e;
                    cq[j as usize] += e * e;
                }
            }
            (cs, cq)
        })
        .collect();
    add_in_order(parts, g)
}

/// `seurat_v3` selection among the genes marked in `active` only, as if the others were not in
/// `x` at all (they are never selected and count in no batch): the genes a `min_cells` filter
/// keeps can be chosen without first removing the others from the matrix.
pub fn seurat_v3_among(x: &Csr, batches: &[Vec<u32>], n_top: usize, active: &[bool]) -> HvgResult {
    assert_eq!(active.len(), x.ncols(), "one flag per gene");
    seurat_v3_on(x, batches, n_top, Some(active))
}

fn seurat_v3(x: &Csr, batches: &[Vec<u32>], n_top: usize) -> HvgResult {
    seurat_v3_on(x, batches, n_top, None)
}

fn seurat_v3_on(x: &Csr, batches: &[Vec<u32>], n_top: usize, active: Option<&[bool]>) -> HvgResult {
    let g = x.ncols();
    let is_active = |j: usize| active.is_none_or(|a| a[j]);
    let n_active = (0..g).filter(|&j| is_active(j)).count();
    let n_top = n_top.min(n_active);
    let mut ranks: Vec<Vec<usize>> = Vec::with_capacity(batches.len());
    for rows in batches {
        let n = rows.len();
        let (s, q) = sums(x, rows);
        let st = stats_from_sums(n, &s, &q);
        let not_const: Vec<usize> = (0..g)
            .filter(|&j| st.var[j] > 0.0 && is_active(j))
            .collect();
        let lx: Vec<f64> = not_const.iter().map(|&j| st.mean[j].log10()).collect();
        let ly: Vec<f64> = not_const.iter().map(|&j| st.var[j].log10()).collect();
        let fitted = loess_fit(&lx, &ly, 0.3);
        let mut estimated = vec![0.0; g];
        for (k, &j) in not_const.iter().enumerate() {
            estimated[j] = fitted[k];
        }
        let reg_std: Vec<f64> = estimated.iter().map(|e| 10f64.powf(*e).sqrt()).collect();
        let vmax = (n as f64).sqrt();
        let clip: Vec<f64> = (0..g).map(|j| reg_std[j] * vmax + st.mean[j]).collect();
        let (cs, cq) = clipped_sums(x, rows, &clip);
        let nf = n as f64;
        let norm_var: Vec<f64> = (0..g)
            .map(|j| {
                let m = st.mean[j];
                (1.0 / ((nf - 1.0) * reg_std[j] * reg_std[j]))
                    * (nf * m * m + cq[j] - 2.0 * cs[j] * m)
            })
            .collect();
        // Rank of every (active) gene by decreasing normalised variance; others rank last.
        let mut order: Vec<usize> = (0..g).filter(|&j| is_active(j)).collect();
        order.sort_by(|&a, &b| norm_var[b].total_cmp(&norm_var[a]));
        let mut rank = vec![usize::MAX; g];
        for (r, &j) in order.iter().enumerate() {
            rank[j] = r;
        }
        ranks.push(rank);
    }
    let mut n_batches = vec![0usize; g];
    let mut median_rank = vec![f64::NAN; g];
    for j in 0..g {
        let mut r: Vec<f64> = ranks
            .iter()
            .map(|rk| rk[j])
            .filter(|&x| x < n_top)
            .map(|x| x as f64)
            .collect();
        n_batches[j] = r.len();
        if !r.is_empty() {
            r.sort_by(f64::total_cmp);
            let m = r.len() / 2;
            median_rank[j] = if r.len() % 2 == 1 {
                r[m]
            } else {
                (r[m - 1] + r[m]) / 2.0
            };
        }
    }
    // Sort by (median rank asc, NaN last; batches desc), stable over var order.
    let mut order: Vec<usize> = (0..g).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (median_rank[a], median_rank[b]);
        match (ra.is_nan(), rb.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ => ra.total_cmp(&rb),
        }
        .then_with(|| n_batches[b].cmp(&n_batches[a]))
    });
    let mut highly_variable = vec![false; g];
    for &j in order.iter().take(n_top) {
        highly_variable[j] = true;
    }
    HvgResult {
        highly_variable,
        n_batches,
    }
}
