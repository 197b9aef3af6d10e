//! `latent-additive` (spec §3.5): `z = gene_encoder([c ; covs]) + pert_encoder(p)` (optionally
//! masked by a learned Bernoulli mask), `ŷ = decoder([z ; covs])`.

use super::inputs::{concat, Inputs};
use super::layers::{softplus, Mlp};
use crate::config::LatentAdditiveConfig;
use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;

/// The fitted weights.
#[derive(Module, Debug)]
pub struct LatentAdditive {
    /// `[c ; covs] → latent`.
    pub gene_encoder: Mlp,
    /// `p → latent`.
    pub pert_encoder: Mlp,
    /// `p → mask logits` (sparse additive mechanism only).
    pub mask: Option<Mlp>,
    /// `[z ; covs] → genes`.
    pub decoder: Mlp,
    /// Covariates into the gene encoder.
    pub inject_covariates_encoder: bool,
    /// Covariates into the decoder.
    pub inject_covariates_decoder: bool,
    /// Softplus on the output.
    pub softplus_output: bool,
}

impl LatentAdditive {
    /// Fresh weights; `input` = the control input's width (genes, or an embedding's width).
    #[allow(clippy::too_many_arguments)]
    pub fn new<R: Rng>(
        c: &LatentAdditiveConfig,
        input: usize,
        genes: usize,
        perts: usize,
        covs: usize,
        rng: &mut R,
        device: &Device,
    ) -> Self {
        let enc_in = input + if c.inject_covariates_encoder { covs } else { 0 };
        let dec_in = c.latent_dim + if c.inject_covariates_decoder { covs } else { 0 };
        let (w, l, n, p) = (c.encoder_width, c.latent_dim, c.n_layers, c.dropout);
        let gene_encoder = Mlp::new(enc_in, w, l, n, p, rng, device);
        let pert_encoder = Mlp::new(perts, w, l, n, p, rng, device);
        let mask = c
            .sparse_additive_mechanism
            .then(|| Mlp::new(perts, w, l, n, p, rng, device));
        let decoder = Mlp::new(dec_in, w, genes, n, p, rng, device);
        LatentAdditive {
            gene_encoder,
            pert_encoder,
            mask,
            decoder,
            inject_covariates_encoder: c.inject_covariates_encoder,
            inject_covariates_decoder: c.inject_covariates_decoder,
            softplus_output: c.softplus_output,
        }
    }

    /// Predicted cells. The mask is sampled with a straight-through estimator
    /// (`bernoulli(q) − q.detach() + q`), its uniforms drawn from `mask_rng`.
    pub fn forward<R: Rng>(
        &self,
        x: &Inputs,
        mut rng: Option<&mut R>,
        mask_rng: &mut impl Rng,
    ) -> Tensor<2> {
        let enc_in = if self.inject_covariates_encoder {
            concat(x.controls.clone(), x.covariates.clone())
        } else {
            x.controls.clone()
        };
        let z_ctrl = self.gene_encoder.forward(enc_in, rng.as_deref_mut());
        let mut z_pert = self
            .pert_encoder
            .forward(x.perturbations.clone(), rng.as_deref_mut());
        if let Some(mask) = &self.mask {
            let q = sigmoid(mask.forward(x.perturbations.clone(), rng.as_deref_mut()));
            let [n, m] = q.dims();
            let u: Vec<f32> = (0..n * m).map(|_| mask_rng.random::<f32>()).collect();
            let u = Tensor::<2>::from_data(TensorData::new(u, [n, m]), &q.device());
            let sample = q.clone().detach().greater(u).float();
            z_pert = z_pert * (sample - q.clone().detach() + q);
        }
        let z = z_ctrl + z_pert;
        let dec_in = if self.inject_covariates_decoder {
            concat(z, x.covariates.clone())
        } else {
            z
        };
        let y = self.decoder.forward(dec_in, rng);
        if self.softplus_output {
            softplus(y)
        } else {
            y
        }
    }
}
