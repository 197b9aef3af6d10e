//! Rows as read from either backend, and their assembly into [`Study`] and [`TrialRecord`].
//! The SQL here is shared: its one parameter is written `$1`, which SQLite also accepts.

use super::{Direction, JsonMap, StorageError, Study, StudySpec, TrialRecord, TrialState};
use serde_json::Value;
use std::collections::BTreeMap;

/// The columns of `studies`, in the order [`StudyRow`] reads them.
pub(crate) const STUDY_COLUMNS: &str =
    "study_id, study_name, kind, direction, space_json, config_json, n_trials, created";

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
            TrialFilter::Study(_) => "t.study_id = $1",
            TrialFilter::Trial(_) => "t.trial_id = $1",
        }
    }

    /// The six queries that load trials and their children, in the order of the fields of
    /// [`TrialRows`]; each takes the parameter `$1` = [`TrialFilter::id`].
    pub(crate) fn queries(self) -> [String; 6] {
        let w = self.condition();
        let child = |alias: &str, table: &str, cols: &str, extra: &str| {
            format!(
                "SELECT {cols} FROM {table} {alias} JOIN trials t ON t.trial_id = {alias}.trial_id \
                 WHERE {w}{extra}"
            )
        };
        [
            format!(
                "SELECT t.trial_id, t.study_id, t.number, t.state, t.worker, t.attempts, \
                 t.datetime_start, t.datetime_complete FROM trials t WHERE {w} ORDER BY t.number"
            ),
            child(
                "p",
                "trial_params",
                "p.trial_id, p.param_name, p.value_json",
                "",
            ),
            child(
                "v",
                "trial_values",
                "v.trial_id, v.value",
                " AND v.objective = 0",
            ),
            child(
                "i",
                "trial_intermediate_values",
                "i.trial_id, i.step, i.value",
                " ORDER BY i.step",
            ),
            child("h", "trial_heartbeats", "h.trial_id, h.heartbeat", ""),
            child(
                "a",
                "trial_user_attributes",
                "a.trial_id, a.key, a.value_json",
                "",
            ),
        ]
    }
}

/// One row of `studies`.
pub(crate) struct StudyRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub direction: String,
    pub space_json: String,
    pub config_json: String,
    pub n_trials: Option<i64>,
    pub created: f64,
}

impl StudyRow {
    /// The study, or [`StorageError::Corrupt`] naming `store` when a column cannot be read.
    pub(crate) fn into_study(self, store: &str) -> Result<Study, StorageError> {
        let corrupt = |what: String| StorageError::Corrupt {
            store: store.to_string(),
            what: format!("study '{}' (id {}): {what}", self.name, self.id),
        };
        let direction: Direction = self
            .direction
            .parse()
            .map_err(|e: StorageError| corrupt(e.to_string()))?;
        let space = parse_json(&self.space_json).map_err(|e| corrupt(format!("space: {e}")))?;
        let config = parse_json(&self.config_json).map_err(|e| corrupt(format!("config: {e}")))?;
        let n_trials = self
            .n_trials
            .map(u32::try_from)
            .transpose()
            .map_err(|_| corrupt(format!("n_trials {:?} out of range", self.n_trials)))?;
        Ok(Study {
            id: self.id,
            created: self.created,
            spec: StudySpec {
                name: self.name.clone(),
                kind: self.kind.clone(),
                direction,
                space,
                config,
                n_trials,
            },
        })
    }
}

/// One row of `trials`.
pub(crate) struct TrialRow {
    pub id: i64,
    pub study_id: i64,
    pub number: i64,
    pub state: String,
    pub worker: Option<String>,
    pub attempts: i64,
    pub started: Option<f64>,
    pub finished: Option<f64>,
}

/// The rows of [`TrialFilter::queries`].
#[derive(Default)]
pub(crate) struct TrialRows {
    pub trials: Vec<TrialRow>,
    pub params: Vec<(i64, String, String)>,
    pub values: Vec<(i64, f64)>,
    pub intermediate: Vec<(i64, i64, f64)>,
    pub heartbeats: Vec<(i64, f64)>,
    pub attrs: Vec<(i64, String, String)>,
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
                number: row.number,
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
        for (id, name, json) in self.params {
            if let Some(i) = slot(id) {
                let value = parse_json(&json)
                    .map_err(|e| corrupt(id, format!("parameter '{name}': {e}")))?;
                out[i].params.insert(name, value);
            }
        }
        for (id, value) in self.values {
            if let Some(i) = slot(id) {
                out[i].value = Some(value);
            }
        }
        for (id, step, value) in self.intermediate {
            if let Some(i) = slot(id) {
                out[i].intermediate.push((step, value));
            }
        }
        for (id, heartbeat) in self.heartbeats {
            if let Some(i) = slot(id) {
                out[i].heartbeat = Some(heartbeat);
            }
        }
        for (id, key, json) in self.attrs {
            if let Some(i) = slot(id) {
                let value = parse_json(&json)
                    .map_err(|e| corrupt(id, format!("user attribute '{key}': {e}")))?;
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
