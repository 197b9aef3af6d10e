//! [`Storage`] for both backends, written once over [`Backend`]: a connection that runs
//! transactions of shared SQL ([`Sql`]).
//!
//! Concurrency: claiming a WAITING trial locks it (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the
//! database's write lock on SQLite), so concurrent workers each get a different trial; sampling
//! a new trial locks its study, so trial counts and numbers stay exact; `report`, `finish` and
//! `heartbeat` lock the trial and check that it is still RUNNING for the caller.

use super::records::{next_number, space_conflicts, TrialFilter, OPTUNA_KIND};
use super::rows::{
    adopt_study, delete_study, insert_study, insert_trial, load_studies, load_trial, load_trials,
    lock_running_for, lock_studies, lock_study, next_free_number, set_heartbeat, set_value,
    set_worker, store_fixed_params, stored_distributions,
};
use super::sql::{Sql, TxError};
use super::{
    check_finish, check_stale_limit, conflict, spec_differences, JsonMap, NewParams, Storage,
    StorageError, Study, StudySpec, TrialRecord, TrialState,
};

/// A connection to a store of either kind.
pub(crate) trait Backend: Send {
    /// Runs `body` in a transaction and commits it, retrying it while the database reports a
    /// transient conflict; a `write` transaction may change the store, a read one sees one
    /// consistent snapshot. `action` names it in errors.
    fn transaction<T>(
        &mut self,
        write: bool,
        action: &str,
        body: impl FnMut(&mut dyn Sql) -> Result<T, TxError>,
    ) -> Result<T, StorageError>;

    /// The store's name (its URL without password).
    fn label(&self) -> String;
}

impl<B: Backend> Storage for B {
    fn create_study(&mut self, spec: &StudySpec, force_new: bool) -> Result<Study, StorageError> {
        let store = self.label();
        self.transaction(true, "create a study", |tx| loop {
            if let Some(study) = insert_study(tx, spec)? {
                return Ok(study);
            }
            let name = [spec.name.as_str().into()];
            // Deleted between the insert and the lock: insert again.
            let Some(old) = lock_studies(tx, &store, "s.study_name = $1", &name)?.pop() else {
                continue;
            };
            let differences = if old.spec.kind == OPTUNA_KIND {
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
                differences
            } else {
                let differences = spec_differences(&old.spec, spec);
                if differences.is_empty() {
                    tx.execute(
                        "UPDATE perturbench_studies SET n_trials = $2, config_json = $3 \
                         WHERE study_id = $1",
                        &[
                            old.id.into(),
                            spec.n_trials.map(i64::from).into(),
                            spec.config.to_string().into(),
                        ],
                    )?;
                    return Ok(Study {
                        id: old.id,
                        spec: spec.clone(),
                        created: old.created,
                    });
                }
                differences
            };
            if !force_new {
                return Err(conflict(&spec.name, &differences).into());
            }
            delete_study(tx, old.id)?;
        })
    }

    fn study(&mut self, name: &str) -> Result<Option<Study>, StorageError> {
        let store = self.label();
        self.transaction(false, "read a study", |tx| {
            Ok(load_studies(tx, &store, "s.study_name = $1", &[name.into()])?.pop())
        })
    }

    fn studies(&mut self) -> Result<Vec<Study>, StorageError> {
        let store = self.label();
        self.transaction(false, "list studies", |tx| {
            load_studies(tx, &store, "1 = 1", &[])
        })
    }

    fn enqueue(&mut self, study_id: i64, params: &JsonMap) -> Result<TrialRecord, StorageError> {
        let store = self.label();
        self.transaction(true, "enqueue a trial", |tx| {
            let study = lock_study(tx, &store, study_id)?;
            let number = next_free_number(tx, study_id)?;
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
        let store = self.label();
        self.transaction(true, "enqueue missing trials", |tx| {
            // The study's lock serialises concurrent callers.
            let study = lock_study(tx, &store, study_id)?;
            let have: Vec<serde_json::Value> =
                load_trials(tx, &store, TrialFilter::Study(study_id))?
                    .into_iter()
                    .filter(|t| t.state != TrialState::Fail)
                    .filter_map(|mut t| t.params.remove(key))
                    .collect();
            let mut number = next_free_number(tx, study_id)?;
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
        let store = self.label();
        let claimed = self.transaction(true, "claim a waiting trial", |tx| {
            let d = tx.dialect();
            let (studies, params) = match study_id {
                Some(s) => ("study_id = $1", vec![s.into()]),
                None => (
                    "study_id IN (SELECT study_id FROM perturbench_studies)",
                    vec![],
                ),
            };
            let waiting = tx.query_opt(
                &format!(
                    "SELECT CAST(trial_id AS BIGINT) FROM trials WHERE state = 'WAITING' \
                     AND {studies} ORDER BY trial_id LIMIT 1{}",
                    d.lock(" FOR UPDATE SKIP LOCKED")
                ),
                &params,
            )?;
            let Some(row) = waiting else {
                return Ok(None);
            };
            let trial_id: i64 = row.get(0)?;
            tx.execute(
                &format!(
                    "UPDATE trials SET state = 'RUNNING', datetime_start = {}, \
                     datetime_complete = NULL WHERE trial_id = $1",
                    d.now()
                ),
                &[trial_id.into()],
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
            self.transaction(false, "read a study", |tx| {
                load_studies(tx, &store, "s.study_id = $1", &[s.into()])
            })?
            .pop()
            .ok_or_else(|| StorageError::NoSuchStudy {
                study_id: s,
                store: store.clone(),
            })?;
        }
        let open_studies = "p.n_trials IS NOT NULL \
             AND (CAST($1 AS BIGINT) IS NULL OR s.study_id = $1) \
             AND (SELECT COUNT(*) FROM trials t WHERE t.study_id = s.study_id) < p.n_trials";
        let candidates = self.transaction(false, "list studies to sample", |tx| {
            load_studies(tx, &store, open_studies, &[study_id.into()])
        })?;
        for candidate in candidates {
            let sampled = self.transaction(true, "sample a new trial", |tx| {
                let locked = lock_studies(tx, &store, "s.study_id = $1", &[candidate.id.into()])?;
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
        self.transaction(true, "record a heartbeat", |tx| {
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
        let store = self.label();
        self.transaction(true, "report an intermediate value", |tx| {
            let lock = tx.dialect().lock(" FOR SHARE OF t");
            let row = tx.query_opt(
                &format!(
                    "SELECT CAST(t.state AS TEXT), w.worker FROM trials t \
                     LEFT JOIN perturbench_trials w ON w.trial_id = t.trial_id \
                     WHERE t.trial_id = $1{lock}"
                ),
                &[trial_id.into()],
            )?;
            let Some(row) = row else {
                return Err(StorageError::NoSuchTrial {
                    trial_id,
                    store: store.clone(),
                }
                .into());
            };
            let state: TrialState = row.get::<String>(0)?.parse()?;
            let holder: Option<String> = row.get(1)?;
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
        self.transaction(true, "finish a trial", |tx| {
            if !lock_running_for(tx, trial_id, worker)? {
                return Ok(false);
            }
            tx.execute(
                &format!(
                    "UPDATE trials SET state = $2, datetime_complete = {} WHERE trial_id = $1",
                    tx.dialect().now()
                ),
                &[trial_id.into(), state.as_str().into()],
            )?;
            tx.execute(
                "DELETE FROM trial_values WHERE trial_id = $1",
                &[trial_id.into()],
            )?;
            if let Some(v) = value {
                set_value(tx, trial_id, false, 0, v)?;
            }
            for (key, v) in attrs {
                tx.execute(
                    "INSERT INTO trial_user_attributes (trial_id, key, value_json) \
                     VALUES ($1, $2, $3) \
                     ON CONFLICT (trial_id, key) DO UPDATE SET value_json = EXCLUDED.value_json",
                    &[trial_id.into(), key.as_str().into(), v.to_string().into()],
                )?;
            }
            Ok(true)
        })
    }

    fn requeue_stale(&mut self, stale_after_s: f64) -> Result<Vec<i64>, StorageError> {
        check_stale_limit(stale_after_s)?;
        self.transaction(true, "re-queue stale trials", |tx| {
            let d = tx.dialect();
            let ids: Vec<(i64,)> = tx.rows(
                &format!(
                    "SELECT CAST(t.trial_id AS BIGINT) FROM trials t \
                     JOIN perturbench_trials w ON w.trial_id = t.trial_id \
                     LEFT JOIN trial_heartbeats h ON h.trial_id = t.trial_id \
                     WHERE t.state = 'RUNNING' AND w.worker IS NOT NULL AND {} \
                     ORDER BY t.trial_id{}",
                    d.stale(),
                    d.lock(" FOR UPDATE OF t SKIP LOCKED")
                ),
                &[stale_after_s.into()],
            )?;
            for &(id,) in &ids {
                for sql in [
                    "UPDATE trials SET state = 'WAITING' WHERE trial_id = $1",
                    "UPDATE perturbench_trials SET worker = NULL WHERE trial_id = $1",
                    "DELETE FROM trial_intermediate_values WHERE trial_id = $1",
                    "DELETE FROM trial_heartbeats WHERE trial_id = $1",
                ] {
                    tx.execute(sql, &[id.into()])?;
                }
            }
            Ok(ids.into_iter().map(|(id,)| id).collect())
        })
    }

    fn trials(&mut self, study_id: i64) -> Result<Vec<TrialRecord>, StorageError> {
        let store = self.label();
        self.transaction(false, "read trials", |tx| {
            load_trials(tx, &store, TrialFilter::Study(study_id))
        })
    }

    fn describe(&self) -> String {
        self.label()
    }
}
