//! Rows as read from either backend, and their assembly into [`Study`] and [`TrialRecord`].
//! Ids are read as `BIGINT` and enum columns as `TEXT` (PostgreSQL has Optuna's enum types);
//! the SQL of a datetime's Unix seconds differs ([`Dialect`]).

use super::dialect::Dialect;
use super::optuna::{
    decode_param, decode_value, encode_param, parse_distribution, FIXED_PARAMS_ATTR,
    JSON_PARAMS_ATTR,
};
use super::{Direction, JsonMap, StorageError, Study, StudySpec, TrialRecord, TrialState};
use crate::space::SearchSpace;
use serde_json::Value;
use std::collections::BTreeMap;

/// The `kind` of a study that Optuna created and perturbench has not yet adopted.
pub const OPTUNA_KIND: &str = "optuna";

/// The columns of a study, in the order [`StudyRow`] reads them, from [`STUDY_FROM`].
pub(crate) const STUDY_COLUMNS: &str = "CAST(s.study_id AS BIGINT), s.study_name, p.kind, \
     CAST(d.direction AS TEXT), p.space_json, p.config_json, p.n_trials, p.created, \
     (SELECT CAST(COUNT(*) AS BIGINT) FROM study_directions d2 WHERE d2.study_id = s.study_id)";

/// The tables of a study (`s`: Optuna's row, `d`: its first direction, `p`: ours).
pub(crate) const STUDY_FROM: &str = "studies s \
     LEFT JOIN study_directions d ON d.study_id = s.study_id AND d.objective = 0 \
     LEFT JOIN perturbench_studies p ON p.study_id = s.study_id";

/// Which trials to load.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TrialFilter {
    /// All trials of a study.
    Study(i64),
    /// One trial.
    Trial(i64),
}

impl TrialFilter {
    /// The value of the query parameter `$1`.
    pub(crate) fn id(self) -> i64 {
        match self {
            TrialFilter::Study(id) | TrialFilter::Trial(id) => id,
        }
    }

    fn condition(self) -> &'static str {
        match self {
            TrialFilter::Study(_) => "t.study_id = CAST($1 AS BIGINT)",
            TrialFilter::Trial(_) => "t.trial_id = CAST($1 AS BIGINT)",
        }
    }

    /// The seven queries that load trials and their children, in the order of the fields of
    /// [`TrialRows`]; each takes the parameter `$1` = [`TrialFilter::id`].
    pub(crate) fn queries(self, dialect: Dialect) -> [String; 7] {
        let w = self.condition();
        let child = |alias: &str, table: &str, cols: &str, extra: &str| {
            format!(
                "SELECT CAST({alias}.trial_id AS BIGINT), {cols} FROM {table} {alias} \
                 JOIN trials t ON t.trial_id = {alias}.trial_id WHERE {w}{extra}"
            )
        };
        [
            format!(
                "SELECT CAST(t.trial_id AS BIGINT), CAST(t.study_id AS BIGINT), \
                 CAST(t.number AS BIGINT), CAST(t.state AS TEXT), w.worker, \
                 CAST(COALESCE(w.attempts, 0) AS BIGINT), {}, {} FROM trials t \
                 LEFT JOIN perturbench_trials w ON w.trial_id = t.trial_id \
                 WHERE {w} ORDER BY t.number, t.trial_id",
                dialect.epoch("t.datetime_start"),
                dialect.epoch("t.datetime_complete")
            ),
            child(
                "p",
                "trial_params",
                "p.param_name, p.param_value, p.distribution_json",
                "",
            ),
            child(
                "v",
                "trial_values",
                "v.value, CAST(v.value_type AS TEXT)",
                " AND v.objective = 0",
            ),
            child(
                "i",
                "trial_intermediate_values",
                "CAST(i.step AS BIGINT), i.intermediate_value, \
                 CAST(i.intermediate_value_type AS TEXT)",
                " ORDER BY i.step",
            ),
            child(
                "h",
                "trial_heartbeats",
                &dialect.heartbeat_epoch("h.heartbeat"),
                "",
            ),
            child("a", "trial_user_attributes", "a.key, a.value_json", ""),
            child(
                "y",
                "trial_system_attributes",
                "y.key, y.value_json",
                &format!(" AND y.key IN ('{JSON_PARAMS_ATTR}', '{FIXED_PARAMS_ATTR}')"),
            ),
        ]
    }
}

/// One study: Optuna's row with our columns (absent for a study Optuna created).
pub(crate) struct StudyRow {
    pub id: i64,
    pub name: String,
    pub kind: Option<String>,
    pub direction: Option<String>,
    pub space_json: Option<String>,
    pub config_json: Option<String>,
    pub n_trials: Option<i64>,
    pub created: Option<f64>,
    pub n_directions: i64,
}

impl StudyRow {
    /// The study, or [`StorageError::Corrupt`] naming `store` when a column cannot be read.
    /// A study without our columns gets kind [`OPTUNA_KIND`], a null space and config.
    pub(crate) fn into_study(self, store: &str) -> Result<Study, StorageError> {
        let corrupt = |what: String| StorageError::Corrupt {
            store: store.to_string(),
            what: format!("study '{}' (id {}): {what}", self.name, self.id),
        };
        if self.n_directions > 1 {
            return Err(corrupt(format!(
                "it has {} objectives; perturbench studies have one",
                self.n_directions
            )));
        }
        let direction: Direction = self
            .direction
            .as_deref()
            .unwrap_or("(none)")
            .parse()
            .map_err(|e: StorageError| corrupt(e.to_string()))?;
        let json = |text: &Option<String>, what: &str| match text {
            Some(t) => parse_json(t).map_err(|e| corrupt(format!("{what}: {e}"))),
            None => Ok(Value::Null),
        };
        let space = json(&self.space_json, "space")?;
        let config = json(&self.config_json, "config")?;
        let n_trials = self
            .n_trials
            .map(u32::try_from)
            .transpose()
            .map_err(|_| corrupt(format!("n_trials {:?} out of range", self.n_trials)))?;
        Ok(Study {
            id: self.id,
            created: self.created.unwrap_or(0.0),
            spec: StudySpec {
                name: self.name.clone(),
                kind: self.kind.clone().unwrap_or_else(|| OPTUNA_KIND.to_string()),
                direction,
                space,
                config,
                n_trials,
            },
        })
    }
}

/// One row of `trials` with our columns.
pub(crate) struct TrialRow {
    pub id: i64,
    pub study_id: i64,
    pub number: Option<i64>,
    pub state: String,
    pub worker: Option<String>,
    pub attempts: i64,
    pub started: Option<f64>,
    pub finished: Option<f64>,
}

/// A `trial_params` row: `(trial, name, internal value, distribution JSON)`.
pub(crate) type ParamRow = (i64, Option<String>, Option<f64>, Option<String>);

/// The rows of [`TrialFilter::queries`].
#[derive(Default)]
pub(crate) struct TrialRows {
    pub trials: Vec<TrialRow>,
    pub params: Vec<ParamRow>,
    /// `(trial, value, value type)`.
    pub values: Vec<(i64, Option<f64>, String)>,
    /// `(trial, step, value, value type)`.
    pub intermediate: Vec<(i64, i64, Option<f64>, String)>,
    pub heartbeats: Vec<(i64, Option<f64>)>,
    /// `(trial, key, JSON)`.
    pub attrs: Vec<(i64, Option<String>, Option<String>)>,
    /// `(trial, key, JSON)` of the system attributes we read.
    pub system: Vec<(i64, Option<String>, Option<String>)>,
}

impl TrialRows {
    /// The trials in the order of `trials`, or [`StorageError::Corrupt`] naming `store`.
    pub(crate) fn assemble(self, store: &str) -> Result<Vec<TrialRecord>, StorageError> {
        let corrupt = |trial: i64, what: String| StorageError::Corrupt {
            store: store.to_string(),
            what: format!("trial {trial}: {what}"),
        };
        let mut index = BTreeMap::new();
        let mut out = Vec::with_capacity(self.trials.len());
        for row in self.trials {
            let state: TrialState = row
                .state
                .parse()
                .map_err(|e: StorageError| corrupt(row.id, e.to_string()))?;
            index.insert(row.id, out.len());
            out.push(TrialRecord {
                id: row.id,
                study_id: row.study_id,
                number: row.number.unwrap_or(-1),
                state,
                params: JsonMap::new(),
                value: None,
                intermediate: Vec::new(),
                attrs: JsonMap::new(),
                worker: row.worker,
                attempts: row.attempts,
                started: row.started,
                finished: row.finished,
                heartbeat: None,
            });
        }
        let slot = |id: i64| index.get(&id).copied();
        let mut json_params: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        let mut fixed: BTreeMap<i64, JsonMap> = BTreeMap::new();
        for (id, key, json) in self.system {
            let (Some(key), Some(json)) = (key, json) else {
                continue;
            };
            let value = parse_json(&json)
                .map_err(|e| corrupt(id, format!("system attribute '{key}': {e}")))?;
            if key == JSON_PARAMS_ATTR {
                let names = value
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                json_params.insert(id, names);
            } else if let Value::Object(m) = value {
                fixed.insert(id, m);
            }
        }
        for (id, name, value, distribution) in self.params {
            let Some(i) = slot(id) else { continue };
            let name = name.unwrap_or_default();
            let (Some(value), Some(distribution)) = (value, distribution) else {
                return Err(corrupt(id, format!("parameter '{name}' has no value")));
            };
            let d = parse_distribution(&distribution)
                .map_err(|e| corrupt(id, format!("parameter '{name}': {e}")))?;
            let json_text = json_params.get(&id).is_some_and(|n| n.contains(&name));
            let v = decode_param(&d, value, json_text)
                .map_err(|e| corrupt(id, format!("parameter '{name}': {e}")))?;
            out[i].params.insert(name, v);
        }
        // Optuna's enqueue_trial keeps a waiting trial's parameters in a system attribute.
        for (id, m) in fixed {
            if let Some(i) = slot(id) {
                for (k, v) in m {
                    out[i].params.entry(k).or_insert(v);
                }
            }
        }
        for (id, value, kind) in self.values {
            if let Some(i) = slot(id) {
                out[i].value = Some(
                    decode_value(value, &kind).map_err(|e| corrupt(id, format!("value: {e}")))?,
                );
            }
        }
        for (id, step, value, kind) in self.intermediate {
            if let Some(i) = slot(id) {
                let v = decode_value(value, &kind)
                    .map_err(|e| corrupt(id, format!("intermediate value at step {step}: {e}")))?;
                out[i].intermediate.push((step, v));
            }
        }
        for (id, heartbeat) in self.heartbeats {
            if let Some(i) = slot(id) {
                out[i].heartbeat = heartbeat;
            }
        }
        for (id, key, json) in self.attrs {
            if let Some(i) = slot(id) {
                let key = key.unwrap_or_default();
                let value = match json {
                    Some(j) => parse_json(&j)
                        .map_err(|e| corrupt(id, format!("user attribute '{key}': {e}")))?,
                    None => Value::Null,
                };
                out[i].attrs.insert(key, value);
            }
        }
        for trial in &mut out {
            trial.intermediate.sort_by_key(|(step, _)| *step);
        }
        Ok(out)
    }
}

/// Parses stored JSON text.
fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("invalid JSON ({e})"))
}

/// The next trial number after these numbers (0 for none).
pub(crate) fn next_number(trials: &[TrialRecord]) -> i64 {
    trials.iter().map(|t| t.number + 1).max().unwrap_or(0)
}

/// The rows to store for a trial's parameters in a study with `space` (a search space, or
/// anything else for studies of fixed jobs): `(name, internal value, distribution JSON)`, and
/// the value of the system attribute [`JSON_PARAMS_ATTR`] when some values are JSON text.
pub(crate) fn param_rows(
    space: &Value,
    params: &JsonMap,
) -> (Vec<(String, f64, String)>, Option<String>) {
    let space = SearchSpace::from_json(space).ok();
    let mut rows = Vec::with_capacity(params.len());
    let mut json_names = Vec::new();
    for (name, value) in params {
        let p = encode_param(space.as_ref(), name, value);
        if p.json_text {
            json_names.push(Value::String(name.clone()));
        }
        rows.push((name.clone(), p.value, p.distribution));
    }
    let marker = (!json_names.is_empty()).then(|| Value::Array(json_names).to_string());
    (rows, marker)
}

/// Why a study that Optuna created cannot be continued with `space`: a parameter whose stored
/// distribution is incompatible (another class or other choices). `trials`' params come from
/// [`TrialRows::assemble`]; `distributions` are the stored ones by parameter name.
pub(crate) fn space_conflicts(space: &Value, distributions: &[(String, String)]) -> Vec<String> {
    let Ok(space) = SearchSpace::from_json(space) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, json) in distributions {
        let Some(ours) = space.params.get(name) else {
            continue;
        };
        match parse_distribution(json) {
            Ok(stored) if super::optuna::compatible(&stored, ours) => {}
            _ => {
                let text = format!("parameter '{name}' (stored {json})");
                if !out.contains(&text) {
                    out.push(text);
                }
            }
        }
    }
    out
}
