//! Row-level SQL of the SQLite backend: loading and inserting studies and trials inside a
//! transaction of [`super::SqliteStorage`].

use super::records::{StudyRow, TrialFilter, TrialRow, TrialRows, STUDY_COLUMNS};
use super::schema::TRIAL_CHILD_TABLES;
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

/// Studies matching `condition` (SQL over the `studies` columns, parameter `?1` = `arg`).
pub(super) fn load_studies(
    conn: &Connection,
    store: &str,
    condition: &str,
    arg: &dyn rusqlite::ToSql,
) -> Result<Vec<Study>, TxError> {
    let sql = format!("SELECT {STUDY_COLUMNS} FROM studies WHERE {condition} ORDER BY study_id");
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
    let [q_trials, q_params, q_values, q_inter, q_hb, q_attrs] = filter.queries();
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
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?,
        values: query_rows(conn, &q_values, id, |r| Ok((r.get(0)?, r.get(1)?)))?,
        intermediate: query_rows(conn, &q_inter, id, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?,
        heartbeats: query_rows(conn, &q_hb, id, |r| Ok((r.get(0)?, r.get(1)?)))?,
        attrs: query_rows(conn, &q_attrs, id, |r| {
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

/// Inserts a trial with its parameters; returns its id.
pub(super) fn insert_trial(
    tx: &Transaction<'_>,
    study_id: i64,
    number: i64,
    params: &JsonMap,
    running: Option<(&str, f64)>,
) -> Result<i64, TxError> {
    match running {
        Some((worker, at)) => {
            tx.execute(
                "INSERT INTO trials (number, study_id, state, worker, attempts, datetime_start) \
                 VALUES (?1, ?2, 'RUNNING', ?3, 1, ?4)",
                params![number, study_id, worker, at],
            )?;
        }
        None => {
            tx.execute(
                "INSERT INTO trials (number, study_id, state, attempts) VALUES (?1, ?2, 'WAITING', 0)",
                params![number, study_id],
            )?;
        }
    }
    let trial_id = tx.last_insert_rowid();
    let mut stmt = tx.prepare(
        "INSERT INTO trial_params (trial_id, param_name, value_json) VALUES (?1, ?2, ?3)",
    )?;
    for (name, value) in params {
        stmt.execute(params![trial_id, name, value.to_string()])?;
    }
    if let Some((_, at)) = running {
        set_heartbeat(tx, trial_id, at)?;
    }
    Ok(trial_id)
}

/// Sets (inserts or replaces) a trial's heartbeat.
pub(super) fn set_heartbeat(tx: &Transaction<'_>, trial_id: i64, at: f64) -> Result<(), TxError> {
    tx.execute(
        "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?1, ?2) \
         ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat",
        params![trial_id, at],
    )?;
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
            "SELECT 1 FROM trials WHERE trial_id = ?1 AND state = 'RUNNING' AND worker = ?2",
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
    tx.execute("DELETE FROM studies WHERE study_id = ?1", [study_id])?;
    Ok(())
}

/// Inserts a study; returns it.
pub(super) fn insert_study(tx: &Transaction<'_>, spec: &StudySpec) -> Result<Study, TxError> {
    let created = now();
    tx.execute(
        "INSERT INTO studies (study_name, kind, direction, space_json, config_json, n_trials, created) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            spec.name,
            spec.kind,
            spec.direction.as_str(),
            spec.space.to_string(),
            spec.config.to_string(),
            spec.n_trials.map(i64::from),
            created
        ],
    )?;
    Ok(Study {
        id: tx.last_insert_rowid(),
        spec: spec.clone(),
        created,
    })
}
