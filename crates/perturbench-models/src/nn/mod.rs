//! Neural models on burn: layers, the reference's networks (linear-additive, latent-additive,
//! decoder-only, CPA, SAMS-VAE, biolord), the shared trainer and the fitted predictor.
//!
//! Each network is one file implementing [`Network`] and one line of the `networks!` list
//! below (after its `pub mod`), which generates [`ModelConfig`], [`Net`] and the registry
//! entries [`NETWORKS`].

pub mod clipping;
pub mod inputs;
pub mod layers;
mod net;
pub mod network;
pub mod predictor;
pub mod scheduler;
pub mod trainer;

pub mod biolord;
pub mod cpa;
pub mod decoder_only;
pub mod latent_additive;
pub mod linear_additive;
pub mod sams_vae;
pub mod sams_vae_modified;

net::networks! {
    /// §3.4.
    linear_additive::LinearAdditive(LinearAdditiveConfig),
    /// §3.5.
    latent_additive::LatentAdditive(LatentAdditiveConfig),
    /// §3.6.
    decoder_only::DecoderOnly(DecoderOnlyConfig),
    /// §3.7.
    cpa::Cpa(CpaConfig),
    /// §3.8.
    sams_vae::SamsVae(SamsVaeConfig),
    /// §3.8 [newer].
    sams_vae_modified::SamsVaeModified(SamsVaeModifiedConfig),
    /// §3.9.
    biolord::Biolord(BiolordConfig),
}

pub use network::{Dims, EpochMean, Network, Update};
pub use predictor::NeuralModel;
pub use trainer::{train, EpochLog, TrainHooks, Trained, TrainerConfig};
