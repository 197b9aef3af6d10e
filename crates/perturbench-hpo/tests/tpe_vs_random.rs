//! TPE must beat random search on benchmark functions with log-uniform, integer and
//! categorical dimensions (best value after the same number of trials), on at least 4 of 5
//! seeds per function. The optima are known by construction.

use perturbench_hpo::{Distribution, RandomSampler, Sampler, TpeSampler, TpeSettings, Trial};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;

type Objective = fn(&BTreeMap<String, Value>) -> f64;

fn space() -> Vec<(String, Distribution)> {
    vec![
        (
            "lr".into(),
            Distribution::Float {
                low: 1e-6,
                high: 1.0,
                log: true,
                step: None,
            },
        ),
        (
            "wd".into(),
            Distribution::Float {
                low: 1e-8,
                high: 1e-2,
                log: true,
                step: None,
            },
        ),
        (
            "layers".into(),
            Distribution::Int {
                low: 1,
                high: 9,
                log: false,
                step: 1,
            },
        ),
        (
            "width".into(),
            Distribution::Int {
                low: 16,
                high: 4096,
                log: true,
                step: 1,
            },
        ),
        (
            "act".into(),
            Distribution::Categorical {
                choices: vec![json!("relu"), json!("gelu"), json!("tanh"), json!("elu")],
            },
        ),
        (
            "dropout".into(),
            Distribution::Float {
                low: 0.0,
                high: 0.8,
                log: false,
                step: Some(0.1),
            },
        ),
    ]
}

/// Separable bowl: optimum 0 at lr 1e-3, wd 1e-6, 5 layers, width 512, gelu, dropout 0.3.
fn bowl(p: &BTreeMap<String, Value>) -> f64 {
    let f = |k: &str| p[k].as_f64().unwrap();
    let act = match p["act"].as_str().unwrap() {
        "gelu" => 0.0,
        "relu" => 0.5,
        "elu" => 0.8,
        _ => 1.5,
    };
    (f("lr").log10() + 3.0).powi(2)
        + 0.5 * (f("wd").log10() + 6.0).powi(2)
        + 0.3 * (f("layers") - 5.0).powi(2)
        + (f("width").log2() - 9.0).powi(2)
        + act
        + 10.0 * (f("dropout") - 0.3).powi(2)
}

/// A coupled valley (lr and width interact) with a categorical offset: optimum 0 at
/// log10(lr) = −2 − 0.2·(log2(width) − 8), log2(width) = 8, tanh, 2 layers.
fn valley(p: &BTreeMap<String, Value>) -> f64 {
    let f = |k: &str| p[k].as_f64().unwrap();
    let w = f("width").log2() - 8.0;
    let act = if p["act"] == "tanh" { 0.0 } else { 1.0 };
    (f("lr").log10() + 2.0 + 0.2 * w).powi(2) * 4.0
        + w * w * 0.5
        + act
        + ((f("layers") - 2.0).abs()).sqrt()
        + 0.1 * (f("wd").log10() + 4.0).abs()
}

fn run(sampler: &mut dyn Sampler, objective: Objective, seed: u64, trials: usize) -> f64 {
    let space = space();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut history: Vec<Trial> = Vec::new();
    let mut best = f64::INFINITY;
    for _ in 0..trials {
        let mut internal = BTreeMap::new();
        let mut external = BTreeMap::new();
        let map: BTreeMap<String, Distribution> = space.iter().cloned().collect();
        let joint = sampler.sample_joint(&map, &history, &mut rng);
        for (name, d) in &space {
            let x = match &joint {
                Some(j) => j[name],
                None => sampler.sample(name, d, &history, &mut rng),
            };
            internal.insert(name.clone(), x);
            external.insert(name.clone(), d.external(x));
        }
        let value = objective(&external);
        best = best.min(value);
        history.push(Trial {
            params: internal,
            value,
        });
    }
    best
}

fn multivariate() -> TpeSampler {
    TpeSampler {
        settings: TpeSettings {
            multivariate: true,
            ..TpeSettings::default()
        },
    }
}

#[test]
fn tpe_beats_random_search() {
    beats_random(TpeSampler::default, "univariate");
}

#[test]
fn multivariate_tpe_beats_random_search() {
    beats_random(multivariate, "multivariate");
}

fn beats_random(make: fn() -> TpeSampler, label: &str) {
    for (name, f) in [("bowl", bowl as Objective), ("valley", valley as Objective)] {
        let mut wins = 0;
        let mut rows = Vec::new();
        for seed in 0..5 {
            let t = run(&mut make(), f, seed, 80);
            let r = run(&mut RandomSampler, f, seed, 80);
            rows.push((t, r));
            if t < r {
                wins += 1;
            }
        }
        eprintln!("{label} {name}: (tpe, random) best values per seed: {rows:?}");
        assert!(
            wins >= 4,
            "{label} {name}: TPE won {wins} of 5 (tpe, random): {rows:?}"
        );
    }
}

#[test]
fn samples_stay_in_their_distributions() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut history = Vec::new();
    let mut tpe = TpeSampler::default();
    for i in 0..40 {
        let mut params = BTreeMap::new();
        for (name, d) in space() {
            let x = tpe.sample(&name, &d, &history, &mut rng);
            let v = d.external(x);
            match &d {
                Distribution::Float {
                    low, high, step, ..
                } => {
                    let v = v.as_f64().unwrap();
                    assert!(
                        v >= *low * (1.0 - 1e-12) && v <= *high * (1.0 + 1e-12),
                        "{name} {v}"
                    );
                    if let Some(s) = step {
                        let k = (v - low) / s;
                        assert!((k - k.round()).abs() < 1e-9, "{name} {v} off the grid");
                    }
                }
                Distribution::Int { low, high, .. } => {
                    let v = v.as_i64().unwrap();
                    assert!(v >= *low && v <= *high, "{name} {v}");
                }
                Distribution::Categorical { choices } => assert!(choices.contains(&v)),
            }
            params.insert(name, x);
        }
        history.push(Trial {
            params,
            value: (i % 7) as f64,
        });
    }
    // Bad spaces are errors naming the parameter.
    let bad = Distribution::Float {
        low: 0.0,
        high: 1.0,
        log: true,
        step: None,
    };
    assert!(bad.validate("lr").unwrap_err().to_string().contains("lr"));
    let bad = Distribution::Int {
        low: 3,
        high: 1,
        log: false,
        step: 1,
    };
    assert!(bad.validate("layers").is_err());
}
