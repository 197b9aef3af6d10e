//! Scores predictions against the ground truth a simulation stored in `uns['simulation']`:
//! per predicted group, the predicted effect (mean predicted cell − mean control cell of the
//! same covariates, both from the prediction file, whose controls are the observed ones) is
//! compared with the noise-free `truth_expected_delta` of that group. Unlike the metrics
//! against observed cells, this has no sampling noise on the reference side.

use crate::ModelError;
use perturbench_data::{PerturbationSet, PerturbationSpec};
use perturbench_io::{AnnData, Uns};
use std::collections::HashMap;

/// One group's agreement with the truth.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthRow {
    /// Perturbation (as in the prediction file).
    pub perturbation: String,
    /// Covariate values joined with `_`.
    pub covariates: String,
    /// Root mean squared difference between predicted and true effects over genes.
    pub rmse: f64,
    /// Cosine similarity of predicted and true effects.
    pub cosine: f64,
    /// Pearson correlation of predicted and true effects.
    pub pearson: f64,
}

/// The truth of a simulation: group key → expected delta over the file's genes.
pub struct Truth {
    groups: HashMap<(PerturbationSet, String), Vec<f64>>,
    genes: usize,
}

impl Truth {
    /// Reads `uns['simulation']` (None when the file is not a simulation).
    pub fn from_uns(
        uns: &std::collections::BTreeMap<String, Uns>,
        spec: &PerturbationSpec,
    ) -> Result<Option<Truth>, ModelError> {
        let Some(sim) = uns.get("simulation").and_then(Uns::as_dict) else {
            return Ok(None);
        };
        let bad = |m: &str| ModelError::Target(format!("uns['simulation']: {m}"));
        let perts = sim
            .get("truth_perturbation")
            .and_then(Uns::as_str_list)
            .ok_or_else(|| bad("no truth_perturbation list"))?;
        let covs = sim
            .get("truth_covariate")
            .and_then(Uns::as_str_list)
            .ok_or_else(|| bad("no truth_covariate list"))?;
        let Some(Uns::Array { shape, data, .. }) = sim.get("truth_expected_delta") else {
            return Err(bad("no truth_expected_delta array"));
        };
        if shape.len() != 2 || shape[0] != perts.len() || covs.len() != perts.len() {
            return Err(bad("truth arrays of inconsistent shapes"));
        }
        let genes = shape[1];
        let mut groups = HashMap::new();
        for (i, (p, c)) in perts.iter().zip(covs).enumerate() {
            let set = PerturbationSet::parse(p, spec)
                .map_err(|e| bad(&format!("perturbation '{p}': {e}")))?;
            groups.insert((set, c.clone()), data[i * genes..(i + 1) * genes].to_vec());
        }
        Ok(Some(Truth { groups, genes }))
    }

    /// Scores every perturbed group of `pred` that the truth knows.
    pub fn score(
        &self,
        pred: &AnnData,
        spec: &PerturbationSpec,
    ) -> Result<Vec<TruthRow>, ModelError> {
        let g = pred.n_vars();
        if g != self.genes {
            return Err(ModelError::Shape(format!(
                "the prediction has {g} genes, the simulation truth {}",
                self.genes
            )));
        }
        let col = |k: &str| {
            pred.obs
                .column(k)
                .ok_or_else(|| ModelError::Target(format!("prediction obs has no column '{k}'")))
        };
        let pcol = col(&spec.key)?;
        let ccols: Vec<_> = spec
            .covariate_keys
            .iter()
            .map(|k| col(k))
            .collect::<Result<_, _>>()?;
        // Per (perturbation label, covariates): sum of cells and count.
        let mut sums: Vec<((String, String), Vec<f64>, usize)> = Vec::new();
        let mut index: HashMap<(String, String), usize> = HashMap::new();
        for r in 0..pred.n_obs() {
            let p = pcol.value_string(r).unwrap_or_default();
            let c: Vec<String> = ccols
                .iter()
                .map(|c| c.value_string(r).unwrap_or_default())
                .collect();
            let key = (p, c.join("_"));
            let i = *index.entry(key.clone()).or_insert_with(|| {
                sums.push((key, vec![0.0; g], 0));
                sums.len() - 1
            });
            let (idx, val) = pred.x.row(r);
            for (&j, &v) in idx.iter().zip(val) {
                sums[i].1[j as usize] += v as f64;
            }
            sums[i].2 += 1;
        }
        let mean =
            |i: usize| -> Vec<f64> { sums[i].1.iter().map(|s| s / sums[i].2 as f64).collect() };
        let mut rows = Vec::new();
        for (i, ((p, c), _, _)) in sums.iter().enumerate() {
            let set = PerturbationSet::parse(p, spec)
                .map_err(|e| ModelError::Target(format!("perturbation '{p}': {e}")))?;
            if set.is_control() {
                continue;
            }
            let Some(truth) = self.groups.get(&(set, c.clone())) else {
                continue;
            };
            let Some(&ci) = index.get(&(spec.control.clone(), c.clone())) else {
                return Err(ModelError::NoControls {
                    covariates: c.clone(),
                });
            };
            let (m, ctrl) = (mean(i), mean(ci));
            let delta: Vec<f64> = m.iter().zip(&ctrl).map(|(a, b)| a - b).collect();
            rows.push(TruthRow {
                perturbation: p.clone(),
                covariates: c.clone(),
                rmse: (delta
                    .iter()
                    .zip(truth)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    / g as f64)
                    .sqrt(),
                cosine: cosine(&delta, truth),
                pearson: pearson(&delta, truth),
            });
        }
        Ok(rows)
    }
}

fn cosine(x: &[f64], y: &[f64]) -> f64 {
    let dot: f64 = x.iter().zip(y).map(|(a, b)| a * b).sum();
    let nx: f64 = x.iter().map(|a| a * a).sum::<f64>().sqrt();
    let ny: f64 = y.iter().map(|a| a * a).sum::<f64>().sqrt();
    dot / (nx * ny)
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let xc: Vec<f64> = x.iter().map(|a| a - mx).collect();
    let yc: Vec<f64> = y.iter().map(|a| a - my).collect();
    cosine(&xc, &yc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use perturbench_io::{Column, Csr};
    use std::collections::BTreeMap;

    #[test]
    fn an_oracle_prediction_scores_perfectly_and_no_change_scores_zero() {
        let spec = PerturbationSpec {
            key: "condition".into(),
            control: "control".into(),
            delimiter: "+".into(),
            covariate_keys: vec!["cell_type".into()],
        };
        let delta = [0.5, -0.25, 0.0, 1.0];
        let mut sim = BTreeMap::new();
        sim.insert(
            "truth_perturbation".into(),
            Uns::StrList(vec!["B+A".into()]),
        );
        sim.insert("truth_covariate".into(), Uns::StrList(vec!["k".into()]));
        sim.insert(
            "truth_expected_delta".into(),
            Uns::Array {
                shape: vec![1, 4],
                data: delta.to_vec(),
                f32: true,
            },
        );
        let mut uns = BTreeMap::new();
        uns.insert("simulation".to_string(), Uns::Dict(sim));
        let truth = Truth::from_uns(&uns, &spec).unwrap().unwrap();
        let predict = |shift: f32| {
            // Two controls [1,1,1,1] and [3,3,3,3]; two predicted cells at their mean + shift·delta.
            let mut dense = vec![1.0f32; 4];
            dense.extend([3.0f32; 4]);
            for _ in 0..2 {
                dense.extend(delta.iter().map(|d| 2.0 + shift * *d as f32));
            }
            let mut ad = AnnData::new(
                Csr::from_dense(4, 4, &dense).unwrap(),
                (0..4).map(|i| i.to_string()).collect(),
                (0..4).map(|i| format!("g{i}")).collect(),
            );
            ad.obs.set_column(
                "condition",
                Column::categorical_from_strings(&["control", "control", "A+B", "A+B"]),
            );
            ad.obs
                .set_column("cell_type", Column::categorical_from_strings(&["k"; 4]));
            truth.score(&ad, &spec).unwrap()
        };
        let oracle = predict(1.0);
        assert_eq!(oracle.len(), 1);
        assert!(oracle[0].rmse < 1e-7 && (oracle[0].cosine - 1.0).abs() < 1e-7);
        // No change at all: rmse = ‖delta‖ / √4, cosine undefined (0/0).
        let none = predict(0.0);
        let want = (0.25f64 + 0.0625 + 1.0).sqrt() / 2.0;
        assert!((none[0].rmse - want).abs() < 1e-7);
        assert!(none[0].cosine.is_nan());
    }
}
