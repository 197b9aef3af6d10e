//! The SQLite backend: one database file shared by the processes of one machine.
//!
//! Every write runs in a `BEGIN IMMEDIATE` transaction, which takes the database's write lock
//! up front, so that a claim's read-then-update cannot interleave with another process's;
//! waiting for the lock is bounded by a 30 s busy timeout, after which the whole transaction is
//! retried a few times. Times come from this process's clock (Unix seconds): all workers of a
//! SQLite store share one machine.

use super::optuna::{
    datetime_text, OPTUNA_ALEMBIC_REVISION, OPTUNA_LIBRARY_VERSION, OPTUNA_SCHEMA_VERSION,
};
use super::records::{next_number, space_conflicts, TrialFilter, OPTUNA_KIND};
use super::schema::{sqlite_statements, OLD_SCHEMA_TABLE};
use super::sqlite_rows::{
    adopt_study, delete_study, insert_study, insert_trial, is_busy, load_studies, load_trial,
    load_trials, now, running_for, set_heartbeat, set_value, set_worker, store_fixed_params,
    stored_distributions, TxError,
};
use super::{
    check_finish, check_stale_limit, check_versions, conflict, spec_differences, JsonMap,
    NewParams, Storage, StorageError, Study, StudySpec, TrialRecord, TrialState,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// How long a statement waits for another connection's lock before SQLITE_BUSY.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a transaction that still got SQLITE_BUSY is retried.
const BUSY_RETRIES: u32 = 5;

/// A store in a SQLite database file (one connection).
pub struct SqliteStorage {
    conn: Connection,
    path: String,
}

impl SqliteStorage {
    /// Opens (creating if needed) the database file at `path` and its folder, sets WAL journal
    /// mode, synchronous NORMAL and a 30 s busy timeout, and creates the schema if absent.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let shown = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StorageError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let open_err = |source| StorageError::SqliteOpen {
            path: shown.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let mut store = SqliteStorage {
            conn,
            path: shown.clone(),
        };
        store
            .with_retry(|conn| {
                conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))?;
                conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
                Ok(())
            })
            .map_err(|e| match e {
                TxError::Sql(source) => open_err(source),
                TxError::Storage(e) => e,
            })?;
        let label = format!("SQLite database {}", path.display());
        store.immediate("create the schema", |tx| {
            let old: Option<String> = tx
                .query_row(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [OLD_SCHEMA_TABLE],
                    |r| r.get(0),
                )
                .optional()?;
            if old.is_some() {
                let found: Option<i64> = tx
                    .query_row(
                        &format!("SELECT MAX(version) FROM {OLD_SCHEMA_TABLE}"),
                        [],
                        |r| r.get(0),
                    )
                    .optional()?
                    .flatten();
                return Err(StorageError::OldSchema {
                    store: label.clone(),
                    found: found.unwrap_or(0),
                }
                .into());
            }
            for statement in sqlite_statements() {
                tx.execute_batch(statement)?;
            }
            let schema: Option<Option<i64>> = tx
                .query_row(
                    "SELECT schema_version FROM version_info WHERE version_info_id = 1",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            let revision: Option<String> = tx
                .query_row("SELECT version_num FROM alembic_version", [], |r| r.get(0))
                .optional()?;
            check_versions(&label, schema.flatten(), revision.as_deref())?;
            if schema.is_none() {
                tx.execute(
                    "INSERT INTO version_info (version_info_id, schema_version, library_version) \
                     VALUES (1, ?1, ?2)",
                    params![OPTUNA_SCHEMA_VERSION, OPTUNA_LIBRARY_VERSION],
                )?;
            }
            if revision.is_none() {
                tx.execute(
                    "INSERT INTO alembic_version (version_num) VALUES (?1)",
                    [OPTUNA_ALEMBIC_REVISION],
                )?;
            }
            Ok(())
        })?;
        Ok(store)
    }

    /// Runs `body` on the connection, again after a pause while SQLite reports a lock.
    fn with_retry<T>(
        &mut self,
        mut body: impl FnMut(&mut Connection) -> Result<T, TxError>,
    ) -> Result<T, TxError> {
        let mut attempt = 0;
        loop {
            match body(&mut self.conn) {
                Err(TxError::Sql(e)) if is_busy(&e) && attempt < BUSY_RETRIES => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(50 * u64::from(attempt)));
                }
                other => return other,
            }
        }
    }

    /// Runs `body` in a transaction of `behavior` and commits it; `action` names it in errors.
    fn transaction<T>(
        &mut self,
        behavior: TransactionBehavior,
        action: &str,
        mut body: impl FnMut(&Transaction<'_>) -> Result<T, TxError>,
    ) -> Result<T, StorageError> {
        let result = self.with_retry(|conn| {
            let tx = conn.transaction_with_behavior(behavior)?;
            let value = body(&tx)?;
            tx.commit()?;
            Ok(value)
        });
        result.map_err(|e| match e {
            TxError::Sql(source) => StorageError::Sqlite {
                path: self.path.clone(),
                action: action.to_string(),
                source,
            },
            TxError::Storage(e) => e,
        })
    }

    /// [`Self::transaction`] with `BEGIN IMMEDIATE` (takes the write lock at once).
    fn immediate<T>(
        &mut self,
        action: &str,
        body: impl FnMut(&Transaction<'_>) -> Result<T, TxError>,
    ) -> Result<T, StorageError> {
        self.transaction(TransactionBehavior::Immediate, action, body)
    }

    /// [`Self::transaction`] for reading (one consistent snapshot).
    fn read<T>(
        &mut self,
        action: &str,
        body: impl FnMut(&Transaction<'_>) -> Result<T, TxError>,
    ) -> Result<T, StorageError> {
        self.transaction(TransactionBehavior::Deferred, action, body)
    }

    /// The store's name in errors.
    fn store(&self) -> String {
        self.describe()
    }
}

impl Storage for SqliteStorage {
    fn create_study(&mut self, spec: &StudySpec, force_new: bool) -> Result<Study, StorageError> {
        let store = self.store();
        self.immediate("create a study", |tx| {
            let existing = load_studies(tx, &store, "s.study_name = ?1", &spec.name)?;
            let Some(old) = existing.into_iter().next() else {
                return insert_study(tx, spec);
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
                differences.extend(space_conflicts(
                    &spec.space,
                    &stored_distributions(tx, old.id)?,
                ));
                if differences.is_empty() {
                    return adopt_study(tx, old.id, spec);
                }
                if !force_new {
                    return Err(conflict(&spec.name, &differences).into());
                }
                delete_study(tx, old.id)?;
                return insert_study(tx, spec);
            }
            let differences = spec_differences(&old.spec, spec);
            if differences.is_empty() {
                tx.execute(
                    "UPDATE perturbench_studies SET n_trials = ?2, config_json = ?3 WHERE study_id = ?1",
                    params![
                        old.id,
                        spec.n_trials.map(i64::from),
                        spec.config.to_string()
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
            insert_study(tx, spec)
        })
    }

    fn study(&mut self, name: &str) -> Result<Option<Study>, StorageError> {
        let store = self.store();
        self.read("read a study", |tx| {
            Ok(load_studies(tx, &store, "s.study_name = ?1", &name)?
                .into_iter()
                .next())
        })
    }

    fn studies(&mut self) -> Result<Vec<Study>, StorageError> {
        let store = self.store();
        self.read("list studies", |tx| {
            load_studies(tx, &store, "?1 = 1", &1_i64)
        })
    }

    fn enqueue(&mut self, study_id: i64, params: &JsonMap) -> Result<TrialRecord, StorageError> {
        let store = self.store();
        self.immediate("enqueue a trial", |tx| {
            let Some(study) = load_studies(tx, &store, "s.study_id = ?1", &study_id)?
                .into_iter()
                .next()
            else {
                return Err(StorageError::NoSuchStudy {
                    study_id,
                    store: store.clone(),
                }
                .into());
            };
            let number: i64 = tx.query_row(
                "SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE study_id = ?1",
                [study_id],
                |r| r.get(0),
            )?;
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
        let store = self.store();
        self.immediate("enqueue missing trials", |tx| {
            let Some(study) = load_studies(tx, &store, "s.study_id = ?1", &study_id)?
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
            let mut number: i64 = tx.query_row(
                "SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE study_id = ?1",
                [study_id],
                |r| r.get(0),
            )?;
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
        let store = self.store();
        self.immediate("claim a trial", |tx| {
            let at = now();
            let waiting: Option<i64> = match study_id {
                Some(s) => tx.query_row(
                    "SELECT trial_id FROM trials WHERE state = 'WAITING' AND study_id = ?1 \
                     ORDER BY trial_id LIMIT 1",
                    [s],
                    |r| r.get(0),
                ),
                None => tx.query_row(
                    "SELECT trial_id FROM trials WHERE state = 'WAITING' \
                     AND study_id IN (SELECT study_id FROM perturbench_studies) \
                     ORDER BY trial_id LIMIT 1",
                    [],
                    |r| r.get(0),
                ),
            }
            .optional()?;
            if let Some(trial_id) = waiting {
                tx.execute(
                    "UPDATE trials SET state = 'RUNNING', datetime_start = ?2, \
                     datetime_complete = NULL WHERE trial_id = ?1",
                    params![trial_id, datetime_text(at)],
                )?;
                set_worker(tx, trial_id, worker)?;
                set_heartbeat(tx, trial_id, at)?;
                store_fixed_params(tx, &store, &load_trial(tx, &store, trial_id)?)?;
                return Ok(Some(load_trial(tx, &store, trial_id)?));
            }
            let candidates = match study_id {
                Some(s) => {
                    let found = load_studies(tx, &store, "s.study_id = ?1", &s)?;
                    if found.is_empty() {
                        return Err(StorageError::NoSuchStudy {
                            study_id: s,
                            store: store.clone(),
                        }
                        .into());
                    }
                    found
                }
                None => load_studies(tx, &store, "p.n_trials IS NOT NULL AND ?1 = 1", &1_i64)?,
            };
            for study in candidates {
                let Some(n) = study.spec.n_trials else {
                    continue;
                };
                let count: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM trials WHERE study_id = ?1",
                    [study.id],
                    |r| r.get(0),
                )?;
                if count >= i64::from(n) {
                    continue;
                }
                let trials = load_trials(tx, &store, TrialFilter::Study(study.id))?;
                let Some(params) = new_params(&study, &trials) else {
                    continue;
                };
                let number = next_number(&trials);
                let trial_id = insert_trial(tx, &study, number, &params, Some((worker, at)))?;
                return Ok(Some(load_trial(tx, &store, trial_id)?));
            }
            Ok(None)
        })
    }

    fn heartbeat(&mut self, trial_id: i64, worker: &str) -> Result<bool, StorageError> {
        self.immediate("record a heartbeat", |tx| {
            if !running_for(tx, trial_id, worker)? {
                return Ok(false);
            }
            set_heartbeat(tx, trial_id, now())?;
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
        let store = self.store();
        self.immediate("report an intermediate value", |tx| {
            let row: Option<(String, Option<String>)> = tx
                .query_row(
                    "SELECT t.state, w.worker FROM trials t \
                     LEFT JOIN perturbench_trials w ON w.trial_id = t.trial_id WHERE t.trial_id = ?1",
                    [trial_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((state, holder)) = row else {
                return Err(StorageError::NoSuchTrial {
                    trial_id,
                    store: store.clone(),
                }
                .into());
            };
            let state: TrialState = state.parse()?;
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
        self.immediate("finish a trial", |tx| {
            if !running_for(tx, trial_id, worker)? {
                return Ok(false);
            }
            tx.execute(
                "UPDATE trials SET state = ?2, datetime_complete = ?3 WHERE trial_id = ?1",
                params![trial_id, state.as_str(), datetime_text(now())],
            )?;
            tx.execute("DELETE FROM trial_values WHERE trial_id = ?1", [trial_id])?;
            if let Some(v) = value {
                set_value(tx, trial_id, false, 0, v)?;
            }
            let mut stmt = tx.prepare(
                "INSERT INTO trial_user_attributes (trial_id, key, value_json) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (trial_id, key) DO UPDATE SET value_json = excluded.value_json",
            )?;
            for (key, v) in attrs {
                stmt.execute(params![trial_id, key, v.to_string()])?;
            }
            Ok(true)
        })
    }

    fn requeue_stale(&mut self, stale_after_s: f64) -> Result<Vec<i64>, StorageError> {
        check_stale_limit(stale_after_s)?;
        self.immediate("re-queue stale trials", |tx| {
            let cutoff = now() - stale_after_s;
            let ids: Vec<i64> = tx
                .prepare(
                    "SELECT t.trial_id FROM trials t \
                     JOIN perturbench_trials w ON w.trial_id = t.trial_id \
                     LEFT JOIN trial_heartbeats h ON h.trial_id = t.trial_id \
                     WHERE t.state = 'RUNNING' AND w.worker IS NOT NULL \
                     AND COALESCE((julianday(COALESCE(h.heartbeat, \
                     t.datetime_start)) - 2440587.5) * 86400.0, 0) < ?1 ORDER BY t.trial_id",
                )?
                .query_map([cutoff], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for id in &ids {
                tx.execute(
                    "UPDATE trials SET state = 'WAITING' WHERE trial_id = ?1",
                    [id],
                )?;
                tx.execute(
                    "UPDATE perturbench_trials SET worker = NULL WHERE trial_id = ?1",
                    [id],
                )?;
                tx.execute(
                    "DELETE FROM trial_intermediate_values WHERE trial_id = ?1",
                    [id],
                )?;
                tx.execute("DELETE FROM trial_heartbeats WHERE trial_id = ?1", [id])?;
            }
            Ok(ids)
        })
    }

    fn trials(&mut self, study_id: i64) -> Result<Vec<TrialRecord>, StorageError> {
        let store = self.store();
        self.read("read trials", |tx| {
            load_trials(tx, &store, TrialFilter::Study(study_id))
        })
    }

    fn describe(&self) -> String {
        format!("sqlite://{}", self.path)
    }
}
