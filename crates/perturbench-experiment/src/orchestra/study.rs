//! What a study stores for its workers (the `config` of a stored study), the objective as a
//! weighted sum of summary metrics, proposing a new trial's parameters from the finished
//! trials, and exporting a study (`trials.csv`).

use crate::{bail, Context, Result};
use perturbench_hpo::storage::{Study, TrialRecord, TrialState};
use perturbench_hpo::{RandomSampler, Sampler, SearchSpace, TpeSampler, TpeSettings};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Intermediate steps of a synthetic trial.
pub const SYNTHETIC_STEPS: usize = 10;

/// A synthetic objective (a benchmark function instead of training; for testing queues).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Synthetic {
    /// Seconds one trial takes.
    pub seconds: f64,
}

/// How new trials are proposed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplerConfig {
    /// `tpe` or `random`.
    pub name: String,
    /// Seed; a trial's draw is seeded by it and the trial number.
    pub seed: u64,
    /// Random trials before TPE starts.
    pub n_startup_trials: usize,
    /// Candidates per TPE proposal.
    pub n_ei_candidates: usize,
    /// TPE over all parameters jointly.
    #[serde(default)]
    pub multivariate: bool,
}

/// The stored configuration of a study (tune, synthetic or benchmark).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyConfig {
    /// Arguments of `perturbench train` shared by every trial (data, config files, overrides).
    #[serde(default)]
    pub train_args: Vec<String>,
    /// Objective: weights of summary metrics (`rmse_average`, `cosine_rank_logfc`, ...).
    #[serde(default)]
    pub objective: BTreeMap<String, f64>,
    /// Sampler of new trials.
    #[serde(default)]
    pub sampler: Option<SamplerConfig>,
    /// Where trials write their outputs (shared by all machines).
    pub out: PathBuf,
    /// Stop trials worse than the median (intermediate validation loss).
    #[serde(default)]
    pub prune: bool,
    /// A synthetic objective instead of training.
    #[serde(default)]
    pub synthetic: Option<Synthetic>,
    /// Keep every trial's predictions.h5ad and reference.h5ad (large; by default they are
    /// removed once the trial is evaluated).
    #[serde(default)]
    pub keep_predictions: bool,
}

impl StudyConfig {
    /// Reads the stored configuration of `study`.
    pub fn of(study: &Study) -> Result<StudyConfig> {
        serde_json::from_value(study.spec.config.clone()).with_context(|| {
            format!(
                "study '{}': its stored configuration is not one this version of perturbench reads",
                study.spec.name
            )
        })
    }
}

/// Parses `rmse_average=1,rmse_rank_average=0.1`.
pub fn parse_objective(s: &str) -> Result<BTreeMap<String, f64>> {
    let mut m = BTreeMap::new();
    for item in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (k, w) = item.split_once('=').with_context(|| {
            format!("--objective: '{item}' is not METRIC=WEIGHT (e.g. rmse_average=1.0)")
        })?;
        let w: f64 = w
            .trim()
            .parse()
            .ok()
            .filter(|w: &f64| w.is_finite())
            .with_context(|| format!("--objective: weight of {k} is not a number: '{w}'"))?;
        m.insert(k.trim().to_string(), w);
    }
    if m.is_empty() {
        bail!("--objective: no metrics given");
    }
    Ok(m)
}

/// `{metric}_{aggregation}` → value of an evaluation's `summary.csv` (one model).
pub fn read_summary(path: &Path) -> Result<BTreeMap<String, f64>> {
    let mut r = csv::Reader::from_path(path)
        .with_context(|| format!("{}: cannot read the evaluation summary", path.display()))?;
    let h = r.headers()?.clone();
    let col = |name: &str| {
        h.iter()
            .position(|c| c == name)
            .with_context(|| format!("{}: column '{name}' missing", path.display()))
    };
    let (a, m, v) = (col("aggregation")?, col("metric")?, col("value")?);
    let mut out = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.with_context(|| format!("{}: malformed row", path.display()))?;
        let value: f64 = rec[v].parse().unwrap_or(f64::NAN);
        out.insert(format!("{}_{}", &rec[m], &rec[a]), value);
    }
    Ok(out)
}

/// The weighted sum of the objective's metrics; an error names a metric the summary lacks.
pub fn objective_value(
    objective: &BTreeMap<String, f64>,
    summary: &BTreeMap<String, f64>,
) -> Result<f64, String> {
    let mut total = 0.0;
    for (k, w) in objective {
        let v = summary.get(k).ok_or_else(|| {
            format!(
                "objective metric '{k}' is not in the evaluation summary (it has: {})",
                summary.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        total += w * v;
    }
    Ok(total)
}

/// The parameters of a new trial of `study` given its trials; `Ok(None)` for a study that does
/// not sample (benchmarks), an error naming the study when its stored space or configuration
/// cannot be read.
pub fn propose(
    study: &Study,
    trials: &[TrialRecord],
) -> Result<Option<Map<String, Value>>, String> {
    let cfg = StudyConfig::of(study).map_err(|e| e.to_string())?;
    let Some(sc) = cfg.sampler else {
        return Ok(None);
    };
    let space = SearchSpace::from_json(&study.spec.space)
        .map_err(|e| format!("study '{}': stored search space: {e}", study.spec.name))?;
    let done = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .filter_map(|t| t.value.map(|v| (&t.params, v)));
    let history = space.history(done);
    let number = trials.len() as u64;
    let mut rng = ChaCha8Rng::seed_from_u64(sc.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ number);
    let mut sampler: Box<dyn Sampler> = match sc.name.as_str() {
        "random" => Box::new(RandomSampler),
        _ => Box::new(TpeSampler {
            settings: TpeSettings {
                n_startup_trials: sc.n_startup_trials,
                n_ei_candidates: sc.n_ei_candidates,
                multivariate: sc.multivariate,
                ..TpeSettings::default()
            },
        }),
    };
    Ok(Some(space.sample(sampler.as_mut(), &history, &mut rng)))
}

/// The best complete trial (lowest value for minimised studies).
pub fn best_trial<'a>(study: &Study, trials: &'a [TrialRecord]) -> Option<&'a TrialRecord> {
    let minimize = matches!(
        study.spec.direction,
        perturbench_hpo::storage::Direction::Minimize
    );
    trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .filter(|t| t.value.is_some_and(f64::is_finite))
        .min_by(|a, b| {
            let (x, y) = (a.value.unwrap(), b.value.unwrap());
            if minimize {
                x.total_cmp(&y)
            } else {
                y.total_cmp(&x)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objective_is_the_weighted_sum_and_names_a_missing_metric() {
        let o = parse_objective("rmse_average=1.0, rmse_rank_average=0.1").unwrap();
        let s: BTreeMap<String, f64> = [("rmse_average", 0.5), ("rmse_rank_average", 0.2)]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        assert!((objective_value(&o, &s).unwrap() - 0.52).abs() < 1e-12);
        let o = parse_objective("cosine_logfc=-1").unwrap();
        let e = objective_value(&o, &s).unwrap_err();
        assert!(
            e.contains("cosine_logfc") && e.contains("rmse_average"),
            "{e}"
        );
        assert!(parse_objective("rmse_average").is_err());
        assert!(parse_objective("rmse_average=x").is_err());
    }
}
