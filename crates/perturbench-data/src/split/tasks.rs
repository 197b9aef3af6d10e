//! Which (covariate, perturbation) pairs each task trains on and holds out (spec §2.3–2.6),
//! with the reference's random draws.

use super::pyrandom::{NpRandomState, PyRandom};
use super::{Pair, SplitConfig, SplitError, Task};
use crate::{Design, GroupIndex};
use std::collections::{HashMap, HashSet};

/// Pairs of the design in the orders the reference iterates them.
struct Layout {
    /// Per covariate: its perturbations in order of first appearance within it.
    perts_in_cov: Vec<Vec<u32>>,
    /// Per perturbation: its covariates in order of first appearance among its cells.
    covs_of_pert: Vec<Vec<u32>>,
}

fn layout(design: &Design) -> Layout {
    let groups = GroupIndex::build(design);
    let mut perts_in_cov = vec![Vec::new(); design.covariates.len()];
    let mut covs_of_pert = vec![Vec::new(); design.perturbations.len()];
    for g in groups.groups() {
        perts_in_cov[g.covariate as usize].push(g.perturbation);
        covs_of_pert[g.perturbation as usize].push(g.covariate);
    }
    Layout {
        perts_in_cov,
        covs_of_pert,
    }
}

/// Perturbation sets kept by the combinatorial downsampling of the reference (§2.4 step 1),
/// or all of them when `fraction == 1`.
fn combinatorial_universe(design: &Design, cfg: &SplitConfig) -> HashSet<u32> {
    if cfg.downsample_fraction >= 1.0 {
        return (0..design.perturbations.len() as u32).collect();
    }
    let n = design.conditions.len();
    // np.round rounds half to even.
    let num = (n as f64 * cfg.downsample_fraction).round_ties_even() as usize;
    let idx: Vec<usize> = (0..n).collect();
    let sampled = PyRandom::seed(cfg.seed as i64).sample(&idx, num);
    let mut singles: HashSet<&str> = HashSet::new();
    for &c in &sampled {
        if design.condition_names[c].len() <= 1 {
            if let Some(name) = design.condition_names[c].first() {
                singles.insert(name);
            }
        }
    }
    let mut keep = HashSet::new();
    if let Some(ctrl) = design.control {
        keep.insert(ctrl);
    }
    for &c in &sampled {
        let names = &design.condition_names[c];
        if names.len() <= 1 || names.iter().all(|n| singles.contains(n.as_str())) {
            keep.insert(design.condition_set[c]);
        }
    }
    keep
}

/// Chooses train and held-out pairs for the configured task; returns the task's name too.
pub(super) fn choose_pairs(
    design: &Design,
    cfg: &SplitConfig,
) -> Result<(Vec<Pair>, Vec<Pair>, &'static str), SplitError> {
    let lay = layout(design);
    match &cfg.task {
        Task::Transfer {
            min_train_covariates,
            max_heldout_covariates,
            max_heldout_fraction,
            max_heldout_perturbations,
        } => {
            let (t, h) = transfer(
                design,
                &lay,
                cfg,
                *min_train_covariates,
                *max_heldout_covariates,
                *max_heldout_fraction,
                *max_heldout_perturbations,
            );
            Ok((t, h, "transfer"))
        }
        Task::Combination {
            max_heldout_fraction,
            max_heldout_perturbations,
        } => {
            let universe = combinatorial_universe(design, cfg);
            let (mut train, mut held) = (Vec::new(), Vec::new());
            for (c, perts) in lay.perts_in_cov.iter().enumerate() {
                let cov_perts: Vec<u32> = perts
                    .iter()
                    .copied()
                    .filter(|p| universe.contains(p))
                    .collect();
                let mut rng = PyRandom::seed(cfg.seed as i64);
                let combos: Vec<u32> = cov_perts
                    .iter()
                    .copied()
                    .filter(|&p| design.perturbations[p as usize].is_combo())
                    .collect();
                let n = ((max_heldout_fraction * combos.len() as f64) as usize)
                    .min(*max_heldout_perturbations);
                let chosen = rng.sample(&combos, n);
                held.extend(chosen.iter().map(|&p| (c as u32, p)));
                train.extend(
                    cov_perts
                        .iter()
                        .filter(|p| !chosen.contains(p))
                        .map(|&p| (c as u32, p)),
                );
            }
            Ok((train, held, "combination"))
        }
        Task::InverseCombination {
            max_heldout_fraction,
            max_heldout_perturbations,
        } => {
            let universe = combinatorial_universe(design, cfg);
            // Perturbations in order of first appearance over all cells (obs[key].unique()).
            let mut global: Vec<u32> = Vec::new();
            let mut seen = HashSet::new();
            for &s in &design.condition_set {
                if seen.insert(s) && universe.contains(&s) {
                    global.push(s);
                }
            }
            let (mut train, mut held) = (Vec::new(), Vec::new());
            for (c, perts) in lay.perts_in_cov.iter().enumerate() {
                let here: HashSet<u32> = perts.iter().copied().collect();
                let cov_perts: Vec<u32> = global
                    .iter()
                    .copied()
                    .filter(|p| here.contains(p))
                    .collect();
                let mut rng = PyRandom::seed(cfg.seed as i64);
                let is_combo = |p: u32| design.perturbations[p as usize].is_combo();
                let singles: Vec<u32> = cov_perts
                    .iter()
                    .copied()
                    .filter(|&p| !is_combo(p))
                    .collect();
                let mut combos_of: HashMap<&str, Vec<u32>> = HashMap::new();
                for &p in cov_perts.iter().filter(|&&p| is_combo(p)) {
                    for name in design.perturbations[p as usize].names() {
                        combos_of.entry(name.as_str()).or_default().push(p);
                    }
                }
                let mut pool = rng.sample(&singles, singles.len());
                let total = ((max_heldout_fraction * singles.len() as f64) as usize)
                    .min(*max_heldout_perturbations);
                let mut chosen: Vec<u32> = Vec::new();
                while chosen.len() < total {
                    let Some(p) = pool.pop() else { break };
                    chosen.push(p);
                    let mut remove: HashSet<&str> = HashSet::new();
                    if let Some(name) = design.perturbations[p as usize].names().first() {
                        for &combo in combos_of
                            .get(name.as_str())
                            .map(Vec::as_slice)
                            .unwrap_or(&[])
                        {
                            remove.extend(
                                design.perturbations[combo as usize]
                                    .names()
                                    .iter()
                                    .map(String::as_str),
                            );
                        }
                    }
                    pool.retain(|&q| {
                        design.perturbations[q as usize]
                            .names()
                            .first()
                            .is_none_or(|n| !remove.contains(n.as_str()))
                    });
                    if pool.is_empty() {
                        break;
                    }
                }
                held.extend(chosen.iter().map(|&p| (c as u32, p)));
                train.extend(
                    cov_perts
                        .iter()
                        .filter(|p| !chosen.contains(p))
                        .map(|&p| (c as u32, p)),
                );
            }
            Ok((train, held, "inverse-combination"))
        }
        Task::Manual {
            heldout_covariates,
            fraction,
        } => {
            let labels: Vec<String> = (0..design.covariates.len() as u32)
                .map(|c| design.covariate_label(c))
                .collect();
            let mut listed: Vec<u32> = Vec::new();
            for name in heldout_covariates {
                match labels.iter().position(|l| l == name) {
                    Some(c) => listed.push(c as u32),
                    None => {
                        return Err(SplitError::UnknownCovariate(
                            name.clone(),
                            labels.join(", "),
                        ))
                    }
                }
            }
            let mut np = NpRandomState::new(cfg.seed);
            let seeds: Vec<u64> = listed.iter().map(|_| np.randint(100_000)).collect();
            let (mut train, mut held) = (Vec::new(), Vec::new());
            for (c, perts) in lay.perts_in_cov.iter().enumerate() {
                let cov_perts: Vec<u32> = perts
                    .iter()
                    .copied()
                    .filter(|&p| Some(p) != design.control)
                    .collect();
                let chosen = match listed.iter().position(|&l| l == c as u32) {
                    Some(i) => {
                        let n = (fraction * cov_perts.len() as f64) as usize;
                        PyRandom::seed(seeds[i] as i64).sample(&cov_perts, n)
                    }
                    None => Vec::new(),
                };
                held.extend(chosen.iter().map(|&p| (c as u32, p)));
                train.extend(
                    cov_perts
                        .iter()
                        .filter(|p| !chosen.contains(p))
                        .map(|&p| (c as u32, p)),
                );
            }
            Ok((train, held, "manual"))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn transfer(
    design: &Design,
    lay: &Layout,
    cfg: &SplitConfig,
    min_train: usize,
    max_heldout_covs: usize,
    frac: f64,
    max_perts: usize,
) -> (Vec<Pair>, Vec<Pair>) {
    // Per covariate: how many perturbations (control included) may be held out.
    let cap: Vec<f64> = lay
        .perts_in_cov
        .iter()
        .map(|p| (frac * p.len() as f64).min(max_perts as f64))
        .collect();
    // The number of covariate groups pandas' groupby visits: a single categorical key yields
    // every declared category, used or not; otherwise the observed combinations.
    let k = match design.covariate_declared_levels.as_slice() {
        [Some(n)] => *n,
        _ => design.covariates.len(),
    } as i64;
    // Non-control perturbations in groupby order, then stably by number of covariates, descending.
    let mut rank = vec![u32::MAX; design.perturbations.len()];
    for (cond, &set) in design.condition_set.iter().enumerate() {
        rank[set as usize] = rank[set as usize].min(design.condition_groupby_rank[cond]);
    }
    let mut perts: Vec<u32> = (0..design.perturbations.len() as u32)
        .filter(|&p| Some(p) != design.control)
        .collect();
    perts.sort_by_key(|&p| rank[p as usize]);
    perts.sort_by_key(|&p| std::cmp::Reverse(lay.covs_of_pert[p as usize].len()));
    if cfg.downsample_fraction < 1.0 {
        let n = (cfg.downsample_fraction * perts.len() as f64) as usize;
        let keep: HashSet<u32> = PyRandom::seed(cfg.seed as i64)
            .sample(&perts, n)
            .into_iter()
            .collect();
        perts.retain(|p| keep.contains(p));
    }
    let mut np = NpRandomState::new(cfg.seed);
    let seeds: Vec<u64> = perts.iter().map(|_| np.randint(100_000)).collect();
    let mut held_count = vec![0usize; design.covariates.len()];
    let (mut train, mut held) = (Vec::new(), Vec::new());
    for (i, &p) in perts.iter().enumerate() {
        let covs = &lay.covs_of_pert[p as usize];
        let mut sampled: Vec<u32> = Vec::new();
        if covs.len() > min_train {
            let pool: Vec<u32> = covs
                .iter()
                .copied()
                .filter(|&c| (held_count[c as usize] as f64) < cap[c as usize])
                .collect();
            if !pool.is_empty() {
                let mut rng = PyRandom::seed(seeds[i] as i64);
                let hi = (pool.len() as i64 - k + max_heldout_covs as i64).max(1);
                let m = rng.randint(1, hi) as usize;
                sampled = rng.sample(&pool, m);
                for &c in &sampled {
                    held_count[c as usize] += 1;
                }
                held.extend(sampled.iter().map(|&c| (c, p)));
            }
        }
        train.extend(
            covs.iter()
                .filter(|c| !sampled.contains(c))
                .map(|&c| (c, p)),
        );
    }
    (train, held)
}
