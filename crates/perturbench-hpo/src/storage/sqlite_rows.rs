//! Row-level SQL of the SQLite backend: loading and inserting studies and trials inside a
//! transaction of [`super::SqliteStorage`]. Datetimes are written as Optuna's SQLAlchemy
//! writes them: UTC text `YYYY-MM-DD HH:MM:SS.ffffff`.

use super::optuna::{datetime_text, encode_value, JSON_PARAMS_ATTR};
use super::records::{
    param_rows, Dialect, StudyRow, TrialFilter, TrialRow, TrialRows, STUDY_COLUMNS, STUDY_FROM,
};
use super::schema::{STUDY_CHILD_TABLES, TRIAL_CHILD_TABLES};
use super::{JsonMap, StorageError, Study, StudySpec, TrialRecord};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Transaction};
use std::time::{SystemTime, UNIX_EPOCH};

/// An error inside a transaction: SQLite's (maybe retried) or the store's own.
pub(super) enum TxError {
    Sql(rusqlite::Error),
    Storage(StorageError),
}

impl From<rusqlite::Error> for TxError {
    fn from(e: rusqlite::Error) -> Self {
        TxError::Sql(e)
    }
}

impl From<StorageError> for TxError {
    fn from(e: StorageError) -> Self {
        TxError::Storage(e)
    }
}

/// Whether SQLite reports a lock held by another connection.
pub(super) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Now, Unix seconds, from this process's clock.
pub(super) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Studies matching `condition` (SQL over `s`, `d`, `p` of [`STUDY_FROM`], parameter `?1` =
/// `arg`).
pub(super) fn load_studies(
    conn: &Connection,
    store: &str,
    condition: &str,
    arg: &dyn rusqlite::ToSql,
) -> Result<Vec<Study>, TxError> {
    let sql =
        format!("SELECT {STUDY_COLUMNS} FROM {STUDY_FROM} WHERE {condition} ORDER BY s.study_id");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map([arg], |r| {
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
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .map(|row| row.into_study(store))
        .collect::<Result<_, _>>()?)
}

/// Trials (with parameters, values, ...) selected by `filter`, ordered by number.
pub(super) fn load_trials(
    conn: &Connection,
    store: &str,
    filter: TrialFilter,
) -> Result<Vec<TrialRecord>, TxError> {
    let [q_trials, q_params, q_values, q_inter, q_hb, q_attrs, q_system] =
        filter.queries(Dialect::Sqlite);
    let id = filter.id();
    let rows = TrialRows {
        trials: query_rows(conn, &q_trials, id, |r| {
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
        })?,
        params: query_rows(conn, &q_params, id, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?,
        values: query_rows(conn, &q_values, id, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?,
        intermediate: query_rows(conn, &q_inter, id, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?,
        heartbeats: query_rows(conn, &q_hb, id, |r| Ok((r.get(0)?, r.get(1)?)))?,
        attrs: query_rows(conn, &q_attrs, id, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?,
        system: query_rows(conn, &q_system, id, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?,
    };
    Ok(rows.assemble(store)?)
}

/// The rows of `sql` with the parameter `?1` = `id`, each read by `read`.
pub(super) fn query_rows<T>(
    conn: &Connection,
    sql: &str,
    id: i64,
    read: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([id], read)?.collect();
    rows
}

/// The one trial with this id.
pub(super) fn load_trial(
    conn: &Connection,
    store: &str,
    trial_id: i64,
) -> Result<TrialRecord, TxError> {
    load_trials(conn, store, TrialFilter::Trial(trial_id))?
        .pop()
        .ok_or_else(|| {
            StorageError::NoSuchTrial {
                trial_id,
                store: store.to_string(),
            }
            .into()
        })
}

/// Inserts a trial of `study` with its parameters (RUNNING for the worker since the time
/// given, else WAITING); returns its id.
pub(super) fn insert_trial(
    tx: &Transaction<'_>,
    study: &Study,
    number: i64,
    params: &JsonMap,
    running: Option<(&str, f64)>,
) -> Result<i64, TxError> {
    match running {
        Some((_, at)) => {
            tx.execute(
                "INSERT INTO trials (number, study_id, state, datetime_start) \
                 VALUES (?1, ?2, 'RUNNING', ?3)",
                params![number, study.id, datetime_text(at)],
            )?;
        }
        None => {
            tx.execute(
                "INSERT INTO trials (number, study_id, state) VALUES (?1, ?2, 'WAITING')",
                params![number, study.id],
            )?;
        }
    }
    let trial_id = tx.last_insert_rowid();
    // A reused rowid (SQLite reuses the largest after a delete) must not inherit old rows.
    for table in TRIAL_CHILD_TABLES {
        tx.execute(
            &format!("DELETE FROM {table} WHERE trial_id = ?1"),
            [trial_id],
        )?;
    }
    let (worker, attempts) = match running {
        Some((w, _)) => (Some(w), 1),
        None => (None, 0),
    };
    tx.execute(
        "INSERT INTO perturbench_trials (trial_id, worker, attempts) VALUES (?1, ?2, ?3)",
        params![trial_id, worker, attempts],
    )?;
    insert_params(tx, trial_id, &study.spec.space, params)?;
    if let Some((_, at)) = running {
        set_heartbeat(tx, trial_id, at)?;
    }
    Ok(trial_id)
}

/// Inserts the `trial_params` rows of `params` for a trial of a study with `space`.
fn insert_params(
    tx: &Transaction<'_>,
    trial_id: i64,
    space: &serde_json::Value,
    params: &JsonMap,
) -> Result<(), TxError> {
    let (rows, marker) = param_rows(space, params);
    let mut stmt = tx.prepare(
        "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) \
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (name, value, distribution) in rows {
        stmt.execute(params![trial_id, name, value, distribution])?;
    }
    if let Some(marker) = marker {
        tx.execute(
            "INSERT INTO trial_system_attributes (trial_id, key, value_json) VALUES (?1, ?2, ?3) \
             ON CONFLICT (trial_id, key) DO UPDATE SET value_json = excluded.value_json",
            params![trial_id, JSON_PARAMS_ATTR, marker],
        )?;
    }
    Ok(())
}

/// Writes the `trial_params` rows a claimed trial lacks: the parameters that Optuna's
/// `enqueue_trial` keeps in the system attribute `fixed_params` until the trial runs.
pub(super) fn store_fixed_params(
    tx: &Transaction<'_>,
    store: &str,
    trial: &TrialRecord,
) -> Result<(), TxError> {
    let have: Vec<String> = tx
        .prepare("SELECT param_name FROM trial_params WHERE trial_id = ?1")?
        .query_map([trial.id], |r| r.get::<_, Option<String>>(0))?
        .filter_map(|r| r.transpose())
        .collect::<Result<_, _>>()?;
    let missing: JsonMap = trial
        .params
        .iter()
        .filter(|(k, _)| !have.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let Some(study) = load_studies(tx, store, "s.study_id = ?1", &trial.study_id)?
        .into_iter()
        .next()
    else {
        return Ok(());
    };
    insert_params(tx, trial.id, &study.spec.space, &missing)
}

/// Sets (inserts or replaces) a trial's heartbeat.
pub(super) fn set_heartbeat(tx: &Transaction<'_>, trial_id: i64, at: f64) -> Result<(), TxError> {
    tx.execute(
        "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?1, ?2) \
         ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat",
        params![trial_id, datetime_text(at)],
    )?;
    Ok(())
}

/// Sets the worker of a trial, counting an attempt.
pub(super) fn set_worker(tx: &Transaction<'_>, trial_id: i64, worker: &str) -> Result<(), TxError> {
    tx.execute(
        "INSERT INTO perturbench_trials (trial_id, worker, attempts) VALUES (?1, ?2, 1) \
         ON CONFLICT (trial_id) DO UPDATE SET worker = excluded.worker, \
         attempts = perturbench_trials.attempts + 1",
        params![trial_id, worker],
    )?;
    Ok(())
}

/// Inserts or replaces a value row: the objective value (`intermediate` false, key objective 0)
/// or the intermediate value at step `key`.
pub(super) fn set_value(
    tx: &Transaction<'_>,
    trial_id: i64,
    intermediate: bool,
    key: i64,
    value: f64,
) -> Result<(), TxError> {
    let (v, kind) = encode_value(value);
    let sql = if intermediate {
        "INSERT INTO trial_intermediate_values \
         (trial_id, step, intermediate_value, intermediate_value_type) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (trial_id, step) DO UPDATE SET intermediate_value = excluded.intermediate_value, \
         intermediate_value_type = excluded.intermediate_value_type"
    } else {
        "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (trial_id, objective) DO UPDATE SET value = excluded.value, \
         value_type = excluded.value_type"
    };
    tx.execute(sql, params![trial_id, key, v, kind])?;
    Ok(())
}

/// Whether the trial is RUNNING for `worker`.
pub(super) fn running_for(
    tx: &Transaction<'_>,
    trial_id: i64,
    worker: &str,
) -> Result<bool, TxError> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM trials t JOIN perturbench_trials w ON w.trial_id = t.trial_id \
             WHERE t.trial_id = ?1 AND t.state = 'RUNNING' AND w.worker = ?2",
            params![trial_id, worker],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Deletes the trials of a study and the study.
pub(super) fn delete_study(tx: &Transaction<'_>, study_id: i64) -> Result<(), TxError> {
    for table in TRIAL_CHILD_TABLES {
        tx.execute(
            &format!(
                "DELETE FROM {table} WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?1)"
            ),
            [study_id],
        )?;
    }
    tx.execute("DELETE FROM trials WHERE study_id = ?1", [study_id])?;
    for table in STUDY_CHILD_TABLES {
        tx.execute(
            &format!("DELETE FROM {table} WHERE study_id = ?1"),
            [study_id],
        )?;
    }
    tx.execute("DELETE FROM studies WHERE study_id = ?1", [study_id])?;
    Ok(())
}

/// Inserts a study; returns it.
pub(super) fn insert_study(tx: &Transaction<'_>, spec: &StudySpec) -> Result<Study, TxError> {
    tx.execute(
        "INSERT INTO studies (study_name) VALUES (?1)",
        params![spec.name],
    )?;
    let id = tx.last_insert_rowid();
    for table in STUDY_CHILD_TABLES {
        tx.execute(&format!("DELETE FROM {table} WHERE study_id = ?1"), [id])?;
    }
    tx.execute(
        "INSERT INTO study_directions (direction, study_id, objective) VALUES (?1, ?2, 0)",
        params![spec.direction.as_str(), id],
    )?;
    adopt_study(tx, id, spec)
}

/// Writes our columns of study `id` (a new study, or one Optuna created); returns it.
pub(super) fn adopt_study(
    tx: &Transaction<'_>,
    id: i64,
    spec: &StudySpec,
) -> Result<Study, TxError> {
    let created = now();
    tx.execute(
        "INSERT INTO perturbench_studies (study_id, kind, space_json, config_json, n_trials, created) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            id,
            spec.kind,
            spec.space.to_string(),
            spec.config.to_string(),
            spec.n_trials.map(i64::from),
            created
        ],
    )?;
    Ok(Study {
        id,
        spec: spec.clone(),
        created,
    })
}

/// The distinct `(name, distribution JSON)` of the parameters of a study's trials.
pub(super) fn stored_distributions(
    tx: &Transaction<'_>,
    study_id: i64,
) -> Result<Vec<(String, String)>, TxError> {
    let mut stmt = tx.prepare(
        "SELECT DISTINCT p.param_name, p.distribution_json FROM trial_params p \
         JOIN trials t ON t.trial_id = p.trial_id WHERE t.study_id = ?1 \
         AND p.param_name IS NOT NULL AND p.distribution_json IS NOT NULL",
    )?;
    let rows = stmt
        .query_map([study_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
