//! Builders for the paper's scenarios (spec §2.9), following PerturBench's notebooks
//! `build_data_scaling_splits` and `build_imbalance_splits` draw for draw, generalised from
//! their hard-coded dataset names to options.

use super::pcg64::NpGenerator;
use super::pyrandom::{NpRandomState, PyRandom};
use super::{make_split, Split, SplitConfig, SplitError, SplitLabel, Task};
use crate::{Design, PerturbationSpec};
use perturbench_io::Frame;
use std::collections::HashSet;

/// Along which axis the data-scaling subsets grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalingAxis {
    /// Nested subsets of perturbations (the default McFaline23 splits).
    Perturbations,
    /// Nested subsets of covariate combinations.
    Covariates,
}

/// Which nested subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalingSize {
    /// The smallest subset, on which val/test are chosen.
    Small,
    /// The middle subset: the small split's labels plus more training cells.
    Medium,
    /// All cells: the small split's labels, everything else train.
    Full,
}

/// Parameters of [`data_scaling_split`]; defaults are the notebook's.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingConfig {
    /// Axis of growth.
    pub axis: ScalingAxis,
    /// Subset.
    pub size: ScalingSize,
    /// Seed of the subset draws (perturbations axis: `random.seed(84)`; covariates axis:
    /// `default_rng(12345)`).
    pub seed: u64,
    /// Perturbations axis: seed of the transfer split of the small subset (57).
    pub split_seed: u32,
    /// Perturbations axis: transfer split's `max_heldout_covariates` (7).
    pub max_heldout_covariates: usize,
    /// Perturbations axis: transfer split's `max_heldout_fraction_per_covariate` (0.3).
    pub max_heldout_fraction: f64,
    /// Covariates axis: covariate combinations whose perturbations are partly held out.
    pub heldout_covariates: Vec<String>,
    /// Covariates axis: train-only covariate combinations of the small subset.
    pub small_train_covariates: Vec<String>,
    /// Covariates axis: train-only combinations added in the medium subset.
    pub medium_train_covariates: Vec<String>,
    /// Covariates axis: fraction of perturbations held out per held-out covariate (0.7).
    pub heldout_fraction: f64,
}

impl ScalingConfig {
    /// The notebook's parameters for `axis` and `size`.
    pub fn new(axis: ScalingAxis, size: ScalingSize) -> Self {
        ScalingConfig {
            axis,
            size,
            seed: if axis == ScalingAxis::Perturbations {
                84
            } else {
                12345
            },
            split_seed: 57,
            max_heldout_covariates: 7,
            max_heldout_fraction: 0.3,
            heldout_covariates: Vec::new(),
            small_train_covariates: Vec::new(),
            medium_train_covariates: Vec::new(),
            heldout_fraction: 0.7,
        }
    }
}

/// The design of the cells `rows` only (categories of the columns are kept, as pandas does).
fn sub_design(
    obs: &Frame,
    spec: &PerturbationSpec,
    rows: &[usize],
    source: &str,
) -> Result<Design, SplitError> {
    Ok(Design::from_obs(&obs.select(rows), spec, source)?)
}

/// Spreads labels of `rows` over all `n` cells (the notebooks' "padded" CSVs).
fn pad(
    n: usize,
    rows: &[usize],
    labels: &[Option<SplitLabel>],
    fill: Option<SplitLabel>,
) -> Vec<Option<SplitLabel>> {
    let mut out = vec![fill; n];
    for (i, &r) in rows.iter().enumerate() {
        out[r] = labels[i];
    }
    out
}

/// A data-scaling split (spec §2.9): labels for every cell, empty outside the chosen subset.
pub fn data_scaling_split(
    obs: &Frame,
    spec: &PerturbationSpec,
    cfg: &ScalingConfig,
    source: &str,
) -> Result<Split, SplitError> {
    let design = Design::from_obs(obs, spec, source)?;
    let n = design.n_cells();
    match cfg.axis {
        ScalingAxis::Perturbations => {
            // random.seed(84); medium = half of the perturbations, small = half of medium.
            let mut uniq: Vec<u32> = Vec::new();
            let mut seen = HashSet::new();
            for r in 0..n {
                let p = design.perturbation_of(r);
                if Some(p) != design.control && seen.insert(p) {
                    uniq.push(p);
                }
            }
            let mut rng = PyRandom::seed(cfg.seed as i64);
            let medium = rng.sample(&uniq, uniq.len() / 2);
            let small = rng.sample(&medium, medium.len() / 2);
            let in_subset = |set: &[u32], r: usize| {
                design.is_control(r) || set.contains(&design.perturbation_of(r))
            };
            let small_rows: Vec<usize> = (0..n).filter(|&r| in_subset(&small, r)).collect();
            let sub = sub_design(obs, spec, &small_rows, source)?;
            let mut scfg = SplitConfig::new(Task::Transfer {
                min_train_covariates: 1,
                max_heldout_covariates: cfg.max_heldout_covariates,
                max_heldout_fraction: cfg.max_heldout_fraction,
                max_heldout_perturbations: 200,
            });
            scfg.seed = cfg.split_seed;
            let small_split = make_split(&sub, &scfg)?;
            let labels = match cfg.size {
                ScalingSize::Small => pad(n, &small_rows, &small_split.labels, None),
                ScalingSize::Medium | ScalingSize::Full => {
                    // Every cell of the larger subset is train unless the small split labelled it.
                    let mut out: Vec<Option<SplitLabel>> = (0..n)
                        .map(|r| {
                            (cfg.size == ScalingSize::Full || in_subset(&medium, r))
                                .then_some(SplitLabel::Train)
                        })
                        .collect();
                    for (i, &r) in small_rows.iter().enumerate() {
                        if let Some(l) = small_split.labels[i] {
                            out[r] = Some(l);
                        }
                    }
                    out
                }
            };
            Ok(Split {
                key: format!("{}_split", size_name(cfg.size)),
                labels,
            })
        }
        ScalingAxis::Covariates => covariate_scaling(&design, cfg),
    }
}

fn size_name(s: ScalingSize) -> &'static str {
    match s {
        ScalingSize::Small => "small",
        ScalingSize::Medium => "medium",
        ScalingSize::Full => "full",
    }
}

fn covariate_ids(
    design: &Design,
    names: &[String],
    option: &'static str,
) -> Result<Vec<u32>, SplitError> {
    let labels: Vec<String> = (0..design.covariates.len() as u32)
        .map(|c| design.covariate_label(c))
        .collect();
    if names.is_empty() {
        return Err(SplitError::Option {
            option,
            message: format!("name covariate combinations; known: {}", labels.join(", ")),
        });
    }
    names
        .iter()
        .map(|n| {
            labels
                .iter()
                .position(|l| l == n)
                .map(|c| c as u32)
                .ok_or_else(|| SplitError::UnknownCovariate(n.clone(), labels.join(", ")))
        })
        .collect()
}

fn covariate_scaling(design: &Design, cfg: &ScalingConfig) -> Result<Split, SplitError> {
    let n = design.n_cells();
    let held = covariate_ids(design, &cfg.heldout_covariates, "heldout-covariates")?;
    let small_train = covariate_ids(design, &cfg.small_train_covariates, "train-covariates")?;
    let small: HashSet<u32> = held.iter().chain(&small_train).copied().collect();
    let small_rows: Vec<usize> = (0..n)
        .filter(|&r| small.contains(&design.cell_covariate[r]))
        .collect();
    // Non-control perturbations of the small subset, in order of first appearance.
    let mut uniq: Vec<u32> = Vec::new();
    let mut seen = HashSet::new();
    for &r in &small_rows {
        let p = design.perturbation_of(r);
        if Some(p) != design.control && seen.insert(p) {
            uniq.push(p);
        }
    }
    let mut rng = NpGenerator::new(cfg.seed);
    let mut heldout_pairs: Vec<(u32, u32)> = Vec::new();
    let (mut ctrl_val, mut ctrl_test) = (Vec::new(), Vec::new());
    for &c in &held {
        let mut py = PyRandom::seed(rng.integers(1 << 16) as i64);
        let sampled = py.sample(&uniq, (cfg.heldout_fraction * uniq.len() as f64) as usize);
        heldout_pairs.extend(sampled.iter().map(|&p| (c, p)));
        let controls: Vec<usize> = small_rows
            .iter()
            .copied()
            .filter(|&r| design.cell_covariate[r] == c && design.is_control(r))
            .collect();
        let chosen = py.sample(&controls, (0.5 * controls.len() as f64) as usize);
        // sklearn train_test_split(chosen, test_size=0.5, random_state=s) without strata.
        let mut np = NpRandomState::new(rng.integers(1 << 16) as u32);
        let perm = np.permutation(chosen.len());
        let n_test = (0.5 * chosen.len() as f64).ceil() as usize;
        ctrl_test.extend(perm[..n_test].iter().map(|&i| chosen[i]));
        ctrl_val.extend(perm[n_test..].iter().map(|&i| chosen[i]));
    }
    let mut py = PyRandom::seed(rng.integers(1 << 16) as i64);
    let val_pairs: HashSet<(u32, u32)> = py
        .sample(&heldout_pairs, heldout_pairs.len() / 2)
        .into_iter()
        .collect();
    let all_pairs: HashSet<(u32, u32)> = heldout_pairs.iter().copied().collect();
    let mut small_labels: Vec<Option<SplitLabel>> = vec![None; n];
    for &r in &small_rows {
        let pair = (design.cell_covariate[r], design.perturbation_of(r));
        small_labels[r] = Some(if val_pairs.contains(&pair) {
            SplitLabel::Val
        } else if all_pairs.contains(&pair) {
            SplitLabel::Test
        } else {
            SplitLabel::Train
        });
    }
    for r in ctrl_val {
        small_labels[r] = Some(SplitLabel::Val);
    }
    for r in ctrl_test {
        small_labels[r] = Some(SplitLabel::Test);
    }
    let labels = match cfg.size {
        ScalingSize::Small => small_labels,
        ScalingSize::Medium | ScalingSize::Full => {
            let medium: HashSet<u32> = small
                .iter()
                .copied()
                .chain(
                    covariate_ids(design, &cfg.medium_train_covariates, "medium-covariates")
                        .unwrap_or_default(),
                )
                .collect();
            (0..n)
                .map(|r| {
                    small_labels[r].or_else(|| {
                        (cfg.size == ScalingSize::Full
                            || medium.contains(&design.cell_covariate[r]))
                        .then_some(SplitLabel::Train)
                    })
                })
                .collect()
        }
    };
    Ok(Split {
        key: format!("{}_covariate_split", size_name(cfg.size)),
        labels,
    })
}

/// Parameters of [`imbalance_split`]; defaults are the notebook's.
#[derive(Debug, Clone, PartialEq)]
pub struct ImbalanceConfig {
    /// Target normalised entropy of perturbation counts across covariates (0.7, 0.8, 0.9; 1 = all).
    pub entropy: f64,
    /// Seed of the count search and of the downsampling (`np.random.seed(42)`).
    pub search_seed: u32,
    /// Smallest number of perturbations a covariate keeps (30).
    pub min_count: usize,
    /// Accepted distance to the target entropy (0.01).
    pub tolerance: f64,
    /// Draws tried before giving up (10,000).
    pub max_iter: usize,
    /// Seed of the transfer split (57).
    pub split_seed: u32,
    /// Transfer split's `max_heldout_covariates` (1).
    pub max_heldout_covariates: usize,
    /// Transfer split's `max_heldout_fraction_per_covariate` (0.3).
    pub max_heldout_fraction: f64,
}

impl ImbalanceConfig {
    /// The notebook's parameters for a target entropy.
    pub fn new(entropy: f64) -> Self {
        ImbalanceConfig {
            entropy,
            search_seed: 42,
            min_count: 30,
            tolerance: 0.01,
            max_iter: 10_000,
            split_seed: 57,
            max_heldout_covariates: 1,
            max_heldout_fraction: 0.3,
        }
    }
}

/// Normalised entropy `-Σ p ln p / ln(k)` of counts (+1e-8 each, as the notebook).
pub fn normalized_entropy(counts: &[usize]) -> f64 {
    let c: Vec<f64> = counts.iter().map(|&x| x as f64 + 1e-8).collect();
    let total: f64 = c.iter().sum();
    let h: f64 = -c
        .iter()
        .map(|x| (x / total) * (x / total).ln())
        .sum::<f64>();
    h / (counts.len() as f64).ln()
}

/// An imbalance split (spec §2.9): per covariate combination keep a number of perturbations
/// whose spread has the target entropy, then make the transfer split of that subset. Returns
/// the split (empty labels outside the subset) and the drawn number of perturbations per
/// covariate (control added on top when the draw missed it).
pub fn imbalance_split(
    obs: &Frame,
    spec: &PerturbationSpec,
    cfg: &ImbalanceConfig,
    source: &str,
) -> Result<(Split, Vec<(String, usize)>), SplitError> {
    let design = Design::from_obs(obs, spec, source)?;
    let n = design.n_cells();
    let nc = design.covariates.len();
    if nc < 2 {
        return Err(SplitError::Option {
            option: "entropy",
            message: "needs at least two covariate combinations".into(),
        });
    }
    // Covariates in groupby order; per covariate its perturbations (control included) in order
    // of first appearance.
    let mut order: Vec<usize> = (0..nc).collect();
    order.sort_by(|&a, &b| design.covariate_groupby_rank[a].cmp(&design.covariate_groupby_rank[b]));
    let mut perts_of: Vec<Vec<u32>> = vec![Vec::new(); nc];
    let mut seen: Vec<HashSet<u32>> = vec![HashSet::new(); nc];
    for r in 0..n {
        let (c, p) = (design.cell_covariate[r] as usize, design.perturbation_of(r));
        if seen[c].insert(p) {
            perts_of[c].push(p);
        }
    }
    let max = perts_of.iter().map(Vec::len).max().unwrap_or(0);
    let counts: Vec<usize> = if cfg.entropy >= 1.0 {
        vec![max; nc]
    } else {
        if cfg.min_count > max {
            return Err(SplitError::Option {
                option: "entropy",
                message: format!(
                    "covariates have at most {max} perturbations, fewer than the minimum {}",
                    cfg.min_count
                ),
            });
        }
        let mut np = NpRandomState::new(cfg.search_seed);
        let mut found = None;
        for _ in 0..cfg.max_iter {
            let mut c = vec![max];
            c.extend(
                (1..nc)
                    .map(|_| cfg.min_count + np.randint((max - cfg.min_count + 1) as u64) as usize),
            );
            if (normalized_entropy(&c) - cfg.entropy).abs() < cfg.tolerance {
                found = Some(c);
                break;
            }
        }
        found.ok_or_else(|| SplitError::Option {
            option: "entropy",
            message: format!(
                "no per-covariate counts reach entropy {} within {} draws",
                cfg.entropy, cfg.max_iter
            ),
        })?
    };
    // Downsample: np.random.seed(42) again, shuffle each covariate's perturbations, keep the first n.
    let mut np = NpRandomState::new(cfg.search_seed);
    let mut keep: HashSet<(u32, u32)> = HashSet::new();
    let mut kept_counts = Vec::with_capacity(nc);
    for (i, &c) in order.iter().enumerate() {
        let mut perts = perts_of[c].clone();
        np.shuffle(&mut perts);
        perts.truncate(counts[i]);
        kept_counts.push((design.covariate_label(c as u32), counts[i]));
        if let Some(ctrl) = design.control {
            if !perts.contains(&ctrl) {
                perts.push(ctrl);
            }
        }
        keep.extend(perts.into_iter().map(|p| (c as u32, p)));
    }
    let rows: Vec<usize> = (0..n)
        .filter(|&r| keep.contains(&(design.cell_covariate[r], design.perturbation_of(r))))
        .collect();
    let sub = sub_design(obs, spec, &rows, source)?;
    let mut scfg = SplitConfig::new(Task::Transfer {
        min_train_covariates: 1,
        max_heldout_covariates: cfg.max_heldout_covariates,
        max_heldout_fraction: cfg.max_heldout_fraction,
        max_heldout_perturbations: 200,
    });
    scfg.seed = cfg.split_seed;
    let split = make_split(&sub, &scfg)?;
    Ok((
        Split {
            key: split.key,
            labels: pad(n, &rows, &split.labels, None),
        },
        kept_counts,
    ))
}
