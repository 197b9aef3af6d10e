//! Model configurations: one serde struct per model whose defaults are the reference's model
//! YAML defaults (spec §3.4–3.9), tagged by the model name (`model=latent-additive`).
//! Unknown keys are errors.

use serde::{Deserialize, Serialize};

/// Optimiser settings shared by the trainable models (Adam with L2 weight decay, as torch's
/// `Adam(weight_decay=…)`, and ReduceLROnPlateau on the validation loss).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Optim {
    /// Learning rate.
    pub lr: f64,
    /// L2 weight decay inside Adam.
    pub wd: f64,
    /// ReduceLROnPlateau factor.
    pub lr_scheduler_factor: f64,
    /// ReduceLROnPlateau patience (epochs).
    pub lr_scheduler_patience: usize,
}

impl Default for Optim {
    fn default() -> Self {
        Optim {
            lr: 1e-3,
            wd: 1e-5,
            lr_scheduler_factor: 0.2,
            lr_scheduler_patience: 15,
        }
    }
}

/// `linear-additive` (§3.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinearAdditiveConfig {
    /// Add the covariate one-hots to the input.
    pub inject_covariates: bool,
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

impl Default for LinearAdditiveConfig {
    fn default() -> Self {
        LinearAdditiveConfig {
            inject_covariates: true,
            softplus_output: true,
            lr: 1e-3,
            wd: 1e-4,
            lr_scheduler_factor: 0.2,
            lr_scheduler_patience: 15,
        }
    }
}

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

/// `decoder-only` (§3.6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecoderOnlyConfig {
    /// Hidden blocks.
    pub n_layers: usize,
    /// Hidden width.
    pub encoder_width: usize,
    /// Softplus on the output.
    pub softplus_output: bool,
    /// Covariates as input.
    pub use_covariates: bool,
    /// Perturbations as input.
    pub use_perturbations: bool,
    /// Learning rate of Adam.
    pub lr: f64,
    /// L2 weight decay inside Adam.
    pub wd: f64,
    /// ReduceLROnPlateau factor.
    pub lr_scheduler_factor: f64,
    /// ReduceLROnPlateau patience (epochs).
    pub lr_scheduler_patience: usize,
}

impl Default for DecoderOnlyConfig {
    fn default() -> Self {
        DecoderOnlyConfig {
            n_layers: 3,
            encoder_width: 3072,
            softplus_output: true,
            use_covariates: true,
            use_perturbations: true,
            lr: 6.72e-05,
            wd: 7.90e-09,
            lr_scheduler_factor: 0.2,
            lr_scheduler_patience: 15,
        }
    }
}

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

/// Every model and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ModelConfig {
    /// Mean of the singles' means (§3.3).
    Average,
    /// Mean control cell of the covariates.
    ControlMean,
    /// Mean perturbed training cell of the covariates.
    TrainMean,
    /// Control cell plus the singles' shifts.
    Additive,
    /// §3.4.
    LinearAdditive(LinearAdditiveConfig),
    /// §3.5.
    LatentAdditive(LatentAdditiveConfig),
    /// §3.6.
    DecoderOnly(DecoderOnlyConfig),
    /// §3.7.
    Cpa(CpaConfig),
    /// §3.8.
    SamsVae(SamsVaeConfig),
    /// §3.8 [newer].
    SamsVaeModified(SamsVaeModifiedConfig),
    /// §3.9.
    Biolord(BiolordConfig),
}

impl ModelConfig {
    /// The model's name.
    pub fn name(&self) -> &'static str {
        match self {
            ModelConfig::Average => "average",
            ModelConfig::ControlMean => "control-mean",
            ModelConfig::TrainMean => "train-mean",
            ModelConfig::Additive => "additive",
            ModelConfig::LinearAdditive(_) => "linear-additive",
            ModelConfig::LatentAdditive(_) => "latent-additive",
            ModelConfig::DecoderOnly(_) => "decoder-only",
            ModelConfig::Cpa(_) => "cpa",
            ModelConfig::SamsVae(_) => "sams-vae",
            ModelConfig::SamsVaeModified(_) => "sams-vae-modified",
            ModelConfig::Biolord(_) => "biolord",
        }
    }

    /// The optimiser settings of a trainable model (none for the baselines).
    pub fn optim(&self) -> Option<Optim> {
        let (lr, wd, lr_scheduler_factor, lr_scheduler_patience) = match self {
            ModelConfig::LinearAdditive(c) => {
                (c.lr, c.wd, c.lr_scheduler_factor, c.lr_scheduler_patience)
            }
            ModelConfig::LatentAdditive(c) => {
                (c.lr, c.wd, c.lr_scheduler_factor, c.lr_scheduler_patience)
            }
            ModelConfig::DecoderOnly(c) => {
                (c.lr, c.wd, c.lr_scheduler_factor, c.lr_scheduler_patience)
            }
            ModelConfig::Cpa(c) => (c.lr, c.wd, c.lr_scheduler_factor, c.lr_scheduler_patience),
            ModelConfig::SamsVae(c) => (c.lr, c.wd, c.lr_scheduler_factor, c.lr_scheduler_patience),
            ModelConfig::SamsVaeModified(c) => {
                (c.lr, c.wd, c.lr_scheduler_factor, c.lr_scheduler_patience)
            }
            ModelConfig::Biolord(c) => (c.lr, c.wd, c.lr_scheduler_factor, c.lr_scheduler_patience),
            _ => return None,
        };
        Some(Optim {
            lr,
            wd,
            lr_scheduler_factor,
            lr_scheduler_patience,
        })
    }

    /// The defaults of the model called `name`.
    pub fn defaults(name: &str) -> Option<ModelConfig> {
        Some(match name {
            "average" => ModelConfig::Average,
            "control-mean" => ModelConfig::ControlMean,
            "train-mean" => ModelConfig::TrainMean,
            "additive" => ModelConfig::Additive,
            "linear-additive" | "linear_additive" => {
                ModelConfig::LinearAdditive(LinearAdditiveConfig::default())
            }
            "latent-additive" | "latent_additive" => {
                ModelConfig::LatentAdditive(LatentAdditiveConfig::default())
            }
            "decoder-only" | "decoder_only" => {
                ModelConfig::DecoderOnly(DecoderOnlyConfig::default())
            }
            "cpa" => ModelConfig::Cpa(CpaConfig::default()),
            "cpa-no-adv" | "cpa_no_adv" => ModelConfig::Cpa(CpaConfig {
                use_adversary: false,
                ..CpaConfig::default()
            }),
            "sams-vae" | "sams_vae" => ModelConfig::SamsVae(SamsVaeConfig::default()),
            "sams-vae-modified" | "sams_vae_modified" => {
                ModelConfig::SamsVaeModified(SamsVaeModifiedConfig::default())
            }
            "biolord" => ModelConfig::Biolord(BiolordConfig::default()),
            _ => return None,
        })
    }

    /// How training cells are served: paired with controls, or every cell on its own.
    pub fn feeding(&self) -> crate::Feeding {
        match self {
            ModelConfig::Cpa(_)
            | ModelConfig::SamsVae(_)
            | ModelConfig::SamsVaeModified(_)
            | ModelConfig::Biolord(_) => crate::Feeding::SingleCell,
            _ => crate::Feeding::Paired,
        }
    }

    /// Names of all models.
    pub const NAMES: [&'static str; 11] = [
        "average",
        "control-mean",
        "train-mean",
        "additive",
        "linear-additive",
        "latent-additive",
        "decoder-only",
        "cpa",
        "sams-vae",
        "sams-vae-modified",
        "biolord",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_unknown_keys_fail() {
        for name in ModelConfig::NAMES {
            let c = ModelConfig::defaults(name).unwrap();
            assert_eq!(c.name(), name);
            let json = serde_json::to_string(&c).unwrap();
            let back: ModelConfig = serde_json::from_str(&json).unwrap();
            assert_eq!(back, c);
        }
        let bad = r#"{"name": "latent-additive", "latent_dimm": 3}"#;
        let err = serde_json::from_str::<ModelConfig>(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("latent_dimm"), "{err}");
        let partial: ModelConfig =
            serde_json::from_str(r#"{"name": "latent-additive", "latent_dim": 64, "lr": 0.5}"#)
                .unwrap();
        let ModelConfig::LatentAdditive(c) = partial else {
            panic!()
        };
        assert_eq!((c.latent_dim, c.lr, c.n_layers), (64, 0.5, 3));
        assert_eq!(c.wd, 7.90200208844498e-09);
        // a bare name gives the model's own defaults (not the shared optimiser defaults)
        for name in ModelConfig::NAMES {
            let bare: ModelConfig =
                serde_json::from_value(serde_json::json!({ "name": name })).unwrap();
            assert_eq!(bare, ModelConfig::defaults(name).unwrap(), "{name}");
        }
    }
}
