//! Counterfactual prediction (spec §1.7): control cells of each covariate combination are
//! sampled once (at most `max_controls`, without replacement, CPython's `random.sample`
//! seeded with `seed`, combinations in order of first appearance) and every target
//! (perturbation, covariates) is predicted from that same sample. For evaluation (§5.1) the
//! targets are the perturbed groups of a split, and the split's observed control cells are
//! appended in place of predicted controls, so prediction and observation share controls.

use crate::encoding::Encoding;
use crate::{ModelError, PerturbationModel};
use perturbench_data::split::pyrandom::PyRandom;
use perturbench_data::{Csr, Design, PerturbationSet};
use perturbench_io::{AnnData, Column, Dense};
use rayon::prelude::*;
use std::collections::HashMap;

/// Sampled control rows per covariate combination (index into `design.covariates`).
pub fn sample_controls(
    design: &Design,
    rows: &[usize],
    max_controls: usize,
    seed: u64,
) -> HashMap<u32, Vec<usize>> {
    let mut order: Vec<u32> = Vec::new();
    let mut pools: HashMap<u32, Vec<usize>> = HashMap::new();
    for &r in rows {
        if design.is_control(r) {
            let c = design.cell_covariate[r];
            pools
                .entry(c)
                .or_insert_with(|| {
                    order.push(c);
                    Vec::new()
                })
                .push(r);
        }
    }
    let mut rng = PyRandom::seed(seed as i64);
    let mut out = HashMap::new();
    for c in order {
        let pool = &pools[&c];
        let k = pool.len().min(max_controls);
        out.insert(c, rng.sample(pool, k));
    }
    out
}

/// Dense copies of rows of `x`.
fn dense_rows(x: &Csr, rows: &[usize]) -> Vec<Vec<f32>> {
    rows.iter()
        .map(|&r| {
            let mut v = vec![0f32; x.ncols()];
            let (idx, val) = x.row(r);
            for (&j, &y) in idx.iter().zip(val) {
                v[j as usize] = y;
            }
            v
        })
        .collect()
}

/// One requested prediction: a perturbation (as written) in a covariate combination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Perturbation string (`A+B`, `control`, ...).
    pub perturbation: String,
    /// Covariate values in the encoding's key order.
    pub covariates: Vec<String>,
}

/// The sampled control rows of each covariate combination, looked up by a target's covariates.
pub struct SampledControls<'a> {
    index: HashMap<&'a [String], u32>,
    sampled: &'a HashMap<u32, Vec<usize>>,
}

impl<'a> SampledControls<'a> {
    /// The samples `sampled` (keyed by index into `design.covariates`).
    pub fn new(design: &'a Design, sampled: &'a HashMap<u32, Vec<usize>>) -> Self {
        let index = design
            .covariates
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_slice(), i as u32))
            .collect();
        SampledControls { index, sampled }
    }

    /// The control rows sampled for `t`'s covariate combination; an error when it has none.
    pub fn of(&self, t: &Target) -> Result<&'a [usize], ModelError> {
        self.index
            .get(t.covariates.as_slice())
            .and_then(|c| self.sampled.get(c))
            .map(Vec::as_slice)
            .ok_or_else(|| ModelError::NoControls {
                covariates: t.covariates.join("_"),
            })
    }
}

/// Distinct perturbed (perturbation, covariates) groups of `rows`, in order of first appearance.
pub fn split_targets(design: &Design, rows: &[usize]) -> Vec<Target> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for &r in rows {
        if design.is_control(r) {
            continue;
        }
        let key = (design.cell_condition[r], design.cell_covariate[r]);
        if seen.insert(key) {
            out.push(Target {
                perturbation: design.conditions[key.0 as usize].clone(),
                covariates: design.covariates[key.1 as usize].clone(),
            });
        }
    }
    out
}

/// Cells predicted for `targets` from the sampled controls, as an AnnData whose obs carries
/// the perturbation column and the covariate columns, plus `extra_controls` (rows of `x`
/// appended as observed control cells). Genes are the encoding's. With `embedding`, models
/// receive the control cells' embedding rows instead of their expression.
#[allow(clippy::too_many_arguments)]
pub fn predict_targets(
    model: &dyn PerturbationModel,
    x: &Csr,
    design: &Design,
    enc: &Encoding,
    targets: &[Target],
    sampled: &HashMap<u32, Vec<usize>>,
    extra_controls: &[usize],
    embedding: Option<&Dense>,
) -> Result<AnnData, ModelError> {
    let spec = enc.spec();
    let controls_of = SampledControls::new(design, sampled);
    let genes = enc.genes.len();
    let one = |t: &Target| -> Result<Csr, ModelError> {
        let set = PerturbationSet::parse(&t.perturbation, &spec)
            .map_err(|e| ModelError::Target(format!("perturbation '{}': {e}", t.perturbation)))?;
        let singles = enc.singles(&set)?;
        enc.check_covariates(&t.covariates)?;
        let controls = controls_of.of(t)?;
        let inputs = match embedding {
            Some(e) => controls.iter().map(|&r| e.row(r).to_vec()).collect(),
            None => dense_rows(x, controls),
        };
        let cells = model.predict(&singles, &t.covariates, &inputs)?;
        let mut dense = Vec::with_capacity(cells.len() * genes);
        for c in &cells {
            if c.len() != genes || c.iter().any(|v| !v.is_finite()) {
                return Err(ModelError::Target(format!(
                    "the model predicted a non-finite or wrongly sized cell for '{}' in {}",
                    t.perturbation,
                    t.covariates.join("_")
                )));
            }
            dense.extend_from_slice(c);
        }
        Csr::from_dense(cells.len(), genes, &dense).map_err(|e| ModelError::Shape(e.to_string()))
    };
    let blocks: Vec<Csr> = if model.parallel() {
        targets.par_iter().map(one).collect::<Result<_, _>>()?
    } else {
        targets.iter().map(one).collect::<Result<_, _>>()?
    };
    let mut pert: Vec<String> = Vec::new();
    let mut covs: Vec<Vec<String>> = vec![Vec::new(); enc.covariate_keys.len()];
    for (t, cells) in targets.iter().zip(&blocks) {
        for _ in 0..cells.nrows() {
            pert.push(t.perturbation.clone());
            for (k, v) in t.covariates.iter().enumerate() {
                covs[k].push(v.clone());
            }
        }
    }
    let observed = x.select_rows(extra_controls);
    for &r in extra_controls {
        pert.push(design.conditions[design.cell_condition[r] as usize].clone());
        for (k, v) in design.covariates[design.cell_covariate[r] as usize]
            .iter()
            .enumerate()
        {
            covs[k].push(v.clone());
        }
    }
    let mut parts: Vec<&Csr> = blocks.iter().collect();
    parts.push(&observed);
    let m = Csr::vstack(&parts).map_err(|e| ModelError::Shape(e.to_string()))?;
    let n = pert.len();
    let mut ad = AnnData::new(
        m,
        (0..n).map(|i| i.to_string()).collect(),
        enc.genes.clone(),
    );
    ad.obs.set_column(
        enc.perturbation_key.clone(),
        Column::categorical_from_strings(&pert),
    );
    for (k, key) in enc.covariate_keys.iter().enumerate() {
        ad.obs
            .set_column(key.clone(), Column::categorical_from_strings(&covs[k]));
    }
    Ok(ad)
}
