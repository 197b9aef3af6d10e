//! How values are represented in Optuna's RDB schema: distributions as Optuna's JSON
//! (`{"name": "FloatDistribution", "attributes": {...}}`), parameter values in Optuna's
//! internal representation (the value for float and int distributions, the index of the choice
//! for categoricals), objective and intermediate values with their `value_type`
//! (`FINITE`, `INF_POS`, `INF_NEG`, `NAN`), and datetimes as UTC without time zone.

use crate::distribution::Distribution;
use crate::space::SearchSpace;
use serde_json::{json, Value};

/// Optuna's schema version (`version_info.schema_version`) that this build writes.
pub(crate) const OPTUNA_SCHEMA_VERSION: i64 = 12;

/// Optuna's alembic revision (`alembic_version.version_num`) of that schema.
pub(crate) const OPTUNA_ALEMBIC_REVISION: &str = "v3.2.0.a";

/// `version_info.library_version`: the first Optuna release with this schema.
pub(crate) const OPTUNA_LIBRARY_VERSION: &str = "3.2.0";

/// Trial system attribute listing the parameters whose stored categorical choice is the JSON
/// text of an array or object (Optuna's categorical choices are scalars).
pub(crate) const JSON_PARAMS_ATTR: &str = "perturbench:json_params";

/// Trial system attribute Optuna's `enqueue_trial` writes: the parameters of a WAITING trial.
pub(crate) const FIXED_PARAMS_ATTR: &str = "fixed_params";

/// Optuna's JSON of a distribution.
pub(crate) fn distribution_json(d: &Distribution) -> String {
    let v = match d {
        Distribution::Float {
            low,
            high,
            log,
            step,
        } => json!({"name": "FloatDistribution",
            "attributes": {"step": step, "low": low, "high": high, "log": log}}),
        Distribution::Int {
            low,
            high,
            log,
            step,
        } => json!({"name": "IntDistribution",
            "attributes": {"log": log, "step": step, "low": low, "high": high}}),
        Distribution::Categorical { choices } => {
            json!({"name": "CategoricalDistribution", "attributes": {"choices": choices}})
        }
    };
    v.to_string()
}

/// Reads Optuna's JSON of a distribution, including the classes of Optuna 2
/// (`UniformDistribution`, `LogUniformDistribution`, ...).
pub(crate) fn parse_distribution(text: &str) -> Result<Distribution, String> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("invalid distribution JSON ({e})"))?;
    let name = v.get("name").and_then(Value::as_str).unwrap_or("");
    let a = v.get("attributes").cloned().unwrap_or(Value::Null);
    let f = |key: &str| {
        a.get(key)
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("distribution {text}: no number '{key}'"))
    };
    let i = |key: &str| {
        a.get(key)
            .and_then(|x| x.as_i64().or_else(|| x.as_f64().map(|f| f as i64)))
            .ok_or_else(|| format!("distribution {text}: no integer '{key}'"))
    };
    let flag = |key: &str| a.get(key).and_then(Value::as_bool).unwrap_or(false);
    Ok(match name {
        "FloatDistribution" => Distribution::Float {
            low: f("low")?,
            high: f("high")?,
            log: flag("log"),
            step: a.get("step").and_then(Value::as_f64),
        },
        "UniformDistribution" => Distribution::Float {
            low: f("low")?,
            high: f("high")?,
            log: false,
            step: None,
        },
        "LogUniformDistribution" => Distribution::Float {
            low: f("low")?,
            high: f("high")?,
            log: true,
            step: None,
        },
        "DiscreteUniformDistribution" => Distribution::Float {
            low: f("low")?,
            high: f("high")?,
            log: false,
            step: Some(f("q")?),
        },
        "IntDistribution" | "IntUniformDistribution" | "IntLogUniformDistribution" => {
            Distribution::Int {
                low: i("low")?,
                high: i("high")?,
                log: flag("log") || name == "IntLogUniformDistribution",
                step: a.get("step").map_or(Ok(1), |_| i("step"))?,
            }
        }
        "CategoricalDistribution" => Distribution::Categorical {
            choices: a
                .get("choices")
                .and_then(Value::as_array)
                .cloned()
                .ok_or_else(|| format!("distribution {text}: no list 'choices'"))?,
        },
        _ => return Err(format!("unknown distribution '{name}' in {text}")),
    })
}

/// Whether two distributions of one parameter can be in one Optuna study (Optuna's rule:
/// the same class; for categoricals, the same choices).
pub(crate) fn compatible(a: &Distribution, b: &Distribution) -> bool {
    match (a, b) {
        (Distribution::Float { .. }, Distribution::Float { .. })
        | (Distribution::Int { .. }, Distribution::Int { .. }) => true,
        (Distribution::Categorical { choices: x }, Distribution::Categorical { choices: y }) => {
            x == y
        }
        _ => false,
    }
}

/// A parameter as stored in `trial_params`.
pub(crate) struct StoredParam {
    /// Optuna's internal representation.
    pub value: f64,
    /// Optuna's distribution JSON.
    pub distribution: String,
    /// Whether the value is an array or object kept as its JSON text (a one-choice categorical).
    pub json_text: bool,
}

/// How to store parameter `name` = `value` of a study whose search space is `space`: with the
/// space's distribution when it contains the value, otherwise with a distribution of this one
/// value (an int or float range `[v, v]`, or a one-choice categorical).
pub(crate) fn encode_param(space: Option<&SearchSpace>, name: &str, value: &Value) -> StoredParam {
    if let Some(d) = space.and_then(|s| s.params.get(name)) {
        if let Some(internal) = optuna_internal(d, value) {
            return StoredParam {
                value: internal,
                distribution: distribution_json(d),
                json_text: false,
            };
        }
    }
    let single = |d: Distribution, value: f64, json_text: bool| StoredParam {
        value,
        distribution: distribution_json(&d),
        json_text,
    };
    match value {
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => single(
                Distribution::Int {
                    low: i,
                    high: i,
                    log: false,
                    step: 1,
                },
                i as f64,
                false,
            ),
            (None, Some(f)) => single(
                Distribution::Float {
                    low: f,
                    high: f,
                    log: false,
                    step: None,
                },
                f,
                false,
            ),
            (None, None) => single(
                Distribution::Categorical {
                    choices: vec![Value::String(n.to_string())],
                },
                0.0,
                true,
            ),
        },
        Value::Array(_) | Value::Object(_) => single(
            Distribution::Categorical {
                choices: vec![Value::String(value.to_string())],
            },
            0.0,
            true,
        ),
        scalar => single(
            Distribution::Categorical {
                choices: vec![scalar.clone()],
            },
            0.0,
            false,
        ),
    }
}

/// Optuna's internal representation of `value` in `d`, or `None` when `d` lacks it.
fn optuna_internal(d: &Distribution, value: &Value) -> Option<f64> {
    match d {
        Distribution::Float { low, high, .. } => {
            let x = value.as_f64()?;
            (x >= *low && x <= *high).then_some(x)
        }
        Distribution::Int { low, high, .. } => {
            let x = value.as_i64()?;
            (x >= *low && x <= *high).then_some(x as f64)
        }
        Distribution::Categorical { .. } => d.internal(value),
    }
}

/// The user-facing value of a stored parameter; `json_text`: the choice is JSON text to parse.
pub(crate) fn decode_param(
    distribution: &Distribution,
    internal: f64,
    json_text: bool,
) -> Result<Value, String> {
    match distribution {
        Distribution::Float { .. } => Ok(Value::from(internal)),
        Distribution::Int { .. } => Ok(Value::from(internal.round() as i64)),
        Distribution::Categorical { choices } => {
            let index = internal.round();
            if !(index >= 0.0 && (index as usize) < choices.len()) {
                return Err(format!(
                    "choice index {internal} outside the {} choices",
                    choices.len()
                ));
            }
            let choice = choices[index as usize].clone();
            match (&choice, json_text) {
                (Value::String(text), true) => serde_json::from_str(text)
                    .map_err(|e| format!("stored JSON text {text:?} is invalid ({e})")),
                _ => Ok(choice),
            }
        }
    }
}

/// `(value, value_type)` of a number as Optuna stores it: infinities and NaN as NULL with
/// their type.
pub(crate) fn encode_value(v: f64) -> (Option<f64>, &'static str) {
    if v.is_nan() {
        (None, "NAN")
    } else if v == f64::INFINITY {
        (None, "INF_POS")
    } else if v == f64::NEG_INFINITY {
        (None, "INF_NEG")
    } else {
        (Some(v), "FINITE")
    }
}

/// The number of a stored `(value, value_type)`.
pub(crate) fn decode_value(value: Option<f64>, value_type: &str) -> Result<f64, String> {
    match (value_type, value) {
        ("FINITE", Some(v)) => Ok(v),
        ("INF_POS", _) => Ok(f64::INFINITY),
        ("INF_NEG", _) => Ok(f64::NEG_INFINITY),
        ("NAN", _) => Ok(f64::NAN),
        _ => Err(format!(
            "value {value:?} of type '{value_type}'; expected FINITE, INF_POS, INF_NEG or NAN"
        )),
    }
}

/// Unix seconds as Optuna's SQLite datetime text: UTC, `YYYY-MM-DD HH:MM:SS.ffffff`.
pub(crate) fn datetime_text(unix_s: f64) -> String {
    let micros = (unix_s * 1e6).round() as i64;
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{frac:06}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_are_utc_text() {
        assert_eq!(datetime_text(0.0), "1970-01-01 00:00:00.000000");
        assert_eq!(
            datetime_text(1_796_304_420.522_453),
            "2026-12-03 13:27:00.522453"
        );
        assert_eq!(datetime_text(951_782_400.0), "2000-02-29 00:00:00.000000");
    }

    #[test]
    fn params_round_trip() {
        let space = SearchSpace::from_json(&json!({
            "x": {"type": "float", "low": 1e-4, "high": 1.0, "log": true},
            "n": {"type": "int", "low": 1, "high": 9},
            "c": {"type": "categorical", "choices": ["a", "b", 3]},
        }))
        .unwrap();
        for (name, v, internal) in [
            ("x", json!(0.01), Some(0.01)),
            ("n", json!(4), Some(4.0)),
            ("c", json!("b"), Some(1.0)),
            ("c", json!("zz"), None),
            ("other", json!({"a": [1, 2]}), None),
            ("other", json!("s"), None),
            ("other", json!(2.5), Some(2.5)),
            ("other", json!(null), None),
        ] {
            let p = encode_param(Some(&space), name, &v);
            if let Some(i) = internal {
                assert_eq!(p.value, i, "{name}={v}");
            }
            let d = parse_distribution(&p.distribution).unwrap();
            assert_eq!(decode_param(&d, p.value, p.json_text).unwrap(), v, "{name}");
        }
    }

    #[test]
    fn values_keep_infinities() {
        for v in [1.5, f64::INFINITY, f64::NEG_INFINITY] {
            let (x, t) = encode_value(v);
            assert_eq!(decode_value(x, t).unwrap(), v);
        }
        assert!(decode_value(None, "NAN").unwrap().is_nan());
        assert!(decode_value(None, "FINITE").is_err());
    }
}
