//! Multivariate TPE (Optuna's `multivariate=True`): the finished trials are split once into
//! "below" and "above", and each group's Parzen estimator is a mixture of *joint* kernels, one
//! per trial over all parameters (plus a prior kernel), so that parameters that only work
//! together (a learning rate that suits one width) are proposed together. Numerical bandwidths
//! follow Optuna's multivariate rule `0.2 · n^(−1/(d+4)) · (high − low)`.

use crate::distribution::Distribution;
use crate::parzen::{default_weights, normal_cdf, split_below};
use crate::sampler::{uniform, Trial};
use crate::tpe::TpeSettings;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// One parameter of the joint estimator.
enum Dim {
    /// Internal bounds of a numerical parameter.
    Numerical { low: f64, high: f64 },
    /// Number of categories.
    Categorical(usize),
}

/// A mixture of joint kernels over the parameters `names`.
struct Joint {
    dims: Vec<Dim>,
    /// Per kernel: centre per dimension (category index for categoricals).
    centres: Vec<Vec<f64>>,
    /// Per kernel: bandwidth per numerical dimension.
    sigmas: Vec<Vec<f64>>,
    /// Per kernel and categorical dimension: category probabilities (empty for numerical).
    probs: Vec<Vec<Vec<f64>>>,
    weights: Vec<f64>,
}

fn log_normal_truncated(x: f64, mu: f64, s: f64, low: f64, high: f64) -> f64 {
    let mass = (normal_cdf((high - mu) / s) - normal_cdf((low - mu) / s)).max(1e-12);
    let z = (x - mu) / s;
    -0.5 * z * z - (s * (2.0 * std::f64::consts::PI).sqrt()).ln() - mass.ln()
}

impl Joint {
    fn new(dims: Vec<Dim>, obs: &[Vec<f64>], w: &[f64], prior_weight: f64) -> Joint {
        let n = obs.len();
        let d = dims.len();
        let kernels = n + 1;
        let scale = 0.2 * (n.max(1) as f64).powf(-1.0 / (d as f64 + 4.0));
        let mut centres = Vec::with_capacity(kernels);
        let mut sigmas = Vec::with_capacity(kernels);
        let mut probs = Vec::with_capacity(kernels);
        for k in 0..kernels {
            let prior = k == n;
            let mut c = Vec::with_capacity(d);
            let mut s = Vec::with_capacity(d);
            let mut p = Vec::with_capacity(d);
            for (j, dim) in dims.iter().enumerate() {
                match dim {
                    Dim::Numerical { low, high } => {
                        let span = (high - low).max(1e-12);
                        c.push(if prior { 0.5 * (low + high) } else { obs[k][j] });
                        s.push(if prior {
                            span
                        } else {
                            (scale * span).max(span / 100.0)
                        });
                        p.push(Vec::new());
                    }
                    Dim::Categorical(m) => {
                        c.push(if prior { 0.0 } else { obs[k][j] });
                        s.push(0.0);
                        let mut row = vec![prior_weight / kernels as f64; *m];
                        if !prior {
                            row[obs[k][j] as usize] += 1.0;
                        }
                        let t: f64 = row.iter().sum();
                        p.push(row.into_iter().map(|v| v / t).collect());
                    }
                }
            }
            centres.push(c);
            sigmas.push(s);
            probs.push(p);
        }
        let mut weights: Vec<f64> = w.to_vec();
        weights.push(prior_weight);
        let t: f64 = weights.iter().sum();
        Joint {
            dims,
            centres,
            sigmas,
            probs,
            weights: weights.into_iter().map(|v| v / t).collect(),
        }
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        let mut k = self.weights.len() - 1;
        for (i, w) in self.weights.iter().enumerate() {
            acc += w;
            if u < acc {
                k = i;
                break;
            }
        }
        self.dims
            .iter()
            .enumerate()
            .map(|(j, dim)| match dim {
                Dim::Numerical { low, high } => {
                    let (mu, s) = (self.centres[k][j], self.sigmas[k][j]);
                    for _ in 0..100 {
                        let z: f64 = rng.sample(rand_distr::StandardNormal);
                        let x = mu + s * z;
                        if (*low..=*high).contains(&x) {
                            return x;
                        }
                    }
                    mu.clamp(*low, *high)
                }
                Dim::Categorical(m) => {
                    let u: f64 = rng.random();
                    let mut acc = 0.0;
                    for (c, p) in self.probs[k][j].iter().enumerate() {
                        acc += p;
                        if u < acc {
                            return c as f64;
                        }
                    }
                    (*m - 1) as f64
                }
            })
            .collect()
    }

    fn log_pdf(&self, x: &[f64]) -> f64 {
        let terms: Vec<f64> = (0..self.weights.len())
            .map(|k| {
                let mut l = self.weights[k].max(1e-300).ln();
                for (j, dim) in self.dims.iter().enumerate() {
                    l += match dim {
                        Dim::Numerical { low, high } => log_normal_truncated(
                            x[j],
                            self.centres[k][j],
                            self.sigmas[k][j],
                            *low,
                            *high,
                        ),
                        Dim::Categorical(_) => self.probs[k][j][x[j] as usize].max(1e-300).ln(),
                    };
                }
                l
            })
            .collect();
        let m = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln()
    }
}

/// Proposes all parameters of `space` jointly (internal values), given the finished trials.
pub fn sample_joint(
    settings: &TpeSettings,
    space: &BTreeMap<String, Distribution>,
    history: &[Trial],
    rng: &mut ChaCha8Rng,
) -> BTreeMap<String, f64> {
    let names: Vec<&String> = space.keys().collect();
    let seen: Vec<(Vec<f64>, f64)> = history
        .iter()
        .filter(|t| t.value.is_finite())
        .filter_map(|t| {
            let x: Option<Vec<f64>> = names.iter().map(|n| t.params.get(*n).copied()).collect();
            x.map(|x| (x, t.value))
        })
        .collect();
    if seen.len() < settings.n_startup_trials {
        return space
            .iter()
            .map(|(n, d)| (n.clone(), uniform(d, rng)))
            .collect();
    }
    let dims = || -> Vec<Dim> {
        space
            .values()
            .map(|d| match d {
                Distribution::Categorical { choices } => Dim::Categorical(choices.len()),
                _ => {
                    let (low, high) = d.internal_bounds().expect("numeric");
                    Dim::Numerical { low, high }
                }
            })
            .collect()
    };
    let values: Vec<f64> = seen.iter().map(|s| s.1).collect();
    let is_below = split_below(&values);
    let below: Vec<Vec<f64>> = (0..seen.len())
        .filter(|&i| is_below[i])
        .map(|i| seen[i].0.clone())
        .collect();
    let above: Vec<Vec<f64>> = (0..seen.len())
        .filter(|&i| !is_below[i])
        .map(|i| seen[i].0.clone())
        .collect();
    let pw = settings.prior_weight;
    let l = Joint::new(dims(), &below, &default_weights(below.len()), pw);
    let g = Joint::new(dims(), &above, &default_weights(above.len()), pw);
    // The first candidate stands unless a later one scores higher (NaN scores never win).
    let first = l.sample(rng);
    let mut best = (l.log_pdf(&first) - g.log_pdf(&first), first);
    for _ in 1..settings.n_ei_candidates.max(1) {
        let x = l.sample(rng);
        let s = l.log_pdf(&x) - g.log_pdf(&x);
        if s > best.0 || (best.0.is_nan() && !s.is_nan()) {
            best = (s, x);
        }
    }
    space
        .iter()
        .zip(best.1)
        .map(|((n, d), x)| (n.clone(), d.snap(x)))
        .collect()
}
