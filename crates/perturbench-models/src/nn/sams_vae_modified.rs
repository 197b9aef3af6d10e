//! `sams-vae-modified` (spec §3.8 [newer], after Bereket & Karaletsos 2023): every
//! perturbation `t` owns a global latent effect `m_t ⊙ e_t`, with a learned sparse mask `m_t`
//! (logits initialised −1, a straight-through relaxed-Bernoulli sample) and an embedding
//! `e_t ~ q(e | [m_t ; onehot_t])`; a cell's perturbation latent is the sum over its
//! perturbations, `z_p = Σ_t m_t ⊙ e_t`. The basal latent is encoded from the cell *and* its
//! `z_p` (`q(z | [x ; covs ; z_p])`), so it need not carry the effect, and the decoder reads
//! `z_basal + z_p`. Loss: squared error summed over genes (a unit-variance Gaussian decoder),
//! the basal KL per cell, and the global KL terms (embeddings and masks of the perturbations in
//! the minibatch) counted once per minibatch and spread over its cells — in place of the
//! reference's rescaling by perturbation frequencies, which needs counts over the whole data.
//! Counterfactuals encode the control cell with its own (empty) `z_p` and decode it with the
//! target's expected effect `Σ_t sigmoid(logits_t) ⊙ μ_t`.

use super::inputs::{concat, Inputs};
use super::layers::{standard_normal, Mlp};
use super::sams_vae::{decode, kl_normal_rows, GaussianEncoder};
use crate::config::SamsVaeModifiedConfig;
use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;

/// The fitted weights.
#[derive(Module, Debug)]
pub struct SamsVaeModified {
    /// Mask logits, perturbations × latent.
    pub mask_logits: Param<Tensor<2>>,
    /// q(e_t | [m_t ; onehot_t]).
    pub encoder_e: GaussianEncoder,
    /// q(z_basal | [x ; covs ; z_p]).
    pub encoder_x: GaussianEncoder,
    /// Decoder.
    pub decoder: Mlp,
    /// Covariates into the basal encoder.
    pub inject_covariates_encoder: bool,
    /// Covariates into the decoder.
    pub inject_covariates_decoder: bool,
    /// Mask prior probability.
    pub mask_prior: f64,
    /// Temperature of the relaxed-Bernoulli mask.
    pub temperature: f64,
    /// No mask (every entry 1).
    pub disable_sparsity: bool,
    /// Embeddings are point estimates (no sampling, no KL).
    pub disable_e_dist: bool,
    /// Softplus output (ReLU otherwise).
    pub softplus_output: bool,
}

impl SamsVaeModified {
    /// Fresh weights.
    pub fn new<R: Rng>(
        c: &SamsVaeModifiedConfig,
        genes: usize,
        perts: usize,
        covs: usize,
        rng: &mut R,
        device: &Device,
    ) -> Self {
        let l = c.latent_dim;
        let x_in = genes + l + if c.inject_covariates_encoder { covs } else { 0 };
        let d_in = l + if c.inject_covariates_decoder { covs } else { 0 };
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![-1.0f32; perts.max(1) * l], [perts.max(1), l]),
            device,
        );
        SamsVaeModified {
            mask_logits: Param::from_tensor(logits),
            encoder_e: GaussianEncoder::new(
                l + perts,
                None,
                c.hidden_dim_x,
                l,
                c.n_layers_encoder_e,
                rng,
                device,
            ),
            encoder_x: GaussianEncoder::new(
                x_in,
                None,
                c.hidden_dim_x,
                l,
                c.n_layers_encoder_x,
                rng,
                device,
            ),
            decoder: Mlp::new(
                d_in,
                c.hidden_dim_x,
                genes,
                c.n_layers_decoder,
                c.dropout,
                rng,
                device,
            ),
            inject_covariates_encoder: c.inject_covariates_encoder,
            inject_covariates_decoder: c.inject_covariates_decoder,
            mask_prior: c.mask_prior_probability,
            temperature: c.mask_temperature,
            disable_sparsity: c.disable_sparsity,
            disable_e_dist: c.disable_e_dist,
            softplus_output: c.softplus_output,
        }
    }

    /// Per perturbation: its latent effect (P × L) and its global KL (P × 1). `sample`: draw
    /// masks and embeddings (training); otherwise their expectations.
    fn effects<N: Rng>(
        &self,
        sample: bool,
        noise: &mut N,
        device: &Device,
    ) -> (Tensor<2>, Tensor<2>) {
        let logits = self.mask_logits.val();
        let [p, l] = logits.dims();
        let probs = sigmoid(logits.clone());
        let mut kl = Tensor::<2>::zeros([p, 1], device);
        let m = if self.disable_sparsity {
            Tensor::<2>::ones([p, l], device)
        } else if sample {
            // Relaxed Bernoulli (logistic noise), hardened with a straight-through estimator.
            let u: Vec<f32> = (0..p * l)
                .map(|_| noise.random::<f32>().clamp(1e-6, 1.0 - 1e-6))
                .collect();
            let u = Tensor::<2>::from_data(TensorData::new(u, [p, l]), device);
            let logistic = u.clone().log() - u.neg().add_scalar(1.0).log();
            let soft = sigmoid((logits + logistic).div_scalar(self.temperature));
            let hard = soft.clone().detach().greater_elem(0.5).float();
            hard - soft.clone().detach() + soft
        } else {
            probs.clone()
        };
        if !self.disable_sparsity {
            let eps = 1e-7;
            let pr = self.mask_prior.clamp(eps, 1.0 - eps);
            let q = probs.clamp(eps, 1.0 - eps);
            let kl_m = (q.clone() * q.clone().log().sub_scalar(pr.ln())
                + q.clone().neg().add_scalar(1.0)
                    * q.neg().add_scalar(1.0).log().sub_scalar((1.0 - pr).ln()))
            .sum_dim(1);
            kl = kl + kl_m;
        }
        let onehot = Tensor::<2>::eye(p, device);
        let (mu, logvar) = self
            .encoder_e
            .moments(Tensor::cat(vec![m.clone(), onehot], 1), None);
        let e = if self.disable_e_dist {
            mu
        } else {
            kl = kl + kl_normal_rows(mu.clone(), logvar.clone());
            if sample {
                mu + standard_normal(p, l, noise, device) * logvar.mul_scalar(0.5).exp()
            } else {
                mu
            }
        };
        (m * e, kl)
    }

    /// (decoded cells, loss terms other than reconstruction per cell).
    fn run<R: Rng, N: Rng>(
        &self,
        x: &Inputs,
        counterfactual: bool,
        rng: Option<&mut R>,
        noise: &mut N,
    ) -> (Tensor<2>, Tensor<1>) {
        let device = x.controls.device();
        let p = x.perturbations.clone();
        let [n, _] = p.dims();
        let (effects, kl_t) = self.effects(!counterfactual, noise, &device);
        let z_target = p.clone().matmul(effects);
        // The cell's own perturbation latent conditions the basal encoder: the target's when
        // autoencoding a perturbed cell, none for the control cell of a counterfactual.
        let z_own = if counterfactual {
            z_target.clone().zeros_like()
        } else {
            z_target.clone()
        };
        let mut enc_in = concat(x.controls.clone(), z_own);
        if self.inject_covariates_encoder {
            enc_in = concat(enc_in, x.covariates.clone());
        }
        let (mu, logvar) = self.encoder_x.moments(enc_in, None);
        let [_, l] = mu.dims();
        let z_basal = mu.clone()
            + standard_normal(n, l, noise, &device) * logvar.clone().mul_scalar(0.5).exp();
        let kl_basal = kl_normal_rows(mu, logvar).mean().reshape([1]);
        // Global KL of the perturbations present in the minibatch, once, spread over its cells.
        let present = p.sum_dim(0).greater_elem(0.0).float(); // 1 × P
        let kl_global = present
            .matmul(kl_t)
            .reshape([1])
            .div_scalar(n.max(1) as f64);
        let y = decode(
            &self.decoder,
            z_basal + z_target,
            x,
            self.inject_covariates_decoder,
            self.softplus_output,
            rng,
        );
        (y, kl_basal + kl_global)
    }

    /// The loss: squared error summed over genes, mean over cells, plus the KL terms.
    pub fn loss<R: Rng, N: Rng>(
        &self,
        x: &Inputs,
        target: Tensor<2>,
        rng: Option<&mut R>,
        noise: &mut N,
    ) -> Tensor<1> {
        let (y, kl) = self.run(x, false, rng, noise);
        (y - target).square().sum_dim(1).mean().reshape([1]) + kl
    }

    /// Counterfactual cells from the control cells in `x.controls` and the targets in
    /// `x.perturbations`.
    pub fn predict<N: Rng>(&self, x: &Inputs, noise: &mut N) -> Tensor<2> {
        let none: Option<&mut N> = None;
        self.run(x, true, none, noise).0
    }
}
