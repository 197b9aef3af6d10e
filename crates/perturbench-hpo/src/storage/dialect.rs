//! The SQL that differs between SQLite and PostgreSQL: clocks, datetimes, row locks and the
//! catalogue. Everything else is the same SQL on both (see [`super::sql`]).
//!
//! Times: on SQLite they come from this process's clock (all workers of a SQLite store share
//! one machine) and enter the SQL as literals; on PostgreSQL from the server's clock
//! (`clock_timestamp()`), so machines with skewed clocks agree on heartbeats and staleness.

use super::optuna::datetime_text;
use std::time::{SystemTime, UNIX_EPOCH};

/// The SQL that differs between the backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite: datetimes are text; a write transaction locks the whole database.
    Sqlite,
    /// PostgreSQL: datetimes are `TIMESTAMP WITHOUT TIME ZONE` in UTC; rows are locked.
    Postgres,
}

impl Dialect {
    /// SQL of the Unix seconds of the heartbeat column `col`. Optuna writes heartbeats with the
    /// database's `now()`: UTC on SQLite, the session's local time on PostgreSQL (and so do we,
    /// so that an Optuna process that checks heartbeats agrees with our workers).
    pub(crate) fn heartbeat_epoch(self, col: &str) -> String {
        match self {
            Dialect::Sqlite => self.epoch(col),
            Dialect::Postgres => {
                format!("CAST(EXTRACT(EPOCH FROM CAST({col} AS TIMESTAMPTZ)) AS DOUBLE PRECISION)")
            }
        }
    }

    /// SQL of the Unix seconds (a float, NULL for NULL) of the UTC datetime column `col`.
    pub(crate) fn epoch(self, col: &str) -> String {
        match self {
            Dialect::Sqlite => format!("((julianday({col}) - 2440587.5) * 86400.0)"),
            Dialect::Postgres => format!("CAST(EXTRACT(EPOCH FROM {col}) AS DOUBLE PRECISION)"),
        }
    }

    /// SQL of now as an Optuna datetime (UTC without time zone).
    pub(crate) fn now(self) -> String {
        match self {
            Dialect::Sqlite => format!("'{}'", datetime_text(unix_now())),
            Dialect::Postgres => "(clock_timestamp() AT TIME ZONE 'UTC')".to_string(),
        }
    }

    /// SQL of now as a heartbeat (see [`Self::heartbeat_epoch`]).
    pub(crate) fn now_heartbeat(self) -> String {
        match self {
            Dialect::Sqlite => self.now(),
            Dialect::Postgres => "CAST(clock_timestamp() AS TIMESTAMP)".to_string(),
        }
    }

    /// SQL of now, Unix seconds.
    pub(crate) fn now_epoch(self) -> String {
        match self {
            Dialect::Sqlite => unix_now().to_string(),
            Dialect::Postgres => "EXTRACT(EPOCH FROM clock_timestamp())::float8".to_string(),
        }
    }

    /// SQL condition over a trial `t` and its heartbeat `h`: its last sign of life (heartbeat,
    /// else start) is older than `$1` seconds.
    pub(crate) fn stale(self) -> String {
        match self {
            Dialect::Sqlite => format!(
                "COALESCE({}, 0) < {} - $1",
                self.epoch("COALESCE(h.heartbeat, t.datetime_start)"),
                unix_now()
            ),
            Dialect::Postgres => "COALESCE(CAST(h.heartbeat AS TIMESTAMPTZ), \
                 t.datetime_start AT TIME ZONE 'UTC', 'epoch') \
                 < clock_timestamp() - make_interval(secs => $1)"
                .to_string(),
        }
    }

    /// `clause` (a row lock such as ` FOR UPDATE OF t`) on PostgreSQL; nothing on SQLite,
    /// whose write transactions hold the database's lock.
    pub(crate) fn lock(self, clause: &'static str) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => clause,
        }
    }

    /// Whether the id of a deleted trial can be given to a new one: SQLite's rowids without
    /// `AUTOINCREMENT`, in tables that Optuna created.
    pub(crate) fn reuses_ids(self) -> bool {
        self == Dialect::Sqlite
    }

    /// SQL that yields whether the table named `$1` exists.
    pub(crate) fn table_exists(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = $1"
            }
            Dialect::Postgres => "SELECT to_regclass($1) IS NOT NULL",
        }
    }

    /// SQL that serialises the creation of the schema until the end of the transaction, with
    /// the lock's key as `$1` (PostgreSQL; SQLite's write lock already does).
    pub(crate) fn schema_lock(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("SELECT pg_advisory_xact_lock($1)"),
        }
    }
}

/// Now, Unix seconds, from this process's clock.
pub(crate) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
