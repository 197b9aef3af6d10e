//! The PostgreSQL backend: one database shared by workers on many machines.
//!
//! Claiming a WAITING trial locks its row with `SELECT ... FOR UPDATE SKIP LOCKED` inside a
//! transaction, so concurrent workers each get a different trial without waiting on each
//! other; sampling a new trial locks the study row (`SELECT ... FROM studies ... FOR UPDATE`),
//! so trial counts and numbers stay exact. `finish` and `heartbeat` lock the trial row and check
//! that it is still RUNNING for the caller. All times come from the server's clock
//! (`clock_timestamp()`), so machines with skewed clocks agree on heartbeats and staleness.

use super::optuna::{OPTUNA_ALEMBIC_REVISION, OPTUNA_LIBRARY_VERSION, OPTUNA_SCHEMA_VERSION};
use super::postgres_rows::{
    adopt_study, delete_study, insert_study, insert_trial, is_transient, load_studies, load_trial,
    load_trials, lock_running_for, lock_studies, set_heartbeat, set_value, set_worker,
    store_fixed_params, stored_distributions, TxError, NOW,
};
use super::records::{next_number, space_conflicts, TrialFilter, OPTUNA_KIND};
use super::schema::{perturbench_statements, postgres_optuna_statements, OLD_SCHEMA_TABLE};
use super::url::{pg_address, pg_database, pg_describe};
use super::{
    check_finish, check_stale_limit, check_versions, conflict, spec_differences, JsonMap,
    NewParams, Storage, StorageError, Study, StudySpec, TrialRecord, TrialState,
};
use postgres::{Client, IsolationLevel, NoTls, Transaction};

/// Key of the advisory lock held while creating the schema ("pbhpo" in ASCII).
const SCHEMA_LOCK: i64 = 0x0070_6268_706f;

/// How often a transaction aborted by a deadlock or serialization failure is retried.
const RETRIES: u32 = 5;

/// A store in a PostgreSQL database (one connection).
pub struct PostgresStorage {
    client: Client,
    address: String,
    database: String,
    described: String,
}

impl PostgresStorage {
    /// Connects with `config` (no TLS) and creates the schema if absent, under an advisory lock
    /// so that workers starting at once do not race.
    pub fn connect(config: postgres::Config) -> Result<Self, StorageError> {
        let address = pg_address(&config);
        let database = pg_database(&config);
        let described = pg_describe(&config);
        let client = config
            .connect(NoTls)
            .map_err(|source| StorageError::PostgresConnect {
                address: address.clone(),
                database: database.clone(),
                source,
            })?;
        let mut store = PostgresStorage {
            client,
            address,
            database,
            described,
        };
        let label = store.described.clone();
        store.transaction(false, "create the schema", |tx| {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
            let exists = |tx: &mut Transaction<'_>, table: &str| -> Result<bool, TxError> {
                Ok(tx
                    .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])?
                    .try_get(0)?)
            };
            if exists(tx, OLD_SCHEMA_TABLE)? {
                let found: Option<i64> = tx
                    .query_one(
                        &format!("SELECT CAST(MAX(version) AS BIGINT) FROM {OLD_SCHEMA_TABLE}"),
                        &[],
                    )?
                    .try_get(0)?;
                return Err(StorageError::OldSchema {
                    store: label.clone(),
                    found: found.unwrap_or(0),
                }
                .into());
            }
            if !exists(tx, "studies")? {
                for statement in postgres_optuna_statements() {
                    tx.batch_execute(statement)?;
                }
            }
            for statement in perturbench_statements() {
                tx.batch_execute(statement)?;
            }
            let schema: Option<Option<i32>> = tx
                .query_opt(
                    "SELECT schema_version FROM version_info WHERE version_info_id = 1",
                    &[],
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            let revision: Option<String> = tx
                .query_opt("SELECT CAST(version_num AS TEXT) FROM alembic_version", &[])?
                .map(|r| r.try_get(0))
                .transpose()?;
            check_versions(&label, schema.flatten().map(i64::from), revision.as_deref())?;
            if schema.is_none() {
                tx.execute(
                    "INSERT INTO version_info (version_info_id, schema_version, library_version) \
                     VALUES (1, $1::BIGINT, $2)",
                    &[&OPTUNA_SCHEMA_VERSION, &OPTUNA_LIBRARY_VERSION],
                )?;
            }
            if revision.is_none() {
                tx.execute(
                    "INSERT INTO alembic_version (version_num) VALUES ($1)",
                    &[&OPTUNA_ALEMBIC_REVISION],
                )?;
            }
            Ok(())
        })?;
        Ok(store)
    }

    /// Runs `body` in a transaction and commits it, retrying on deadlock or serialization
    /// failure; `snapshot` makes it a read-only REPEATABLE READ transaction (one consistent
    /// view). `action` names it in errors.
    fn transaction<T>(
        &mut self,
        snapshot: bool,
        action: &str,
        mut body: impl FnMut(&mut Transaction<'_>) -> Result<T, TxError>,
    ) -> Result<T, StorageError> {
        let mut attempt = 0;
        loop {
            let result = (|| {
                let mut tx = if snapshot {
                    self.client
                        .build_transaction()
                        .isolation_level(IsolationLevel::RepeatableRead)
                        .read_only(true)
                        .start()?
                } else {
                    self.client.transaction()?
                };
                let value = body(&mut tx)?;
                tx.commit()?;
                Ok(value)
            })();
            match result {
                Ok(v) => return Ok(v),
                Err(TxError::Pg(e)) if is_transient(&e) && attempt < RETRIES => attempt += 1,
                Err(TxError::Pg(source)) => {
                    return Err(StorageError::Postgres {
                        address: self.address.clone(),
                        database: self.database.clone(),
                        action: action.to_string(),
                        source,
                    })
                }
                Err(TxError::Storage(e)) => return Err(e),
            }
        }
    }
}

impl Storage for PostgresStorage {
    fn create_study(&mut self, spec: &StudySpec, force_new: bool) -> Result<Study, StorageError> {
        let store = self.described.clone();
        self.transaction(false, "create a study", |tx| {
            loop {
                if let Some(study) = insert_study(tx, spec)? {
                    return Ok(study);
                }
                let existing = lock_studies(tx, &store, "s.study_name = $1", &[&spec.name])?;
                // Deleted between the insert and the lock: insert again.
                let Some(old) = existing.into_iter().next() else {
                    continue;
                };
                if old.spec.kind == OPTUNA_KIND {
                    // Created by Optuna: continue it when its trials fit the space.
                    let mut differences = Vec::new();
                    if old.spec.direction != spec.direction {
                        differences.push(format!(
                            "direction (stored {}, requested {})",
                            old.spec.direction, spec.direction
                        ));
                    }
                    let stored = stored_distributions(tx, old.id)?;
                    differences.extend(space_conflicts(&spec.space, &stored));
                    if differences.is_empty() {
                        return adopt_study(tx, old.id, spec);
                    }
                    if !force_new {
                        return Err(conflict(&spec.name, &differences).into());
                    }
                    delete_study(tx, old.id)?;
                    continue;
                }
                let differences = spec_differences(&old.spec, spec);
                if differences.is_empty() {
                    tx.execute(
                        "UPDATE perturbench_studies SET n_trials = $2, config_json = $3 \
                         WHERE study_id = $1::BIGINT",
                        &[
                            &old.id,
                            &spec.n_trials.map(i64::from),
                            &spec.config.to_string(),
                        ],
                    )?;
                    return Ok(Study {
                        id: old.id,
                        spec: spec.clone(),
                        created: old.created,
                    });
                }
                if !force_new {
                    return Err(conflict(&spec.name, &differences).into());
                }
                delete_study(tx, old.id)?;
            }
        })
    }

    fn study(&mut self, name: &str) -> Result<Option<Study>, StorageError> {
        let store = self.described.clone();
        self.transaction(true, "read a study", |tx| {
            Ok(load_studies(tx, &store, "s.study_name = $1", &[&name])?
                .into_iter()
                .next())
        })
    }

    fn studies(&mut self) -> Result<Vec<Study>, StorageError> {
        let store = self.described.clone();
        self.transaction(true, "list studies", |tx| {
            load_studies(tx, &store, "TRUE", &[])
        })
    }

    fn enqueue(&mut self, study_id: i64, params: &JsonMap) -> Result<TrialRecord, StorageError> {
        let store = self.described.clone();
        self.transaction(false, "enqueue a trial", |tx| {
            let Some(study) = lock_studies(tx, &store, "s.study_id = $1::BIGINT", &[&study_id])?
                .into_iter()
                .next()
            else {
                return Err(StorageError::NoSuchStudy {
                    study_id,
                    store: store.clone(),
                }
                .into());
            };
            let number: i64 = tx
                .query_one(
                    "SELECT COALESCE(MAX(number) + 1, 0)::BIGINT FROM trials \
                     WHERE study_id = $1::BIGINT",
                    &[&study_id],
                )?
                .try_get(0)?;
            let trial_id = insert_trial(tx, &study, number, params, None)?;
            load_trial(tx, &store, trial_id)
        })
    }

    fn enqueue_missing(
        &mut self,
        study_id: i64,
        key: &str,
        batch: &[JsonMap],
    ) -> Result<usize, StorageError> {
        let store = self.described.clone();
        self.transaction(false, "enqueue missing trials", |tx| {
            // The study row's lock serialises concurrent callers.
            let Some(study) = lock_studies(tx, &store, "s.study_id = $1::BIGINT", &[&study_id])?
                .into_iter()
                .next()
            else {
                return Err(StorageError::NoSuchStudy {
                    study_id,
                    store: store.clone(),
                }
                .into());
            };
            let have: Vec<serde_json::Value> =
                load_trials(tx, &store, TrialFilter::Study(study_id))?
                    .into_iter()
                    .filter(|t| t.state != TrialState::Fail)
                    .filter_map(|mut t| t.params.remove(key))
                    .collect();
            let mut number: i64 = tx
                .query_one(
                    "SELECT COALESCE(MAX(number) + 1, 0)::BIGINT FROM trials \
                     WHERE study_id = $1::BIGINT",
                    &[&study_id],
                )?
                .try_get(0)?;
            let mut queued = 0;
            for p in batch {
                let Some(v) = p.get(key) else { continue };
                if have.contains(v) {
                    continue;
                }
                insert_trial(tx, &study, number, p, None)?;
                number += 1;
                queued += 1;
            }
            Ok(queued)
        })
    }

    fn claim(
        &mut self,
        study_id: Option<i64>,
        worker: &str,
        new_params: &mut NewParams<'_>,
    ) -> Result<Option<TrialRecord>, StorageError> {
        let store = self.described.clone();
        let claimed = self.transaction(false, "claim a waiting trial", |tx| {
            let row = match study_id {
                Some(s) => tx.query_opt(
                    "SELECT CAST(trial_id AS BIGINT) FROM trials WHERE state = 'WAITING' \
                     AND study_id = $1::BIGINT ORDER BY trial_id LIMIT 1 FOR UPDATE SKIP LOCKED",
                    &[&s],
                )?,
                None => tx.query_opt(
                    "SELECT CAST(trial_id AS BIGINT) FROM trials WHERE state = 'WAITING' \
                     AND study_id IN (SELECT study_id FROM perturbench_studies) \
                     ORDER BY trial_id LIMIT 1 FOR UPDATE SKIP LOCKED",
                    &[],
                )?,
            };
            let Some(row) = row else {
                return Ok(None);
            };
            let trial_id: i64 = row.try_get(0)?;
            tx.execute(
                &format!(
                    "UPDATE trials SET state = 'RUNNING', datetime_start = {NOW}, \
                     datetime_complete = NULL WHERE trial_id = $1::BIGINT"
                ),
                &[&trial_id],
            )?;
            set_worker(tx, trial_id, worker)?;
            set_heartbeat(tx, trial_id)?;
            let trial = load_trial(tx, &store, trial_id)?;
            store_fixed_params(tx, &store, &trial)?;
            Ok(Some(load_trial(tx, &store, trial_id)?))
        })?;
        if claimed.is_some() {
            return Ok(claimed);
        }
        if let Some(s) = study_id {
            if load_studies(&mut self.client, &store, "s.study_id = $1::BIGINT", &[&s])
                .map_err(|e| self.fail("read a study", e))?
                .is_empty()
            {
                return Err(StorageError::NoSuchStudy {
                    study_id: s,
                    store: store.clone(),
                });
            }
        }
        let open_studies = "p.n_trials IS NOT NULL AND ($1::BIGINT IS NULL OR s.study_id = $1) \
             AND (SELECT COUNT(*) FROM trials t WHERE t.study_id = s.study_id) < p.n_trials";
        let candidates = load_studies(&mut self.client, &store, open_studies, &[&study_id])
            .map_err(|e| self.fail("list studies to sample", e))?;
        for candidate in candidates {
            let sampled = self.transaction(false, "sample a new trial", |tx| {
                let locked = lock_studies(tx, &store, "s.study_id = $1::BIGINT", &[&candidate.id])?;
                let Some(study) = locked.into_iter().next() else {
                    return Ok(None);
                };
                let Some(n) = study.spec.n_trials else {
                    return Ok(None);
                };
                let trials = load_trials(tx, &store, TrialFilter::Study(study.id))?;
                if trials.len() >= n as usize {
                    return Ok(None);
                }
                let Some(params) = new_params(&study, &trials) else {
                    return Ok(None);
                };
                let number = next_number(&trials);
                let trial_id = insert_trial(tx, &study, number, &params, Some(worker))?;
                Ok(Some(load_trial(tx, &store, trial_id)?))
            })?;
            if sampled.is_some() {
                return Ok(sampled);
            }
        }
        Ok(None)
    }

    fn heartbeat(&mut self, trial_id: i64, worker: &str) -> Result<bool, StorageError> {
        self.transaction(false, "record a heartbeat", |tx| {
            if !lock_running_for(tx, trial_id, worker)? {
                return Ok(false);
            }
            set_heartbeat(tx, trial_id)?;
            Ok(true)
        })
    }

    fn report(
        &mut self,
        trial_id: i64,
        worker: &str,
        step: i64,
        value: f64,
    ) -> Result<bool, StorageError> {
        if value.is_nan() {
            return Err(StorageError::NotANumber {
                trial_id,
                what: format!("intermediate value at step {step}"),
            });
        }
        let store = self.described.clone();
        self.transaction(false, "report an intermediate value", |tx| {
            let row = tx.query_opt(
                "SELECT CAST(t.state AS TEXT), w.worker FROM trials t \
                 LEFT JOIN perturbench_trials w ON w.trial_id = t.trial_id \
                 WHERE t.trial_id = $1::BIGINT FOR SHARE OF t",
                &[&trial_id],
            )?;
            let Some(row) = row else {
                return Err(StorageError::NoSuchTrial {
                    trial_id,
                    store: store.clone(),
                }
                .into());
            };
            let state: TrialState = row.try_get::<_, String>(0)?.parse()?;
            let holder: Option<String> = row.try_get(1)?;
            if state != TrialState::Running || holder.as_deref() != Some(worker) {
                return Ok(false);
            }
            set_value(tx, trial_id, true, step, value)?;
            Ok(true)
        })
    }

    fn finish(
        &mut self,
        trial_id: i64,
        worker: &str,
        state: TrialState,
        value: Option<f64>,
        attrs: &JsonMap,
    ) -> Result<bool, StorageError> {
        check_finish(trial_id, state, value)?;
        self.transaction(false, "finish a trial", |tx| {
            if !lock_running_for(tx, trial_id, worker)? {
                return Ok(false);
            }
            // The state is one of our fixed names: a literal of Optuna's enum type.
            tx.execute(
                &format!(
                    "UPDATE trials SET state = '{}', datetime_complete = {NOW} \
                     WHERE trial_id = $1::BIGINT",
                    state.as_str()
                ),
                &[&trial_id],
            )?;
            tx.execute(
                "DELETE FROM trial_values WHERE trial_id = $1::BIGINT",
                &[&trial_id],
            )?;
            if let Some(v) = value {
                set_value(tx, trial_id, false, 0, v)?;
            }
            let stmt = tx.prepare(
                "INSERT INTO trial_user_attributes (trial_id, key, value_json) \
                 VALUES ($1::BIGINT, $2, $3) \
                 ON CONFLICT (trial_id, key) DO UPDATE SET value_json = EXCLUDED.value_json",
            )?;
            for (key, v) in attrs {
                tx.execute(&stmt, &[&trial_id, key, &v.to_string()])?;
            }
            Ok(true)
        })
    }

    fn requeue_stale(&mut self, stale_after_s: f64) -> Result<Vec<i64>, StorageError> {
        check_stale_limit(stale_after_s)?;
        self.transaction(false, "re-queue stale trials", |tx| {
            let ids: Vec<i64> = tx
                .query(
                    "SELECT CAST(t.trial_id AS BIGINT) FROM trials t \
                     JOIN perturbench_trials w ON w.trial_id = t.trial_id \
                     LEFT JOIN trial_heartbeats h ON h.trial_id = t.trial_id \
                     WHERE t.state = 'RUNNING' AND w.worker IS NOT NULL \
                     AND COALESCE(CAST(h.heartbeat AS TIMESTAMPTZ), \
                     t.datetime_start AT TIME ZONE 'UTC', 'epoch') \
                     < clock_timestamp() - make_interval(secs => $1) \
                     ORDER BY t.trial_id FOR UPDATE OF t SKIP LOCKED",
                    &[&stale_after_s],
                )?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            if ids.is_empty() {
                return Ok(ids);
            }
            for sql in [
                "UPDATE trials SET state = 'WAITING' WHERE trial_id = ANY($1::BIGINT[])",
                "UPDATE perturbench_trials SET worker = NULL WHERE trial_id = ANY($1::BIGINT[])",
                "DELETE FROM trial_intermediate_values WHERE trial_id = ANY($1::BIGINT[])",
                "DELETE FROM trial_heartbeats WHERE trial_id = ANY($1::BIGINT[])",
            ] {
                tx.execute(sql, &[&ids])?;
            }
            Ok(ids)
        })
    }

    fn trials(&mut self, study_id: i64) -> Result<Vec<TrialRecord>, StorageError> {
        let store = self.described.clone();
        self.transaction(true, "read trials", |tx| {
            load_trials(tx, &store, TrialFilter::Study(study_id))
        })
    }

    fn describe(&self) -> String {
        self.described.clone()
    }
}

impl PostgresStorage {
    /// The store's error for a failure outside [`Self::transaction`].
    fn fail(&self, action: &str, e: TxError) -> StorageError {
        match e {
            TxError::Pg(source) => StorageError::Postgres {
                address: self.address.clone(),
                database: self.database.clone(),
                action: action.to_string(),
                source,
            },
            TxError::Storage(e) => e,
        }
    }
}
