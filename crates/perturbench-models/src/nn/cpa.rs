//! `cpa` (spec §3.7): a variational encoder of the cell gives the basal latent `z_basal`; the
//! perturbation embedding `MLP(p)` and one embedding per multi-valued covariate are added;
//! a Gaussian decoder reconstructs the cell. Adversarial classifiers try to read the
//! perturbation and covariates from `z_basal`. By default the newer reference's corrected
//! schedule: two Adam optimisers, warm-up epochs of reconstruction + KL only, then batch `i`
//! updates the generator (`recon + kl_weight·KL − adv_weight·adv`) when `i % adv_steps == 0` and
//! the adversaries (`adv_weight·adv + penalty_weight·penalty`, on a detached `z_basal`)
//! otherwise. `legacy_objective` reproduces the reference version's single optimiser that
//! *adds* the adversaries' cross-entropy on every batch and their gradient penalty on the
//! batches with `i % adv_steps ≠ 0` (as its `CPA.loss` does).

use super::inputs::Inputs;
use super::layers::{dense, dropout, softplus, standard_normal, Mlp};
use super::network::{check_dropout, gradients_of, Dims, Network, Update};
use crate::batches::Feeding;
use crate::ModelError;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::optim::GradientsParams;
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Device, Gradients, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// `cpa` (§3.7): a variational autoencoder with perturbation and covariate embeddings added in
/// the latent space, and adversarial classifiers that remove them from the basal latent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CpaConfig {
    /// Latent dimension.
    pub n_latent: usize,
    /// Hidden width of encoder, decoder and embeddings.
    pub hidden_dim: usize,
    /// Extra hidden blocks of encoder and decoder (n + 1 blocks in all).
    pub n_layers_encoder: usize,
    /// Hidden blocks of the perturbation embedding MLP.
    pub n_layers_pert_emb: usize,
    /// Hidden blocks of each covariate embedding MLP.
    pub n_layers_covar_emb: usize,
    /// Hidden blocks of the adversarial classifiers.
    pub adv_classifier_n_layers: usize,
    /// Hidden width of the adversarial classifiers.
    pub adv_classifier_hidden_dim: usize,
    /// Dropout probability.
    pub dropout: f64,
    /// Weight of the KL term.
    pub kl_weight: f64,
    /// Weight of the adversarial classification loss.
    pub adv_weight: f64,
    /// Weight of the adversaries' gradient penalty.
    pub penalty_weight: f64,
    /// Batches per cycle: batch `i` with `i % adv_steps == 0` updates the generator, the others
    /// the adversaries (legacy: the adversarial terms are added on the others).
    pub adv_steps: usize,
    /// Adversarial training at all (`false`: the no-adversary ablation).
    pub use_adversary: bool,
    /// Covariate embeddings and covariate adversaries.
    pub use_covariates: bool,
    /// Epochs (0-based epoch ≤ this) optimising only reconstruction + KL (corrected objective).
    pub n_warmup_epochs: usize,
    /// The reference version's single-optimiser objective (adversarial terms *added*).
    pub legacy_objective: bool,
    /// Softplus on the decoded mean.
    pub softplus_output: bool,
    /// Learning rate of Adam (both optimisers).
    pub lr: f64,
    /// L2 weight decay inside Adam.
    pub wd: f64,
    /// ReduceLROnPlateau factor.
    pub lr_scheduler_factor: f64,
    /// ReduceLROnPlateau patience (epochs).
    pub lr_scheduler_patience: usize,
}

impl Default for CpaConfig {
    fn default() -> Self {
        CpaConfig {
            n_latent: 128,
            hidden_dim: 256,
            n_layers_encoder: 3,
            n_layers_pert_emb: 2,
            n_layers_covar_emb: 1,
            adv_classifier_n_layers: 2,
            adv_classifier_hidden_dim: 128,
            dropout: 0.1,
            kl_weight: 1.0,
            adv_weight: 1.0,
            penalty_weight: 10.0,
            adv_steps: 2,
            use_adversary: true,
            use_covariates: true,
            n_warmup_epochs: 5,
            legacy_objective: false,
            softplus_output: false,
            lr: 1e-5,
            wd: 1e-8,
            lr_scheduler_factor: 0.2,
            lr_scheduler_patience: 15,
        }
    }
}

/// `Linear → LayerNorm (affine) → ReLU → Dropout` blocks.
#[derive(Module, Debug)]
pub struct AffineBlocks {
    /// Dense layers.
    pub layers: Vec<Linear>,
    /// Their layer norms.
    pub norms: Vec<LayerNorm>,
    /// Dropout probability.
    pub dropout: f64,
}

impl AffineBlocks {
    fn new<R: Rng>(
        input: usize,
        hidden: usize,
        blocks: usize,
        p: f64,
        rng: &mut R,
        device: &Device,
    ) -> Self {
        let mut layers = Vec::new();
        let mut norms = Vec::new();
        let mut w = input;
        for _ in 0..blocks {
            layers.push(dense(w, hidden, rng, device));
            norms.push(LayerNormConfig::new(hidden).init(device));
            w = hidden;
        }
        AffineBlocks {
            layers,
            norms,
            dropout: p,
        }
    }

    fn forward<R: Rng>(&self, x: Tensor<2>, mut rng: Option<&mut R>) -> Tensor<2> {
        let mut h = x;
        for (l, n) in self.layers.iter().zip(&self.norms) {
            h = dropout(
                relu(n.forward(l.forward(h))),
                self.dropout,
                rng.as_deref_mut(),
            );
        }
        h
    }
}

/// Everything the generator optimiser updates.
#[derive(Module, Debug)]
pub struct CpaGenerator {
    /// Encoder body.
    pub encoder: AffineBlocks,
    /// Posterior mean head.
    pub mu: Linear,
    /// Posterior log-variance head.
    pub logvar: Linear,
    /// Perturbation embedding.
    pub pert_net: Mlp,
    /// One embedding per multi-valued covariate.
    pub cov_nets: Vec<Mlp>,
    /// Decoder body.
    pub decoder: AffineBlocks,
    /// Decoded mean head.
    pub mean: Linear,
    /// Decoded log-variance head.
    pub dec_logvar: Linear,
}

/// The adversarial classifiers.
#[derive(Module, Debug)]
pub struct CpaAdversary {
    /// Perturbation classifier.
    pub pert_cls: Mlp,
    /// One classifier per multi-valued covariate.
    pub cov_cls: Vec<Mlp>,
}

/// The fitted weights and the objective's settings.
#[derive(Module, Debug)]
pub struct Cpa {
    /// Generative part.
    pub generator: CpaGenerator,
    /// Adversaries.
    pub adversary: CpaAdversary,
    /// Column offsets of the covariates used (in the concatenated one-hot).
    pub cov_offsets: Vec<usize>,
    /// Their level counts.
    pub cov_lens: Vec<usize>,
    /// KL weight.
    pub kl_weight: f64,
    /// Adversarial weight.
    pub adv_weight: f64,
    /// Penalty weight.
    pub penalty_weight: f64,
    /// Batches per generator update.
    pub adv_steps: usize,
    /// Adversarial training.
    pub use_adversary: bool,
    /// Warm-up epochs.
    pub n_warmup_epochs: usize,
    /// Reference version's objective.
    pub legacy_objective: bool,
    /// Softplus on the mean.
    pub softplus_output: bool,
}

fn soft_ce(logits: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
    (target * log_softmax(logits, 1))
        .sum_dim(1)
        .mean()
        .neg()
        .reshape([1])
}

impl Network for Cpa {
    type Config = CpaConfig;
    const NAME: &'static str = "cpa";
    const ALIASES: &'static [&'static str] = &["cpa-no-adv", "cpa_no_adv"];
    const SUMMARY: &'static str =
        "compositional perturbation autoencoder (cpa-no-adv: without its adversary)";
    const SEARCH_SPACE: Option<(&'static str, &'static str)> =
        Some(("cpa", include_str!("../../presets/hpo/cpa.yaml")));
    const FEEDING: Feeding = Feeding::SingleCell;

    /// The defaults; `cpa-no-adv` is cpa without its adversary.
    fn defaults(name: &str) -> CpaConfig {
        match name {
            "cpa-no-adv" | "cpa_no_adv" => CpaConfig {
                use_adversary: false,
                ..CpaConfig::default()
            },
            _ => CpaConfig::default(),
        }
    }

    super::network::optim_from_fields!();

    fn init<R: Rng>(
        c: &CpaConfig,
        dims: &Dims,
        rng: &mut R,
        device: &Device,
    ) -> Result<Self, ModelError> {
        check_dropout(c.dropout)?;
        if c.n_latent == 0 || c.hidden_dim == 0 || c.adv_classifier_hidden_dim == 0 {
            return Err(ModelError::Config(
                "model.n_latent, model.hidden_dim and model.adv_classifier_hidden_dim must be positive".into(),
            ));
        }
        let (genes, perts) = (dims.genes, dims.perturbations);
        let (h, l, p) = (c.hidden_dim, c.n_latent, c.dropout);
        let blocks = c.n_layers_encoder + 1;
        let mut cov_offsets = Vec::new();
        let mut cov_lens = Vec::new();
        let mut off = 0;
        for &n in &dims.covariate_levels {
            if c.use_covariates && n > 1 {
                cov_offsets.push(off);
                cov_lens.push(n);
            }
            off += n;
        }
        let encoder = AffineBlocks::new(genes, h, blocks, p, rng, device);
        let mu = dense(h, l, rng, device);
        let logvar = dense(h, l, rng, device);
        let pert_net = Mlp::new(perts, h, l, c.n_layers_pert_emb, p, rng, device);
        let cov_nets = cov_lens
            .iter()
            .map(|&n| Mlp::new(n, h, l, c.n_layers_covar_emb, p, rng, device))
            .collect();
        let decoder = AffineBlocks::new(l, h, blocks, p, rng, device);
        let mean = dense(h, genes, rng, device);
        let dec_logvar = dense(h, genes, rng, device);
        let (ah, an) = (c.adv_classifier_hidden_dim, c.adv_classifier_n_layers);
        let pert_cls = Mlp::new(l, ah, perts, an, p, rng, device);
        let cov_cls = cov_lens
            .iter()
            .map(|&n| Mlp::new(l, ah, n, an, p, rng, device))
            .collect();
        Ok(Cpa {
            generator: CpaGenerator {
                encoder,
                mu,
                logvar,
                pert_net,
                cov_nets,
                decoder,
                mean,
                dec_logvar,
            },
            adversary: CpaAdversary { pert_cls, cov_cls },
            cov_offsets,
            cov_lens,
            kl_weight: c.kl_weight,
            adv_weight: c.adv_weight,
            penalty_weight: c.penalty_weight,
            adv_steps: c.adv_steps.max(1),
            use_adversary: c.use_adversary,
            n_warmup_epochs: c.n_warmup_epochs,
            legacy_objective: c.legacy_objective,
            softplus_output: c.softplus_output,
        })
    }

    /// The objective of the schedule: see the module documentation.
    fn training_loss(
        &self,
        x: &Inputs,
        target: Tensor<2>,
        epoch: usize,
        batch: usize,
        mut rng: Option<&mut ChaCha8Rng>,
        noise: &mut ChaCha8Rng,
    ) -> (Update, Tensor<1>) {
        let (nll, kl, z) = self.vae(x, target, rng.as_deref_mut(), noise);
        let base = nll + kl.mul_scalar(self.kl_weight);
        if !self.use_adversary {
            return (Update::All, base);
        }
        let adversary_batch = batch % self.adv_steps != 0;
        if self.legacy_objective {
            // The reference version adds the adversaries' cross-entropy on every batch and
            // their gradient penalty only on batches with `batch_idx % adv_steps != 0`.
            let (adv, pen) = self.adversarial(z, x, rng, adversary_batch);
            let loss = base + adv.mul_scalar(self.adv_weight);
            if adversary_batch {
                return (Update::All, loss + pen.mul_scalar(self.penalty_weight));
            }
            return (Update::All, loss);
        }
        if epoch <= self.n_warmup_epochs {
            return (Update::Generator, base);
        }
        if adversary_batch {
            let (adv, pen) = self.adversarial(z.detach(), x, rng, true);
            (
                Update::Adversary,
                adv.mul_scalar(self.adv_weight) + pen.mul_scalar(self.penalty_weight),
            )
        } else {
            let (adv, _) = self.adversarial(z, x, rng, false);
            (Update::Generator, base - adv.mul_scalar(self.adv_weight))
        }
    }

    /// Reconstruction and KL (plus, with the reference version's objective, the adversaries'
    /// cross-entropy), no penalty.
    fn validation_loss(&self, x: &Inputs, target: Tensor<2>, noise: &mut ChaCha8Rng) -> Tensor<1> {
        let none: Option<&mut ChaCha8Rng> = None;
        let (nll, kl, z) = self.vae(x, target, none, noise);
        let base = nll + kl.mul_scalar(self.kl_weight);
        if self.legacy_objective && self.use_adversary {
            let none: Option<&mut ChaCha8Rng> = None;
            let (adv, _) = self.adversarial(z, x, none, false);
            base + adv.mul_scalar(self.adv_weight)
        } else {
            base
        }
    }

    /// Counterfactual cells: encode the control cells, add the target embeddings, decode the
    /// mean (no dropout).
    fn forward(&self, x: &Inputs, _: Option<&mut ChaCha8Rng>, noise: &mut ChaCha8Rng) -> Tensor<2> {
        let none: Option<&mut ChaCha8Rng> = None;
        let (z, _, _) = self.encode(x.controls.clone(), none, noise);
        let none: Option<&mut ChaCha8Rng> = None;
        let e = self.embeddings(x, none);
        let none: Option<&mut ChaCha8Rng> = None;
        self.decode(z + e, none).0
    }

    /// The generator's, the adversaries' or every parameter's gradients.
    fn gradients(
        &self,
        update: Update,
        mut grads: Gradients,
        clip: Option<f64>,
    ) -> GradientsParams {
        match update {
            Update::Generator => gradients_of(&self.generator, &mut grads, clip),
            Update::Adversary => gradients_of(&self.adversary, &mut grads, clip),
            Update::All => gradients_of(self, &mut grads, clip),
        }
    }
}

impl Cpa {
    fn covariate(&self, x: &Inputs, k: usize) -> Tensor<2> {
        let n = x.covariates.dims()[0];
        let (o, l) = (self.cov_offsets[k], self.cov_lens[k]);
        x.covariates.clone().slice([0..n, o..o + l])
    }

    /// (z_basal sampled, posterior mean, posterior log-variance).
    fn encode<R: Rng, N: Rng>(
        &self,
        cells: Tensor<2>,
        rng: Option<&mut R>,
        noise: &mut N,
    ) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
        let g = &self.generator;
        let h = g.encoder.forward(cells, rng);
        let mu = g.mu.forward(h.clone());
        let logvar = g.logvar.forward(h);
        let [n, l] = mu.dims();
        let eps = standard_normal(n, l, noise, &mu.device());
        let z = mu.clone() + eps * logvar.clone().mul_scalar(0.5).exp();
        (z, mu, logvar)
    }

    fn embeddings<R: Rng>(&self, x: &Inputs, mut rng: Option<&mut R>) -> Tensor<2> {
        let g = &self.generator;
        let mut e = g
            .pert_net
            .forward(x.perturbations.clone(), rng.as_deref_mut());
        for (k, net) in g.cov_nets.iter().enumerate() {
            e = e + net.forward(self.covariate(x, k), rng.as_deref_mut());
        }
        e
    }

    /// (decoded mean, decoded log-variance).
    fn decode<R: Rng>(&self, z: Tensor<2>, rng: Option<&mut R>) -> (Tensor<2>, Tensor<2>) {
        let g = &self.generator;
        let h = g.decoder.forward(z, rng);
        let mean = g.mean.forward(h.clone());
        let mean = if self.softplus_output {
            softplus(mean)
        } else {
            mean
        };
        (mean, g.dec_logvar.forward(h))
    }

    /// (adversarial classification loss, gradient penalty) on `z`.
    fn adversarial<R: Rng>(
        &self,
        z: Tensor<2>,
        x: &Inputs,
        mut rng: Option<&mut R>,
        penalty: bool,
    ) -> (Tensor<1>, Tensor<1>) {
        let a = &self.adversary;
        let device = z.device();
        let mut loss = Tensor::<1>::zeros([1], &device);
        let mut pen = Tensor::<1>::zeros([1], &device);
        let mut one = |cls: &Mlp, target: Tensor<2>, rng: Option<&mut R>| {
            if penalty {
                let (logits, g) = cls.forward_with_input_grad(z.clone(), rng);
                loss = loss.clone() + soft_ce(logits, target);
                pen = pen.clone() + g.square().mean().reshape([1]);
            } else {
                let logits = cls.forward(z.clone(), rng);
                loss = loss.clone() + soft_ce(logits, target);
            }
        };
        one(&a.pert_cls, x.perturbations.clone(), rng.as_deref_mut());
        for (k, cls) in a.cov_cls.iter().enumerate() {
            one(cls, self.covariate(x, k), rng.as_deref_mut());
        }
        (loss, pen)
    }

    /// (reconstruction NLL, KL, z_basal) of the cells `x.controls` (the cells themselves).
    fn vae<R: Rng, N: Rng>(
        &self,
        x: &Inputs,
        target: Tensor<2>,
        mut rng: Option<&mut R>,
        noise: &mut N,
    ) -> (Tensor<1>, Tensor<1>, Tensor<2>) {
        let (z, mu, logvar) = self.encode(x.controls.clone(), rng.as_deref_mut(), noise);
        let e = self.embeddings(x, rng.as_deref_mut());
        let (mean, dlogvar) = self.decode(z.clone() + e, rng);
        let nll = ((target - mean).square() * dlogvar.clone().neg().exp() + dlogvar)
            .add_scalar((2.0 * std::f64::consts::PI).ln())
            .mul_scalar(0.5)
            .sum_dim(1)
            .mean()
            .reshape([1]);
        let kl = (logvar.clone().exp() + mu.square() - logvar)
            .sub_scalar(1.0)
            .mul_scalar(0.5)
            .sum_dim(1)
            .mean()
            .reshape([1]);
        (nll, kl, z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::inputs::matrix;
    use rand::SeedableRng;

    fn scalar(t: Tensor<1>) -> f64 {
        t.into_scalar::<f32>() as f64
    }

    /// The reference version's objective (`legacy_objective`, its `CPA.loss`): reconstruction,
    /// KL and the adversaries' cross-entropy on every batch, plus the gradient penalty only on
    /// batches with `i % adv_steps ≠ 0`, all in one update.
    #[test]
    fn legacy_objective_adds_cross_entropy_always_and_penalty_on_adversary_batches() {
        let device = Device::flex();
        let cfg = CpaConfig {
            hidden_dim: 8,
            n_latent: 3,
            adv_classifier_hidden_dim: 6,
            dropout: 0.0,
            legacy_objective: true,
            ..CpaConfig::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let dims = Dims {
            genes: 4,
            perturbations: 3,
            covariates: 2,
            covariate_levels: vec![2],
            input_width: 4,
        };
        let model = Cpa::init(&cfg, &dims, &mut rng, &device).unwrap();
        let n = 5;
        let cells: Vec<f32> = (0..n * 4)
            .map(|i| ((i as f32) * 0.37).sin().abs())
            .collect();
        let mut perts = vec![0f32; n * 3];
        let mut covs = vec![0f32; n * 2];
        for i in 0..n {
            if i < 4 {
                perts[i * 3 + i % 3] = 1.0;
            }
            covs[i * 2 + i % 2] = 1.0;
        }
        let target = matrix(cells, n, 4, &device);
        let x = Inputs {
            controls: target.clone(),
            perturbations: matrix(perts, n, 3, &device),
            covariates: matrix(covs, n, 2, &device),
        };
        let loss = |batch: usize| {
            let mut noise = ChaCha8Rng::seed_from_u64(9);
            let none: Option<&mut ChaCha8Rng> = None;
            let (update, l) = model.training_loss(&x, target.clone(), 0, batch, none, &mut noise);
            assert_eq!(update, Update::All);
            scalar(l)
        };
        let mut noise = ChaCha8Rng::seed_from_u64(9);
        let (nll, kl, z) = model.vae::<ChaCha8Rng, _>(&x, target.clone(), None, &mut noise);
        let (ce, pen) = model.adversarial::<ChaCha8Rng>(z, &x, None, true);
        let (ce, pen) = (scalar(ce), scalar(pen));
        let base = scalar(nll) + cfg.kl_weight * scalar(kl);
        assert!(ce > 0.0 && pen > 0.0, "cross-entropy {ce}, penalty {pen}");
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-4 * (1.0 + b.abs());
        let generator_batch = base + cfg.adv_weight * ce;
        assert!(
            close(loss(0), generator_batch),
            "{} vs {generator_batch}",
            loss(0)
        );
        assert!(
            close(loss(2), generator_batch),
            "{} vs {generator_batch}",
            loss(2)
        );
        let adversary_batch = generator_batch + cfg.penalty_weight * pen;
        assert!(
            close(loss(1), adversary_batch),
            "{} vs {adversary_batch}",
            loss(1)
        );
    }
}
