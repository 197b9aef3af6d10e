//! The groups of a file as evaluation sees them: (covariates, perturbation) pairs keyed so that
//! files agree (`A+B` = `B+A`), and per-group sufficient statistics accumulated in one
//! streaming pass over X.

use crate::EvalError;
use perturbench_data::{Design, GroupIndex, PerturbationSpec};
use perturbench_io::{CellSource, Csr, Frame};
use rayon::prelude::*;
use std::collections::HashMap;

/// Rows of X read at a time; memory stays O(groups × genes + block). 2,048 rows of a typical
/// file (~2 M non-zeros, 16 MB) stay in the CPU cache between the read and the sums.
pub const ROWS_PER_BLOCK: usize = 2048;

/// Identity of a group across files.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    /// Covariate values joined with `_` (empty without covariate keys).
    pub covariates: String,
    /// Perturbation names sorted and joined with the delimiter (empty for the control).
    pub perturbation: String,
}

/// One file's design, groups and the map from its genes to the reference's.
pub struct FileGroups {
    /// The file (for messages).
    pub source: String,
    /// Per group: its key.
    pub keys: Vec<GroupKey>,
    /// Per group: the perturbation as written in the file.
    pub labels: Vec<String>,
    /// Per group: number of cells.
    pub sizes: Vec<usize>,
    /// Per cell: its group.
    pub cell_group: Vec<u32>,
    /// Per group: whether it is the control of its covariates.
    pub is_control: Vec<bool>,
    /// Per gene of the file: its column in the reference (None = not evaluated).
    pub gene_map: Vec<Option<u32>>,
    /// Lookup from key to group.
    pub index: HashMap<GroupKey, usize>,
}

impl FileGroups {
    /// Groups of a file from its obs with `spec`; genes mapped onto `ref_genes` by name.
    pub fn new(
        obs: &Frame,
        var_names: &[String],
        ref_genes: &[String],
        spec: &PerturbationSpec,
        source: &str,
    ) -> Result<Self, EvalError> {
        let design = Design::from_obs(obs, spec, source)?;
        let groups = GroupIndex::build(&design);
        let mut keys = Vec::with_capacity(groups.len());
        let mut labels = Vec::with_capacity(groups.len());
        let mut sizes = Vec::with_capacity(groups.len());
        let mut is_control = Vec::with_capacity(groups.len());
        let mut cell_group = vec![0u32; design.n_cells()];
        // The first spelling of each perturbation set in the file.
        let mut spelling: HashMap<u32, String> = HashMap::new();
        for r in 0..design.n_cells() {
            let c = design.cell_condition[r] as usize;
            spelling
                .entry(design.condition_set[c])
                .or_insert_with(|| design.conditions[c].clone());
        }
        for (gi, g) in groups.groups().iter().enumerate() {
            let set = &design.perturbations[g.perturbation as usize];
            keys.push(GroupKey {
                covariates: design.covariate_label(g.covariate),
                perturbation: set.names().join(&spec.delimiter),
            });
            labels.push(spelling[&g.perturbation].clone());
            sizes.push(g.rows.len());
            is_control.push(set.is_control());
            for &r in &g.rows {
                cell_group[r as usize] = gi as u32;
            }
        }
        let index = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i))
            .collect();
        let ref_pos: HashMap<&str, u32> = ref_genes
            .iter()
            .enumerate()
            .map(|(i, g)| (g.as_str(), i as u32))
            .collect();
        let gene_map: Vec<Option<u32>> = var_names
            .iter()
            .map(|g| ref_pos.get(g.as_str()).copied())
            .collect();
        let present: std::collections::HashSet<u32> = gene_map.iter().flatten().copied().collect();
        let missing: Vec<&str> = ref_genes
            .iter()
            .enumerate()
            .filter(|(i, _)| !present.contains(&(*i as u32)))
            .map(|(_, g)| g.as_str())
            .collect();
        if !missing.is_empty() {
            let first: Vec<&str> = missing.iter().take(5).copied().collect();
            return Err(EvalError::Input {
                source_name: source.to_string(),
                message: format!(
                    "{} reference genes are missing from var names; first: {}",
                    missing.len(),
                    first.join(", ")
                ),
            });
        }
        Ok(FileGroups {
            source: source.to_string(),
            keys,
            labels,
            sizes,
            cell_group,
            is_control,
            gene_map,
            index,
        })
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The control group of a covariate label, if the file has one.
    pub fn control_of(&self, covariates: &str) -> Option<usize> {
        self.index
            .get(&GroupKey {
                covariates: covariates.to_string(),
                perturbation: String::new(),
            })
            .copied()
    }
}

/// Per-group sums over a file's cells, in the reference's gene order.
pub struct GroupSums {
    /// Genes (columns).
    pub genes: usize,
    /// groups × genes: Σ x in float64 (empty when only the float32 means were asked for).
    pub sum: Vec<f64>,
    /// groups × genes: Σ x² (when asked for).
    pub sum_sq: Option<Vec<f64>>,
    /// groups × genes: the group means as scipy computes `X.mean(0)` of a float32 sparse matrix
    /// (every value times float32(1/n), summed in float32 in row order).
    pub mean32: Vec<f32>,
}

/// One group's accumulators: float32 mean, and optionally float64 Σx and Σx².
type Slots<'a> = (&'a mut [f32], Option<&'a mut [f64]>, Option<&'a mut [f64]>);

/// Adds one block's rows to the per-group accumulators, in row order within every group: each
/// thread owns a set of groups and scans the rows in order, so results do not depend on the
/// number of threads.
fn accumulate(block: &Csr, first: usize, fg: &FileGroups, inv_n: &[f32], acc: &mut Accumulators) {
    let genes = acc.genes;
    let threads = rayon::current_num_threads().max(1);
    let owner = |gi: usize| gi % threads;
    // The file's genes are the reference's, in the same order: no lookup needed.
    let identity = is_identity(fg, genes);
    let mut parts: Vec<Vec<(usize, Slots)>> = (0..threads).map(|_| Vec::new()).collect();
    let mut sums = acc.sum.as_mut().map(|v| v.chunks_mut(genes));
    let mut sqs = acc.sum_sq.as_mut().map(|v| v.chunks_mut(genes));
    for (gi, m) in acc.mean32.chunks_mut(genes).enumerate() {
        let s = sums.as_mut().and_then(|it| it.next());
        let q = sqs.as_mut().and_then(|it| it.next());
        parts[owner(gi)].push((gi, (m, s, q)));
    }
    parts.into_par_iter().enumerate().for_each(|(t, mut mine)| {
        if mine.is_empty() {
            return;
        }
        let mut local: HashMap<usize, usize> = HashMap::with_capacity(mine.len());
        for (k, (gi, _)) in mine.iter().enumerate() {
            local.insert(*gi, k);
        }
        for r in 0..block.nrows() {
            let gi = fg.cell_group[first + r] as usize;
            if owner(gi) != t {
                continue;
            }
            let (m, s, q) = &mut mine[local[&gi]].1;
            let inv = inv_n[gi];
            let (idx, val) = block.row(r);
            if identity && s.is_none() {
                for (&j, &v) in idx.iter().zip(val) {
                    m[j as usize] += v * inv;
                }
                continue;
            }
            for (&j, &v) in idx.iter().zip(val) {
                let k = if identity {
                    j as usize
                } else {
                    match fg.gene_map[j as usize] {
                        Some(k) => k as usize,
                        None => continue,
                    }
                };
                m[k] += v * inv;
                if let Some(s) = s.as_deref_mut() {
                    s[k] += v as f64;
                }
                if let Some(q) = q.as_deref_mut() {
                    q[k] += v as f64 * v as f64;
                }
            }
        }
    });
}

/// Fails naming the first row of `block` (whose first row is `first`) that holds NaN or an
/// infinity.
fn check_finite(block: &Csr, first: usize, fg: &FileGroups) -> Result<(), EvalError> {
    let finite = block
        .data()
        .par_chunks(1 << 16)
        .all(|c| c.iter().all(|v| v.is_finite()));
    match (!finite)
        .then(|| block.data().iter().position(|v| !v.is_finite()))
        .flatten()
    {
        Some(bad) => {
            let row = block.indptr().partition_point(|&p| p as usize <= bad) - 1;
            Err(EvalError::Input {
                source_name: fg.source.clone(),
                message: format!(
                    "X has a non-finite value (NaN or infinity) in row {}",
                    first + row
                ),
            })
        }
        None => Ok(()),
    }
}

/// Whether the file's genes are the reference's, in the same order.
fn is_identity(fg: &FileGroups, genes: usize) -> bool {
    fg.gene_map.len() == genes
        && fg
            .gene_map
            .iter()
            .enumerate()
            .all(|(j, k)| *k == Some(j as u32))
}

/// The accumulators of [`group_sums`].
struct Accumulators {
    genes: usize,
    mean32: Vec<f32>,
    sum: Option<Vec<f64>>,
    sum_sq: Option<Vec<f64>>,
}

/// Streams X of `reader` once and returns per-group sums; fails on NaN/inf (naming the row).
/// The float32 means are always computed; the float64 sums only when `with_f64` or `with_sq`.
pub fn group_sums(
    reader: &dyn CellSource,
    fg: &FileGroups,
    genes: usize,
    with_f64: bool,
    with_sq: bool,
) -> Result<GroupSums, EvalError> {
    let ng = fg.len();
    let mut acc = Accumulators {
        genes,
        mean32: vec![0f32; ng * genes],
        sum: (with_f64 || with_sq).then(|| vec![0f64; ng * genes]),
        sum_sq: with_sq.then(|| vec![0f64; ng * genes]),
    };
    let inv_n: Vec<f32> = fg.sizes.iter().map(|&n| (1.0 / n as f64) as f32).collect();
    // Every value reaches the float32 means when the file's genes are the reference's: a
    // NaN or infinity then shows as a non-finite mean, checked once at the end instead of
    // scanning every block. Otherwise unevaluated genes are skipped, so blocks are checked.
    let every_value_summed = is_identity(fg, genes);
    let mut blocks = reader.row_chunks("X", ROWS_PER_BLOCK)?;
    while let Some(block) = blocks.next() {
        let (first, block) = block?;
        if !every_value_summed {
            check_finite(&block, first, fg)?;
        }
        accumulate(&block, first, fg, &inv_n, &mut acc);
        blocks.recycle(block);
    }
    if every_value_summed && !acc.mean32.par_iter().all(|v| v.is_finite()) {
        // Find the row (an overflowing sum of finite values is not an error).
        let mut blocks = reader.row_chunks("X", ROWS_PER_BLOCK)?;
        while let Some(block) = blocks.next() {
            let (first, block) = block?;
            check_finite(&block, first, fg)?;
            blocks.recycle(block);
        }
    }
    Ok(GroupSums {
        genes,
        sum: acc.sum.unwrap_or_default(),
        sum_sq: acc.sum_sq,
        mean32: acc.mean32,
    })
}
