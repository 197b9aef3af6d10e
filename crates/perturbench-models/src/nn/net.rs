//! The `networks!` macro: from the one list of networks in [`crate::nn`] it generates
//! [`ModelConfig`](crate::ModelConfig) (the baselines and one variant per network),
//! [`Net`](crate::nn::Net) (the trainable models behind one type, as burn's optimisers and
//! records need), their dispatch to each network's [`Network`](super::network::Network)
//! implementation, and the networks' registry entries.

/// Generates `ModelConfig`, `Net` and `NETWORKS` from lines `module::Struct(Config)`, each
/// with its doc comment: `Struct` implements [`Network`](super::network::Network) and names the
/// variant of both enums (so its kebab-case is the serde tag, and it is the checkpoint
/// record's variant).
macro_rules! networks {
    ($($(#[$doc:meta])* $module:ident :: $net:ident ( $config:ident )),+ $(,)?) => {
        pub use self::net_dispatch::{ModelConfig, Net, NETWORKS};

        mod net_dispatch {
            use super::network::{Dims, EpochMean, Network, Update};
            use super::inputs::Inputs;
            $(use super::$module::{$net, $config};)+
            use $crate::batches::Feeding;
            use $crate::config::Optim;
            use $crate::registry::ModelEntry;
            use $crate::ModelError;
            use burn::module::Module;
            use burn::optim::GradientsParams;
            use burn::tensor::{Device, Gradients, Tensor};
            use rand::Rng;
            use rand_chacha::ChaCha8Rng;
            use serde::{Deserialize, Serialize};

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
                $($(#[$doc])* $net($config),)+
                /// A model outside perturbench, run as a command.
                External($crate::config::ExternalConfig),
            }

            impl ModelConfig {
                /// The model's name.
                pub fn name(&self) -> &'static str {
                    match self {
                        ModelConfig::Average => "average",
                        ModelConfig::ControlMean => "control-mean",
                        ModelConfig::TrainMean => "train-mean",
                        ModelConfig::Additive => "additive",
                        $(ModelConfig::$net(_) => <$net as Network>::NAME,)+
                        ModelConfig::External(_) => "external",
                    }
                }

                /// The optimiser settings of a trainable model (none for the baselines).
                pub fn optim(&self) -> Option<Optim> {
                    match self {
                        $(ModelConfig::$net(c) => Some(<$net as Network>::optim(c)),)+
                        _ => None,
                    }
                }

                /// The defaults of the model called `name` (its name or an alias).
                pub fn defaults(name: &str) -> Option<ModelConfig> {
                    match name {
                        "average" => return Some(ModelConfig::Average),
                        "control-mean" => return Some(ModelConfig::ControlMean),
                        "train-mean" => return Some(ModelConfig::TrainMean),
                        "additive" => return Some(ModelConfig::Additive),
                        "external" => return Some(ModelConfig::External(Default::default())),
                        _ => {}
                    }
                    $(
                        if name == <$net as Network>::NAME
                            || <$net as Network>::ALIASES.contains(&name)
                        {
                            return Some(ModelConfig::$net(<$net as Network>::defaults(name)));
                        }
                    )+
                    None
                }

                /// How training cells are served: paired with controls, or every cell on its
                /// own.
                pub fn feeding(&self) -> Feeding {
                    match self {
                        $(ModelConfig::$net(_) => <$net as Network>::FEEDING,)+
                        _ => Feeding::Paired,
                    }
                }

                /// How an epoch's loss is averaged over its minibatches.
                pub fn epoch_mean(&self) -> EpochMean {
                    match self {
                        $(ModelConfig::$net(_) => <$net as Network>::EPOCH_MEAN,)+
                        _ => EpochMean::PerBatch,
                    }
                }

                /// The obsm key of the embedding the model reads instead of expression, if
                /// any.
                pub fn embedding_key(&self) -> Option<&str> {
                    match self {
                        $(ModelConfig::$net(c) => <$net as Network>::embedding_key(c),)+
                        _ => None,
                    }
                }

                /// Names of all models: the baselines, the networks, then `external`.
                pub const NAMES: [&'static str; 5 + [$(stringify!($net)),+].len()] = [
                    "average",
                    "control-mean",
                    "train-mean",
                    "additive",
                    $(<$net as Network>::NAME,)+
                    "external",
                ];
            }

            /// A trainable model.
            #[derive(Module, Debug)]
            #[allow(clippy::large_enum_variant)] // one value per run
            pub enum Net {
                $($(#[$doc])* $net($net),)+
            }

            impl Net {
                /// Fresh weights for `config` drawn from `rng`; an error for configurations
                /// that are not trainable or not valid.
                pub fn new<R: Rng>(
                    config: &ModelConfig,
                    dims: &Dims,
                    rng: &mut R,
                    device: &Device,
                ) -> Result<Net, ModelError> {
                    Ok(match config {
                        $(ModelConfig::$net(c) => {
                            Net::$net(<$net as Network>::init(c, dims, rng, device)?)
                        })+
                        other => {
                            return Err(ModelError::Config(format!(
                                "model '{}' has no trainable network",
                                other.name()
                            )))
                        }
                    })
                }

                /// The loss of one training minibatch (`target` = the observed cells) and
                /// which parameters it updates; `drop` feeds dropout masks, `noise` every
                /// other random draw.
                pub fn training_loss(
                    &self,
                    x: &Inputs,
                    target: Tensor<2>,
                    epoch: usize,
                    batch: usize,
                    drop: &mut ChaCha8Rng,
                    noise: &mut ChaCha8Rng,
                ) -> (Update, Tensor<1>) {
                    match self {
                        $(Net::$net(m) => <$net as Network>::training_loss(
                            m, x, target, epoch, batch, Some(drop), noise,
                        ),)+
                    }
                }

                /// The monitored validation loss of a minibatch (evaluation mode).
                pub fn validation_loss(
                    &self,
                    x: &Inputs,
                    target: Tensor<2>,
                    noise: &mut ChaCha8Rng,
                ) -> Tensor<1> {
                    match self {
                        $(Net::$net(m) => <$net as Network>::validation_loss(m, x, target, noise),)+
                    }
                }

                /// Predicted cells (evaluation mode) from `x.controls`.
                pub fn predict(&self, x: &Inputs, noise: &mut ChaCha8Rng) -> Tensor<2> {
                    match self {
                        $(Net::$net(m) => <$net as Network>::predict(m, x, noise),)+
                    }
                }

                /// The gradients `update` applies, clipped to the global norm `clip` when
                /// given.
                pub fn gradients(
                    &self,
                    update: Update,
                    grads: Gradients,
                    clip: Option<f64>,
                ) -> GradientsParams {
                    match self {
                        $(Net::$net(m) => <$net as Network>::gradients(m, update, grads, clip),)+
                    }
                }
            }

            /// The networks' registry entries, in the list's order.
            pub const NETWORKS: &[ModelEntry] = &[$(ModelEntry::network::<$net>(),)+];
        }
    };
}

pub(crate) use networks;
