//! Parzen estimators of TPE (Optuna's univariate construction): a mixture of truncated
//! Gaussians on the observations plus a wide prior component for numerical parameters, and a
//! smoothed weighted histogram for categorical ones.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Optuna's default observation weights: ones, with a linear ramp over all but the newest 25
/// when there are more than 25 (older observations count less).
pub fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let ramp = n - 25;
    let mut w: Vec<f64> = (0..ramp)
        .map(|i| {
            if ramp == 1 {
                1.0 / n as f64
            } else {
                1.0 / n as f64 + (1.0 - 1.0 / n as f64) * i as f64 / (ramp - 1) as f64
            }
        })
        .collect();
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

/// The number of best trials in the "below" group: `min(ceil(0.1·n), 25)`.
pub fn default_gamma(n: usize) -> usize {
    (n as f64 * 0.1).ceil().min(25.0) as usize
}

/// Which finished trials are "below" (the best `default_gamma(n)` by value, ties broken by
/// trial order), given their values in trial order.
pub fn split_below(values: &[f64]) -> Vec<bool> {
    let n_below = default_gamma(values.len());
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
    let mut is_below = vec![false; values.len()];
    for &i in &order[..n_below] {
        is_below[i] = true;
    }
    is_below
}

fn erf(x: f64) -> f64 {
    // Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    if x >= 0.0 {
        y
    } else {
        -y
    }
}

/// The standard normal CDF.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * (1.0 + erf(z / std::f64::consts::SQRT_2))
}

/// A mixture of Gaussians truncated to `[low, high]`.
#[derive(Debug, Clone)]
pub struct Numerical {
    mus: Vec<f64>,
    sigmas: Vec<f64>,
    weights: Vec<f64>,
    low: f64,
    high: f64,
}

impl Numerical {
    /// The estimator of `obs` (with weights `w`) on `[low, high]` with a prior component of
    /// weight `prior_weight` at the centre.
    pub fn new(obs: &[f64], w: &[f64], low: f64, high: f64, prior_weight: f64) -> Numerical {
        let span = (high - low).max(1e-12);
        let mut mus: Vec<f64> = obs.to_vec();
        let mut weights: Vec<f64> = w.to_vec();
        mus.push(0.5 * (low + high));
        weights.push(prior_weight);
        // Bandwidth: the larger gap to the sorted neighbours, clipped (magic clip).
        let mut order: Vec<usize> = (0..mus.len()).collect();
        order.sort_by(|&a, &b| mus[a].total_cmp(&mus[b]));
        let mut sigmas = vec![0.0; mus.len()];
        for (k, &i) in order.iter().enumerate() {
            let left = if k > 0 {
                mus[i] - mus[order[k - 1]]
            } else {
                mus[i] - low
            };
            let right = if k + 1 < order.len() {
                mus[order[k + 1]] - mus[i]
            } else {
                high - mus[i]
            };
            sigmas[i] = left.max(right);
        }
        let min_sigma = span / (100f64).min(1.0 + obs.len() as f64);
        for s in sigmas.iter_mut() {
            *s = s.clamp(min_sigma, span);
        }
        let last = sigmas.len() - 1;
        sigmas[last] = span;
        let total: f64 = weights.iter().sum();
        for x in weights.iter_mut() {
            *x /= total;
        }
        Numerical {
            mus,
            sigmas,
            weights,
            low,
            high,
        }
    }

    fn pick(&self, rng: &mut ChaCha8Rng) -> usize {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        for (i, w) in self.weights.iter().enumerate() {
            acc += w;
            if u < acc {
                return i;
            }
        }
        self.weights.len() - 1
    }

    /// One draw.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> f64 {
        let i = self.pick(rng);
        for _ in 0..100 {
            let z: f64 = rng.sample(rand_distr::StandardNormal);
            let x = self.mus[i] + self.sigmas[i] * z;
            if (self.low..=self.high).contains(&x) {
                return x;
            }
        }
        self.mus[i].clamp(self.low, self.high)
    }

    /// Log density at `x`.
    pub fn log_pdf(&self, x: f64) -> f64 {
        let mut p = 0.0;
        for ((mu, s), w) in self.mus.iter().zip(&self.sigmas).zip(&self.weights) {
            let mass = normal_cdf((self.high - mu) / s) - normal_cdf((self.low - mu) / s);
            let z = (x - mu) / s;
            let dens = (-0.5 * z * z).exp() / (s * (2.0 * std::f64::consts::PI).sqrt());
            p += w * dens / mass.max(1e-12);
        }
        p.max(1e-300).ln()
    }
}

/// A smoothed weighted histogram over `k` categories.
#[derive(Debug, Clone)]
pub struct Categorical {
    probs: Vec<f64>,
}

impl Categorical {
    /// Each observation is a kernel putting its weight on its category, smoothed by
    /// `prior_weight / k` on every category; plus a uniform prior component.
    pub fn new(obs: &[f64], w: &[f64], k: usize, prior_weight: f64) -> Categorical {
        let mut probs = vec![prior_weight / k as f64; k];
        for (&o, &wi) in obs.iter().zip(w) {
            probs[o as usize] += wi;
        }
        let total: f64 = probs.iter().sum();
        Categorical {
            probs: probs.into_iter().map(|p| p / total).collect(),
        }
    }

    /// One draw (a category index).
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> f64 {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        for (i, p) in self.probs.iter().enumerate() {
            acc += p;
            if u < acc {
                return i as f64;
            }
        }
        (self.probs.len() - 1) as f64
    }

    /// Log probability of category `x`.
    pub fn log_pdf(&self, x: f64) -> f64 {
        self.probs[x as usize].max(1e-300).ln()
    }
}
