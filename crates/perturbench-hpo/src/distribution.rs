//! Search-space distributions (Optuna's): float (optionally log or stepped), int (inclusive
//! bounds; optionally log or stepped) and categorical. Samplers work in an internal space:
//! the log of the value for log distributions, the value otherwise, the index for categoricals.

use crate::HpoError;
use serde::{Deserialize, Serialize};

/// One parameter's distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Distribution {
    /// A real in `[low, high]`.
    Float {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
        /// Sample the logarithm uniformly.
        #[serde(default)]
        log: bool,
        /// Values on the grid `low + k·step`.
        #[serde(default)]
        step: Option<f64>,
    },
    /// An integer in `[low, high]` (both included).
    Int {
        /// Lower bound.
        low: i64,
        /// Upper bound (included).
        high: i64,
        /// Sample the logarithm uniformly.
        #[serde(default)]
        log: bool,
        /// Values on the grid `low + k·step`.
        #[serde(default = "one")]
        step: i64,
    },
    /// One of the listed values.
    Categorical {
        /// The choices.
        choices: Vec<serde_json::Value>,
    },
}

fn one() -> i64 {
    1
}

impl Distribution {
    /// Checks the bounds, naming the parameter `name` in errors.
    pub fn validate(&self, name: &str) -> Result<(), HpoError> {
        let bad = |m: String| {
            Err(HpoError::Distribution {
                name: name.to_string(),
                message: m,
            })
        };
        match self {
            Distribution::Float {
                low,
                high,
                log,
                step,
            } => {
                if !(low.is_finite() && high.is_finite()) || low > high {
                    return bad(format!("bounds [{low}, {high}] are not an interval"));
                }
                if *log && *low <= 0.0 {
                    return bad(format!("a log distribution needs low > 0, got {low}"));
                }
                if let Some(s) = step {
                    if *log || *s <= 0.0 {
                        return bad("step must be positive and not combined with log".into());
                    }
                }
            }
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => {
                if low > high {
                    return bad(format!("bounds [{low}, {high}] are not an interval"));
                }
                if *log && (*low < 1 || *step != 1) {
                    return bad("a log int distribution needs low >= 1 and step 1".into());
                }
                if *step < 1 {
                    return bad(format!("step must be at least 1, got {step}"));
                }
            }
            Distribution::Categorical { choices } => {
                if choices.is_empty() {
                    return bad("no choices".into());
                }
            }
        }
        Ok(())
    }

    /// Whether the internal space is the log of the value.
    pub fn is_log(&self) -> bool {
        matches!(
            self,
            Distribution::Float { log: true, .. } | Distribution::Int { log: true, .. }
        )
    }

    /// The internal-space interval used by continuous samplers: the bounds (log for log
    /// distributions), widened by half a step on each side for discrete ones so that every
    /// grid value gets the same mass. `None` for categoricals.
    pub fn internal_bounds(&self) -> Option<(f64, f64)> {
        match self {
            Distribution::Float {
                low,
                high,
                log,
                step,
            } => Some(if *log {
                (low.ln(), high.ln())
            } else if let Some(s) = step {
                (low - 0.5 * s, high + 0.5 * s)
            } else {
                (*low, *high)
            }),
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => {
                let (l, h) = (*low as f64, *high as f64);
                Some(if *log {
                    ((l - 0.5).max(0.5).ln(), (h + 0.5).ln())
                } else {
                    let s = *step as f64;
                    (l - 0.5 * s, h + 0.5 * s)
                })
            }
            Distribution::Categorical { .. } => None,
        }
    }

    /// Maps an internal value to the closest valid internal value (grid, bounds).
    pub fn snap(&self, x: f64) -> f64 {
        match self {
            Distribution::Float {
                low,
                high,
                log,
                step,
            } => {
                if *log {
                    x.clamp(low.ln(), high.ln())
                } else if let Some(s) = step {
                    let last = ((high - low) / s + 1e-9).floor();
                    let k = ((x - low) / s).round().clamp(0.0, last);
                    low + k * s
                } else {
                    x.clamp(*low, *high)
                }
            }
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => {
                let v = if *log { x.exp() } else { x };
                // The grid's last point may be below `high` when the step does not divide
                // the range (Optuna's int distributions likewise stop at the last grid point).
                let last = ((*high - *low) / *step) as f64;
                let k = ((v - *low as f64) / *step as f64).round().clamp(0.0, last);
                let v = *low as f64 + k * *step as f64;
                if *log {
                    v.ln()
                } else {
                    v
                }
            }
            Distribution::Categorical { choices } => {
                x.round().clamp(0.0, (choices.len() - 1) as f64)
            }
        }
    }

    /// The user-facing value of an internal value.
    pub fn external(&self, x: f64) -> serde_json::Value {
        match self {
            Distribution::Float { log, .. } => {
                serde_json::Value::from(if *log { x.exp() } else { x })
            }
            Distribution::Int { log, .. } => {
                serde_json::Value::from((if *log { x.exp() } else { x }).round() as i64)
            }
            Distribution::Categorical { choices } => choices[x as usize].clone(),
        }
    }
}
