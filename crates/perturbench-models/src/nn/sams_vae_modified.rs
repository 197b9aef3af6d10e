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
use super::network::{check_dropout, Dims, Network, Update};
use super::sams_vae::{decode, kl_normal_rows, GaussianEncoder};
use crate::batches::Feeding;
use crate::ModelError;
use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// `sams-vae-modified` (§3.8 [newer], after Bereket & Karaletsos): global per-perturbation
/// effects `m_t ⊙ e_t` with a learned sparse mask, summed over a cell's perturbations; the basal
/// encoder sees the cell and its perturbation latent. The newer reference configs are not in
/// the spec: defaults follow the reference SAMS-VAE where they share a setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamsVaeModifiedConfig {
    /// Hidden blocks of the basal encoder.
    pub n_layers_encoder_x: usize,
    /// Hidden blocks of the embedding encoder.
    pub n_layers_encoder_e: usize,
    /// Hidden blocks of the decoder.
    pub n_layers_decoder: usize,
    /// Hidden width of the encoders and decoder.
    pub hidden_dim_x: usize,
    /// Latent dimension.
    pub latent_dim: usize,
    /// Dropout of the decoder.
    pub dropout: f64,
    /// Covariates into the basal encoder.
    pub inject_covariates_encoder: bool,
    /// Covariates into the decoder.
    pub inject_covariates_decoder: bool,
    /// Prior probability of a mask entry.
    pub mask_prior_probability: f64,
    /// Temperature of the relaxed-Bernoulli mask.
    pub mask_temperature: f64,
    /// No mask (the ablation `disable_sparsity`).
    pub disable_sparsity: bool,
    /// Point-estimate embeddings (the ablation `disable_e_dist`).
    pub disable_e_dist: bool,
    /// Softplus on the output (ReLU otherwise).
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

impl Default for SamsVaeModifiedConfig {
    fn default() -> Self {
        SamsVaeModifiedConfig {
            n_layers_encoder_x: 5,
            n_layers_encoder_e: 3,
            n_layers_decoder: 4,
            hidden_dim_x: 2332,
            latent_dim: 55,
            dropout: 0.2,
            inject_covariates_encoder: false,
            inject_covariates_decoder: false,
            mask_prior_probability: 0.01,
            mask_temperature: 0.5,
            disable_sparsity: false,
            disable_e_dist: false,
            softplus_output: true,
            lr: 8.184599223121104e-05,
            wd: 2.4153279969771546e-05,
            lr_scheduler_factor: 0.2,
            lr_scheduler_patience: 15,
        }
    }
}

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

impl Network for SamsVaeModified {
    type Config = SamsVaeModifiedConfig;
    const NAME: &'static str = "sams-vae-modified";
    const ALIASES: &'static [&'static str] = &["sams_vae_modified"];
    const SUMMARY: &'static str = "SAMS-VAE of the reference's newer version";
    const SEARCH_SPACE: Option<(&'static str, &'static str)> = Some((
        "sams_vae_modified",
        include_str!("../../presets/hpo/sams_vae_modified.yaml"),
    ));
    const FEEDING: Feeding = Feeding::SingleCell;

    super::network::optim_from_fields!();

    fn init<R: Rng>(
        c: &SamsVaeModifiedConfig,
        dims: &Dims,
        rng: &mut R,
        device: &Device,
    ) -> Result<Self, ModelError> {
        check_dropout(c.dropout)?;
        if c.latent_dim == 0 || c.hidden_dim_x == 0 {
            return Err(ModelError::Config(
                "model.latent_dim and model.hidden_dim_x must be positive".into(),
            ));
        }
        let valid = (0.0..=1.0).contains(&c.mask_prior_probability)
            && c.mask_temperature > 0.0
            && c.mask_temperature.is_finite();
        if !valid {
            return Err(ModelError::Config(format!(
                "model.mask_prior_probability must be in [0, 1] (got {}) and model.mask_temperature positive (got {})",
                c.mask_prior_probability, c.mask_temperature
            )));
        }
        let (genes, perts, covs) = (dims.genes, dims.perturbations, dims.covariates);
        let l = c.latent_dim;
        let x_in = genes + l + if c.inject_covariates_encoder { covs } else { 0 };
        let d_in = l + if c.inject_covariates_decoder { covs } else { 0 };
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![-1.0f32; perts.max(1) * l], [perts.max(1), l]),
            device,
        );
        Ok(SamsVaeModified {
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
        })
    }

    /// Counterfactual cells from the control cells in `x.controls` and the targets in
    /// `x.perturbations` (no dropout).
    fn forward(&self, x: &Inputs, _: Option<&mut ChaCha8Rng>, noise: &mut ChaCha8Rng) -> Tensor<2> {
        let none: Option<&mut ChaCha8Rng> = None;
        self.run(x, true, none, noise).0
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
        (Update::All, self.loss(x, target, dropout, noise))
    }

    fn validation_loss(&self, x: &Inputs, target: Tensor<2>, noise: &mut ChaCha8Rng) -> Tensor<1> {
        self.loss::<ChaCha8Rng, _>(x, target, None, noise)
    }
}

impl SamsVaeModified {
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
}
