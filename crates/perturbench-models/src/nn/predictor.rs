//! A trained network as a [`PerturbationModel`]: counterfactual prediction from control cells,
//! and its weights on disk (burnpack).

use super::inputs::{matrix, to_host, Inputs};
use super::network::Dims;
use super::trainer::device;
use super::Net;
use crate::config::ModelConfig;
use crate::encoding::Encoding;
use crate::{ModelError, PerturbationModel};
use burn::module::Module;
use burn::tensor::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::sync::Mutex;

/// Rows per forward pass at prediction.
const PREDICT_ROWS: usize = 4096;

/// A fitted neural model.
pub struct NeuralModel {
    name: &'static str,
    net: Mutex<Net>,
    dims: Dims,
    device: Device,
    /// Covariate levels per key (training order).
    levels: Vec<Vec<String>>,
}

impl std::fmt::Debug for NeuralModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeuralModel")
            .field("name", &self.name)
            .field("dims", &self.dims)
            .finish()
    }
}

/// The widths of a model trained with `enc`.
pub fn dims_of(enc: &Encoding) -> Dims {
    Dims {
        genes: enc.genes.len(),
        perturbations: enc.perturbations.len(),
        covariates: enc.covariates.iter().map(Vec::len).sum(),
        covariate_levels: enc.covariates.iter().map(Vec::len).collect(),
        input_width: enc.genes.len(),
    }
}

impl NeuralModel {
    /// Wraps trained weights (moved to evaluation mode); `dims` as trained.
    pub fn new(config: &ModelConfig, net: Net, dims: Dims, enc: &Encoding) -> NeuralModel {
        let net = net.valid();
        let device = net
            .devices()
            .into_iter()
            .next()
            .unwrap_or_else(Device::flex);
        NeuralModel {
            name: config.name(),
            net: Mutex::new(net),
            dims,
            device,
            levels: enc.covariates.clone(),
        }
    }

    /// Reads weights written by [`NeuralModel::save`] for `config`, `dims` and `enc` onto
    /// `device_name`.
    pub fn load(
        config: &ModelConfig,
        dims: Dims,
        enc: &Encoding,
        path: &Path,
        device_name: &str,
    ) -> Result<NeuralModel, ModelError> {
        let dev = device(device_name)?;
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let net = Net::new(config, &dims, &mut rng, &dev)?
            .try_load_file(path)
            .map_err(|e| ModelError::Checkpoint {
                path: path.display().to_string(),
                message: format!("cannot load the weights: {e}"),
            })?;
        Ok(NeuralModel::new(config, net, dims, enc))
    }

    /// Input and output widths.
    pub fn dims(&self) -> &Dims {
        &self.dims
    }

    /// Writes the weights to `path`.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let net = self.net.lock().expect("weights lock").clone();
        net.into_record()
            .save(path)
            .map_err(|e| ModelError::Checkpoint {
                path: path.display().to_string(),
                message: format!("cannot write the weights: {e}"),
            })
    }

    fn covariate_hot(&self, covariates: &[String]) -> Result<Vec<usize>, ModelError> {
        let mut offset = 0;
        let mut hot = Vec::with_capacity(covariates.len());
        for (k, levels) in self.levels.iter().enumerate() {
            let v = covariates.get(k).ok_or_else(|| {
                ModelError::Target(format!(
                    "{} covariate values given, the model has {}",
                    covariates.len(),
                    self.levels.len()
                ))
            })?;
            let pos =
                levels
                    .iter()
                    .position(|l| l == v)
                    .ok_or_else(|| ModelError::UnknownCovariate {
                        key: format!("#{k}"),
                        value: v.clone(),
                    })?;
            hot.push(offset + pos);
            offset += levels.len();
        }
        Ok(hot)
    }
}

impl PerturbationModel for NeuralModel {
    fn name(&self) -> &str {
        self.name
    }

    fn parallel(&self) -> bool {
        false
    }

    fn predict(
        &self,
        singles: &[usize],
        covariates: &[String],
        controls: &[Vec<f32>],
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        let d = &self.dims;
        let hot = self.covariate_hot(covariates)?;
        if let Some(&s) = singles.iter().find(|&&s| s >= d.perturbations) {
            return Err(ModelError::Target(format!(
                "perturbation index {s} is outside the model's {} perturbations",
                d.perturbations
            )));
        }
        let net = self.net.lock().expect("weights lock");
        let mut mask_rng = ChaCha8Rng::seed_from_u64(0);
        let mut out = Vec::with_capacity(controls.len());
        for chunk in controls.chunks(PREDICT_ROWS) {
            let n = chunk.len();
            let mut c = Vec::with_capacity(n * d.genes);
            for row in chunk {
                if row.len() != d.input_width {
                    return Err(ModelError::Shape(format!(
                        "a control input has {} values, the model takes {}",
                        row.len(),
                        d.input_width
                    )));
                }
                c.extend_from_slice(row);
            }
            let mut p = vec![0f32; n * d.perturbations];
            let mut v = vec![0f32; n * d.covariates];
            for i in 0..n {
                for &s in singles {
                    p[i * d.perturbations + s] = 1.0;
                }
                for &h in &hot {
                    v[i * d.covariates + h] = 1.0;
                }
            }
            let x = Inputs {
                controls: matrix(c, n, d.input_width, &self.device),
                perturbations: matrix(p, n, d.perturbations, &self.device),
                covariates: matrix(v, n, d.covariates, &self.device),
            };
            let y = to_host(net.predict(&x, &mut mask_rng));
            out.extend(y.chunks(d.genes).map(<[f32]>::to_vec));
        }
        Ok(out)
    }
}
