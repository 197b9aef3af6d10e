//! One module per subcommand (and the pieces tune, worker and benchmark share).

pub mod bench;
pub mod benchmark;
pub mod cell_eval;
pub mod demo;
pub mod design;
pub mod evaluate;
pub mod heartbeat;
pub mod inspect;
pub mod predict;
pub mod preprocess;
pub mod report;
pub mod simulate;
pub mod split;
pub mod study;
pub mod suite;
pub mod train;
pub mod trial;
pub mod tune;
pub mod worker;
