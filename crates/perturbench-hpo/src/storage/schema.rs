//! The tables of a store, the same on SQLite and PostgreSQL.

/// The schema version this build writes and understands (table `schema_version`).
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// The id column type on SQLite (a rowid alias whose values are never reused).
pub(crate) const SQLITE_ID: &str = "INTEGER PRIMARY KEY AUTOINCREMENT";

/// The id column type on PostgreSQL.
pub(crate) const POSTGRES_ID: &str = "BIGSERIAL PRIMARY KEY";

/// `CREATE ... IF NOT EXISTS` statements; `{id}` stands for the id column type.
const TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS studies (
        study_id {id},
        study_name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        direction TEXT NOT NULL,
        space_json TEXT NOT NULL,
        config_json TEXT NOT NULL,
        n_trials BIGINT NULL,
        created DOUBLE PRECISION NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS trials (
        trial_id {id},
        number BIGINT NOT NULL,
        study_id BIGINT NOT NULL REFERENCES studies (study_id) ON DELETE CASCADE,
        state TEXT NOT NULL,
        worker TEXT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        datetime_start DOUBLE PRECISION NULL,
        datetime_complete DOUBLE PRECISION NULL,
        UNIQUE (study_id, number)
    )",
    "CREATE INDEX IF NOT EXISTS trials_state_study ON trials (state, study_id, trial_id)",
    "CREATE TABLE IF NOT EXISTS trial_params (
        trial_id BIGINT NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
        param_name TEXT NOT NULL,
        value_json TEXT NOT NULL,
        PRIMARY KEY (trial_id, param_name)
    )",
    "CREATE TABLE IF NOT EXISTS trial_values (
        trial_id BIGINT NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
        objective BIGINT NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (trial_id, objective)
    )",
    "CREATE TABLE IF NOT EXISTS trial_intermediate_values (
        trial_id BIGINT NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
        step BIGINT NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (trial_id, step)
    )",
    "CREATE TABLE IF NOT EXISTS trial_heartbeats (
        trial_id BIGINT NOT NULL PRIMARY KEY REFERENCES trials (trial_id) ON DELETE CASCADE,
        heartbeat DOUBLE PRECISION NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS trial_user_attributes (
        trial_id BIGINT NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value_json TEXT NOT NULL,
        PRIMARY KEY (trial_id, key)
    )",
];

/// The statements that create the schema, with `id_type` ([`SQLITE_ID`] or [`POSTGRES_ID`])
/// as the type of the id columns.
pub(crate) fn create_statements(id_type: &str) -> Vec<String> {
    TABLES.iter().map(|s| s.replace("{id}", id_type)).collect()
}

/// Child tables of `trials`, deleted explicitly before their trials (so that deletion does not
/// depend on foreign-key enforcement).
pub(crate) const TRIAL_CHILD_TABLES: &[&str] = &[
    "trial_params",
    "trial_values",
    "trial_intermediate_values",
    "trial_heartbeats",
    "trial_user_attributes",
];
