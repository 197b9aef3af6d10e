//! Minibatches for training (spec §1.7–1.9): dense float32 expression, multi-hot
//! perturbations and one-hot covariates (the training encodings), and, in paired mode, one
//! control cell per perturbed cell drawn uniformly with replacement from the controls of the
//! same split and covariates, redrawn every epoch. Single-cell mode serves every cell (controls
//! included) for the autoencoding models. One seeded RNG drives shuffling and pairing.

use crate::encoding::Encoding;
use crate::ModelError;
use perturbench_data::{Csr, Design};
use perturbench_io::Dense;
use rand::seq::SliceRandom;
use rand::Rng;
use std::collections::HashMap;

/// How cells are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feeding {
    /// Perturbed cells, each with a random control of the same covariates.
    Paired,
    /// Every cell on its own.
    SingleCell,
}

/// One minibatch, row-major dense matrices.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Rows of the data file in this batch.
    pub rows: Vec<usize>,
    /// Observed expression, rows × genes.
    pub expression: Vec<f32>,
    /// Paired controls, rows × genes (or × embedding width; paired mode only).
    pub controls: Option<Vec<f32>>,
    /// Multi-hot perturbations, rows × perturbations.
    pub perturbations: Vec<f32>,
    /// Concatenated one-hot covariates, rows × Σ levels.
    pub covariates: Vec<f32>,
}

/// The cells of one split, ready to be served in minibatches.
pub struct CellSet<'a> {
    x: &'a Csr,
    design: &'a Design,
    enc: &'a Encoding,
    feeding: Feeding,
    /// Cells served (perturbed ones in paired mode).
    items: Vec<usize>,
    /// Per cell of `items`: its singles (encoding positions).
    singles: Vec<Vec<usize>>,
    /// Per cell of `items`: one position per covariate key in the concatenated one-hot.
    covariate_hot: Vec<Vec<usize>>,
    /// Paired mode: control rows per covariate combination.
    pools: HashMap<u32, Vec<usize>>,
    /// Embeddings served as the paired controls instead of their expression.
    embedding: Option<&'a Dense>,
}

impl<'a> CellSet<'a> {
    /// The cells `rows` of a split served as `feeding`. Fails on a perturbation or covariate
    /// outside the encoding and, in paired mode, on a covariate combination without controls.
    pub fn new(
        x: &'a Csr,
        design: &'a Design,
        enc: &'a Encoding,
        rows: &[usize],
        feeding: Feeding,
    ) -> Result<CellSet<'a>, ModelError> {
        let mut pools: HashMap<u32, Vec<usize>> = HashMap::new();
        let mut items = Vec::new();
        for &r in rows {
            if design.is_control(r) {
                pools.entry(design.cell_covariate[r]).or_default().push(r);
                if feeding == Feeding::SingleCell {
                    items.push(r);
                }
            } else {
                items.push(r);
            }
        }
        let offsets: Vec<usize> = enc
            .covariates
            .iter()
            .scan(0, |acc, levels| {
                let o = *acc;
                *acc += levels.len();
                Some(o)
            })
            .collect();
        let mut singles = Vec::with_capacity(items.len());
        let mut covariate_hot = Vec::with_capacity(items.len());
        for &r in &items {
            let set = &design.perturbations[design.perturbation_of(r) as usize];
            singles.push(enc.singles(set)?);
            let combo = &design.covariates[design.cell_covariate[r] as usize];
            enc.check_covariates(combo)?;
            covariate_hot.push(
                combo
                    .iter()
                    .enumerate()
                    .map(|(k, v)| {
                        offsets[k]
                            + enc.covariates[k]
                                .iter()
                                .position(|l| l == v)
                                .expect("checked above")
                    })
                    .collect(),
            );
            if feeding == Feeding::Paired && !pools.contains_key(&design.cell_covariate[r]) {
                return Err(ModelError::NoControls {
                    covariates: combo.join("_"),
                });
            }
        }
        Ok(CellSet {
            x,
            design,
            enc,
            feeding,
            items,
            singles,
            covariate_hot,
            pools,
            embedding: None,
        })
    }

    /// Serves the rows of `embedding` (one per cell of the data) as the paired controls.
    pub fn with_embedding(mut self, embedding: &'a Dense) -> Self {
        self.embedding = Some(embedding);
        self
    }

    /// Number of cells served per epoch.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when no cell is served.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn dense_into(&self, r: usize, out: &mut [f32]) {
        let (idx, val) = self.x.row(r);
        for (&j, &v) in idx.iter().zip(val) {
            out[j as usize] = v;
        }
    }

    /// The batches of one epoch, built as they are consumed: items shuffled when `shuffle`,
    /// controls paired afresh (the pairing is drawn for the whole epoch up front, so batches do
    /// not depend on the batch size).
    pub fn epoch<R: Rng>(&self, rng: &mut R, batch_size: usize, shuffle: bool) -> Epoch<'_, 'a> {
        let mut order: Vec<usize> = (0..self.items.len()).collect();
        if shuffle {
            order.shuffle(rng);
        }
        let paired: Option<Vec<usize>> = (self.feeding == Feeding::Paired).then(|| {
            order
                .iter()
                .map(|&i| {
                    let pool = &self.pools[&self.design.cell_covariate[self.items[i]]];
                    pool[rng.random_range(0..pool.len())]
                })
                .collect()
        });
        Epoch {
            set: self,
            order,
            paired,
            batch_size: batch_size.max(1),
            next: 0,
        }
    }
}

/// The batches of one epoch (see [`CellSet::epoch`]).
pub struct Epoch<'s, 'a> {
    set: &'s CellSet<'a>,
    order: Vec<usize>,
    paired: Option<Vec<usize>>,
    batch_size: usize,
    next: usize,
}

impl Iterator for Epoch<'_, '_> {
    type Item = Batch;
    fn next(&mut self) -> Option<Batch> {
        if self.next >= self.order.len() {
            return None;
        }
        let set = self.set;
        let start = self.next;
        let end = (start + self.batch_size).min(self.order.len());
        self.next = end;
        let genes = set.enc.genes.len();
        let n_pert = set.enc.perturbations.len();
        let n_cov: usize = set.enc.covariates.iter().map(Vec::len).sum();
        let n = end - start;
        let mut expression = vec![0f32; n * genes];
        let mut perturbations = vec![0f32; n * n_pert];
        let mut covariates = vec![0f32; n * n_cov];
        let width = set.embedding.map_or(genes, |e| e.ncols);
        let mut controls = self.paired.as_ref().map(|_| vec![0f32; n * width]);
        let mut rows = Vec::with_capacity(n);
        for (k, pos) in (start..end).enumerate() {
            let i = self.order[pos];
            let r = set.items[i];
            rows.push(r);
            set.dense_into(r, &mut expression[k * genes..(k + 1) * genes]);
            for &s in &set.singles[i] {
                perturbations[k * n_pert + s] = 1.0;
            }
            for &c in &set.covariate_hot[i] {
                covariates[k * n_cov + c] = 1.0;
            }
            if let (Some(c), Some(p)) = (controls.as_mut(), self.paired.as_ref()) {
                let out = &mut c[k * width..(k + 1) * width];
                match set.embedding {
                    Some(e) => out.copy_from_slice(e.row(p[pos])),
                    None => set.dense_into(p[pos], out),
                }
            }
        }
        Some(Batch {
            rows,
            expression,
            controls,
            perturbations,
            covariates,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perturbench_data::{Column, Frame, PerturbationSpec};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn design(cond: &[&str], ct: &[&str]) -> Design {
        let mut obs = Frame::with_index((0..cond.len()).map(|i| i.to_string()).collect());
        obs.set_column("condition", Column::categorical_from_strings(cond));
        obs.set_column("cell_type", Column::categorical_from_strings(ct));
        let spec = PerturbationSpec {
            key: "condition".into(),
            control: "control".into(),
            delimiter: "+".into(),
            covariate_keys: vec!["cell_type".into()],
        };
        Design::from_obs(&obs, &spec, "test").unwrap()
    }

    #[test]
    fn paired_batches_are_seeded_same_covariate_and_encoded() {
        let cond = ["control", "A", "control", "B", "A+B", "control", "A"];
        let ct = ["a", "a", "b", "b", "a", "a", "b"];
        let d = design(&cond, &ct);
        // Gene value = row number, so a batch row names the cell it came from.
        let dense: Vec<f32> = (0..7).flat_map(|r| [r as f32 + 1.0, 0.0]).collect();
        let x = Csr::from_dense(7, 2, &dense).unwrap();
        let rows: Vec<usize> = (0..7).collect();
        let spec = PerturbationSpec {
            key: "condition".into(),
            control: "control".into(),
            delimiter: "+".into(),
            covariate_keys: vec!["cell_type".into()],
        };
        let enc = Encoding::from_train(&d, &spec, &rows, &["g1".into(), "g2".into()]);
        let set = CellSet::new(&x, &d, &enc, &rows, Feeding::Paired).unwrap();
        assert_eq!(set.len(), 4);
        let run = |bs: usize| -> Vec<Batch> {
            let mut rng = ChaCha8Rng::seed_from_u64(9);
            set.epoch(&mut rng, bs, true).collect()
        };
        let (a, b) = (run(3), run(3));
        assert_eq!(a, b);
        // The pairing does not depend on the batch size.
        let flat = |v: &[Batch]| -> Vec<(usize, f32)> {
            v.iter()
                .flat_map(|b| {
                    let c = b.controls.as_ref().unwrap();
                    b.rows.iter().enumerate().map(move |(k, &r)| (r, c[k * 2]))
                })
                .collect()
        };
        assert_eq!(flat(&run(3)), flat(&run(1)));
        for batch in &a {
            for (k, &r) in batch.rows.iter().enumerate() {
                assert_eq!(batch.expression[k * 2], r as f32 + 1.0);
                let ctrl = batch.controls.as_ref().unwrap()[k * 2] as usize - 1;
                assert_eq!(cond[ctrl], "control");
                assert_eq!(ct[ctrl], ct[r], "control from another cell type");
                // Multi-hot over [A, B] (first appearance), one-hot over [a, b].
                let want: Vec<f32> = ["A", "B"]
                    .iter()
                    .map(|p| cond[r].split('+').any(|q| q == *p) as u8 as f32)
                    .collect();
                assert_eq!(&batch.perturbations[k * 2..k * 2 + 2], want.as_slice());
                let hot = if ct[r] == "a" { [1.0, 0.0] } else { [0.0, 1.0] };
                assert_eq!(&batch.covariates[k * 2..k * 2 + 2], &hot);
            }
        }
        // Single-cell mode serves every cell and pairs nothing.
        let all = CellSet::new(&x, &d, &enc, &rows, Feeding::SingleCell).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let batches: Vec<Batch> = all.epoch(&mut rng, 4, false).collect();
        assert_eq!(batches.iter().map(|b| b.rows.len()).sum::<usize>(), 7);
        assert!(batches.iter().all(|b| b.controls.is_none()));
    }

    #[test]
    fn paired_mode_needs_controls_in_every_covariate() {
        let cond = ["control", "A", "A"];
        let ct = ["a", "a", "b"];
        let d = design(&cond, &ct);
        let x = Csr::from_dense(3, 1, &[1.0, 2.0, 3.0]).unwrap();
        let rows = [0, 1, 2];
        let spec = d.covariate_keys.clone();
        let enc = Encoding {
            perturbation_key: "condition".into(),
            control: "control".into(),
            delimiter: "+".into(),
            covariate_keys: spec,
            perturbations: vec!["A".into()],
            covariates: vec![vec!["a".into(), "b".into()]],
            genes: vec!["g".into()],
        };
        match CellSet::new(&x, &d, &enc, &rows, Feeding::Paired) {
            Err(ModelError::NoControls { covariates }) => assert_eq!(covariates, "b"),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("expected an error"),
        }
    }
}
