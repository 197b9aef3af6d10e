//! Encodings built from the training cells only (spec §1.8) and saved with a model: the single
//! perturbation names (multi-hot positions) and the values of every covariate key (one-hot
//! positions), each in order of first appearance in train.

use crate::ModelError;
use perturbench_data::{Design, PerturbationSet, PerturbationSpec};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Vocabularies of a trained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoding {
    /// obs column with perturbations.
    pub perturbation_key: String,
    /// Control label.
    pub control: String,
    /// Combination delimiter.
    pub delimiter: String,
    /// Covariate keys.
    pub covariate_keys: Vec<String>,
    /// Single perturbation names seen in train (combos contribute their singles).
    pub perturbations: Vec<String>,
    /// Per covariate key, the values seen in train.
    pub covariates: Vec<Vec<String>>,
    /// Gene names (columns) the model was trained on.
    pub genes: Vec<String>,
}

impl Encoding {
    /// Vocabularies of the cells `train_rows` of a design.
    pub fn from_train(
        design: &Design,
        spec: &PerturbationSpec,
        train_rows: &[usize],
        genes: &[String],
    ) -> Encoding {
        let mut perturbations: Vec<String> = Vec::new();
        let mut seen_p: HashMap<&str, ()> = HashMap::new();
        let mut covariates: Vec<Vec<String>> = vec![Vec::new(); design.covariate_keys.len()];
        let mut seen_c: Vec<HashMap<&str, ()>> = vec![HashMap::new(); design.covariate_keys.len()];
        for &r in train_rows {
            let set = &design.perturbations[design.perturbation_of(r) as usize];
            for name in set.names() {
                if seen_p.insert(name.as_str(), ()).is_none() {
                    perturbations.push(name.clone());
                }
            }
            let combo = &design.covariates[design.cell_covariate[r] as usize];
            for (k, value) in combo.iter().enumerate() {
                if seen_c[k].insert(value.as_str(), ()).is_none() {
                    covariates[k].push(value.clone());
                }
            }
        }
        Encoding {
            perturbation_key: spec.key.clone(),
            control: spec.control.clone(),
            delimiter: spec.delimiter.clone(),
            covariate_keys: design.covariate_keys.clone(),
            perturbations,
            covariates,
            genes: genes.to_vec(),
        }
    }

    /// The perturbation spec the encoding was built with.
    pub fn spec(&self) -> PerturbationSpec {
        PerturbationSpec {
            key: self.perturbation_key.clone(),
            control: self.control.clone(),
            delimiter: self.delimiter.clone(),
            covariate_keys: self.covariate_keys.clone(),
        }
    }

    /// Positions of the singles of `set`; an unseen name is an error naming it.
    pub fn singles(&self, set: &PerturbationSet) -> Result<Vec<usize>, ModelError> {
        set.names()
            .iter()
            .map(|n| {
                self.perturbations
                    .iter()
                    .position(|p| p == n)
                    .ok_or_else(|| ModelError::UnknownPerturbation {
                        name: n.clone(),
                        known: self.perturbations.len(),
                    })
            })
            .collect()
    }

    /// Checks that every covariate value of `combo` was seen in train.
    pub fn check_covariates(&self, combo: &[String]) -> Result<(), ModelError> {
        for (k, value) in combo.iter().enumerate() {
            if !self.covariates[k].contains(value) {
                return Err(ModelError::UnknownCovariate {
                    key: self.covariate_keys[k].clone(),
                    value: value.clone(),
                });
            }
        }
        Ok(())
    }
}
