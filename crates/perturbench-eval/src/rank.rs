//! Rank metrics (spec §5.4): within a covariate group, how many predictions are closer to an
//! observation than its own prediction, as a fraction of the group's perturbations.

use crate::{EvalConfig, RankDenominator, RankDirection, TiePolicy};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Ranks from a square matrix `m[i][j] = metric(prediction i, observation j)` (row-major, n×n).
/// Returns one rank per perturbation (per observation for the observed direction, per
/// prediction for the transposed one). `stream` separates the random tie-breaking of different
/// groups and pipelines while one seed governs all.
pub fn ranks(
    m: &[f64],
    n: usize,
    higher_is_better: bool,
    cfg: &EvalConfig,
    stream: u64,
) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(stream);
    let denom = match cfg.rank_denominator {
        RankDenominator::N => n as f64,
        RankDenominator::NMinus1 => (n.max(2) - 1) as f64,
    };
    // Better-first comparison; NaN counts as worst (pandas sorts NaN last).
    let key = |v: f64| -> f64 {
        if v.is_nan() {
            f64::INFINITY
        } else if higher_is_better {
            -v
        } else {
            v
        }
    };
    (0..n)
        .map(|target| {
            let value_of = |other: usize| match cfg.rank_direction {
                RankDirection::Observed => m[other * n + target],
                RankDirection::Transposed => m[target * n + other],
            };
            let own = key(value_of(target));
            let pos = match cfg.ties {
                TiePolicy::Random => {
                    let mut order: Vec<usize> = (0..n).collect();
                    order.shuffle(&mut rng);
                    order.sort_by(|&a, &b| key(value_of(a)).total_cmp(&key(value_of(b))));
                    order
                        .iter()
                        .position(|&i| i == target)
                        .expect("target is a candidate") as f64
                }
                TiePolicy::Mid => {
                    let better = (0..n).filter(|&i| key(value_of(i)) < own).count() as f64;
                    let tied = (0..n)
                        .filter(|&i| i != target && key(value_of(i)) == own)
                        .count() as f64;
                    better + tied / 2.0
                }
            };
            pos / denom
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_random_and_tied_orders() {
        let cfg = EvalConfig::default();
        // Distances: the diagonal is best in every column.
        let m = [0.0, 1.0, 2.0, 1.0, 0.0, 1.0, 2.0, 1.0, 0.0];
        assert_eq!(ranks(&m, 3, false, &cfg, 0), vec![0.0, 0.0, 0.0]);
        // All predictions equal: with mid ties every rank is (n-1)/2 / n.
        let flat = [1.0; 16];
        let mid = EvalConfig {
            ties: TiePolicy::Mid,
            ..EvalConfig::default()
        };
        assert_eq!(ranks(&flat, 4, false, &mid, 0), vec![0.375; 4]);
        // Similarities: the worst prediction of column 0 is its own.
        let s = [0.1, 0.9, 0.9, 0.1];
        assert_eq!(ranks(&s, 2, true, &cfg, 0), vec![0.5, 0.5]);
        let nm1 = EvalConfig {
            rank_denominator: RankDenominator::NMinus1,
            ..EvalConfig::default()
        };
        assert_eq!(ranks(&s, 2, true, &nm1, 0), vec![1.0, 1.0]);
    }
}
