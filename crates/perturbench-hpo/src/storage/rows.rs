//! Row-level SQL of both backends: loading, locking and inserting studies and trials inside a
//! transaction ([`Sql`]). Datetimes are written as Optuna writes them: UTC without time zone
//! (text `YYYY-MM-DD HH:MM:SS.ffffff` on SQLite); Optuna's enum columns get our fixed names.

use super::optuna::{encode_value, JSON_PARAMS_ATTR};
use super::records::{
    param_rows, StudyRow, TrialFilter, TrialRow, TrialRows, STUDY_COLUMNS, STUDY_FROM,
};
use super::schema::{STUDY_CHILD_TABLES, TRIAL_CHILD_TABLES};
use super::sql::{Sql, SqlValue, TxError};
use super::{JsonMap, StorageError, Study, StudySpec, TrialRecord};

/// Studies matching `condition` (SQL over `s`, `d`, `p` of [`STUDY_FROM`] with parameters
/// `params`), ordered by id.
pub(super) fn load_studies(
    tx: &mut dyn Sql,
    store: &str,
    condition: &str,
    params: &[SqlValue],
) -> Result<Vec<Study>, TxError> {
    query_studies(tx, store, condition, params, "")
}

/// [`load_studies`] with their rows locked until the end of the transaction.
pub(super) fn lock_studies(
    tx: &mut dyn Sql,
    store: &str,
    condition: &str,
    params: &[SqlValue],
) -> Result<Vec<Study>, TxError> {
    let lock = tx.dialect().lock(" FOR UPDATE OF s");
    query_studies(tx, store, condition, params, lock)
}

/// The study with this id, locked; [`StorageError::NoSuchStudy`] when there is none.
pub(super) fn lock_study(tx: &mut dyn Sql, store: &str, study_id: i64) -> Result<Study, TxError> {
    lock_studies(tx, store, "s.study_id = $1", &[study_id.into()])?
        .pop()
        .ok_or_else(|| {
            StorageError::NoSuchStudy {
                study_id,
                store: store.to_string(),
            }
            .into()
        })
}

fn query_studies(
    tx: &mut dyn Sql,
    store: &str,
    condition: &str,
    params: &[SqlValue],
    lock: &str,
) -> Result<Vec<Study>, TxError> {
    let sql = format!(
        "SELECT {STUDY_COLUMNS} FROM {STUDY_FROM} WHERE {condition} ORDER BY s.study_id{lock}"
    );
    tx.query(&sql, params)?
        .iter()
        .map(|r| {
            Ok(StudyRow {
                id: r.get(0)?,
                name: r.get(1)?,
                kind: r.get(2)?,
                direction: r.get(3)?,
                space_json: r.get(4)?,
                config_json: r.get(5)?,
                n_trials: r.get(6)?,
                created: r.get(7)?,
                n_directions: r.get(8)?,
            }
            .into_study(store)?)
        })
        .collect()
}

/// Trials (with parameters, values, ...) selected by `filter`, ordered by number.
pub(super) fn load_trials(
    tx: &mut dyn Sql,
    store: &str,
    filter: TrialFilter,
) -> Result<Vec<TrialRecord>, TxError> {
    let [q_trials, q_params, q_values, q_inter, q_hb, q_attrs, q_system] =
        filter.queries(tx.dialect());
    let id = [filter.id().into()];
    let trials = tx
        .query(&q_trials, &id)?
        .iter()
        .map(|r| {
            Ok(TrialRow {
                id: r.get(0)?,
                study_id: r.get(1)?,
                number: r.get(2)?,
                state: r.get(3)?,
                worker: r.get(4)?,
                attempts: r.get(5)?,
                started: r.get(6)?,
                finished: r.get(7)?,
            })
        })
        .collect::<Result<_, TxError>>()?;
    let rows = TrialRows {
        trials,
        params: tx.rows(&q_params, &id)?,
        values: tx.rows(&q_values, &id)?,
        intermediate: tx.rows(&q_inter, &id)?,
        heartbeats: tx.rows(&q_hb, &id)?,
        attrs: tx.rows(&q_attrs, &id)?,
        system: tx.rows(&q_system, &id)?,
    };
    Ok(rows.assemble(store)?)
}

/// The one trial with this id.
pub(super) fn load_trial(
    tx: &mut dyn Sql,
    store: &str,
    trial_id: i64,
) -> Result<TrialRecord, TxError> {
    load_trials(tx, store, TrialFilter::Trial(trial_id))?
        .pop()
        .ok_or_else(|| {
            StorageError::NoSuchTrial {
                trial_id,
                store: store.to_string(),
            }
            .into()
        })
}

/// The number after the largest of a study's trials (0 for none).
pub(super) fn next_free_number(tx: &mut dyn Sql, study_id: i64) -> Result<i64, TxError> {
    tx.value(
        "SELECT CAST(COALESCE(MAX(number) + 1, 0) AS BIGINT) FROM trials WHERE study_id = $1",
        &[study_id.into()],
    )
}

/// Inserts a trial of `study` with its parameters (RUNNING for `worker` since now when given,
/// else WAITING); returns its id.
pub(super) fn insert_trial(
    tx: &mut dyn Sql,
    study: &Study,
    number: i64,
    params: &JsonMap,
    worker: Option<&str>,
) -> Result<i64, TxError> {
    let d = tx.dialect();
    let (state, start) = match worker {
        Some(_) => ("RUNNING", d.now()),
        None => ("WAITING", "NULL".to_string()),
    };
    let trial_id: i64 = tx.value(
        &format!(
            "INSERT INTO trials (number, study_id, state, datetime_start) \
             VALUES ($1, $2, $3, {start}) RETURNING CAST(trial_id AS BIGINT)"
        ),
        &[number.into(), study.id.into(), state.into()],
    )?;
    if d.reuses_ids() {
        // A reused id must not inherit the old trial's rows.
        for table in TRIAL_CHILD_TABLES {
            tx.execute(
                &format!("DELETE FROM {table} WHERE trial_id = $1"),
                &[trial_id.into()],
            )?;
        }
    }
    tx.execute(
        "INSERT INTO perturbench_trials (trial_id, worker, attempts) VALUES ($1, $2, $3)",
        &[
            trial_id.into(),
            worker.into(),
            i64::from(worker.is_some()).into(),
        ],
    )?;
    insert_params(tx, trial_id, &study.spec.space, params)?;
    if worker.is_some() {
        set_heartbeat(tx, trial_id)?;
    }
    Ok(trial_id)
}

/// Inserts the `trial_params` rows of `params` for a trial of a study with `space`.
fn insert_params(
    tx: &mut dyn Sql,
    trial_id: i64,
    space: &serde_json::Value,
    params: &JsonMap,
) -> Result<(), TxError> {
    let (rows, marker) = param_rows(space, params);
    for (name, value, distribution) in rows {
        tx.execute(
            "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) \
             VALUES ($1, $2, $3, $4)",
            &[
                trial_id.into(),
                name.into(),
                value.into(),
                distribution.into(),
            ],
        )?;
    }
    if let Some(marker) = marker {
        tx.execute(
            "INSERT INTO trial_system_attributes (trial_id, key, value_json) VALUES ($1, $2, $3) \
             ON CONFLICT (trial_id, key) DO UPDATE SET value_json = EXCLUDED.value_json",
            &[trial_id.into(), JSON_PARAMS_ATTR.into(), marker.into()],
        )?;
    }
    Ok(())
}

/// Writes the `trial_params` rows a claimed trial lacks: the parameters that Optuna's
/// `enqueue_trial` keeps in the system attribute `fixed_params` until the trial runs.
pub(super) fn store_fixed_params(
    tx: &mut dyn Sql,
    store: &str,
    trial: &TrialRecord,
) -> Result<(), TxError> {
    let have: Vec<(Option<String>,)> = tx.rows(
        "SELECT CAST(param_name AS TEXT) FROM trial_params WHERE trial_id = $1",
        &[trial.id.into()],
    )?;
    let missing: JsonMap = trial
        .params
        .iter()
        .filter(|(k, _)| !have.iter().any(|(h,)| h.as_deref() == Some(k.as_str())))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let Some(study) = load_studies(tx, store, "s.study_id = $1", &[trial.study_id.into()])?
        .into_iter()
        .next()
    else {
        return Ok(());
    };
    insert_params(tx, trial.id, &study.spec.space, &missing)
}

/// Sets (inserts or replaces) a trial's heartbeat to now.
pub(super) fn set_heartbeat(tx: &mut dyn Sql, trial_id: i64) -> Result<(), TxError> {
    let now = tx.dialect().now_heartbeat();
    tx.execute(
        &format!(
            "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES ($1, {now}) \
             ON CONFLICT (trial_id) DO UPDATE SET heartbeat = EXCLUDED.heartbeat"
        ),
        &[trial_id.into()],
    )
}

/// Sets the worker of a trial, counting an attempt.
pub(super) fn set_worker(tx: &mut dyn Sql, trial_id: i64, worker: &str) -> Result<(), TxError> {
    tx.execute(
        "INSERT INTO perturbench_trials (trial_id, worker, attempts) VALUES ($1, $2, 1) \
         ON CONFLICT (trial_id) DO UPDATE SET worker = EXCLUDED.worker, \
         attempts = perturbench_trials.attempts + 1",
        &[trial_id.into(), worker.into()],
    )
}

/// Inserts or replaces a value row: the objective value (`intermediate` false, key objective 0)
/// or the intermediate value at step `key`.
pub(super) fn set_value(
    tx: &mut dyn Sql,
    trial_id: i64,
    intermediate: bool,
    key: i64,
    value: f64,
) -> Result<(), TxError> {
    let (v, kind) = encode_value(value);
    let sql = if intermediate {
        "INSERT INTO trial_intermediate_values \
         (trial_id, step, intermediate_value, intermediate_value_type) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (trial_id, step) DO UPDATE SET \
         intermediate_value = EXCLUDED.intermediate_value, \
         intermediate_value_type = EXCLUDED.intermediate_value_type"
    } else {
        "INSERT INTO trial_values (trial_id, objective, value, value_type) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (trial_id, objective) DO UPDATE SET value = EXCLUDED.value, \
         value_type = EXCLUDED.value_type"
    };
    tx.execute(sql, &[trial_id.into(), key.into(), v.into(), kind.into()])
}

/// Locks the trial row and tells whether it is RUNNING for `worker`.
pub(super) fn lock_running_for(
    tx: &mut dyn Sql,
    trial_id: i64,
    worker: &str,
) -> Result<bool, TxError> {
    let lock = tx.dialect().lock(" FOR UPDATE OF t");
    Ok(tx
        .query_opt(
            &format!(
                "SELECT 1 FROM trials t JOIN perturbench_trials w ON w.trial_id = t.trial_id \
                 WHERE t.trial_id = $1 AND t.state = 'RUNNING' AND w.worker = $2{lock}"
            ),
            &[trial_id.into(), worker.into()],
        )?
        .is_some())
}

/// Inserts a study; returns it, or `None` when one of that name exists.
pub(super) fn insert_study(tx: &mut dyn Sql, spec: &StudySpec) -> Result<Option<Study>, TxError> {
    let Some(row) = tx.query_opt(
        "INSERT INTO studies (study_name) VALUES ($1) ON CONFLICT (study_name) DO NOTHING \
         RETURNING CAST(study_id AS BIGINT)",
        &[spec.name.as_str().into()],
    )?
    else {
        return Ok(None);
    };
    let id: i64 = row.get(0)?;
    if tx.dialect().reuses_ids() {
        for table in STUDY_CHILD_TABLES {
            tx.execute(
                &format!("DELETE FROM {table} WHERE study_id = $1"),
                &[id.into()],
            )?;
        }
    }
    tx.execute(
        "INSERT INTO study_directions (direction, study_id, objective) VALUES ($1, $2, 0)",
        &[spec.direction.as_str().into(), id.into()],
    )?;
    adopt_study(tx, id, spec).map(Some)
}

/// Writes our columns of study `id` (a new study, or one Optuna created); returns it.
pub(super) fn adopt_study(tx: &mut dyn Sql, id: i64, spec: &StudySpec) -> Result<Study, TxError> {
    let now = tx.dialect().now_epoch();
    let created: f64 = tx.value(
        &format!(
            "INSERT INTO perturbench_studies \
             (study_id, kind, space_json, config_json, n_trials, created) \
             VALUES ($1, $2, $3, $4, $5, {now}) RETURNING created"
        ),
        &[
            id.into(),
            spec.kind.as_str().into(),
            spec.space.to_string().into(),
            spec.config.to_string().into(),
            spec.n_trials.map(i64::from).into(),
        ],
    )?;
    Ok(Study {
        id,
        created,
        spec: spec.clone(),
    })
}

/// Deletes the trials of a study and the study.
pub(super) fn delete_study(tx: &mut dyn Sql, study_id: i64) -> Result<(), TxError> {
    let in_study = "trial_id IN (SELECT trial_id FROM trials WHERE study_id = $1)";
    let statements = TRIAL_CHILD_TABLES
        .iter()
        .map(|t| format!("DELETE FROM {t} WHERE {in_study}"))
        .chain(["DELETE FROM trials WHERE study_id = $1".to_string()])
        .chain(
            STUDY_CHILD_TABLES
                .iter()
                .map(|t| format!("DELETE FROM {t} WHERE study_id = $1")),
        )
        .chain(["DELETE FROM studies WHERE study_id = $1".to_string()]);
    for sql in statements {
        tx.execute(&sql, &[study_id.into()])?;
    }
    Ok(())
}

/// The distinct `(name, distribution JSON)` of the parameters of a study's trials.
pub(super) fn stored_distributions(
    tx: &mut dyn Sql,
    study_id: i64,
) -> Result<Vec<(String, String)>, TxError> {
    tx.rows(
        "SELECT DISTINCT CAST(p.param_name AS TEXT), p.distribution_json FROM trial_params p \
         JOIN trials t ON t.trial_id = p.trial_id WHERE t.study_id = $1 \
         AND p.param_name IS NOT NULL AND p.distribution_json IS NOT NULL",
        &[study_id.into()],
    )
}
