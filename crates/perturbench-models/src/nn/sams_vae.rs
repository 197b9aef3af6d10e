//! `sams-vae` (spec §3.8, the reference implementation). The perturbation latent
//! `e ~ q(e | p)` (with the sparse mechanism: `q(e | m, p)`, gated `z_p = m ⊙ e` by a
//! straight-through Bernoulli mask `m ~ Bern(sigmoid(MLP(p)))`), the basal latent
//! `z_basal ~ q(z | [x ; covs], z_p)` (mean-field: `q(z | [x ; covs])`), decoded from
//! `z_basal + z_p`. Loss: L1 summed over genes + KL(q(z)‖N(0,1)) + KL(q(e)‖N(0,1))
//! (+ KL(Bern(m)‖Bern(prior))), each summed over dimensions and averaged over cells.

use super::inputs::{concat, Inputs};
use super::layers::{dense, softplus, standard_normal, Mlp};
use super::network::{check_dropout, Dims, EpochMean, Network, Update};
use crate::batches::Feeding;
use crate::ModelError;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// `sams-vae` (§3.8, the reference implementation): a VAE whose perturbation latent is an
/// encoded embedding, optionally gated by a learned sparse Bernoulli mask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamsVaeConfig {
    /// Hidden blocks of the basal encoder.
    pub n_layers_encoder_x: usize,
    /// Hidden blocks of the perturbation encoders (mask and embedding).
    pub n_layers_encoder_e: usize,
    /// Hidden blocks of the decoder.
    pub n_layers_decoder: usize,
    /// Hidden width of the basal encoder and decoder.
    pub hidden_dim_x: usize,
    /// Hidden width of the conditional parts.
    pub hidden_dim_cond: usize,
    /// Latent dimension.
    pub latent_dim: usize,
    /// Dropout of the decoder.
    pub dropout: f64,
    /// Covariates into the basal encoder.
    pub inject_covariates_encoder: bool,
    /// Covariates into the decoder.
    pub inject_covariates_decoder: bool,
    /// Basal encoder without the perturbation latent as condition.
    pub mean_field_encoding: bool,
    /// Gate the perturbation latent with a learned Bernoulli mask.
    pub sparse_additive_mechanism: bool,
    /// Prior probability of a mask entry.
    pub mask_prior_probability: f64,
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

impl Default for SamsVaeConfig {
    fn default() -> Self {
        SamsVaeConfig {
            n_layers_encoder_x: 5,
            n_layers_encoder_e: 3,
            n_layers_decoder: 4,
            hidden_dim_x: 2332,
            hidden_dim_cond: 329,
            latent_dim: 55,
            dropout: 0.2,
            inject_covariates_encoder: false,
            inject_covariates_decoder: false,
            mean_field_encoding: false,
            sparse_additive_mechanism: true,
            mask_prior_probability: 0.01,
            softplus_output: true,
            lr: 8.184599223121104e-05,
            wd: 2.4153279969771546e-05,
            lr_scheduler_factor: 0.2,
            lr_scheduler_patience: 15,
        }
    }
}

/// `h = MLP(x) [+ MLP_cond(c)]`, then Gaussian heads.
#[derive(Module, Debug)]
pub struct GaussianEncoder {
    /// Body on the input.
    pub body: Mlp,
    /// Body on the condition (conditional encoders only).
    pub cond: Option<Mlp>,
    /// Mean head.
    pub mu: Linear,
    /// Log-variance head.
    pub logvar: Linear,
}

impl GaussianEncoder {
    /// An encoder of `input` (plus a `condition` of (width, hidden width)) to `out` dimensions.
    #[allow(clippy::too_many_arguments)]
    pub fn new<R: Rng>(
        input: usize,
        condition: Option<(usize, usize)>,
        hidden: usize,
        out: usize,
        n_layers: usize,
        rng: &mut R,
        device: &Device,
    ) -> Self {
        let body = Mlp::new(input, hidden, hidden, n_layers, 0.0, rng, device);
        let cond = condition.map(|(c, hc)| Mlp::new(c, hc, hidden, n_layers, 0.0, rng, device));
        GaussianEncoder {
            body,
            cond,
            mu: dense(hidden, out, rng, device),
            logvar: dense(hidden, out, rng, device),
        }
    }

    /// (mean, log-variance).
    pub fn moments(&self, x: Tensor<2>, c: Option<Tensor<2>>) -> (Tensor<2>, Tensor<2>) {
        let none: Option<&mut rand_chacha::ChaCha8Rng> = None;
        let mut h = self.body.forward(x, none);
        if let (Some(net), Some(c)) = (&self.cond, c) {
            let none: Option<&mut rand_chacha::ChaCha8Rng> = None;
            h = h + net.forward(c, none);
        }
        (self.mu.forward(h.clone()), self.logvar.forward(h))
    }

    /// (sample, mean, log-variance).
    fn forward<N: Rng>(
        &self,
        x: Tensor<2>,
        c: Option<Tensor<2>>,
        noise: &mut N,
    ) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
        let (mu, logvar) = self.moments(x, c);
        let [n, l] = mu.dims();
        let eps = standard_normal(n, l, noise, &mu.device());
        (
            mu.clone() + eps * logvar.clone().mul_scalar(0.5).exp(),
            mu,
            logvar,
        )
    }
}

/// The fitted weights.
#[derive(Module, Debug)]
pub struct SamsVae {
    /// Mask logits from p (sparse mechanism only).
    pub encoder_m: Option<Mlp>,
    /// q(e | …).
    pub encoder_e: GaussianEncoder,
    /// q(z_basal | …).
    pub encoder_x: GaussianEncoder,
    /// Decoder.
    pub decoder: Mlp,
    /// Covariates into the basal encoder.
    pub inject_covariates_encoder: bool,
    /// Covariates into the decoder.
    pub inject_covariates_decoder: bool,
    /// Mean-field basal encoder.
    pub mean_field: bool,
    /// Mask prior probability.
    pub mask_prior: f64,
    /// Softplus output (ReLU otherwise).
    pub softplus_output: bool,
}

/// KL(N(μ, σ²) ‖ N(0, 1)) summed over dimensions, one value per row.
pub fn kl_normal_rows(mu: Tensor<2>, logvar: Tensor<2>) -> Tensor<2> {
    (logvar.clone().exp() + mu.square() - logvar)
        .sub_scalar(1.0)
        .mul_scalar(0.5)
        .sum_dim(1)
}

/// The decoder step of both SAMS-VAEs: `decoder([z ; covariates])` (covariates only when
/// injected), then softplus or ReLU.
pub fn decode<R: Rng>(
    decoder: &Mlp,
    z: Tensor<2>,
    x: &Inputs,
    inject_covariates: bool,
    softplus_output: bool,
    rng: Option<&mut R>,
) -> Tensor<2> {
    let d_in = if inject_covariates {
        concat(z, x.covariates.clone())
    } else {
        z
    };
    let y = decoder.forward(d_in, rng);
    if softplus_output {
        softplus(y)
    } else {
        relu(y)
    }
}

/// [`kl_normal_rows`] averaged over rows.
fn kl_normal(mu: Tensor<2>, logvar: Tensor<2>) -> Tensor<1> {
    kl_normal_rows(mu, logvar).mean().reshape([1])
}

impl Network for SamsVae {
    type Config = SamsVaeConfig;
    const NAME: &'static str = "sams-vae";
    const ALIASES: &'static [&'static str] = &["sams_vae"];
    const SUMMARY: &'static str = "sparse additive mechanism shift VAE";
    const SEARCH_SPACE: Option<(&'static str, &'static str)> =
        Some(("sams_vae", include_str!("../../presets/hpo/sams_vae.yaml")));
    const FEEDING: Feeding = Feeding::SingleCell;
    const EPOCH_MEAN: EpochMean = EpochMean::PerCell;

    super::network::optim_from_fields!();

    fn init<R: Rng>(
        c: &SamsVaeConfig,
        dims: &Dims,
        rng: &mut R,
        device: &Device,
    ) -> Result<Self, ModelError> {
        check_dropout(c.dropout)?;
        if c.latent_dim == 0 || c.hidden_dim_x == 0 || c.hidden_dim_cond == 0 {
            return Err(ModelError::Config(
                "model.latent_dim, model.hidden_dim_x and model.hidden_dim_cond must be positive"
                    .into(),
            ));
        }
        if !(0.0..=1.0).contains(&c.mask_prior_probability) {
            return Err(ModelError::Config(format!(
                "model.mask_prior_probability must be in [0, 1], got {}",
                c.mask_prior_probability
            )));
        }
        let (genes, perts, covs) = (dims.genes, dims.perturbations, dims.covariates);
        let l = c.latent_dim;
        let (hx, hc) = (c.hidden_dim_x, c.hidden_dim_cond);
        let encoder_m = c
            .sparse_additive_mechanism
            .then(|| Mlp::new(perts, hc, l, c.n_layers_encoder_e, 0.0, rng, device));
        let encoder_e = if c.sparse_additive_mechanism && !c.mean_field_encoding {
            GaussianEncoder::new(
                l,
                Some((perts, hc)),
                hc,
                l,
                c.n_layers_encoder_e,
                rng,
                device,
            )
        } else {
            // The reference's BaseEncoder(P, hidden = P, …).
            GaussianEncoder::new(
                perts,
                None,
                perts.max(1),
                l,
                c.n_layers_encoder_e,
                rng,
                device,
            )
        };
        let x_in = genes + if c.inject_covariates_encoder { covs } else { 0 };
        let encoder_x = if c.mean_field_encoding {
            GaussianEncoder::new(x_in, None, hx, l, c.n_layers_encoder_x, rng, device)
        } else {
            GaussianEncoder::new(
                x_in,
                Some((l, hc)),
                hx,
                l,
                c.n_layers_encoder_x,
                rng,
                device,
            )
        };
        let d_in = l + if c.inject_covariates_decoder { covs } else { 0 };
        Ok(SamsVae {
            encoder_m,
            encoder_e,
            encoder_x,
            decoder: Mlp::new(d_in, hx, genes, c.n_layers_decoder, c.dropout, rng, device),
            inject_covariates_encoder: c.inject_covariates_encoder,
            inject_covariates_decoder: c.inject_covariates_decoder,
            mean_field: c.mean_field_encoding,
            mask_prior: c.mask_prior_probability,
            softplus_output: c.softplus_output,
        })
    }

    /// Counterfactual cells: the decoded sample with the control cells as input (no dropout).
    fn forward(&self, x: &Inputs, _: Option<&mut ChaCha8Rng>, noise: &mut ChaCha8Rng) -> Tensor<2> {
        let none: Option<&mut ChaCha8Rng> = None;
        self.run(x, none, noise).0
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

impl SamsVae {
    /// (decoded cells, KL terms summed).
    fn run<R: Rng, N: Rng>(
        &self,
        x: &Inputs,
        rng: Option<&mut R>,
        noise: &mut N,
    ) -> (Tensor<2>, Tensor<1>) {
        let p = x.perturbations.clone();
        let mut kl = Tensor::<1>::zeros([1], &p.device());
        let z_p = match &self.encoder_m {
            Some(enc_m) => {
                let none: Option<&mut N> = None;
                let q = sigmoid(enc_m.forward(p.clone(), none));
                let [n, l] = q.dims();
                let u: Vec<f32> = (0..n * l).map(|_| noise.random::<f32>()).collect();
                let u = Tensor::<2>::from_data(TensorData::new(u, [n, l]), &q.device());
                let sample = q.clone().detach().greater(u).float();
                let m = sample - q.clone().detach() + q.clone();
                // KL(Bern(q) ‖ Bern(prior)), summed over dimensions.
                let eps = 1e-7;
                let pr = self.mask_prior.clamp(eps, 1.0 - eps);
                let qc = q.clamp(eps, 1.0 - eps);
                let kl_m = (qc.clone() * (qc.clone().log().sub_scalar(pr.ln()))
                    + qc.clone().neg().add_scalar(1.0)
                        * (qc.neg().add_scalar(1.0).log().sub_scalar((1.0 - pr).ln())))
                .sum_dim(1)
                .mean()
                .reshape([1]);
                kl = kl + kl_m;
                let (e, mu, logvar) = if self.mean_field {
                    self.encoder_e.forward(p.clone(), None, noise)
                } else {
                    self.encoder_e.forward(m.clone(), Some(p.clone()), noise)
                };
                kl = kl + kl_normal(mu, logvar);
                m * e
            }
            None => {
                let (e, mu, logvar) = self.encoder_e.forward(p.clone(), None, noise);
                kl = kl + kl_normal(mu, logvar);
                e
            }
        };
        let x_in = if self.inject_covariates_encoder {
            concat(x.controls.clone(), x.covariates.clone())
        } else {
            x.controls.clone()
        };
        let cond = (!self.mean_field).then(|| z_p.clone());
        let (z_basal, mu, logvar) = self.encoder_x.forward(x_in, cond, noise);
        kl = kl + kl_normal(mu, logvar);
        let y = decode(
            &self.decoder,
            z_basal + z_p,
            x,
            self.inject_covariates_decoder,
            self.softplus_output,
            rng,
        );
        (y, kl)
    }

    /// The loss (L1 summed over genes, mean over cells, plus the KL terms).
    pub fn loss<R: Rng, N: Rng>(
        &self,
        x: &Inputs,
        target: Tensor<2>,
        rng: Option<&mut R>,
        noise: &mut N,
    ) -> Tensor<1> {
        let (y, kl) = self.run(x, rng, noise);
        (y - target).abs().sum_dim(1).mean().reshape([1]) + kl
    }
}
