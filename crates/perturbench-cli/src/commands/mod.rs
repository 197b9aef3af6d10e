//! One module per subcommand.

pub mod bench;
pub mod evaluate;
pub mod inspect;
pub mod predict;
pub mod preprocess;
pub mod simulate;
pub mod split;
pub mod train;
pub mod train_config;
