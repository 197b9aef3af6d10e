//! The sampler interface and random search.

use crate::distribution::Distribution;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// A finished trial: internal parameter values and the objective (minimised).
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// Internal values per parameter name.
    pub params: BTreeMap<String, f64>,
    /// Objective value.
    pub value: f64,
}

/// Proposes one parameter's internal value given the finished trials.
pub trait Sampler {
    /// An internal value for `name` drawn from `dist`.
    fn sample(
        &mut self,
        name: &str,
        dist: &Distribution,
        history: &[Trial],
        rng: &mut ChaCha8Rng,
    ) -> f64;

    /// Internal values for every parameter of `space` at once, for samplers that model
    /// parameters jointly; `None` (the default) samples them one by one with [`Self::sample`].
    fn sample_joint(
        &mut self,
        _space: &BTreeMap<String, Distribution>,
        _history: &[Trial],
        _rng: &mut ChaCha8Rng,
    ) -> Option<BTreeMap<String, f64>> {
        None
    }
}

/// Uniform draws in the internal space.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomSampler;

/// One uniform internal draw from `dist`.
pub fn uniform(dist: &Distribution, rng: &mut ChaCha8Rng) -> f64 {
    match dist {
        Distribution::Categorical { choices } => rng.random_range(0..choices.len()) as f64,
        _ => {
            let (lo, hi) = dist.internal_bounds().expect("numeric");
            dist.snap(if hi > lo {
                rng.random_range(lo..hi)
            } else {
                lo
            })
        }
    }
}

impl Sampler for RandomSampler {
    fn sample(
        &mut self,
        _name: &str,
        dist: &Distribution,
        _history: &[Trial],
        rng: &mut ChaCha8Rng,
    ) -> f64 {
        uniform(dist, rng)
    }
}
