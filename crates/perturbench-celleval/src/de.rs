//! Differential expression of every perturbation against the control, as cell-eval 0.8.2
//! runs pdex 0.3.0 (`pdex(adata, mode="ref", reference=control, is_log1p=True,
//! geometric_mean=True, epsilon=0.0, cpm_filter=None)`).
//!
//! Per perturbation and gene: a two-sided Mann–Whitney U test of the perturbation's cells
//! against the control cells ([`crate::mannwhitney`]), Benjamini–Hochberg within the
//! perturbation ([`crate::fdr`]), and fold changes of pseudobulk means in count space.
//!
//! The matrix is streamed once: its non-zero values are scattered into per-gene segments
//! whose values are blocked by group; each gene is then handled on its own (in parallel):
//! its non-zero values are sorted once for all groups and walked once, giving every
//! perturbation's test against the control, and the zeros of a gene are never sorted (they
//! tie at the bottom of the ranking).

use crate::error::{CellEvalError, Result};
use crate::fdr::benjamini_hochberg;
use crate::groups::Groups;
use crate::mannwhitney::{mann_whitney_u_sparse_groups, GroupScratch, MwuResult};
use crate::xvalue::{dispatch, row_of, XValue};
use perturbench_io::Csr;
use rayon::prelude::*;
use serde::Serialize;

/// How the DE table is computed; the defaults are what cell-eval 0.8.2 asks pdex for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DeOptions {
    /// The matrix holds log1p values (cell-eval passes `True` unless `--allow-discrete`).
    pub is_log1p: bool,
    /// Pseudobulk = geometric mean in count space, `expm1(mean(log1p x))` (pdex default);
    /// otherwise the arithmetic mean in count space, `mean(expm1(X))` / `mean(X)`.
    pub geometric_mean: bool,
    /// Pseudocount added to both means before the fold change (cell-eval pins 0.0).
    pub epsilon: f64,
    /// The matrix is stored as float32 (or float16, which cell-eval casts to float32): pdex's
    /// group means (scipy's sparse mean keeps the dtype), `expm1` and the difference in
    /// `percent_change` are then computed in single precision, as here. The Mann–Whitney U
    /// test always runs in double precision.
    pub float32_means: bool,
    /// pdex's `cpm_filter` (cell-eval's `--cpm-filter T`): a (perturbation, gene) row is
    /// dropped when the gene's pooled CPM is ≤ T in both the perturbation and the control;
    /// the FDR is then corrected over the rows kept. None keeps every row.
    pub cpm_filter: Option<f64>,
}

impl Default for DeOptions {
    fn default() -> Self {
        DeOptions {
            is_log1p: true,
            geometric_mean: true,
            epsilon: 0.0,
            float32_means: false,
            cpm_filter: None,
        }
    }
}

impl DeOptions {
    /// cell-eval's options for a matrix stored with element type `dtype` (as reported by
    /// `perturbench_io::MatrixInfo::dtype`, e.g. `float32`, `float64`).
    pub fn for_stored_dtype(dtype: &str) -> Self {
        DeOptions {
            float32_means: matches!(dtype, "float32" | "float16"),
            ..DeOptions::default()
        }
    }
}

/// DE results of one perturbation against the control; one entry per gene, in gene order.
#[derive(Debug, Clone, PartialEq)]
pub struct DeGroup {
    /// The perturbation label (`target` column).
    pub target: String,
    /// The genes (indices into `DeTable::features`) of the rows kept by the CPM filter, in
    /// gene order; None = every gene. The per-row vectors below hold the kept rows only.
    pub kept: Option<Vec<usize>>,
    /// Number of cells of the perturbation.
    pub target_membership: usize,
    /// Pseudobulk of the perturbation, in count space.
    pub target_mean: Vec<f64>,
    /// `log2((target_mean + ε) / (ref_mean + ε))`; `0/0` is 0, one-sided zeros are ±inf.
    pub log2_fold_change: Vec<f64>,
    /// `(target_mean − ref_mean) / (ref_mean + ε)`; `0/0` is 0.
    pub percent_change: Vec<f64>,
    /// Two-sided Mann–Whitney U p-value.
    pub p_value: Vec<f64>,
    /// `U1`, the U statistic of the perturbation's cells.
    pub statistic: Vec<f64>,
    /// Benjamini–Hochberg adjusted p-value within this perturbation.
    pub fdr: Vec<f64>,
}

/// A full DE table: every non-control perturbation against the control.
#[derive(Debug, Clone, PartialEq)]
pub struct DeTable {
    /// Gene names (`feature` column), in matrix column order.
    pub features: Vec<String>,
    /// The control label.
    pub reference: String,
    /// Number of control cells.
    pub ref_membership: usize,
    /// Pseudobulk of the control, in count space.
    pub ref_mean: Vec<f64>,
    /// One entry per perturbation, in label order.
    pub groups: Vec<DeGroup>,
    /// The means are single-precision values (`DeOptions::float32_means`); the CSV then
    /// prints them as `f32`, as pdex's float32 columns are written.
    pub means_f32: bool,
}

/// Column names of pdex's output (and cell-eval's `real_de.csv` / `pred_de.csv`), in order.
pub const DE_COLUMNS: [&str; 11] = [
    "target",
    "feature",
    "target_mean",
    "ref_mean",
    "target_membership",
    "ref_membership",
    "log2_fold_change",
    "percent_change",
    "p_value",
    "statistic",
    "fdr",
];

/// The non-zero values of a range of genes, gathered per gene, each gene's values blocked by
/// group.
struct GeneBlock<V> {
    /// First gene of the range.
    lo: usize,
    /// Start of each gene's segment in `values` (length genes in the range + 1).
    ptr: Vec<usize>,
    /// Non-zero values.
    values: Vec<V>,
    /// Group of each value.
    group: Vec<u32>,
}

impl<V> GeneBlock<V> {
    /// Gene `gene`'s values and their groups.
    fn gene(&self, gene: usize) -> (&[V], &[u32]) {
        let (lo, hi) = (self.ptr[gene - self.lo], self.ptr[gene - self.lo + 1]);
        (&self.values[lo..hi], &self.group[lo..hi])
    }
}

/// Most genes gathered and tested by one task of [`differential_expression`]: few enough write
/// streams to stay in cache, and a block small enough to be gathered, used and its memory
/// reused by the next block (no transposed copy of the whole matrix).
const GATHER_GENES: usize = 512;

/// Checks the values of `x` (`values`, aligned with its entries: no NaN, no negative value)
/// and counts each gene's non-zeros.
fn check_and_count<V: XValue>(x: &Csr, values: &[V]) -> Result<Vec<usize>> {
    let ncols = x.ncols();
    let bad = (0..x.nrows())
        .into_par_iter()
        .with_min_len(64)
        .find_map_first(|row| {
            let (idx, vals) = row_of(x, values, row);
            idx.iter()
                .zip(vals)
                .find(|(_, v)| v.to_f64().is_nan() || v.to_f64() < 0.0)
                .map(|(&c, &v)| (row, c as usize, v.to_f64()))
        });
    if let Some((row, col, value)) = bad {
        return Err(CellEvalError::InvalidValue { row, col, value });
    }
    Ok((0..x.nrows())
        .into_par_iter()
        .with_min_len(256)
        .fold(
            || vec![0usize; ncols],
            |mut n, row| {
                let (idx, vals) = row_of(x, values, row);
                for (&c, &v) in idx.iter().zip(vals) {
                    n[c as usize] += (v.to_f64() != 0.0) as usize;
                }
                n
            },
        )
        .reduce(
            || vec![0usize; ncols],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        ))
}

/// For every row of `x`, where each block of `step` genes starts among the row's stored
/// entries (`n_blocks + 1` positions per row; rows must be sorted, as a [`Csr`] always is).
fn block_starts(x: &Csr, step: usize, n_blocks: usize) -> Vec<u32> {
    let mut out = vec![0u32; x.nrows() * (n_blocks + 1)];
    out.par_chunks_mut(n_blocks + 1)
        .enumerate()
        .for_each(|(row, starts)| {
            let idx = x.row(row).0;
            let mut b = 0;
            for (k, &c) in idx.iter().enumerate() {
                while (c as usize) >= (b + 1) * step && b < n_blocks {
                    b += 1;
                    starts[b] = k as u32;
                }
            }
            for s in starts[b + 1..].iter_mut() {
                *s = idx.len() as u32;
            }
        });
    out
}

/// Scatters the non-zeros of block `b` (genes `lo..hi`) of `x` into gene segments whose
/// values appear group by group (groups in index order); `counts` holds each gene's
/// non-zeros and `starts` each row's block starts ([`block_starts`]). Explicit zeros are
/// dropped.
fn gather_block<V: XValue>(
    (x, values): (&Csr, &[V]),
    groups: &Groups,
    counts: &[usize],
    (starts, b): (&[u32], usize),
    (lo, hi): (usize, usize),
) -> GeneBlock<V> {
    let stride = starts.len() / x.nrows().max(1);
    let mut ptr = vec![0usize; hi - lo + 1];
    for c in lo..hi {
        ptr[c - lo + 1] = ptr[c - lo] + counts[c];
    }
    let nnz = ptr[hi - lo];
    let (mut out, mut group) = (vec![V::ZERO; nnz], vec![0u32; nnz]);
    let mut next: Vec<usize> = ptr[..hi - lo].to_vec();
    for (g, rows) in groups.cells.iter().enumerate() {
        for &row in rows {
            let (idx, v) = row_of(x, values, row);
            let (a, e) = (
                starts[row * stride + b] as usize,
                starts[row * stride + b + 1] as usize,
            );
            for (&c, &val) in idx[a..e].iter().zip(&v[a..e]) {
                if val.to_f64() != 0.0 {
                    let k = &mut next[c as usize - lo];
                    out[*k] = val;
                    group[*k] = g as u32;
                    *k += 1;
                }
            }
        }
    }
    GeneBlock {
        lo,
        ptr,
        values: out,
        group,
    }
}

/// The per-cell value whose group mean pdex back-transforms (`pdex._math`): log1p-space
/// values for the geometric mean, count-space values for the arithmetic mean.
fn pre_transform(v: f64, opts: &DeOptions) -> f64 {
    match (opts.geometric_mean, opts.is_log1p) {
        (true, true) | (false, false) => v,
        (true, false) => v.ln_1p(),
        (false, true) => v.exp_m1(),
    }
}

/// The same in single precision (numpy's float32 `log1p` / `expm1`).
fn pre_transform_f32(v: f32, opts: &DeOptions) -> f32 {
    match (opts.geometric_mean, opts.is_log1p) {
        (true, true) | (false, false) => v,
        (true, false) => v.ln_1p(),
        (false, true) => v.exp_m1(),
    }
}

/// Mean of a group's block (values in cell order) as scipy's sparse mean computes it: each
/// value times `1/n`, summed in cell order from 0, in the matrix's precision. The order
/// matters when two groups' means are mathematically equal: the fold change's sign follows
/// the last bits.
fn block_mean<V: XValue>(block: &[V], n: usize, opts: &DeOptions) -> Mean {
    if opts.float32_means {
        let scale = (1.0 / n as f64) as f32;
        Mean::F32(block.iter().fold(0f32, |acc, &v| {
            acc + pre_transform_f32(v.to_f32(), opts) * scale
        }))
    } else {
        let scale = 1.0 / n as f64;
        Mean::F64(block.iter().fold(0f64, |acc, &v| {
            acc + pre_transform(v.to_f64(), opts) * scale
        }))
    }
}

/// A group mean of the pre-transformed values, in the precision pdex computes it.
#[derive(Debug, Clone, Copy)]
enum Mean {
    F32(f32),
    F64(f64),
}

impl Mean {
    /// Pseudobulk in count space (`expm1` for the geometric mean), in the mean's precision.
    fn bulk(self, opts: &DeOptions) -> Mean {
        match (self, opts.geometric_mean) {
            (Mean::F32(m), true) => Mean::F32(m.exp_m1()),
            (Mean::F64(m), true) => Mean::F64(m.exp_m1()),
            (m, false) => m,
        }
    }

    fn value(self) -> f64 {
        match self {
            Mean::F32(m) => m as f64,
            Mean::F64(m) => m,
        }
    }
}

/// `t − r` as pdex's `percent_change` forms it (in the arrays' precision).
fn difference(t: Mean, r: Mean) -> f64 {
    match (t, r) {
        (Mean::F32(t), Mean::F32(r)) => (t - r) as f64,
        (t, r) => t.value() - r.value(),
    }
}

/// Results of one gene: per group the pseudobulk; per perturbation U and p.
struct GeneResult {
    means: Vec<Mean>,
    tests: Vec<(f64, f64)>,
    /// Per group, the arithmetic mean in count space (only with a CPM filter).
    count_means: Vec<f64>,
}

/// pdex's `cpm_from_gene_means`: per-gene means over their sum, times 1e6 (a zero sum
/// counts as 1, so every CPM is then 0).
fn cpm_of(means: &[f64]) -> Vec<f64> {
    let total: f64 = means.iter().sum();
    let denom = if total != 0.0 { total } else { 1.0 };
    means.iter().map(|m| m / denom * 1e6).collect()
}

/// Keeps the entries of `v` at the positions `kept` (all of them when None).
fn select<T: Copy>(v: Vec<T>, kept: &Option<Vec<usize>>) -> Vec<T> {
    match kept {
        None => v,
        Some(k) => k.iter().map(|&j| v[j]).collect(),
    }
}

/// Runs DE of every non-control group of `groups` against the control, over the columns of
/// `x` (cells × genes, non-negative). `features` names the columns.
pub fn differential_expression(
    x: &Csr,
    groups: &Groups,
    features: &[String],
    opts: &DeOptions,
) -> Result<DeTable> {
    if groups.n_cells != x.nrows() {
        return Err(CellEvalError::LabelCount {
            labels: groups.n_cells,
            cells: x.nrows(),
        });
    }
    if features.len() != x.ncols() {
        return Err(CellEvalError::GeneMismatch(format!(
            "{} feature names for {} matrix columns",
            features.len(),
            x.ncols()
        )));
    }
    let per_gene = dispatch(
        x,
        |v| gene_results(x, v, groups, opts),
        |v| gene_results(x, v, groups, opts),
    )?;
    let perts = groups.perturbations();
    let ctrl = groups.control;
    let sizes: Vec<usize> = groups.cells.iter().map(Vec::len).collect();

    let mean_of = |g: usize, gene: usize| -> f64 { per_gene[gene].means[g].value() };
    let ref_mean: Vec<f64> = (0..x.ncols()).map(|gene| mean_of(ctrl, gene)).collect();
    let cpm_of_group = |g: usize| -> Vec<f64> {
        cpm_of(
            &per_gene
                .iter()
                .map(|r| r.count_means[g])
                .collect::<Vec<_>>(),
        )
    };
    let ref_cpm = opts.cpm_filter.map(|_| cpm_of_group(ctrl));
    let out_groups: Vec<DeGroup> = perts
        .par_iter()
        .enumerate()
        .map(|(k, &g)| {
            let target_mean: Vec<f64> = (0..x.ncols()).map(|gene| mean_of(g, gene)).collect();
            let log2_fold_change = target_mean
                .iter()
                .zip(&ref_mean)
                .map(|(&t, &r)| log2_fold_change(t, r, opts.epsilon))
                .collect();
            let percent_change = per_gene
                .iter()
                .map(|r| {
                    let (t, c) = (r.means[g], r.means[ctrl]);
                    percent_change_of(difference(t, c), c.value(), opts.epsilon)
                })
                .collect();
            let statistic: Vec<f64> = per_gene.iter().map(|r| r.tests[k].0).collect();
            let p_value: Vec<f64> = per_gene.iter().map(|r| r.tests[k].1).collect();
            let kept = match (opts.cpm_filter, &ref_cpm) {
                (Some(t), Some(rc)) => {
                    let tc = cpm_of_group(g);
                    Some(
                        (0..x.ncols())
                            .filter(|&j| tc[j] > t || rc[j] > t)
                            .collect::<Vec<usize>>(),
                    )
                }
                _ => None,
            };
            let p_value = select(p_value, &kept);
            let fdr = benjamini_hochberg(&p_value);
            DeGroup {
                target: groups.names[g].clone(),
                target_membership: sizes[g],
                target_mean: select(target_mean, &kept),
                log2_fold_change: select(log2_fold_change, &kept),
                percent_change: select(percent_change, &kept),
                p_value,
                statistic: select(statistic, &kept),
                fdr,
                kept,
            }
        })
        .collect();
    Ok(DeTable {
        features: features.to_vec(),
        reference: groups.names[ctrl].clone(),
        ref_membership: sizes[ctrl],
        ref_mean,
        groups: out_groups,
        means_f32: opts.float32_means,
    })
}

/// Per gene, every group's mean and every perturbation's test against the control, from the
/// values of `x` (`values`, aligned with its entries).
fn gene_results<V: XValue>(
    x: &Csr,
    values: &[V],
    groups: &Groups,
    opts: &DeOptions,
) -> Result<Vec<GeneResult>> {
    let counts = check_and_count(x, values)?;
    let n_groups = groups.names.len();
    let perts = groups.perturbations();
    let ctrl = groups.control;
    let sizes: Vec<usize> = groups.cells.iter().map(Vec::len).collect();

    // One gene: its group means and the test of every perturbation against the control.
    let gene_result =
        |block: &GeneBlock<V>, gene: usize, s: &mut (GroupScratch<V::Item>, Vec<MwuResult>)| {
            let (vals, gids) = block.gene(gene);
            // Block boundaries of each group within the gene's segment (values in cell order).
            let mut start = vec![0usize; n_groups + 1];
            for &g in gids {
                start[g as usize + 1] += 1;
            }
            for g in 0..n_groups {
                start[g + 1] += start[g];
            }
            let means = (0..n_groups)
                .map(|g| block_mean(&vals[start[g]..start[g + 1]], sizes[g], opts).bulk(opts))
                .collect();
            let count_means = if opts.cpm_filter.is_some() {
                (0..n_groups)
                    .map(|g| {
                        let block = &vals[start[g]..start[g + 1]];
                        let sum: f64 = if opts.is_log1p {
                            block.iter().map(|&v| v.to_f64().exp_m1()).sum()
                        } else {
                            block.iter().map(|&v| v.to_f64()).sum()
                        };
                        sum / sizes[g].max(1) as f64
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let (scratch, results) = s;
            mann_whitney_u_sparse_groups(vals, gids, &sizes, ctrl, scratch, results);
            let tests = perts
                .iter()
                .map(|&g| (results[g].statistic, results[g].p_value))
                .collect();
            GeneResult {
                means,
                tests,
                count_means,
            }
        };
    let ncols = x.ncols();
    // At least four blocks per thread, for balance.
    let step = (ncols / (4 * rayon::current_num_threads())).clamp(32, GATHER_GENES);
    let n_blocks = ncols.div_ceil(step);
    let starts = block_starts(x, step, n_blocks);
    let per_block: Vec<Vec<GeneResult>> = (0..n_blocks)
        .into_par_iter()
        .map(|b| {
            let (lo, hi) = (b * step, ((b + 1) * step).min(ncols));
            let block = gather_block((x, values), groups, &counts, (&starts, b), (lo, hi));
            let mut scratch = (GroupScratch::default(), Vec::new());
            (lo..hi)
                .map(|gene| gene_result(&block, gene, &mut scratch))
                .collect::<Vec<_>>()
        })
        .collect();
    Ok(per_block.into_iter().flatten().collect())
}

/// `log2((t + ε) / (r + ε))` with `0/0` defined as 0 (pdex `log2_fold_change`).
pub fn log2_fold_change(t: f64, r: f64, epsilon: f64) -> f64 {
    let v = ((t + epsilon) / (r + epsilon)).log2();
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

/// `(t − r) / (r + ε)` with `0/0` defined as 0 (pdex `percent_change`).
pub fn percent_change(t: f64, r: f64, epsilon: f64) -> f64 {
    percent_change_of(t - r, r, epsilon)
}

/// `diff / (r + ε)` with `0/0` defined as 0.
fn percent_change_of(diff: f64, r: f64, epsilon: f64) -> f64 {
    let v = diff / (r + epsilon);
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

/// A float as text that round-trips exactly (shortest form; exponent form for very small or
/// large magnitudes; `inf`, `-inf`, `NaN`).
pub fn format_float(v: f64) -> String {
    let mut s = String::new();
    push_float(&mut s, v);
    s
}

/// [`format_float`] for a single-precision value (its shortest `f32` form).
pub fn format_float32(v: f32) -> String {
    let mut s = String::new();
    push_float32(&mut s, v);
    s
}

/// A float type [`push_float`] and [`push_float32`] write: its exact value as `m·2^e` and the
/// expansion length from which `ryu`'s and `std`'s shortest texts cannot tie.
trait CsvFloat: Copy + std::fmt::Display + std::fmt::LowerExp + ryu::Float {
    /// Digits of an exact expansion long enough to take the `ryu` path.
    const LONG_DIGITS: f64;
    /// `(m, e)` with `|v| = m·2^e`.
    fn mantissa_exponent(self) -> (u64, i64);
    fn as_f64(self) -> f64;
    /// Whether Rust's `{}` form applies: 0, or a magnitude in `[1e-5, 1e16)` of this type.
    fn plain(self) -> bool;
}

impl CsvFloat for f64 {
    const LONG_DIGITS: f64 = 21.0;
    fn mantissa_exponent(self) -> (u64, i64) {
        let bits = self.to_bits();
        let (field, frac) = ((bits >> 52) & 0x7ff, bits & ((1 << 52) - 1));
        if field == 0 {
            (frac, -1074)
        } else {
            (frac | (1 << 52), field as i64 - 1075)
        }
    }
    fn as_f64(self) -> f64 {
        self
    }
    fn plain(self) -> bool {
        self == 0.0 || (1e-5..1e16).contains(&self.abs())
    }
}

impl CsvFloat for f32 {
    const LONG_DIGITS: f64 = 13.0;
    fn mantissa_exponent(self) -> (u64, i64) {
        let bits = self.to_bits();
        let (field, frac) = ((bits >> 23) & 0xff, u64::from(bits & ((1 << 23) - 1)));
        if field == 0 {
            (frac, -149)
        } else {
            (frac | (1 << 23), i64::from(field) - 150)
        }
    }
    fn as_f64(self) -> f64 {
        f64::from(self)
    }
    fn plain(self) -> bool {
        self == 0.0 || (1e-5..1e16).contains(&self.abs())
    }
}

/// Appends [`format_float`]`(v)` to `out`: Rust's `{}` form inside `[1e-5, 1e16)` (and for
/// 0), its `{:e}` form outside, computed with `ryu` (its digits are the same shortest
/// round-trip digits; only the layout is converted) and `std` where the layouts differ.
pub fn push_float(out: &mut String, v: f64) {
    push_shortest(out, v)
}

/// [`push_float`] for a single-precision value (its shortest `f32` form).
pub fn push_float32(out: &mut String, v: f32) {
    push_shortest(out, v)
}

fn push_shortest<T: CsvFloat>(out: &mut String, v: T) {
    let x = v.as_f64();
    if !x.is_finite() {
        return out.push_str(non_finite(x.is_nan(), x > 0.0));
    }
    let plain = v.plain();
    let (m, e) = v.mantissa_exponent();
    if !long_expansion(m, e, T::LONG_DIGITS) {
        return push_std(out, v, plain);
    }
    let mut buf = ryu::Buffer::new();
    let r = buf.format_finite(v);
    if !push_layout(out, r, plain) {
        push_std(out, v, plain);
    }
}

/// Appends `std`'s shortest form of `v`: `{}` when `plain`, `{:e}` otherwise.
fn push_std<T: CsvFloat>(out: &mut String, v: T, plain: bool) {
    use std::fmt::Write;
    if plain {
        write!(out, "{v}")
    } else {
        write!(out, "{v:e}")
    }
    .expect("writing to a String cannot fail")
}

/// Whether `m·2^e` (m > 0) has an exact decimal expansion of at least `digits` significant
/// digits. A value whose shortest round-trip text is `n` digits long can lie exactly halfway
/// between two `n`-digit candidates only when its exact expansion has `n + 1` digits; `ryu`
/// and `std` break such ties differently, so short expansions take the `std` path.
fn long_expansion(m: u64, e: i64, digits: f64) -> bool {
    if m == 0 {
        return false;
    }
    let tz = m.trailing_zeros();
    let (m, e) = (m >> tz, e + i64::from(tz));
    // Digits of the odd m times 5^(-e) (e < 0) or 2^e (e >= 0), from below.
    let log_m = f64::from(63 - m.leading_zeros()) * std::f64::consts::LOG10_2;
    let scale = if e < 0 {
        (-e) as f64 * std::f64::consts::LN_10.recip() * 5f64.ln()
    } else {
        e as f64 * std::f64::consts::LOG10_2
    };
    log_m + scale >= digits
}

fn non_finite(nan: bool, positive: bool) -> &'static str {
    if nan {
        "NaN"
    } else if positive {
        "inf"
    } else {
        "-inf"
    }
}

/// Appends `ryu`'s text `r` in Rust's layout: plain decimals (`plain`) lose a trailing
/// `.0`; exponent forms are the same in both. Any other shape appends nothing and returns
/// `false` (the caller falls back to `std`).
fn push_layout(out: &mut String, r: &str, plain: bool) -> bool {
    match (plain, r.contains('e')) {
        (true, false) => out.push_str(r.strip_suffix(".0").unwrap_or(r)),
        (false, true) if !r.contains(".0e") => out.push_str(r),
        _ => return false,
    }
    true
}

impl DeTable {
    /// Number of rows (perturbations × genes).
    pub fn n_rows(&self) -> usize {
        self.groups.iter().map(|g| g.p_value.len()).sum()
    }

    /// The table as CSV text with pdex's columns ([`DE_COLUMNS`]), perturbation-major.
    pub fn to_csv_string(&self) -> String {
        let mut s = String::new();
        self.csv_pieces(|piece| {
            s.push_str(piece);
            Ok(())
        })
        .expect("appending to a String cannot fail");
        s
    }

    /// Hands the CSV text to `sink` in pieces: the header, then the rows of a few
    /// perturbations at a time, formatted in parallel (memory stays a few groups' worth).
    fn csv_pieces(
        &self,
        mut sink: impl FnMut(&str) -> std::io::Result<()> + Send,
    ) -> std::io::Result<()> {
        let mut header = DE_COLUMNS.join(",");
        header.push('\n');
        sink(&header)?;
        let mean = |v: f64| {
            if self.means_f32 {
                format_float32(v as f32)
            } else {
                format_float(v)
            }
        };
        let features: Vec<String> = self.features.iter().map(|f| csv_field(f)).collect();
        let ref_means: Vec<String> = self.ref_mean.iter().map(|&v| mean(v)).collect();
        let ref_membership = self.ref_membership.to_string();
        let rows = |g: &DeGroup| {
            let target = csv_field(&g.target);
            let membership = g.target_membership.to_string();
            let mut s = String::with_capacity(g.p_value.len() * 140);
            for (i, j) in g.genes().enumerate() {
                s.push_str(&target);
                s.push(',');
                s.push_str(&features[j]);
                s.push(',');
                if self.means_f32 {
                    push_float32(&mut s, g.target_mean[i] as f32);
                } else {
                    push_float(&mut s, g.target_mean[i]);
                }
                s.push(',');
                s.push_str(&ref_means[j]);
                s.push(',');
                s.push_str(&membership);
                s.push(',');
                s.push_str(&ref_membership);
                for v in [
                    g.log2_fold_change[i],
                    g.percent_change[i],
                    g.p_value[i],
                    g.statistic[i],
                    g.fdr[i],
                ] {
                    s.push(',');
                    push_float(&mut s, v);
                }
                s.push('\n');
            }
            s
        };
        // Each batch of groups is formatted while the previous one is handed to `sink`.
        let batch = 4 * rayon::current_num_threads().max(1);
        let mut ready: Vec<String> = Vec::new();
        for groups in self.groups.chunks(batch) {
            let (sent, parts) = rayon::join(
                || ready.iter().try_for_each(|p| sink(p)),
                || groups.par_iter().map(rows).collect::<Vec<String>>(),
            );
            sent?;
            ready = parts;
        }
        ready.iter().try_for_each(|p| sink(p))
    }

    /// Writes the table as CSV (`real_de.csv` / `pred_de.csv` layout).
    pub fn write_csv(&self, path: &std::path::Path) -> Result<()> {
        use std::io::Write;
        let fail = |source| CellEvalError::File {
            path: path.display().to_string(),
            source,
        };
        let file = std::fs::File::create(path).map_err(fail)?;
        let mut f = std::io::BufWriter::with_capacity(1 << 20, file);
        self.csv_pieces(|piece| f.write_all(piece.as_bytes()))
            .map_err(fail)?;
        f.flush().map_err(fail)
    }
}

impl DeGroup {
    /// The genes of this group's rows (indices into the table's features), in row order.
    pub fn genes(&self) -> impl Iterator<Item = usize> + '_ {
        let all = match &self.kept {
            None => Some(0..self.p_value.len()),
            Some(_) => None,
        };
        all.into_iter()
            .flatten()
            .chain(self.kept.iter().flatten().copied())
    }
}

/// A CSV field, quoted when needed.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mannwhitney::mann_whitney_u_sparse;

    /// The ryu path against `std`'s `{}` / `{:e}` on random bit patterns (every exponent) and
    /// on values around the layout boundaries.
    #[test]
    fn fast_float_text_equals_std() {
        let std64 = |v: f64| {
            if v.is_nan() {
                "NaN".to_string()
            } else if v.is_infinite() {
                if v > 0.0 { "inf" } else { "-inf" }.to_string()
            } else if v == 0.0 || (1e-5..1e16).contains(&v.abs()) {
                format!("{v}")
            } else {
                format!("{v:e}")
            }
        };
        let std32 = |v: f32| {
            if v.is_nan() {
                "NaN".to_string()
            } else if v.is_infinite() {
                if v > 0.0 { "inf" } else { "-inf" }.to_string()
            } else if v == 0.0 || (1e-5..1e16).contains(&v.abs()) {
                format!("{v}")
            } else {
                format!("{v:e}")
            }
        };
        let mut z = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        };
        for _ in 0..300_000 {
            let bits = next();
            let v = f64::from_bits(bits);
            assert_eq!(format_float(v), std64(v), "{bits:#x}");
            let w = f32::from_bits(bits as u32);
            assert_eq!(format_float32(w), std32(w), "{:#x}", bits as u32);
            // Values of ordinary magnitudes (random bits have mostly extreme exponents).
            let u = (bits >> 11) as f64 / (1u64 << 53) as f64;
            let e = (bits % 48) as i32 - 24;
            for v in [
                u * 10f64.powi(e),
                -u * 10f64.powi(e),
                (u * 1e4).round() / 1e2,
            ] {
                assert_eq!(format_float(v), std64(v), "{v:e}");
                assert_eq!(format_float32(v as f32), std32(v as f32), "{v:e}");
            }
        }
        for v in [
            0.0,
            -0.0,
            1.0,
            1e-5,
            9.999999999999999e-6,
            1e16,
            9.999999999999998e15,
            1e15,
            1e-4,
            123.0,
            0.1,
            1e300,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            1e21,
            1e22,
            1e23,
        ] {
            assert_eq!(format_float(v), std64(v), "{v:e}");
            assert_eq!(format_float(-v), std64(-v), "{v:e}");
            assert_eq!(format_float32(v as f32), std32(v as f32), "{v:e}");
        }
    }

    #[test]
    fn fold_change_edge_cases() {
        assert_eq!(log2_fold_change(0.0, 0.0, 0.0), 0.0);
        assert_eq!(log2_fold_change(1.0, 0.0, 0.0), f64::INFINITY);
        assert_eq!(log2_fold_change(0.0, 1.0, 0.0), f64::NEG_INFINITY);
        assert_eq!(percent_change(0.0, 0.0, 0.0), 0.0);
        assert_eq!(log2_fold_change(4.0, 1.0, 0.0), 2.0);
    }

    #[test]
    fn small_table_matches_direct_computation() {
        // 3 control cells, 2 cells of A, 2 genes.
        let dense = [
            0.0, 1.0, //
            0.5, 0.0, //
            0.5, 2.0, // control rows 0..3
            1.0, 1.0, //
            2.0, 0.0, // A rows 3..5
        ];
        let x = Csr::from_dense(5, 2, &dense).unwrap();
        let labels = ["control", "control", "control", "A", "A"];
        let groups = Groups::from_labels(&labels, "control").unwrap();
        let feats = vec!["g0".to_string(), "g1".to_string()];
        let t = differential_expression(&x, &groups, &feats, &DeOptions::default()).unwrap();
        assert_eq!(t.groups.len(), 1);
        let g = &t.groups[0];
        assert_eq!(g.target, "A");
        // gene 0: A = [1, 2], control = [0, .5, .5] -> U1 = 6 (A above all).
        assert_eq!(g.statistic[0], 6.0);
        let m_a = ((1.0f64 + 2.0) / 2.0).exp_m1();
        let m_c = (1.0f64 / 3.0).exp_m1();
        assert!((g.log2_fold_change[0] - (m_a / m_c).log2()).abs() < 1e-15);
        let direct = mann_whitney_u_sparse(&[1.0, 2.0], 2, &[0.5, 0.5], 3);
        assert_eq!(g.p_value[0], direct.p_value);
    }

    #[test]
    fn rejects_negative_values() {
        let x = Csr::from_dense(2, 1, &[-1.0, 1.0]).unwrap();
        let groups = Groups::from_labels(&["control", "A"], "control").unwrap();
        let r = differential_expression(&x, &groups, &["g".into()], &DeOptions::default());
        assert!(matches!(r, Err(CellEvalError::InvalidValue { .. })));
    }
}
