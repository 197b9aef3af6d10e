//! One module per subcommand.

pub mod bench;
pub mod benchmark;
pub mod cell_eval;
pub mod demo;
pub mod evaluate;
pub mod inspect;
pub mod predict;
pub mod preprocess;
pub mod report;
pub mod simulate;
pub mod split;
pub mod train;
pub mod tune;
pub mod worker;
