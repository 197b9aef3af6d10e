//! Aggregations (spec §5.2): per (covariates, perturbation) group one vector over the
//! reference's genes, computed from per-group sums (a second pass for `scaled`, the cells
//! themselves for `logp`).

use crate::groups::{FileGroups, GroupSums, ROWS_PER_BLOCK};
use crate::{Aggregation, EvalConfig, EvalError};
use perturbench_data::de::{test_group, DeMethod, Reference};
use perturbench_io::{CellSource, Csr};

/// Aggregated vectors of one file: one row per non-control group, genes in reference order.
#[derive(Debug, Clone)]
pub struct Aggregate {
    /// Group (index into the file's [`FileGroups`]) of every row.
    pub groups: Vec<usize>,
    /// Genes per row.
    pub genes: usize,
    /// rows × genes (for cell-level aggregations: the group means in their space).
    pub data: Vec<f64>,
    /// Cell-level aggregations: per row, the E-distance within-term (unbiased total
    /// variance / cells); empty otherwise.
    pub within: Vec<f64>,
    /// `pca`: the cells of every row, for `mmd`.
    pub cells: Option<crate::cells::Cells>,
}

impl Aggregate {
    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.genes..(i + 1) * self.genes]
    }
}

fn f32_round(v: f64, on: bool) -> f64 {
    if on {
        v as f32 as f64
    } else {
        v
    }
}

/// Per-group means: scipy's float32 means (the reference's arithmetic) when `float32`,
/// exact float64 means otherwise.
pub fn means(fg: &FileGroups, sums: &GroupSums, float32: bool) -> Vec<f64> {
    if float32 {
        return sums.mean32.iter().map(|&v| v as f64).collect();
    }
    let g = sums.genes;
    let mut m = vec![0.0; sums.sum.len()];
    for gi in 0..fg.len() {
        let n = fg.sizes[gi] as f64;
        for j in 0..g {
            m[gi * g + j] = sums.sum[gi * g + j] / n;
        }
    }
    m
}

pub(crate) fn non_control(fg: &FileGroups) -> Vec<usize> {
    (0..fg.len()).filter(|&i| !fg.is_control[i]).collect()
}

/// `average`: mean expression per group.
pub fn average(fg: &FileGroups, sums: &GroupSums, cfg: &EvalConfig) -> Aggregate {
    let g = sums.genes;
    let m = means(fg, sums, cfg.float32_aggregates);
    let groups = non_control(fg);
    let mut data = Vec::with_capacity(groups.len() * g);
    for &gi in &groups {
        data.extend_from_slice(&m[gi * g..(gi + 1) * g]);
    }
    Aggregate {
        groups,
        genes: g,
        data,
        within: Vec::new(),
        cells: None,
    }
}

/// `var`: sqrt(population variance) / mean per group, 0 where undefined.
pub fn variation(fg: &FileGroups, sums: &GroupSums) -> Aggregate {
    let g = sums.genes;
    let sq = sums
        .sum_sq
        .as_ref()
        .expect("sums of squares were accumulated");
    let groups = non_control(fg);
    let mut data = Vec::with_capacity(groups.len() * g);
    for &gi in &groups {
        let n = fg.sizes[gi] as f64;
        for j in 0..g {
            let mean = sums.sum[gi * g + j] / n;
            let var = (sq[gi * g + j] / n - mean * mean).max(0.0);
            let cv = var.sqrt() / mean;
            data.push(if cv.is_nan() { 0.0 } else { cv });
        }
    }
    Aggregate {
        groups,
        genes: g,
        data,
        within: Vec::new(),
        cells: None,
    }
}

/// `logfc`: log2(mean + pc) − log2(control mean + pc), with the controls of the same
/// covariates taken from `controls` (the file's own means or the reference's).
pub fn logfc(
    fg: &FileGroups,
    sums: &GroupSums,
    control_means: &dyn Fn(&str) -> Option<Vec<f64>>,
    cfg: &EvalConfig,
) -> Result<Aggregate, EvalError> {
    let g = sums.genes;
    // The reference reads group means as float32 (numpy) before taking logs.
    let m = means(fg, sums, cfg.float32_aggregates);
    let groups = non_control(fg);
    let mut data = Vec::with_capacity(groups.len() * g);
    let pc = cfg.pseudocount;
    for &gi in &groups {
        let cov = &fg.keys[gi].covariates;
        let ctrl = control_means(cov).ok_or_else(|| EvalError::Input {
            source_name: fg.source.clone(),
            message: format!(
                "covariates '{}' have no control cells ('{}'), which logfc needs",
                if cov.is_empty() { "(all cells)" } else { cov },
                cfg.control
            ),
        })?;
        for j in 0..g {
            let v = (m[gi * g + j] + pc).log2() - (ctrl[j] + pc).log2();
            data.push(if v.is_nan() { 0.0 } else { v });
        }
    }
    Ok(Aggregate {
        groups,
        genes: g,
        data,
        within: Vec::new(),
        cells: None,
    })
}

/// Means of a file's control group for covariates `cov` (see [`means`]).
pub fn control_means(
    fg: &FileGroups,
    sums: &GroupSums,
    cov: &str,
    float32: bool,
) -> Option<Vec<f64>> {
    let gi = fg.control_of(cov)?;
    let g = sums.genes;
    let n = fg.sizes[gi] as f64;
    Some(
        (0..g)
            .map(|j| {
                if float32 {
                    sums.mean32[gi * g + j] as f64
                } else {
                    sums.sum[gi * g + j] / n
                }
            })
            .collect(),
    )
}

/// `scaled`: per-gene z-scores over all cells of the file (scanpy `scale`, unbiased variance,
/// clipped at ±10), averaged per group. Needs a second pass over X.
pub fn scaled(
    reader: &dyn CellSource,
    fg: &FileGroups,
    sums: &GroupSums,
    cfg: &EvalConfig,
) -> Result<Aggregate, EvalError> {
    let g = sums.genes;
    let sq = sums
        .sum_sq
        .as_ref()
        .expect("sums of squares were accumulated");
    let n: f64 = fg.sizes.iter().sum::<usize>() as f64;
    let mut mu = vec![0.0; g];
    let mut sd = vec![0.0; g];
    for j in 0..g {
        let (s, q): (f64, f64) = (0..fg.len()).fold((0.0, 0.0), |(a, b), gi| {
            (a + sums.sum[gi * g + j], b + sq[gi * g + j])
        });
        mu[j] = s / n;
        let var = (q / n - mu[j] * mu[j]) * if n > 1.0 { n / (n - 1.0) } else { 1.0 };
        let s = var.max(0.0).sqrt();
        sd[j] = if s == 0.0 { 1.0 } else { s };
    }
    let clip = |z: f64| z.clamp(-10.0, 10.0);
    let ng = fg.len();
    let mut nz_sum = vec![0.0; ng * g];
    let mut nz_cnt = vec![0u32; ng * g];
    for block in reader.row_chunks("X", ROWS_PER_BLOCK)? {
        let (first, block) = block?;
        for r in 0..block.nrows() {
            let gi = fg.cell_group[first + r] as usize;
            let (idx, val) = block.row(r);
            for (&jj, &v) in idx.iter().zip(val) {
                if let Some(j) = fg.gene_map[jj as usize] {
                    let j = j as usize;
                    nz_sum[gi * g + j] += clip((v as f64 - mu[j]) / sd[j]);
                    nz_cnt[gi * g + j] += 1;
                }
            }
        }
    }
    let groups = non_control(fg);
    let mut data = Vec::with_capacity(groups.len() * g);
    for &gi in &groups {
        let size = fg.sizes[gi] as f64;
        for j in 0..g {
            let zeros = size - nz_cnt[gi * g + j] as f64;
            let total = nz_sum[gi * g + j] + zeros * clip(-mu[j] / sd[j]);
            data.push(f32_round(total / size, cfg.float32_aggregates));
        }
    }
    Ok(Aggregate {
        groups,
        genes: g,
        data,
        within: Vec::new(),
        cells: None,
    })
}

/// `logp`: per covariate group, a DE test of every perturbation against the file's own
/// controls, valued sign(score) · −ln(p + 1e-24). Reads the file's X whole (DE needs cells).
pub fn logp(
    reader: &dyn CellSource,
    fg: &FileGroups,
    cfg: &EvalConfig,
) -> Result<Aggregate, EvalError> {
    let method: DeMethod = cfg.logp_method.parse().map_err(EvalError::Config)?;
    let x = reader.read_matrix("X")?;
    // Columns in reference order.
    let mut cols = vec![0usize; fg.gene_map.iter().flatten().count()];
    for (j, k) in fg.gene_map.iter().enumerate() {
        if let Some(k) = k {
            cols[*k as usize] = j;
        }
    }
    let x: Csr = x.select_cols(&cols);
    let g = x.ncols();
    let mut rows_of: Vec<Vec<u32>> = vec![Vec::new(); fg.len()];
    for (r, &gi) in fg.cell_group.iter().enumerate() {
        rows_of[gi as usize].push(r as u32);
    }
    let groups = non_control(fg);
    let mut data = vec![0.0; groups.len() * g];
    let mut by_cov: std::collections::BTreeMap<&str, Vec<(usize, usize)>> = Default::default();
    for (row, &gi) in groups.iter().enumerate() {
        by_cov
            .entry(fg.keys[gi].covariates.as_str())
            .or_default()
            .push((row, gi));
    }
    for (cov, members) in by_cov {
        let c = fg.control_of(cov).ok_or_else(|| EvalError::Input {
            source_name: fg.source.clone(),
            message: format!("covariates '{cov}' have no control cells, which logp needs"),
        })?;
        let reference = Reference::new(&x, &rows_of[c], method);
        for (row, gi) in members {
            let res = test_group(&x, &rows_of[gi], &reference, method);
            for j in 0..g {
                let s = res.scores[j];
                let sign = if s > 0.0 {
                    1.0
                } else if s < 0.0 {
                    -1.0
                } else {
                    0.0
                };
                data[row * g + j] = sign * -(res.pvals[j] + 1e-24).ln();
            }
        }
    }
    Ok(Aggregate {
        groups,
        genes: g,
        data,
        within: Vec::new(),
        cells: None,
    })
}

/// The aggregation `a` of a file.
pub fn aggregate(
    a: Aggregation,
    reader: &dyn CellSource,
    fg: &FileGroups,
    sums: &GroupSums,
    control_means: &dyn Fn(&str) -> Option<Vec<f64>>,
    pca: Option<&crate::pca::Pca>,
    cfg: &EvalConfig,
) -> Result<Aggregate, EvalError> {
    match a {
        Aggregation::None => Ok(crate::cells::none(fg, sums)),
        Aggregation::Pca => crate::cells::pca(
            reader,
            fg,
            pca.expect("the PCA is fitted before a pca aggregation"),
        ),
        Aggregation::Average => Ok(average(fg, sums, cfg)),
        Aggregation::Var => Ok(variation(fg, sums)),
        Aggregation::Logfc => logfc(fg, sums, control_means, cfg),
        Aggregation::Scaled => scaled(reader, fg, sums, cfg),
        Aggregation::Logp => logp(reader, fg, cfg),
    }
}
