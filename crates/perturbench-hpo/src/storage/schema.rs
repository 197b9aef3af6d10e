//! The tables of a store: Optuna's RDB schema (version 12, alembic revision `v3.2.0.a`), with
//! the column types Optuna's own storage creates on SQLite and on PostgreSQL, plus two tables of
//! our own that Optuna ignores (`perturbench_studies`, `perturbench_trials`).
//!
//! One difference on SQLite: the ids of `studies` and `trials` are `AUTOINCREMENT`, so that the
//! id of a deleted study or trial is never given to a new one (a worker that outlived its trial
//! cannot mistake a new trial for it); the column type is the same `INTEGER` primary key.

use super::check_versions;
use super::dialect::Dialect;
use super::optuna::{OPTUNA_ALEMBIC_REVISION, OPTUNA_LIBRARY_VERSION, OPTUNA_SCHEMA_VERSION};
use super::sql::{Sql, TxError};
use super::StorageError;

/// Optuna's enum types on PostgreSQL (SQLite has `VARCHAR` columns), created first.
const POSTGRES_TYPES: &[&str] = &[
    "CREATE TYPE studydirection AS ENUM ('NOT_SET', 'MINIMIZE', 'MAXIMIZE')",
    "CREATE TYPE trialintermediatevaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG', 'NAN')",
    "CREATE TYPE trialstate AS ENUM ('RUNNING', 'COMPLETE', 'PRUNED', 'FAIL', 'WAITING')",
    "CREATE TYPE trialvaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG')",
];

/// What differs in [`OPTUNA`] between the backends: placeholder, SQLite's text, PostgreSQL's.
const WORDS: &[(&str, &str, &str)] = &[
    ("{if_new}", " IF NOT EXISTS", ""),
    (
        "{auto_id}",
        "INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT",
        "SERIAL NOT NULL",
    ),
    ("{study_pk}", "", ",\n        PRIMARY KEY (study_id)"),
    ("{trial_pk}", "", "\n        PRIMARY KEY (trial_id),"),
    ("{serial}", "INTEGER", "SERIAL"),
    ("{key}", "\"key\"", "key"),
    ("{datetime}", "DATETIME", "TIMESTAMP WITHOUT TIME ZONE"),
    ("{float}", "FLOAT", "DOUBLE PRECISION"),
    ("{direction}", "VARCHAR(8)", "studydirection"),
    ("{state}", "VARCHAR(8)", "trialstate"),
    ("{value_type}", "VARCHAR(7)", "trialvaluetype"),
    (
        "{intermediate_type}",
        "VARCHAR(7)",
        "trialintermediatevaluetype",
    ),
];

/// Optuna's tables in creation order, with the placeholders of [`WORDS`].
const OPTUNA: &[&str] = &[
    "CREATE TABLE{if_new} studies (
        study_id {auto_id},
        study_name VARCHAR(512) NOT NULL{study_pk}
    )",
    "CREATE UNIQUE INDEX{if_new} ix_studies_study_name ON studies (study_name)",
    "CREATE TABLE{if_new} version_info (
        version_info_id INTEGER NOT NULL,
        schema_version INTEGER,
        library_version VARCHAR(256),
        PRIMARY KEY (version_info_id),
        CHECK (version_info_id=1)
    )",
    "CREATE TABLE{if_new} study_directions (
        study_direction_id {serial} NOT NULL,
        direction {direction} NOT NULL,
        study_id INTEGER NOT NULL,
        objective INTEGER NOT NULL,
        PRIMARY KEY (study_direction_id),
        UNIQUE (study_id, objective),
        FOREIGN KEY(study_id) REFERENCES studies (study_id)
    )",
    "CREATE TABLE{if_new} study_user_attributes (
        study_user_attribute_id {serial} NOT NULL,
        study_id INTEGER,
        {key} VARCHAR(512),
        value_json TEXT,
        PRIMARY KEY (study_user_attribute_id),
        UNIQUE (study_id, {key}),
        FOREIGN KEY(study_id) REFERENCES studies (study_id)
    )",
    "CREATE TABLE{if_new} study_system_attributes (
        study_system_attribute_id {serial} NOT NULL,
        study_id INTEGER,
        {key} VARCHAR(512),
        value_json TEXT,
        PRIMARY KEY (study_system_attribute_id),
        UNIQUE (study_id, {key}),
        FOREIGN KEY(study_id) REFERENCES studies (study_id)
    )",
    "CREATE TABLE{if_new} trials (
        trial_id {auto_id},
        number INTEGER,
        study_id INTEGER,
        state {state} NOT NULL,
        datetime_start {datetime},
        datetime_complete {datetime},{trial_pk}
        FOREIGN KEY(study_id) REFERENCES studies (study_id)
    )",
    "CREATE INDEX{if_new} ix_trials_study_id ON trials (study_id)",
    "CREATE TABLE{if_new} trial_user_attributes (
        trial_user_attribute_id {serial} NOT NULL,
        trial_id INTEGER,
        {key} VARCHAR(512),
        value_json TEXT,
        PRIMARY KEY (trial_user_attribute_id),
        UNIQUE (trial_id, {key}),
        FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
    )",
    "CREATE TABLE{if_new} trial_system_attributes (
        trial_system_attribute_id {serial} NOT NULL,
        trial_id INTEGER,
        {key} VARCHAR(512),
        value_json TEXT,
        PRIMARY KEY (trial_system_attribute_id),
        UNIQUE (trial_id, {key}),
        FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
    )",
    "CREATE TABLE{if_new} trial_params (
        param_id {serial} NOT NULL,
        trial_id INTEGER,
        param_name VARCHAR(512),
        param_value {float},
        distribution_json TEXT,
        PRIMARY KEY (param_id),
        UNIQUE (trial_id, param_name),
        FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
    )",
    "CREATE TABLE{if_new} trial_values (
        trial_value_id {serial} NOT NULL,
        trial_id INTEGER NOT NULL,
        objective INTEGER NOT NULL,
        value {float},
        value_type {value_type} NOT NULL,
        PRIMARY KEY (trial_value_id),
        UNIQUE (trial_id, objective),
        FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
    )",
    "CREATE TABLE{if_new} trial_intermediate_values (
        trial_intermediate_value_id {serial} NOT NULL,
        trial_id INTEGER NOT NULL,
        step INTEGER NOT NULL,
        intermediate_value {float},
        intermediate_value_type {intermediate_type} NOT NULL,
        PRIMARY KEY (trial_intermediate_value_id),
        UNIQUE (trial_id, step),
        FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
    )",
    "CREATE TABLE{if_new} trial_heartbeats (
        trial_heartbeat_id {serial} NOT NULL,
        trial_id INTEGER NOT NULL,
        heartbeat {datetime} NOT NULL,
        PRIMARY KEY (trial_heartbeat_id),
        UNIQUE (trial_id),
        FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
    )",
    "CREATE TABLE{if_new} alembic_version (
        version_num VARCHAR(32) NOT NULL,
        CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
    )",
];

/// Optuna's statements for `dialect`: [`OPTUNA`] with the placeholders filled in, after the
/// enum types on PostgreSQL.
fn optuna_statements(dialect: Dialect) -> Vec<String> {
    let types = match dialect {
        Dialect::Sqlite => &[],
        Dialect::Postgres => POSTGRES_TYPES,
    };
    let tables = OPTUNA.iter().map(|template| {
        WORDS
            .iter()
            .fold(template.to_string(), |sql, (word, sqlite, postgres)| {
                let text = match dialect {
                    Dialect::Sqlite => sqlite,
                    Dialect::Postgres => postgres,
                };
                sql.replace(word, text)
            })
    });
    types.iter().map(|t| t.to_string()).chain(tables).collect()
}

/// Our own tables (both backends; Optuna ignores them): what a study is for perturbench
/// (kind, search space, runner configuration, trial budget) and who runs a trial. Their rows
/// go with the study or trial they describe (cascading deletes, for Optuna's `delete_study`).
const PERTURBENCH: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS perturbench_studies (
        study_id INTEGER NOT NULL PRIMARY KEY REFERENCES studies (study_id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        space_json TEXT NOT NULL,
        config_json TEXT NOT NULL,
        n_trials BIGINT NULL,
        created DOUBLE PRECISION NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS perturbench_trials (
        trial_id INTEGER NOT NULL PRIMARY KEY REFERENCES trials (trial_id) ON DELETE CASCADE,
        worker TEXT NULL,
        attempts BIGINT NOT NULL DEFAULT 0
    )",
];

/// Creates the schema where absent and checks (or writes) Optuna's version rows; `label`
/// names the store in errors. Fails with [`StorageError::OldSchema`] on a store of an earlier
/// perturbench.
pub(crate) fn create_schema(tx: &mut dyn Sql, label: &str) -> Result<(), TxError> {
    let d = tx.dialect();
    if let Some(lock) = d.schema_lock() {
        tx.execute(lock, &[SCHEMA_LOCK.into()])?;
    }
    let exists =
        |tx: &mut dyn Sql, table: &str| tx.value::<bool>(d.table_exists(), &[table.into()]);
    if exists(tx, OLD_SCHEMA_TABLE)? {
        let found: Option<i64> = tx.value(
            &format!("SELECT CAST(MAX(version) AS BIGINT) FROM {OLD_SCHEMA_TABLE}"),
            &[],
        )?;
        return Err(StorageError::OldSchema {
            store: label.to_string(),
            found: found.unwrap_or(0),
        }
        .into());
    }
    // SQLite's statements are idempotent; PostgreSQL's types are not.
    let optuna = match d {
        Dialect::Postgres if exists(tx, "studies")? => Vec::new(),
        d => optuna_statements(d),
    };
    for statement in optuna
        .iter()
        .map(String::as_str)
        .chain(PERTURBENCH.iter().copied())
    {
        tx.batch(statement)?;
    }
    let schema: Option<Option<i64>> = tx
        .query_opt(
            "SELECT CAST(schema_version AS BIGINT) FROM version_info WHERE version_info_id = 1",
            &[],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    let revision: Option<String> = tx
        .query_opt("SELECT CAST(version_num AS TEXT) FROM alembic_version", &[])?
        .map(|r| r.get(0))
        .transpose()?;
    check_versions(label, schema.flatten(), revision.as_deref())?;
    if schema.is_none() {
        tx.execute(
            "INSERT INTO version_info (version_info_id, schema_version, library_version) \
             VALUES (1, $1, $2)",
            &[OPTUNA_SCHEMA_VERSION.into(), OPTUNA_LIBRARY_VERSION.into()],
        )?;
    }
    if revision.is_none() {
        tx.execute(
            "INSERT INTO alembic_version (version_num) VALUES ($1)",
            &[OPTUNA_ALEMBIC_REVISION.into()],
        )?;
    }
    Ok(())
}

/// Tables holding rows of a trial (deleted before the trial itself).
pub(crate) const TRIAL_CHILD_TABLES: &[&str] = &[
    "trial_params",
    "trial_values",
    "trial_intermediate_values",
    "trial_heartbeats",
    "trial_user_attributes",
    "trial_system_attributes",
    "perturbench_trials",
];

/// Tables holding rows of a study other than its trials (deleted before the study).
pub(crate) const STUDY_CHILD_TABLES: &[&str] = &[
    "study_directions",
    "study_user_attributes",
    "study_system_attributes",
    "perturbench_studies",
];

/// The table of an earlier perturbench's own schema: its presence means an old store.
const OLD_SCHEMA_TABLE: &str = "schema_version";

/// Key of the advisory lock held while creating the schema ("pbhpo" in ASCII).
const SCHEMA_LOCK: i64 = 0x0070_6268_706f;
