//! The median pruner (Optuna's `MedianPruner`): stop a trial whose best intermediate value so
//! far is worse than the median of the completed trials' values at the same step.

/// Settings of the median pruner (Optuna's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct MedianPruner {
    /// No pruning until this many trials have completed.
    pub n_startup_trials: usize,
    /// No pruning before this step.
    pub n_warmup_steps: i64,
    /// Completed trials with a value at the step needed for a comparison.
    pub n_min_trials: usize,
}

impl Default for MedianPruner {
    fn default() -> Self {
        MedianPruner {
            n_startup_trials: 5,
            n_warmup_steps: 0,
            n_min_trials: 1,
        }
    }
}

impl MedianPruner {
    /// Whether a minimised trial with intermediate values `own` (step, value), last at `step`,
    /// should stop, given the completed trials' intermediate values.
    pub fn should_prune(
        &self,
        step: i64,
        own: &[(i64, f64)],
        completed: &[Vec<(i64, f64)>],
    ) -> bool {
        if completed.len() < self.n_startup_trials || step < self.n_warmup_steps {
            return false;
        }
        let best = own
            .iter()
            .filter(|(s, _)| *s <= step)
            .map(|&(_, v)| v)
            .filter(|v| !v.is_nan())
            .fold(f64::NAN, f64::min);
        if best.is_nan() {
            return true;
        }
        let mut at: Vec<f64> = completed
            .iter()
            .filter_map(|t| t.iter().find(|(s, _)| *s == step).map(|&(_, v)| v))
            .filter(|v| !v.is_nan())
            .collect();
        if at.len() < self.n_min_trials || at.is_empty() {
            return false;
        }
        at.sort_by(f64::total_cmp);
        best > median(&at)
    }
}

/// numpy's median (mean of the two middle values for an even count).
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completed() -> Vec<Vec<(i64, f64)>> {
        // Values at step 3: 1, 2, 3, 4, 10 → median 3.
        [1.0, 2.0, 3.0, 4.0, 10.0]
            .iter()
            .map(|&v| vec![(0, 100.0), (3, v)])
            .collect()
    }

    #[test]
    fn worse_than_the_median_at_the_step_is_pruned() {
        let p = MedianPruner::default();
        assert!(p.should_prune(3, &[(0, 50.0), (3, 3.5)], &completed()));
        assert!(!p.should_prune(3, &[(0, 50.0), (3, 2.5)], &completed()));
        // The best value so far counts, not the last one.
        assert!(!p.should_prune(3, &[(0, 2.0), (3, 3.5)], &completed()));
        // Equal to the median is kept (Optuna prunes only when strictly worse).
        assert!(!p.should_prune(3, &[(3, 3.0)], &completed()));
    }

    #[test]
    fn no_pruning_before_startup_warmup_or_without_values_at_the_step() {
        let p = MedianPruner::default();
        assert!(!p.should_prune(3, &[(3, 99.0)], &completed()[..4]));
        let w = MedianPruner {
            n_warmup_steps: 4,
            ..MedianPruner::default()
        };
        assert!(!w.should_prune(3, &[(3, 99.0)], &completed()));
        assert!(!p.should_prune(2, &[(2, 99.0)], &completed()));
    }
}
