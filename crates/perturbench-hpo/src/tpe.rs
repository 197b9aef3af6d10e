//! The Tree-structured Parzen Estimator (Optuna's univariate TPE with its defaults): after
//! `n_startup_trials` random trials, each parameter is proposed independently by splitting
//! the finished trials into the best `gamma(n)` ("below") and the rest ("above"), fitting a
//! Parzen estimator `l` to below and `g` to above, drawing `n_ei_candidates` from `l` and
//! keeping the one with the largest `log l(x) − log g(x)` (expected improvement).

use crate::distribution::Distribution;
use crate::parzen::{default_weights, split_below, Categorical, Numerical};
use crate::sampler::{uniform, Sampler, Trial};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// TPE settings (Optuna's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct TpeSettings {
    /// Random trials before TPE starts.
    pub n_startup_trials: usize,
    /// Candidates drawn from `l` per proposal.
    pub n_ei_candidates: usize,
    /// Weight of the prior component.
    pub prior_weight: f64,
    /// Propose all parameters jointly (Optuna's `multivariate=True`).
    pub multivariate: bool,
}

impl Default for TpeSettings {
    fn default() -> Self {
        TpeSettings {
            n_startup_trials: 10,
            n_ei_candidates: 24,
            prior_weight: 1.0,
            multivariate: false,
        }
    }
}

/// The sampler.
#[derive(Debug, Clone, Default)]
pub struct TpeSampler {
    /// Settings.
    pub settings: TpeSettings,
}

impl Sampler for TpeSampler {
    fn sample_joint(
        &mut self,
        space: &BTreeMap<String, Distribution>,
        history: &[Trial],
        rng: &mut ChaCha8Rng,
    ) -> Option<BTreeMap<String, f64>> {
        self.settings
            .multivariate
            .then(|| crate::multivariate::sample_joint(&self.settings, space, history, rng))
    }

    fn sample(
        &mut self,
        name: &str,
        dist: &Distribution,
        history: &[Trial],
        rng: &mut ChaCha8Rng,
    ) -> f64 {
        // Finished trials that have this parameter, in trial order.
        let seen: Vec<(f64, f64)> = history
            .iter()
            .filter(|t| t.value.is_finite())
            .filter_map(|t| t.params.get(name).map(|&x| (x, t.value)))
            .collect();
        if seen.len() < self.settings.n_startup_trials {
            return uniform(dist, rng);
        }
        let values: Vec<f64> = seen.iter().map(|s| s.1).collect();
        let is_below = split_below(&values);
        let below: Vec<f64> = (0..seen.len())
            .filter(|&i| is_below[i])
            .map(|i| seen[i].0)
            .collect();
        let above: Vec<f64> = (0..seen.len())
            .filter(|&i| !is_below[i])
            .map(|i| seen[i].0)
            .collect();
        let (wb, wa) = (default_weights(below.len()), default_weights(above.len()));
        let pw = self.settings.prior_weight;
        let best = match dist {
            Distribution::Categorical { choices } => {
                let l = Categorical::new(&below, &wb, choices.len(), pw);
                let g = Categorical::new(&above, &wa, choices.len(), pw);
                pick_best(
                    self.settings.n_ei_candidates,
                    rng,
                    |r| l.sample(r),
                    |x| l.log_pdf(x) - g.log_pdf(x),
                )
            }
            _ => {
                let (lo, hi) = dist.internal_bounds().expect("numeric");
                let l = Numerical::new(&below, &wb, lo, hi, pw);
                let g = Numerical::new(&above, &wa, lo, hi, pw);
                pick_best(
                    self.settings.n_ei_candidates,
                    rng,
                    |r| l.sample(r),
                    |x| l.log_pdf(x) - g.log_pdf(x),
                )
            }
        };
        dist.snap(best)
    }
}

fn pick_best(
    n: usize,
    rng: &mut ChaCha8Rng,
    mut draw: impl FnMut(&mut ChaCha8Rng) -> f64,
    score: impl Fn(f64) -> f64,
) -> f64 {
    let mut best = (f64::NEG_INFINITY, 0.0);
    for _ in 0..n.max(1) {
        let x = draw(rng);
        let s = score(x);
        if s > best.0 {
            best = (s, x);
        }
    }
    best.1
}
