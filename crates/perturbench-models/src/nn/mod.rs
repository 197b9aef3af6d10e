//! Neural models on burn: layers, the reference's networks (linear-additive, latent-additive,
//! decoder-only, CPA, SAMS-VAE, biolord), the shared trainer and the fitted predictor.

pub mod biolord;
pub mod clipping;
pub mod cpa;
pub mod decoder_only;
pub mod inputs;
pub mod latent_additive;
pub mod layers;
pub mod linear_additive;
pub mod net;
pub mod predictor;
pub mod sams_vae;
pub mod sams_vae_modified;
pub mod scheduler;
pub mod trainer;

pub use net::{Dims, Net};
pub use predictor::NeuralModel;
pub use trainer::{train, EpochLog, TrainHooks, Trained, TrainerConfig};
