//! Trial storage and work queue in Optuna's RDB schema (the tables, column types and value
//! encodings of Optuna's own storage, schema version 12), so that `optuna.load_study` and
//! optuna-dashboard open our studies and we can continue studies Optuna created: studies, their
//! trials (parameters, objective value, intermediate values, heartbeats, user attributes), and
//! an atomic `claim` so that many workers on many machines can share one queue. What Optuna
//! has no column for (a study's kind, search space, runner configuration and trial budget; a
//! trial's worker and attempts) is kept in two tables of our own that Optuna ignores. Used both for
//! hyper-parameter tuning (new trials sampled on demand) and for benchmarks (all trials
//! enqueued up front with fixed parameters).
//!
//! Two backends with one schema and one SQL layer (a small dialect covers what differs):
//! SQLite (one machine, several processes; see [`SqliteStorage`]) and PostgreSQL (many
//! machines; see [`PostgresStorage`]). [`open`] picks one from a URL.

mod dialect;
mod optuna;
mod postgres;
mod records;
mod rows;
mod schema;
mod sql;
mod sqlite;
mod store;
mod url;

pub use self::postgres::PostgresStorage;
pub use self::records::OPTUNA_KIND;
pub use self::sqlite::SqliteStorage;
pub use self::url::redact_url;

use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

/// Parameters or user attributes of a trial: a JSON object.
pub type JsonMap = Map<String, Value>;

/// The life-cycle state of a trial, stored as its upper-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrialState {
    /// Enqueued, waiting for a worker.
    Waiting,
    /// Claimed by a worker that sends heartbeats.
    Running,
    /// Finished with a value.
    Complete,
    /// Failed (error, NaN, or given up).
    Fail,
    /// Stopped early by a pruner.
    Pruned,
}

impl TrialState {
    /// The stored name: `WAITING`, `RUNNING`, `COMPLETE`, `FAIL` or `PRUNED`.
    pub fn as_str(self) -> &'static str {
        match self {
            TrialState::Waiting => "WAITING",
            TrialState::Running => "RUNNING",
            TrialState::Complete => "COMPLETE",
            TrialState::Fail => "FAIL",
            TrialState::Pruned => "PRUNED",
        }
    }

    /// Whether the trial has ended (COMPLETE, FAIL or PRUNED).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            TrialState::Complete | TrialState::Fail | TrialState::Pruned
        )
    }
}

impl fmt::Display for TrialState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TrialState {
    type Err = StorageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "WAITING" => Ok(TrialState::Waiting),
            "RUNNING" => Ok(TrialState::Running),
            "COMPLETE" => Ok(TrialState::Complete),
            "FAIL" => Ok(TrialState::Fail),
            "PRUNED" => Ok(TrialState::Pruned),
            _ => Err(StorageError::UnknownState(s.to_string())),
        }
    }
}

/// Whether a study minimises or maximises its objective; stored as `MINIMIZE` / `MAXIMIZE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Smaller values are better.
    Minimize,
    /// Larger values are better.
    Maximize,
}

impl Direction {
    /// The stored name: `MINIMIZE` or `MAXIMIZE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Minimize => "MINIMIZE",
            Direction::Maximize => "MAXIMIZE",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Direction {
    type Err = StorageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "MINIMIZE" => Ok(Direction::Minimize),
            "MAXIMIZE" => Ok(Direction::Maximize),
            _ => Err(StorageError::UnknownDirection(s.to_string())),
        }
    }
}

/// What a study is: the description given when creating (or resuming) it.
#[derive(Debug, Clone, PartialEq)]
pub struct StudySpec {
    /// Unique name of the study in the store.
    pub name: String,
    /// Free text for the runner: "tune", "benchmark", "synthetic", ...
    pub kind: String,
    /// Optimisation direction of the objective.
    pub direction: Direction,
    /// The search space; a study is only resumed when it is unchanged.
    pub space: Value,
    /// Whatever the runner needs (stored and returned, updated on resume).
    pub config: Value,
    /// Total number of trials to run (all states count); `None`: only enqueued trials run.
    pub n_trials: Option<u32>,
}

/// A stored study.
#[derive(Debug, Clone, PartialEq)]
pub struct Study {
    /// Database id.
    pub id: i64,
    /// Its description.
    pub spec: StudySpec,
    /// Creation time, Unix seconds.
    pub created: f64,
}

/// A stored trial with everything recorded about it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialRecord {
    /// Database id (unique across studies).
    pub id: i64,
    /// Id of the study it belongs to.
    pub study_id: i64,
    /// Number within its study: 0, 1, 2, ...
    pub number: i64,
    /// Life-cycle state.
    pub state: TrialState,
    /// Parameter values.
    pub params: JsonMap,
    /// Objective value, once finished with one.
    pub value: Option<f64>,
    /// Intermediate values `(step, value)` ordered by step.
    pub intermediate: Vec<(i64, f64)>,
    /// User attributes recorded when the trial finished.
    pub attrs: JsonMap,
    /// The worker that runs (or last ran) it; cleared when re-queued.
    pub worker: Option<String>,
    /// How many times it was claimed.
    pub attempts: i64,
    /// When it was last claimed, Unix seconds.
    pub started: Option<f64>,
    /// When it finished, Unix seconds.
    pub finished: Option<f64>,
    /// Last heartbeat of its worker, Unix seconds.
    pub heartbeat: Option<f64>,
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The storage URL cannot be understood.
    #[error(
        "invalid storage URL '{url}': {reason}; expected sqlite:///abs/path.db, \
         sqlite://relative/path.db, sqlite:relative.db, postgresql://user:pass@host:port/db \
         or postgres://user:pass@host:port/db"
    )]
    InvalidUrl {
        /// The URL, password removed.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The folder of a SQLite database cannot be created.
    #[error("cannot create the folder {path} for a SQLite database: {source}")]
    CreateDir {
        /// The folder.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A SQLite database cannot be opened or set up.
    #[error("cannot open SQLite database {path}: {source}")]
    SqliteOpen {
        /// Path of the database file.
        path: String,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A SQLite statement failed.
    #[error("SQLite database {path}: cannot {action}: {source}")]
    Sqlite {
        /// Path of the database file.
        path: String,
        /// What was being done.
        action: String,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A PostgreSQL server cannot be reached or refuses the connection.
    #[error("cannot connect to PostgreSQL at {address} (database {database}): {source}")]
    PostgresConnect {
        /// `host:port` of the server.
        address: String,
        /// Database name.
        database: String,
        /// The client error.
        source: ::postgres::Error,
    },
    /// A PostgreSQL statement failed.
    #[error("PostgreSQL at {address} (database {database}): cannot {action}: {source}")]
    Postgres {
        /// `host:port` of the server.
        address: String,
        /// Database name.
        database: String,
        /// What was being done.
        action: String,
        /// The client error.
        source: ::postgres::Error,
    },
    /// A study of that name exists with a different kind, direction or search space.
    #[error(
        "study '{name}' already exists with a different {differences}; pass force_new to \
         delete it with all its trials and start afresh, or choose another study name"
    )]
    StudyConflict {
        /// Name of the study.
        name: String,
        /// What differs, stored against requested.
        differences: String,
    },
    /// No study has this id.
    #[error("no study with id {study_id} in {store}")]
    NoSuchStudy {
        /// The id asked for.
        study_id: i64,
        /// The store (URL without password).
        store: String,
    },
    /// No trial has this id.
    #[error("no trial with id {trial_id} in {store}")]
    NoSuchTrial {
        /// The id asked for.
        trial_id: i64,
        /// The store (URL without password).
        store: String,
    },
    /// `finish` was asked to leave a trial WAITING or RUNNING.
    #[error("cannot end trial {trial_id} as {state}: a trial ends as COMPLETE, FAIL or PRUNED")]
    NotFinal {
        /// The trial.
        trial_id: i64,
        /// The state asked for.
        state: TrialState,
    },
    /// A value to store is NaN (SQLite cannot hold NaN).
    #[error(
        "trial {trial_id}: the {what} is NaN; end a trial that produced NaN as FAIL without a value"
    )]
    NotANumber {
        /// The trial.
        trial_id: i64,
        /// Which value.
        what: String,
    },
    /// An argument is out of its domain.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A stored trial state is not one of the known names.
    #[error("unknown trial state '{0}'; expected WAITING, RUNNING, COMPLETE, FAIL or PRUNED")]
    UnknownState(String),
    /// A stored or given direction is not one of the known names.
    #[error("unknown direction '{0}'; expected MINIMIZE or MAXIMIZE")]
    UnknownDirection(String),
    /// Stored data cannot be read back (bad JSON, out-of-range number, ...).
    #[error("{store}: {what}")]
    Corrupt {
        /// The store (URL without password).
        store: String,
        /// What is wrong.
        what: String,
    },
    /// The store was written by a perturbench from before Optuna-compatible storage.
    #[error(
        "{store} was written by an earlier perturbench (its own storage schema, version \
         {found}), which Optuna cannot read and this build no longer writes; use a new store \
         (another --storage URL, e.g. a new SQLite file or PostgreSQL database) and run the \
         study again, or open this one with the perturbench release that wrote it (for \
         `perturbench study` reports)"
    )]
    OldSchema {
        /// The store (URL without password).
        store: String,
        /// The old schema version found.
        found: i64,
    },
    /// The store holds Optuna tables of another Optuna schema version.
    #[error(
        "{store} has Optuna's storage schema {found}; this build reads and writes schema \
         {expected}. {advice}"
    )]
    OptunaSchema {
        /// The store (URL without password).
        store: String,
        /// Version found (alembic revision, or schema version).
        found: String,
        /// Version this build writes.
        expected: String,
        /// What to do.
        advice: String,
    },
}

/// The callback of [`Storage::claim`] that proposes the parameters of a new trial of a study
/// with `n_trials`, given the study and all its trials; `None` skips the study.
pub type NewParams<'a> = dyn FnMut(&Study, &[TrialRecord]) -> Option<JsonMap> + 'a;

/// A store of studies and trials that doubles as a work queue. Each value is one connection;
/// give each worker thread its own.
pub trait Storage: Send {
    /// Creates the study; if one with this name exists with the same kind, direction and space,
    /// returns it (resume; `n_trials` and `config` are updated to the new spec). If it exists
    /// with a different space, kind or direction: [`StorageError::StudyConflict`] naming what
    /// differs, unless `force_new`, which deletes the old study with all its trials and creates
    /// a fresh one.
    fn create_study(&mut self, spec: &StudySpec, force_new: bool) -> Result<Study, StorageError>;

    /// The study with this name, if any.
    fn study(&mut self, name: &str) -> Result<Option<Study>, StorageError>;

    /// All studies, ordered by id.
    fn studies(&mut self) -> Result<Vec<Study>, StorageError>;

    /// Adds a WAITING trial with these params; its number is the next in the study (0, 1, ...).
    fn enqueue(&mut self, study_id: i64, params: &JsonMap) -> Result<TrialRecord, StorageError>;

    /// Claims work for `worker`: (1) the oldest WAITING trial (of study `study_id`, or of any
    /// perturbench study when `None`: studies Optuna created are left alone until `create_study`
    /// adopts them), atomically, so that concurrent workers never get the same trial; it
    /// becomes RUNNING with this worker, attempts + 1, and start and heartbeat = now.
    /// (2) Otherwise, for a study with `n_trials = Some(n)` (only `study_id`'s when given, else
    /// each in id order) with fewer than `n` trials in all states: with the study locked, calls
    /// `new_params(&study, &trials)`; `Some(params)` inserts a new RUNNING trial for this worker
    /// (next number) and returns it, `None` skips the study. (3) `Ok(None)`: no work.
    fn claim(
        &mut self,
        study_id: Option<i64>,
        worker: &str,
        new_params: &mut NewParams<'_>,
    ) -> Result<Option<TrialRecord>, StorageError>;

    /// Updates the heartbeat; `Ok(false)` when the trial is no longer RUNNING for this worker.
    fn heartbeat(&mut self, trial_id: i64, worker: &str) -> Result<bool, StorageError>;

    /// Queues, atomically, every entry of `batch` whose value of parameter `key` no trial of
    /// the study (other than FAILed ones) has yet; returns how many were queued. Two processes
    /// queueing the same batch at once queue each entry once.
    fn enqueue_missing(
        &mut self,
        study_id: i64,
        key: &str,
        batch: &[JsonMap],
    ) -> Result<usize, StorageError>;

    /// Records an intermediate value at `step` of a trial RUNNING for `worker`; replaces an
    /// existing step. `Ok(false)` (and no change) when the trial is no longer this worker's,
    /// so a worker declared dead cannot write into the re-run's values.
    fn report(
        &mut self,
        trial_id: i64,
        worker: &str,
        step: i64,
        value: f64,
    ) -> Result<bool, StorageError>;

    /// Ends a trial (COMPLETE, FAIL or PRUNED) with an optional value and user attributes,
    /// only if it is still RUNNING for `worker`; `Ok(false)` and no change otherwise, so that a
    /// worker that was declared dead and comes back cannot overwrite the re-run.
    fn finish(
        &mut self,
        trial_id: i64,
        worker: &str,
        state: TrialState,
        value: Option<f64>,
        attrs: &JsonMap,
    ) -> Result<bool, StorageError>;

    /// RUNNING trials whose heartbeat is older than `stale_after_s` seconds go back to WAITING
    /// (worker cleared, heartbeat and intermediate values deleted, params kept); returns their
    /// ids.
    fn requeue_stale(&mut self, stale_after_s: f64) -> Result<Vec<i64>, StorageError>;

    /// All trials of a study, ordered by number.
    fn trials(&mut self, study_id: i64) -> Result<Vec<TrialRecord>, StorageError>;

    /// A human-readable name of the store (its URL without password).
    fn describe(&self) -> String;
}

/// Opens a store from a URL: `sqlite:///abs/path.db`, `sqlite://relative/path.db`,
/// `sqlite:relative.db`, `postgresql://user:pass@host:port/db` or `postgres://...`.
/// SQLite: creates the file (and its folder) and the schema, WAL journal mode, busy timeout
/// 30 s, synchronous NORMAL. PostgreSQL: connects (connect timeout 10 s unless the URL sets
/// one) and creates the schema if absent.
pub fn open(url: &str) -> Result<Box<dyn Storage>, StorageError> {
    match url::parse(url)? {
        url::StoreUrl::Sqlite(path) => Ok(Box::new(SqliteStorage::open(&path)?)),
        url::StoreUrl::Postgres(config) => Ok(Box::new(PostgresStorage::connect(*config)?)),
    }
}

/// What differs between a stored study and a requested one (kind, direction, search space),
/// empty when it can be resumed.
pub(crate) fn spec_differences(stored: &StudySpec, requested: &StudySpec) -> Vec<String> {
    let mut out = Vec::new();
    if stored.kind != requested.kind {
        out.push(format!(
            "kind (stored '{}', requested '{}')",
            stored.kind, requested.kind
        ));
    }
    if stored.direction != requested.direction {
        out.push(format!(
            "direction (stored {}, requested {})",
            stored.direction, requested.direction
        ));
    }
    if stored.space != requested.space {
        out.push(format!(
            "search space (stored {}, requested {})",
            abbreviate(&stored.space.to_string()),
            abbreviate(&requested.space.to_string())
        ));
    }
    out
}

/// The error for a study that exists with a different spec.
pub(crate) fn conflict(name: &str, differences: &[String]) -> StorageError {
    StorageError::StudyConflict {
        name: name.to_string(),
        differences: differences.join(" and "),
    }
}

/// `text` cut to at most 200 characters.
fn abbreviate(text: &str) -> String {
    const MAX: usize = 200;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}...")
    }
}

/// Checks the arguments of `finish` that do not need the database.
pub(crate) fn check_finish(
    trial_id: i64,
    state: TrialState,
    value: Option<f64>,
) -> Result<(), StorageError> {
    if !state.is_finished() {
        return Err(StorageError::NotFinal { trial_id, state });
    }
    if value.is_some_and(f64::is_nan) {
        return Err(StorageError::NotANumber {
            trial_id,
            what: "objective value".into(),
        });
    }
    Ok(())
}

/// Checks the Optuna version rows of a store (`None`: absent, to be written): schema version
/// 12 and alembic revision `v3.2.0.a`.
pub(crate) fn check_versions(
    store: &str,
    schema: Option<i64>,
    revision: Option<&str>,
) -> Result<(), StorageError> {
    let expected = format!(
        "{} (alembic revision {})",
        optuna::OPTUNA_SCHEMA_VERSION,
        optuna::OPTUNA_ALEMBIC_REVISION
    );
    let found = match (schema, revision) {
        (Some(v), _) if v != optuna::OPTUNA_SCHEMA_VERSION => {
            format!("{v} (alembic revision {})", revision.unwrap_or("none"))
        }
        (_, Some(r)) if r != optuna::OPTUNA_ALEMBIC_REVISION => {
            format!("{} (alembic revision {r})", schema.unwrap_or(0))
        }
        _ => return Ok(()),
    };
    let older = schema.is_some_and(|v| v < optuna::OPTUNA_SCHEMA_VERSION)
        || revision.is_some_and(|r| r < optuna::OPTUNA_ALEMBIC_REVISION);
    let advice = if older {
        "It was written by an older Optuna: upgrade it with `optuna storage upgrade --storage URL` \
         (Optuna >= 3.2)."
    } else {
        "It was written by a newer Optuna, whose schema this build cannot write safely; use a \
         new store (another --storage URL)."
    };
    Err(StorageError::OptunaSchema {
        store: store.to_string(),
        found,
        expected,
        advice: advice.to_string(),
    })
}

/// Checks the limit of `requeue_stale`.
pub(crate) fn check_stale_limit(stale_after_s: f64) -> Result<(), StorageError> {
    if stale_after_s.is_finite() && stale_after_s >= 0.0 {
        Ok(())
    } else {
        Err(StorageError::InvalidArgument(format!(
            "stale_after_s must be a finite number of seconds >= 0, got {stale_after_s}"
        )))
    }
}
