//! `latent-additive` (spec §3.5): `z = gene_encoder([c ; covs]) + pert_encoder(p)` (optionally
//! masked by a learned Bernoulli mask), `ŷ = decoder([z ; covs])`.

use super::inputs::{concat, Inputs};
use super::layers::{softplus, Mlp};
use super::network::{check_dropout, Dims, Network};
use crate::ModelError;
use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// `latent-additive` (§3.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatentAdditiveConfig {
    /// Hidden blocks per MLP.
    pub n_layers: usize,
    /// Hidden width.
    pub encoder_width: usize,
    /// Latent dimension.
    pub latent_dim: usize,
    /// Dropout probability (0 = none).
    pub dropout: f64,
    /// Softplus on the output.
    pub softplus_output: bool,
    /// Covariates into the gene encoder.
    pub inject_covariates_encoder: bool,
    /// Covariates into the decoder.
    pub inject_covariates_decoder: bool,
    /// Multiply the perturbation latent by a learned Bernoulli mask.
    pub sparse_additive_mechanism: bool,
    /// obsm key of input embeddings instead of expression (none: expression).
    pub embedding_key: Option<String>,
    /// Learning rate of Adam.
    pub lr: f64,
    /// L2 weight decay inside Adam.
    pub wd: f64,
    /// ReduceLROnPlateau factor.
    pub lr_scheduler_factor: f64,
    /// ReduceLROnPlateau patience (epochs).
    pub lr_scheduler_patience: usize,
}

impl Default for LatentAdditiveConfig {
    fn default() -> Self {
        LatentAdditiveConfig {
            n_layers: 3,
            encoder_width: 3072,
            latent_dim: 160,
            dropout: 0.1,
            softplus_output: true,
            inject_covariates_encoder: true,
            inject_covariates_decoder: true,
            sparse_additive_mechanism: false,
            embedding_key: None,
            lr: 6.72106935566634e-05,
            wd: 7.90200208844498e-09,
            lr_scheduler_factor: 0.2,
            lr_scheduler_patience: 15,
        }
    }
}

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

impl Network for LatentAdditive {
    type Config = LatentAdditiveConfig;
    const NAME: &'static str = "latent-additive";
    const ALIASES: &'static [&'static str] = &["latent_additive"];
    const SUMMARY: &'static str = "encoder, additive perturbation effects in latent space, decoder";
    const SEARCH_SPACE: Option<(&'static str, &'static str)> = Some((
        "latent_additive",
        include_str!("../../presets/hpo/latent_additive.yaml"),
    ));

    super::network::optim_from_fields!();

    fn embedding_key(c: &LatentAdditiveConfig) -> Option<&str> {
        c.embedding_key.as_deref()
    }

    /// Fresh weights; the gene encoder reads `dims.input_width` (genes, or an embedding's
    /// width).
    fn init<R: Rng>(
        c: &LatentAdditiveConfig,
        dims: &Dims,
        rng: &mut R,
        device: &Device,
    ) -> Result<Self, ModelError> {
        if c.latent_dim == 0 || c.encoder_width == 0 {
            return Err(ModelError::Config(
                "model.latent_dim and model.encoder_width must be positive".into(),
            ));
        }
        check_dropout(c.dropout)?;
        let (perts, covs) = (dims.perturbations, dims.covariates);
        let enc_in = dims.input_width + if c.inject_covariates_encoder { covs } else { 0 };
        let dec_in = c.latent_dim + if c.inject_covariates_decoder { covs } else { 0 };
        let (w, l, n, p) = (c.encoder_width, c.latent_dim, c.n_layers, c.dropout);
        let gene_encoder = Mlp::new(enc_in, w, l, n, p, rng, device);
        let pert_encoder = Mlp::new(perts, w, l, n, p, rng, device);
        let mask = c
            .sparse_additive_mechanism
            .then(|| Mlp::new(perts, w, l, n, p, rng, device));
        let decoder = Mlp::new(dec_in, w, dims.genes, n, p, rng, device);
        Ok(LatentAdditive {
            gene_encoder,
            pert_encoder,
            mask,
            decoder,
            inject_covariates_encoder: c.inject_covariates_encoder,
            inject_covariates_decoder: c.inject_covariates_decoder,
            softplus_output: c.softplus_output,
        })
    }

    /// Predicted cells. The mask is sampled with a straight-through estimator
    /// (`bernoulli(q) − q.detach() + q`), its uniforms drawn from `noise`.
    fn forward(
        &self,
        x: &Inputs,
        mut rng: Option<&mut ChaCha8Rng>,
        noise: &mut ChaCha8Rng,
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
            let u: Vec<f32> = (0..n * m).map(|_| noise.random::<f32>()).collect();
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
