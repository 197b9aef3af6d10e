//! `biolord` (spec §3.9, biolord-style): `u = gene_encoder(x) + noise·N(0,1)`,
//! `v = pert_encoder(p)`, `w = E·covariates` with a free embedding `E` (initialised N(0,1)),
//! `ŷ = decoder([u ; v ; w])`. Loss: squared error summed over genes, mean over cells, plus
//! `penalty_weight · Σ_batch ‖w‖²`. The reference reads only the `cell_type` one-hot; here every
//! covariate's one-hot feeds `E` (the same with one covariate key).

use super::inputs::Inputs;
use super::layers::{softplus, standard_normal, Mlp};
use super::network::{check_dropout, Dims, Network, Update};
use crate::batches::Feeding;
use crate::ModelError;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// `biolord` (§3.9, biolord-style): encoded cell + perturbation embedding + a free per-level
/// covariate embedding, decoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BiolordConfig {
    /// Hidden blocks per MLP.
    pub n_layers: usize,
    /// Hidden width.
    pub encoder_width: usize,
    /// Latent dimension of each of the three parts.
    pub latent_dim: usize,
    /// Dropout probability.
    pub dropout: f64,
    /// Weight of the covariate-embedding penalty (Σ over the batch of ‖w‖²).
    pub penalty_weight: f64,
    /// Standard deviation of the noise added to the encoded cell (training and prediction).
    pub noise: f64,
    /// Softplus on the output.
    pub softplus_output: bool,
    /// Learning rate of Adam.
    pub lr: f64,
    /// L2 weight decay inside Adam.
    pub wd: f64,
    /// ReduceLROnPlateau factor.
    pub lr_scheduler_factor: f64,
    /// ReduceLROnPlateau patience (epochs).
    pub lr_scheduler_patience: usize,
}

impl Default for BiolordConfig {
    fn default() -> Self {
        BiolordConfig {
            n_layers: 3,
            encoder_width: 3072,
            latent_dim: 32,
            dropout: 0.1,
            penalty_weight: 1.0,
            noise: 0.1,
            softplus_output: true,
            lr: 6.72e-05,
            wd: 7.90e-09,
            lr_scheduler_factor: 0.2,
            lr_scheduler_patience: 15,
        }
    }
}

/// The fitted weights.
#[derive(Module, Debug)]
pub struct Biolord {
    /// `x → latent`.
    pub gene_encoder: Mlp,
    /// `p → latent`.
    pub pert_encoder: Mlp,
    /// `[u ; v ; w] → genes`.
    pub decoder: Mlp,
    /// Covariate embedding, Σ levels × latent.
    pub lord_embedding: Param<Tensor<2>>,
    /// Noise standard deviation on the encoded cell.
    pub noise: f64,
    /// Penalty weight.
    pub penalty_weight: f64,
    /// Softplus on the output.
    pub softplus_output: bool,
}

impl Network for Biolord {
    type Config = BiolordConfig;
    const NAME: &'static str = "biolord";
    const SUMMARY: &'static str = "biolord-style disentangled latent model";
    const SEARCH_SPACE: Option<(&'static str, &'static str)> =
        Some(("biolord", include_str!("../../presets/hpo/biolord.yaml")));
    const FEEDING: Feeding = Feeding::SingleCell;

    super::network::optim_from_fields!();

    fn init<R: Rng>(
        c: &BiolordConfig,
        dims: &Dims,
        rng: &mut R,
        device: &Device,
    ) -> Result<Self, ModelError> {
        check_dropout(c.dropout)?;
        if c.latent_dim == 0 || c.encoder_width == 0 {
            return Err(ModelError::Config(
                "model.latent_dim and model.encoder_width must be positive".into(),
            ));
        }
        let (genes, perts, covs) = (dims.genes, dims.perturbations, dims.covariates);
        let (w, l, n, p) = (c.encoder_width, c.latent_dim, c.n_layers, c.dropout);
        Ok(Biolord {
            gene_encoder: Mlp::new(genes, w, l, n, p, rng, device),
            pert_encoder: Mlp::new(perts, w, l, n, p, rng, device),
            decoder: Mlp::new(3 * l, w, genes, n, p, rng, device),
            lord_embedding: Param::from_tensor(standard_normal(covs.max(1), l, rng, device)),
            noise: c.noise,
            penalty_weight: c.penalty_weight,
            softplus_output: c.softplus_output,
        })
    }

    fn forward(
        &self,
        x: &Inputs,
        dropout: Option<&mut ChaCha8Rng>,
        noise: &mut ChaCha8Rng,
    ) -> Tensor<2> {
        self.outputs(x, dropout, noise).0
    }

    fn training_loss(
        &self,
        x: &Inputs,
        target: Tensor<2>,
        _: usize,
        _: usize,
        dropout: Option<&mut ChaCha8Rng>,
        noise: &mut ChaCha8Rng,
    ) -> (Update, Tensor<1>) {
        (Update::All, self.losses(x, target, dropout, noise).0)
    }

    fn validation_loss(&self, x: &Inputs, target: Tensor<2>, noise: &mut ChaCha8Rng) -> Tensor<1> {
        self.losses::<ChaCha8Rng, _>(x, target, None, noise).1
    }
}

impl Biolord {
    /// Predicted cells and the covariate embeddings `w` of the rows.
    pub fn outputs<R: Rng, N: Rng>(
        &self,
        x: &Inputs,
        mut rng: Option<&mut R>,
        noise_rng: &mut N,
    ) -> (Tensor<2>, Tensor<2>) {
        let u = self
            .gene_encoder
            .forward(x.controls.clone(), rng.as_deref_mut());
        let [n, l] = u.dims();
        let u = u + standard_normal(n, l, noise_rng, &x.controls.device()).mul_scalar(self.noise);
        let v = self
            .pert_encoder
            .forward(x.perturbations.clone(), rng.as_deref_mut());
        let w = if x.covariates.dims()[1] == 0 {
            Tensor::zeros([n, l], &u.device())
        } else {
            x.covariates.clone().matmul(self.lord_embedding.val())
        };
        let y = self
            .decoder
            .forward(Tensor::cat(vec![u, v, w.clone()], 1), rng);
        let y = if self.softplus_output { softplus(y) } else { y };
        (y, w)
    }

    /// (training objective, monitored loss without the penalty).
    pub fn losses<R: Rng, N: Rng>(
        &self,
        x: &Inputs,
        target: Tensor<2>,
        rng: Option<&mut R>,
        noise_rng: &mut N,
    ) -> (Tensor<1>, Tensor<1>) {
        let (y, w) = self.outputs(x, rng, noise_rng);
        let sse = (y - target).square().sum_dim(1).mean().reshape([1]);
        let penalty = w.square().sum().mul_scalar(self.penalty_weight);
        (sse.clone() + penalty, sse)
    }
}
