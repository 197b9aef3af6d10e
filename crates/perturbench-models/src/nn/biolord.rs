//! `biolord` (spec §3.9, biolord-style): `u = gene_encoder(x) + noise·N(0,1)`,
//! `v = pert_encoder(p)`, `w = E·covariates` with a free embedding `E` (initialised N(0,1)),
//! `ŷ = decoder([u ; v ; w])`. Loss: squared error summed over genes, mean over cells, plus
//! `penalty_weight · Σ_batch ‖w‖²`. The reference reads only the `cell_type` one-hot; here every
//! covariate's one-hot feeds `E` (the same with one covariate key).

use super::inputs::Inputs;
use super::layers::{softplus, standard_normal, Mlp};
use crate::config::BiolordConfig;
use burn::module::{Module, Param};

use burn::tensor::{Device, Tensor};
use rand::Rng;

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

impl Biolord {
    /// Fresh weights.
    pub fn new<R: Rng>(
        c: &BiolordConfig,
        genes: usize,
        perts: usize,
        covs: usize,
        rng: &mut R,
        device: &Device,
    ) -> Self {
        let (w, l, n, p) = (c.encoder_width, c.latent_dim, c.n_layers, c.dropout);
        Biolord {
            gene_encoder: Mlp::new(genes, w, l, n, p, rng, device),
            pert_encoder: Mlp::new(perts, w, l, n, p, rng, device),
            decoder: Mlp::new(3 * l, w, genes, n, p, rng, device),
            lord_embedding: Param::from_tensor(standard_normal(covs.max(1), l, rng, device)),
            noise: c.noise,
            penalty_weight: c.penalty_weight,
            softplus_output: c.softplus_output,
        }
    }

    /// Predicted cells and the covariate embeddings `w` of the rows.
    pub fn forward<R: Rng, N: Rng>(
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
        let (y, w) = self.forward(x, rng, noise_rng);
        let sse = (y - target).square().sum_dim(1).mean().reshape([1]);
        let penalty = w.square().sum().mul_scalar(self.penalty_weight);
        (sse.clone() + penalty, sse)
    }
}
