//! Baselines that need no training loop (simple models win often, so they are first-class):
//!
//! * `average` (spec §3.3): per single perturbation, the mean of the training cells that carry
//!   it (a combination cell counts for each of its singles, covariates ignored); a set is
//!   predicted as the mean of its singles' means.
//! * `control-mean`: the mean training control cell of the target's covariates.
//! * `train-mean`: the mean perturbed training cell of the target's covariates (the paper's
//!   mode-collapsed "cell-type mean").
//! * `additive`: each sampled control cell plus the sum of its singles' shifts, a shift being
//!   mean(cells with exactly that single, same covariates) − mean(controls, same covariates);
//!   singles never trained alone in those covariates use their shift averaged over the
//!   covariates where they were; singles only ever seen in combinations use
//!   mean(cells carrying them) − mean(controls). Predictions are clipped at 0.

use crate::encoding::Encoding;
use crate::ModelError;
use perturbench_data::{Csr, Design};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Which baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaselineKind {
    /// Mean of the singles' means.
    Average,
    /// Mean control cell of the covariates.
    ControlMean,
    /// Mean perturbed training cell of the covariates.
    TrainMean,
    /// Control cell plus the singles' shifts.
    Additive,
}

impl BaselineKind {
    /// All baselines with their names.
    pub const ALL: [(&'static str, BaselineKind); 4] = [
        ("average", BaselineKind::Average),
        ("control-mean", BaselineKind::ControlMean),
        ("train-mean", BaselineKind::TrainMean),
        ("additive", BaselineKind::Additive),
    ];
    /// The model name (`average`, `control-mean`, ...).
    pub fn name(self) -> &'static str {
        BaselineKind::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }
    /// Parses a model name.
    pub fn parse(s: &str) -> Option<BaselineKind> {
        BaselineKind::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, k)| *k)
    }
}

/// A fitted baseline. Vectors are over the encoding's genes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Which baseline.
    pub kind: BaselineKind,
    /// Per covariate combination (values in key order): the mean training control cell.
    pub control_mean: Vec<(Vec<String>, Vec<f32>)>,
    /// Per covariate combination: the mean perturbed training cell.
    pub perturbed_mean: Vec<(Vec<String>, Vec<f32>)>,
    /// Per single (encoding order): mean of the training cells carrying it.
    pub single_mean: Vec<Vec<f32>>,
    /// Per (covariate combination, single): the single's shift there.
    pub shifts: Vec<(Vec<String>, usize, Vec<f32>)>,
    /// Per single: its shift pooled over covariates (or from combinations; see the module doc).
    pub pooled_shift: Vec<Vec<f32>>,
}

/// Per-group float64 sums over training cells.
struct Sums {
    genes: usize,
    sum: Vec<Vec<f64>>,
    n: Vec<usize>,
}

impl Sums {
    fn new(groups: usize, genes: usize) -> Sums {
        Sums {
            genes,
            sum: vec![Vec::new(); groups],
            n: vec![0; groups],
        }
    }
    fn add(&mut self, g: usize, x: &Csr, r: usize) {
        if self.sum[g].is_empty() {
            self.sum[g] = vec![0.0; self.genes];
        }
        let (idx, val) = x.row(r);
        for (&j, &v) in idx.iter().zip(val) {
            self.sum[g][j as usize] += v as f64;
        }
        self.n[g] += 1;
    }
    fn mean(&self, g: usize) -> Option<Vec<f64>> {
        (self.n[g] > 0).then(|| self.sum[g].iter().map(|s| s / self.n[g] as f64).collect())
    }
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

impl Baseline {
    /// Fits `kind` on the training cells `rows` of `x` (columns = the encoding's genes).
    pub fn fit(
        kind: BaselineKind,
        x: &Csr,
        design: &Design,
        rows: &[usize],
        enc: &Encoding,
    ) -> Result<Baseline, ModelError> {
        let genes = enc.genes.len();
        if x.ncols() != genes {
            return Err(ModelError::Shape(format!(
                "X has {} genes, the encoding {genes}",
                x.ncols()
            )));
        }
        if rows.is_empty() {
            return Err(ModelError::EmptyTrain);
        }
        let n_cov = design.covariates.len();
        let n_single = enc.perturbations.len();
        let mut ctrl = Sums::new(n_cov, genes);
        let mut pert = Sums::new(n_cov, genes);
        let mut carrying = Sums::new(n_single, genes);
        // (covariate, single) → cells with exactly that single.
        let mut alone: HashMap<(usize, usize), usize> = HashMap::new();
        let mut alone_sums = Sums::new(0, genes);
        for &r in rows {
            let cov = design.cell_covariate[r] as usize;
            let set = &design.perturbations[design.perturbation_of(r) as usize];
            if set.is_control() {
                ctrl.add(cov, x, r);
                continue;
            }
            pert.add(cov, x, r);
            let singles = enc.singles(set)?;
            for &s in &singles {
                carrying.add(s, x, r);
            }
            if let [s] = singles[..] {
                let next = alone.len();
                let g = *alone.entry((cov, s)).or_insert(next);
                if g == alone_sums.sum.len() {
                    alone_sums.sum.push(Vec::new());
                    alone_sums.n.push(0);
                }
                alone_sums.add(g, x, r);
            }
        }
        let combo = |c: usize| design.covariates[c].clone();
        let control_mean: Vec<(Vec<String>, Vec<f32>)> = (0..n_cov)
            .filter_map(|c| ctrl.mean(c).map(|m| (combo(c), to_f32(&m))))
            .collect();
        let perturbed_mean = (0..n_cov)
            .filter_map(|c| pert.mean(c).map(|m| (combo(c), to_f32(&m))))
            .collect();
        let single_mean: Vec<Vec<f32>> = (0..n_single)
            .map(|s| {
                carrying
                    .mean(s)
                    .map(|m| to_f32(&m))
                    .unwrap_or_else(|| vec![0.0; genes])
            })
            .collect();
        let mut shifts = Vec::new();
        let mut pooled: Vec<(Vec<f64>, usize)> = vec![(vec![0.0; genes], 0); n_single];
        let mut keys: Vec<(&(usize, usize), &usize)> = alone.iter().collect();
        keys.sort();
        for (&(cov, s), &g) in keys {
            let Some(c) = ctrl.mean(cov) else { continue };
            let m = alone_sums.mean(g).expect("a group with cells");
            let shift: Vec<f64> = m.iter().zip(&c).map(|(a, b)| a - b).collect();
            pooled[s]
                .0
                .iter_mut()
                .zip(&shift)
                .for_each(|(a, b)| *a += b);
            pooled[s].1 += 1;
            shifts.push((combo(cov), s, to_f32(&shift)));
        }
        // All training controls, for singles only seen in combinations.
        let all_ctrl: Vec<f64> = {
            let (mut acc, mut n) = (vec![0.0; genes], 0usize);
            for c in 0..n_cov {
                if ctrl.n[c] > 0 {
                    acc.iter_mut().zip(&ctrl.sum[c]).for_each(|(a, b)| *a += b);
                    n += ctrl.n[c];
                }
            }
            acc.iter().map(|a| a / n.max(1) as f64).collect()
        };
        let pooled_shift = (0..n_single)
            .map(|s| {
                let (sum, k) = &pooled[s];
                if *k > 0 {
                    to_f32(&sum.iter().map(|v| v / *k as f64).collect::<Vec<_>>())
                } else {
                    let m = carrying.mean(s).unwrap_or_else(|| vec![0.0; genes]);
                    to_f32(
                        &m.iter()
                            .zip(&all_ctrl)
                            .map(|(a, b)| a - b)
                            .collect::<Vec<_>>(),
                    )
                }
            })
            .collect();
        Ok(Baseline {
            kind,
            control_mean,
            perturbed_mean,
            single_mean,
            shifts,
            pooled_shift,
        })
    }

    fn lookup<'a>(table: &'a [(Vec<String>, Vec<f32>)], combo: &[String]) -> Option<&'a [f32]> {
        table
            .iter()
            .find(|(c, _)| c.as_slice() == combo)
            .map(|(_, v)| v.as_slice())
    }

    /// Predicted cells for the singles `singles` (encoding positions) in covariates `combo`,
    /// one per row of `controls` (dense control cells, genes long).
    pub fn predict(
        &self,
        singles: &[usize],
        combo: &[String],
        controls: &[Vec<f32>],
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        let missing = |what: &str| ModelError::NoTrainingData {
            what: format!("{what} for covariates {}", combo.join("_")),
        };
        let same = |v: &[f32]| controls.iter().map(|_| v.to_vec()).collect();
        match self.kind {
            BaselineKind::ControlMean => Ok(same(
                Baseline::lookup(&self.control_mean, combo)
                    .ok_or_else(|| missing("no training control cells"))?,
            )),
            BaselineKind::TrainMean => Ok(same(
                Baseline::lookup(&self.perturbed_mean, combo)
                    .ok_or_else(|| missing("no perturbed training cells"))?,
            )),
            BaselineKind::Average => {
                if singles.is_empty() {
                    return Ok(controls.to_vec());
                }
                let g = self.single_mean[0].len();
                let mut m = vec![0.0f64; g];
                for &s in singles {
                    m.iter_mut()
                        .zip(&self.single_mean[s])
                        .for_each(|(a, &b)| *a += b as f64);
                }
                let v: Vec<f32> = m
                    .iter()
                    .map(|a| (a / singles.len() as f64) as f32)
                    .collect();
                Ok(same(&v))
            }
            BaselineKind::Additive => {
                let g = self.pooled_shift.first().map_or(0, Vec::len);
                let mut shift = vec![0.0f32; g];
                for &s in singles {
                    let own = self
                        .shifts
                        .iter()
                        .find(|(c, k, _)| *k == s && c.as_slice() == combo)
                        .map(|(_, _, v)| v.as_slice());
                    let v = own.unwrap_or(&self.pooled_shift[s]);
                    shift.iter_mut().zip(v).for_each(|(a, b)| *a += b);
                }
                Ok(controls
                    .iter()
                    .map(|c| {
                        c.iter()
                            .zip(&shift)
                            .map(|(a, b)| (a + b).max(0.0))
                            .collect()
                    })
                    .collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perturbench_data::{Column, Frame, PerturbationSpec};

    /// Two genes, one cell type: controls [1,1] and [3,3]; A [5,1]; B [1,7]; A+B [9,9].
    fn fitted(kind: BaselineKind) -> (Baseline, Encoding) {
        let cond = ["control", "control", "A", "B", "A+B"];
        let mut obs = Frame::with_index((0..5).map(|i| i.to_string()).collect());
        obs.set_column("condition", Column::categorical_from_strings(&cond));
        obs.set_column("cell_type", Column::categorical_from_strings(&["a"; 5]));
        let spec = PerturbationSpec {
            key: "condition".into(),
            control: "control".into(),
            delimiter: "+".into(),
            covariate_keys: vec!["cell_type".into()],
        };
        let design = Design::from_obs(&obs, &spec, "test").unwrap();
        let x = Csr::from_dense(5, 2, &[1., 1., 3., 3., 5., 1., 1., 7., 9., 9.]).unwrap();
        let rows: Vec<usize> = (0..5).collect();
        let genes = vec!["g1".to_string(), "g2".to_string()];
        let enc = Encoding::from_train(&design, &spec, &rows, &genes);
        (Baseline::fit(kind, &x, &design, &rows, &enc).unwrap(), enc)
    }

    #[test]
    fn baselines_follow_their_definitions() {
        let a = vec!["a".to_string()];
        let ctrl = vec![vec![1.0f32, 1.0]];
        let predict = |kind, singles: &[usize]| {
            let (m, _) = fitted(kind);
            m.predict(singles, &a, &ctrl).unwrap()[0].clone()
        };
        let (_, enc) = fitted(BaselineKind::Average);
        assert_eq!(enc.perturbations, ["A", "B"]);
        // Average: mean_A = mean([5,1],[9,9]) = [7,5]; mean_B = [5,8]; A+B → [6, 6.5].
        assert_eq!(predict(BaselineKind::Average, &[0, 1]), [6.0, 6.5]);
        assert_eq!(predict(BaselineKind::Average, &[0]), [7.0, 5.0]);
        // Additive: control mean [2,2]; shifts A [3,-1], B [-1,5]; control [1,1] + [2,4].
        assert_eq!(predict(BaselineKind::Additive, &[0, 1]), [3.0, 5.0]);
        // Clipped at zero: [1,1] + [3,-1] = [4, 0].
        assert_eq!(predict(BaselineKind::Additive, &[0]), [4.0, 0.0]);
        assert_eq!(predict(BaselineKind::ControlMean, &[0]), [2.0, 2.0]);
        let tm = predict(BaselineKind::TrainMean, &[1]);
        assert_eq!(tm[0], 5.0);
        assert!((tm[1] - 17.0 / 3.0).abs() < 1e-6);
    }
}
