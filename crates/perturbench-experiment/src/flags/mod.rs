//! The command-line flags of an experiment's settings, declared once (clap derives) for the
//! `perturbench` command and for any other front end: the design flags, the split flags, the
//! `train` arguments resolved into a [`crate::RunConfig`], and evaluate's flags resolved into
//! an [`perturbench_eval::EvalConfig`].

pub mod design;
pub mod evaluate;
pub mod split;
pub mod train;

pub use design::DesignFlags;
pub use evaluate::EvalFlags;
pub use split::SplitFlags;
pub use train::{config_from_args, TrainArgs};
