//! A search space: named distributions, read from JSON/YAML, with conversions between the
//! values users see (and storage keeps) and the samplers' internal values.

use crate::distribution::Distribution;
use crate::sampler::{Sampler, Trial};
use crate::HpoError;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Named distributions, sampled in name order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchSpace {
    /// Distribution of each parameter (names are dotted config keys, e.g. `model.lr`).
    pub params: BTreeMap<String, Distribution>,
}

impl SearchSpace {
    /// Reads `{name: {type: float|int|categorical, ...}, ...}` and validates every entry.
    pub fn from_json(v: &Value) -> Result<SearchSpace, HpoError> {
        let Value::Object(m) = v else {
            return Err(HpoError::Distribution {
                name: "(search space)".into(),
                message: "expected a mapping of parameter names to distributions".into(),
            });
        };
        let mut params = BTreeMap::new();
        for (name, d) in m {
            let dist: Distribution =
                serde_json::from_value(d.clone()).map_err(|e| HpoError::Distribution {
                    name: name.clone(),
                    message: format!(
                        "{e} (expected e.g. {{type: float, low: 1e-5, high: 1e-2, log: true}}, \
                         {{type: int, low: 1, high: 7, step: 2}} or {{type: categorical, choices: [..]}})"
                    ),
                })?;
            dist.validate(name)?;
            params.insert(name.clone(), dist);
        }
        Ok(SearchSpace { params })
    }

    /// The space as JSON (the form `from_json` reads).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(&self.params).expect("distributions serialise")
    }

    /// Finished trials in the samplers' internal space: `(params, value)` pairs whose values
    /// are user-facing JSON; parameters outside the space or not on it are left out.
    pub fn history<'a>(
        &self,
        trials: impl IntoIterator<Item = (&'a Map<String, Value>, f64)>,
    ) -> Vec<Trial> {
        trials
            .into_iter()
            .map(|(p, value)| Trial {
                params: p
                    .iter()
                    .filter_map(|(k, v)| {
                        self.params
                            .get(k)
                            .and_then(|d| d.internal(v))
                            .map(|x| (k.clone(), x))
                    })
                    .collect(),
                value,
            })
            .collect()
    }

    /// Draws every parameter with `sampler` given the finished trials; user-facing values.
    pub fn sample(
        &self,
        sampler: &mut dyn Sampler,
        history: &[Trial],
        rng: &mut ChaCha8Rng,
    ) -> Map<String, Value> {
        if let Some(joint) = sampler.sample_joint(&self.params, history, rng) {
            return self
                .params
                .iter()
                .map(|(name, d)| (name.clone(), d.external(joint[name])))
                .collect();
        }
        self.params
            .iter()
            .map(|(name, d)| {
                let x = sampler.sample(name, d, history, rng);
                (name.clone(), d.external(x))
            })
            .collect()
    }
}

impl Distribution {
    /// The internal value of a user-facing value, or `None` when it is not in the distribution.
    pub fn internal(&self, v: &Value) -> Option<f64> {
        match self {
            Distribution::Float { low, high, log, .. } => {
                let x = v.as_f64()?;
                if !(x >= *low - 1e-12 * low.abs().max(1.0)
                    && x <= *high + 1e-12 * high.abs().max(1.0))
                {
                    return None;
                }
                Some(if *log { x.ln() } else { x })
            }
            Distribution::Int { low, high, log, .. } => {
                let x = v
                    .as_i64()
                    .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))?;
                if x < *low || x > *high {
                    return None;
                }
                Some(if *log { (x as f64).ln() } else { x as f64 })
            }
            Distribution::Categorical { choices } => choices
                .iter()
                .position(|c| c == v || (c.as_f64().is_some() && c.as_f64() == v.as_f64()))
                .map(|i| i as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RandomSampler;
    use rand::SeedableRng;
    use serde_json::json;

    fn space() -> SearchSpace {
        SearchSpace::from_json(&json!({
            "model.lr": {"type": "float", "low": 5e-6, "high": 5e-3, "log": true},
            "model.n_layers": {"type": "int", "low": 1, "high": 7, "step": 2},
            "model.latent_dim": {"type": "categorical", "choices": [64, 128, 192]},
        }))
        .unwrap()
    }

    #[test]
    fn sampled_values_round_trip_through_the_internal_space() {
        let s = space();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..50 {
            let p = s.sample(&mut RandomSampler, &[], &mut rng);
            let n = p["model.n_layers"].as_i64().unwrap();
            assert!([1, 3, 5, 7].contains(&n), "{n}");
            let h = s.history([(&p, 1.0)]);
            assert_eq!(h[0].params.len(), 3);
            for (k, d) in &s.params {
                assert_eq!(d.external(h[0].params[k]), p[k], "{k}");
            }
        }
    }

    #[test]
    fn values_outside_the_space_are_not_history() {
        let s = space();
        let p: Map<String, Value> = serde_json::from_value(json!({
            "model.lr": 1.0, "model.n_layers": 9, "model.latent_dim": 100, "other": 1
        }))
        .unwrap();
        assert!(s.history([(&p, 0.5)])[0].params.is_empty());
    }

    #[test]
    fn a_bad_entry_names_the_parameter() {
        let e =
            SearchSpace::from_json(&json!({"model.lr": {"type": "float", "low": 1, "high": 0}}))
                .unwrap_err()
                .to_string();
        assert!(e.contains("model.lr"), "{e}");
        let e = SearchSpace::from_json(&json!({"model.x": {"type": "gaussian"}}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("model.x") && e.contains("expected"), "{e}");
    }
}
