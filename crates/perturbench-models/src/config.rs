//! Model configurations: [`ModelConfig`], tagged by the model name (`model=latent-additive`),
//! with one variant per baseline and one per network of [`crate::nn`]'s list, each network's
//! settings a serde struct in its own file whose defaults are the reference's model YAML
//! defaults (spec §3.4–3.9); and the optimiser settings the networks share. Unknown keys are
//! errors.

use serde::{Deserialize, Serialize};

pub use crate::nn::ModelConfig;

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

/// `external`: a model outside perturbench, run as a command that reads the training cells
/// and the prediction requests and writes its predictions (perturbench-experiment's
/// `external` module and `docs/bring-your-own-model.md` describe the exchange).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExternalConfig {
    /// The shell command line; `{train}`, `{requests}`, `{out}` and `{params}` are replaced
    /// by the exchanged files' paths.
    pub command: String,
    /// Seconds the command may run before it is stopped.
    pub timeout_s: f64,
    /// Every other `model.*` setting, handed to the command as `{params}` (JSON).
    #[serde(flatten)]
    pub params: serde_json::Map<String, serde_json::Value>,
}

impl Default for ExternalConfig {
    fn default() -> Self {
        ExternalConfig {
            command: String::new(),
            timeout_s: 86_400.0,
            params: serde_json::Map::new(),
        }
    }
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

    #[test]
    fn aliases_give_the_model_and_cpa_no_adv_drops_the_adversary() {
        let cpa = |name: &str| match ModelConfig::defaults(name) {
            Some(ModelConfig::Cpa(c)) => c,
            other => panic!("{name}: {other:?}"),
        };
        assert!(cpa("cpa").use_adversary);
        for alias in ["cpa-no-adv", "cpa_no_adv"] {
            let c = cpa(alias);
            assert!(!c.use_adversary);
            assert_eq!(ModelConfig::Cpa(c).name(), "cpa");
        }
        for (alias, name) in [
            ("linear_additive", "linear-additive"),
            ("latent_additive", "latent-additive"),
            ("decoder_only", "decoder-only"),
            ("sams_vae", "sams-vae"),
            ("sams_vae_modified", "sams-vae-modified"),
        ] {
            assert_eq!(ModelConfig::defaults(alias), ModelConfig::defaults(name));
        }
        assert!(ModelConfig::defaults("latent-additive-x").is_none());
    }
}
