//! Builders for the paper's scenarios (spec §2.9): data scaling and perturbation imbalance.
