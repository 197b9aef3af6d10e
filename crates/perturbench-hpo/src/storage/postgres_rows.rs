//! Row-level SQL of the PostgreSQL backend: loading, locking and inserting studies and trials
//! inside a transaction of [`super::PostgresStorage`].

use super::records::{StudyRow, TrialFilter, TrialRow, TrialRows, STUDY_COLUMNS};
use super::{JsonMap, StorageError, Study, StudySpec, TrialRecord};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{GenericClient, Row, Transaction};

/// The server's clock, Unix seconds, as SQL.
pub(super) const NOW: &str = "EXTRACT(EPOCH FROM clock_timestamp())::float8";
/// An error inside a transaction: the client's (maybe retried) or the store's own.
pub(super) enum TxError {
    Pg(postgres::Error),
    Storage(StorageError),
}

impl From<postgres::Error> for TxError {
    fn from(e: postgres::Error) -> Self {
        TxError::Pg(e)
    }
}

impl From<StorageError> for TxError {
    fn from(e: StorageError) -> Self {
        TxError::Storage(e)
    }
}

/// Whether the server aborted the transaction in a way that a retry can fix.
pub(super) fn is_transient(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

/// A `studies` row read with [`STUDY_COLUMNS`].
pub(super) fn study_row(row: &Row, store: &str) -> Result<Study, TxError> {
    Ok(StudyRow {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        kind: row.try_get(2)?,
        direction: row.try_get(3)?,
        space_json: row.try_get(4)?,
        config_json: row.try_get(5)?,
        n_trials: row.try_get(6)?,
        created: row.try_get(7)?,
    }
    .into_study(store)?)
}

/// Studies matching `condition` (SQL over the `studies` columns with parameters `params`),
/// ordered by id.
pub(super) fn load_studies(
    client: &mut impl GenericClient,
    store: &str,
    condition: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Study>, TxError> {
    query_studies(client, store, condition, "", params)
}

/// [`load_studies`] with their rows locked until the end of the transaction.
pub(super) fn lock_studies(
    tx: &mut Transaction<'_>,
    store: &str,
    condition: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Study>, TxError> {
    query_studies(tx, store, condition, " FOR UPDATE", params)
}

/// Studies matching `condition`, ordered by id, with `tail` (a locking clause) after the order.
pub(super) fn query_studies(
    client: &mut impl GenericClient,
    store: &str,
    condition: &str,
    tail: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Study>, TxError> {
    let sql =
        format!("SELECT {STUDY_COLUMNS} FROM studies WHERE {condition} ORDER BY study_id{tail}");
    client
        .query(&sql, params)?
        .iter()
        .map(|row| study_row(row, store))
        .collect()
}

/// Trials (with parameters, values, ...) selected by `filter`, ordered by number.
pub(super) fn load_trials(
    client: &mut impl GenericClient,
    store: &str,
    filter: TrialFilter,
) -> Result<Vec<TrialRecord>, TxError> {
    let [q_trials, q_params, q_values, q_inter, q_hb, q_attrs] = filter.queries();
    let id = filter.id();
    let mut rows = TrialRows::default();
    for r in client.query(&q_trials, &[&id])? {
        rows.trials.push(TrialRow {
            id: r.try_get(0)?,
            study_id: r.try_get(1)?,
            number: r.try_get(2)?,
            state: r.try_get(3)?,
            worker: r.try_get(4)?,
            attempts: r.try_get(5)?,
            started: r.try_get(6)?,
            finished: r.try_get(7)?,
        });
    }
    for r in client.query(&q_params, &[&id])? {
        rows.params
            .push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?));
    }
    for r in client.query(&q_values, &[&id])? {
        rows.values.push((r.try_get(0)?, r.try_get(1)?));
    }
    for r in client.query(&q_inter, &[&id])? {
        rows.intermediate
            .push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?));
    }
    for r in client.query(&q_hb, &[&id])? {
        rows.heartbeats.push((r.try_get(0)?, r.try_get(1)?));
    }
    for r in client.query(&q_attrs, &[&id])? {
        rows.attrs
            .push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?));
    }
    Ok(rows.assemble(store)?)
}

/// The one trial with this id.
pub(super) fn load_trial(
    client: &mut impl GenericClient,
    store: &str,
    trial_id: i64,
) -> Result<TrialRecord, TxError> {
    load_trials(client, store, TrialFilter::Trial(trial_id))?
        .pop()
        .ok_or_else(|| {
            StorageError::NoSuchTrial {
                trial_id,
                store: store.to_string(),
            }
            .into()
        })
}

/// Inserts a trial with its parameters (RUNNING for `worker` when given, else WAITING);
/// returns its id.
pub(super) fn insert_trial(
    tx: &mut Transaction<'_>,
    study_id: i64,
    number: i64,
    params: &JsonMap,
    worker: Option<&str>,
) -> Result<i64, TxError> {
    let row = match worker {
        Some(w) => tx.query_one(
            &format!(
                "INSERT INTO trials (number, study_id, state, worker, attempts, datetime_start) \
                 VALUES ($1, $2, 'RUNNING', $3, 1, {NOW}) RETURNING trial_id"
            ),
            &[&number, &study_id, &w],
        )?,
        None => tx.query_one(
            "INSERT INTO trials (number, study_id, state, attempts) \
             VALUES ($1, $2, 'WAITING', 0) RETURNING trial_id",
            &[&number, &study_id],
        )?,
    };
    let trial_id: i64 = row.try_get(0)?;
    let stmt = tx.prepare(
        "INSERT INTO trial_params (trial_id, param_name, value_json) VALUES ($1, $2, $3)",
    )?;
    for (name, value) in params {
        tx.execute(&stmt, &[&trial_id, name, &value.to_string()])?;
    }
    if worker.is_some() {
        set_heartbeat(tx, trial_id)?;
    }
    Ok(trial_id)
}

/// Sets (inserts or replaces) a trial's heartbeat to the server's now.
pub(super) fn set_heartbeat(tx: &mut Transaction<'_>, trial_id: i64) -> Result<(), TxError> {
    tx.execute(
        &format!(
            "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES ($1, {NOW}) \
             ON CONFLICT (trial_id) DO UPDATE SET heartbeat = EXCLUDED.heartbeat"
        ),
        &[&trial_id],
    )?;
    Ok(())
}

/// Locks the trial row and tells whether it is RUNNING for `worker`.
pub(super) fn lock_running_for(
    tx: &mut Transaction<'_>,
    trial_id: i64,
    worker: &str,
) -> Result<bool, TxError> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM trials WHERE trial_id = $1 AND state = 'RUNNING' AND worker = $2 \
             FOR UPDATE",
            &[&trial_id, &worker],
        )?
        .is_some())
}

/// Inserts a study; returns it.
pub(super) fn insert_study(
    tx: &mut Transaction<'_>,
    spec: &StudySpec,
) -> Result<Option<Study>, TxError> {
    let row = tx.query_opt(
        &format!(
            "INSERT INTO studies (study_name, kind, direction, space_json, config_json, n_trials, created) \
             VALUES ($1, $2, $3, $4, $5, $6, {NOW}) ON CONFLICT (study_name) DO NOTHING \
             RETURNING study_id, created"
        ),
        &[
            &spec.name,
            &spec.kind,
            &spec.direction.as_str(),
            &spec.space.to_string(),
            &spec.config.to_string(),
            &spec.n_trials.map(i64::from),
        ],
    )?;
    match row {
        Some(row) => Ok(Some(Study {
            id: row.try_get(0)?,
            created: row.try_get(1)?,
            spec: spec.clone(),
        })),
        None => Ok(None),
    }
}
