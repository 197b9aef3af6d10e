//! Row-level SQL of the PostgreSQL backend: loading, locking and inserting studies and trials
//! inside a transaction of [`super::PostgresStorage`]. Optuna's ids are `INTEGER`: ids are
//! passed as `BIGINT` parameters (`$1::BIGINT`) and read back cast to `BIGINT`; Optuna's enum
//! columns get literals of our fixed names; datetimes are the server's UTC time.

use super::optuna::{encode_value, JSON_PARAMS_ATTR};
use super::records::{
    param_rows, Dialect, StudyRow, TrialFilter, TrialRow, TrialRows, STUDY_COLUMNS, STUDY_FROM,
};
use super::schema::{STUDY_CHILD_TABLES, TRIAL_CHILD_TABLES};
use super::{JsonMap, StorageError, Study, StudySpec, TrialRecord};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{GenericClient, Row, Transaction};

/// The server's clock, Unix seconds, as SQL.
pub(super) const NOW_EPOCH: &str = "EXTRACT(EPOCH FROM clock_timestamp())::float8";

/// The server's clock in the session's time zone without time zone (Optuna's heartbeats, which
/// it writes with `now()`), as SQL.
pub(super) const NOW_LOCAL: &str = "CAST(clock_timestamp() AS TIMESTAMP)";

/// The server's clock as UTC without time zone (Optuna's datetimes), as SQL.
pub(super) const NOW: &str = "(clock_timestamp() AT TIME ZONE 'UTC')";

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
        n_directions: row.try_get(8)?,
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
    query_studies(tx, store, condition, " FOR UPDATE OF s", params)
}

/// Studies matching `condition`, ordered by id, with `tail` (a locking clause) after the order.
pub(super) fn query_studies(
    client: &mut impl GenericClient,
    store: &str,
    condition: &str,
    tail: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Study>, TxError> {
    let sql = format!(
        "SELECT {STUDY_COLUMNS} FROM {STUDY_FROM} WHERE {condition} ORDER BY s.study_id{tail}"
    );
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
    let [q_trials, q_params, q_values, q_inter, q_hb, q_attrs, q_system] =
        filter.queries(Dialect::Postgres);
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
            .push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?));
    }
    for r in client.query(&q_values, &[&id])? {
        rows.values
            .push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?));
    }
    for r in client.query(&q_inter, &[&id])? {
        rows.intermediate
            .push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?));
    }
    for r in client.query(&q_system, &[&id])? {
        rows.system
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

/// Inserts a trial of `study` with its parameters (RUNNING for `worker` when given, else
/// WAITING); returns its id.
pub(super) fn insert_trial(
    tx: &mut Transaction<'_>,
    study: &Study,
    number: i64,
    params: &JsonMap,
    worker: Option<&str>,
) -> Result<i64, TxError> {
    let row = match worker {
        Some(_) => tx.query_one(
            &format!(
                "INSERT INTO trials (number, study_id, state, datetime_start) \
                 VALUES ($1::BIGINT, $2::BIGINT, 'RUNNING', {NOW}) \
                 RETURNING CAST(trial_id AS BIGINT)"
            ),
            &[&number, &study.id],
        )?,
        None => tx.query_one(
            "INSERT INTO trials (number, study_id, state) VALUES ($1::BIGINT, $2::BIGINT, 'WAITING') \
             RETURNING CAST(trial_id AS BIGINT)",
            &[&number, &study.id],
        )?,
    };
    let trial_id: i64 = row.try_get(0)?;
    tx.execute(
        "INSERT INTO perturbench_trials (trial_id, worker, attempts) VALUES ($1::BIGINT, $2, $3)",
        &[&trial_id, &worker, &i64::from(worker.is_some())],
    )?;
    insert_params(tx, trial_id, &study.spec.space, params)?;
    if worker.is_some() {
        set_heartbeat(tx, trial_id)?;
    }
    Ok(trial_id)
}

/// Inserts the `trial_params` rows of `params` for a trial of a study with `space`.
fn insert_params(
    tx: &mut Transaction<'_>,
    trial_id: i64,
    space: &serde_json::Value,
    params: &JsonMap,
) -> Result<(), TxError> {
    let (rows, marker) = param_rows(space, params);
    let stmt = tx.prepare(
        "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) \
         VALUES ($1::BIGINT, $2, $3, $4)",
    )?;
    for (name, value, distribution) in rows {
        tx.execute(&stmt, &[&trial_id, &name, &value, &distribution])?;
    }
    if let Some(marker) = marker {
        tx.execute(
            "INSERT INTO trial_system_attributes (trial_id, key, value_json) \
             VALUES ($1::BIGINT, $2, $3) \
             ON CONFLICT (trial_id, key) DO UPDATE SET value_json = EXCLUDED.value_json",
            &[&trial_id, &JSON_PARAMS_ATTR, &marker],
        )?;
    }
    Ok(())
}

/// Writes the `trial_params` rows a claimed trial lacks: the parameters that Optuna's
/// `enqueue_trial` keeps in the system attribute `fixed_params` until the trial runs.
pub(super) fn store_fixed_params(
    tx: &mut Transaction<'_>,
    store: &str,
    trial: &TrialRecord,
) -> Result<(), TxError> {
    let have: Vec<Option<String>> = tx
        .query(
            "SELECT CAST(param_name AS TEXT) FROM trial_params WHERE trial_id = $1::BIGINT",
            &[&trial.id],
        )?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let missing: JsonMap = trial
        .params
        .iter()
        .filter(|(k, _)| !have.iter().any(|h| h.as_deref() == Some(k.as_str())))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let Some(study) = load_studies(tx, store, "s.study_id = $1::BIGINT", &[&trial.study_id])?
        .into_iter()
        .next()
    else {
        return Ok(());
    };
    insert_params(tx, trial.id, &study.spec.space, &missing)
}

/// Sets (inserts or replaces) a trial's heartbeat to the server's now ([`NOW_LOCAL`]).
pub(super) fn set_heartbeat(tx: &mut Transaction<'_>, trial_id: i64) -> Result<(), TxError> {
    tx.execute(
        &format!(
            "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES ($1::BIGINT, {NOW_LOCAL}) \
             ON CONFLICT (trial_id) DO UPDATE SET heartbeat = EXCLUDED.heartbeat"
        ),
        &[&trial_id],
    )?;
    Ok(())
}

/// Sets the worker of a trial, counting an attempt.
pub(super) fn set_worker(
    tx: &mut Transaction<'_>,
    trial_id: i64,
    worker: &str,
) -> Result<(), TxError> {
    tx.execute(
        "INSERT INTO perturbench_trials (trial_id, worker, attempts) VALUES ($1::BIGINT, $2, 1) \
         ON CONFLICT (trial_id) DO UPDATE SET worker = EXCLUDED.worker, \
         attempts = perturbench_trials.attempts + 1",
        &[&trial_id, &worker],
    )?;
    Ok(())
}

/// Inserts or replaces a value row: the objective value (`intermediate` false, key objective 0)
/// or the intermediate value at step `key`.
pub(super) fn set_value(
    tx: &mut Transaction<'_>,
    trial_id: i64,
    intermediate: bool,
    key: i64,
    value: f64,
) -> Result<(), TxError> {
    let (v, kind) = encode_value(value);
    // `kind` is one of Optuna's fixed names: a literal of the enum type.
    let sql = if intermediate {
        format!(
            "INSERT INTO trial_intermediate_values \
             (trial_id, step, intermediate_value, intermediate_value_type) \
             VALUES ($1::BIGINT, $2::BIGINT, $3, '{kind}') \
             ON CONFLICT (trial_id, step) DO UPDATE SET \
             intermediate_value = EXCLUDED.intermediate_value, \
             intermediate_value_type = EXCLUDED.intermediate_value_type"
        )
    } else {
        format!(
            "INSERT INTO trial_values (trial_id, objective, value, value_type) \
             VALUES ($1::BIGINT, $2::BIGINT, $3, '{kind}') \
             ON CONFLICT (trial_id, objective) DO UPDATE SET value = EXCLUDED.value, \
             value_type = EXCLUDED.value_type"
        )
    };
    tx.execute(&sql, &[&trial_id, &key, &v])?;
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
            "SELECT 1 FROM trials t JOIN perturbench_trials w ON w.trial_id = t.trial_id \
             WHERE t.trial_id = $1::BIGINT AND t.state = 'RUNNING' AND w.worker = $2 \
             FOR UPDATE OF t",
            &[&trial_id, &worker],
        )?
        .is_some())
}

/// Inserts a study; returns it, or `None` when one of that name exists.
pub(super) fn insert_study(
    tx: &mut Transaction<'_>,
    spec: &StudySpec,
) -> Result<Option<Study>, TxError> {
    let row = tx.query_opt(
        "INSERT INTO studies (study_name) VALUES ($1) ON CONFLICT (study_name) DO NOTHING \
         RETURNING CAST(study_id AS BIGINT)",
        &[&spec.name],
    )?;
    let Some(row) = row else {
        return Ok(None);
    };
    let id: i64 = row.try_get(0)?;
    tx.execute(
        &format!(
            "INSERT INTO study_directions (direction, study_id, objective) \
             VALUES ('{}', $1::BIGINT, 0)",
            spec.direction.as_str()
        ),
        &[&id],
    )?;
    adopt_study(tx, id, spec).map(Some)
}

/// Writes our columns of study `id` (a new study, or one Optuna created); returns it.
pub(super) fn adopt_study(
    tx: &mut Transaction<'_>,
    id: i64,
    spec: &StudySpec,
) -> Result<Study, TxError> {
    let row = tx.query_one(
        &format!(
            "INSERT INTO perturbench_studies \
             (study_id, kind, space_json, config_json, n_trials, created) \
             VALUES ($1::BIGINT, $2, $3, $4, $5, {NOW_EPOCH}) RETURNING created"
        ),
        &[
            &id,
            &spec.kind,
            &spec.space.to_string(),
            &spec.config.to_string(),
            &spec.n_trials.map(i64::from),
        ],
    )?;
    Ok(Study {
        id,
        created: row.try_get(0)?,
        spec: spec.clone(),
    })
}

/// Deletes the trials of a study and the study.
pub(super) fn delete_study(tx: &mut Transaction<'_>, study_id: i64) -> Result<(), TxError> {
    for table in TRIAL_CHILD_TABLES {
        tx.execute(
            &format!(
                "DELETE FROM {table} WHERE trial_id IN \
                 (SELECT trial_id FROM trials WHERE study_id = $1::BIGINT)"
            ),
            &[&study_id],
        )?;
    }
    tx.execute(
        "DELETE FROM trials WHERE study_id = $1::BIGINT",
        &[&study_id],
    )?;
    for table in STUDY_CHILD_TABLES {
        tx.execute(
            &format!("DELETE FROM {table} WHERE study_id = $1::BIGINT"),
            &[&study_id],
        )?;
    }
    tx.execute(
        "DELETE FROM studies WHERE study_id = $1::BIGINT",
        &[&study_id],
    )?;
    Ok(())
}

/// The distinct `(name, distribution JSON)` of the parameters of a study's trials.
pub(super) fn stored_distributions(
    tx: &mut Transaction<'_>,
    study_id: i64,
) -> Result<Vec<(String, String)>, TxError> {
    tx.query(
        "SELECT DISTINCT CAST(p.param_name AS TEXT), p.distribution_json FROM trial_params p \
         JOIN trials t ON t.trial_id = p.trial_id WHERE t.study_id = $1::BIGINT \
         AND p.param_name IS NOT NULL AND p.distribution_json IS NOT NULL",
        &[&study_id],
    )?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}
