//! The SQLite backend: one database file shared by the processes of one machine.
//!
//! Every write runs in a `BEGIN IMMEDIATE` transaction, which takes the database's write lock
//! up front, so that a claim's read-then-update cannot interleave with another process's;
//! waiting for the lock is bounded by a 30 s busy timeout, after which the whole transaction is
//! retried a few times. The shared SQL's `$N` parameters become SQLite's `?N`.

use super::dialect::Dialect;
use super::schema::create_schema;
use super::sql::{Row, Sql, SqlValue, TxError};
use super::store::Backend;
use super::StorageError;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};
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
                TxError::Sqlite(source) => open_err(source),
                e => e.into_storage(&shown, "open"),
            })?;
        let label = format!("SQLite database {}", path.display());
        store.transaction(true, "create the schema", |tx| create_schema(tx, &label))?;
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
                Err(TxError::Sqlite(e)) if is_busy(&e) && attempt < BUSY_RETRIES => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(50 * u64::from(attempt)));
                }
                other => return other,
            }
        }
    }
}

impl Backend for SqliteStorage {
    /// A write transaction is `BEGIN IMMEDIATE`, a read one deferred.
    fn transaction<T>(
        &mut self,
        write: bool,
        action: &str,
        mut body: impl FnMut(&mut dyn Sql) -> Result<T, TxError>,
    ) -> Result<T, StorageError> {
        let behavior = if write {
            TransactionBehavior::Immediate
        } else {
            TransactionBehavior::Deferred
        };
        let result = self.with_retry(|conn| {
            let mut tx = conn.transaction_with_behavior(behavior)?;
            let value = body(&mut tx)?;
            tx.commit()?;
            Ok(value)
        });
        result.map_err(|e| match e {
            TxError::Sqlite(source) => StorageError::Sqlite {
                path: self.path.clone(),
                action: action.to_string(),
                source,
            },
            e => e.into_storage(&self.label(), action),
        })
    }

    fn label(&self) -> String {
        format!("sqlite://{}", self.path)
    }
}

impl Sql for Transaction<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, TxError> {
        let mut stmt = self.prepare(&numbered_params(sql))?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let values = (0..columns)
                .map(|i| {
                    Ok(match row.get_ref(i)? {
                        ValueRef::Null => SqlValue::Null,
                        ValueRef::Integer(v) => SqlValue::Int(v),
                        ValueRef::Real(v) => SqlValue::Real(v),
                        ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into()),
                        ValueRef::Blob(_) => {
                            return Err(TxError::Decode(format!("column {i} is a BLOB")))
                        }
                    })
                })
                .collect::<Result<_, TxError>>()?;
            out.push(Row(values));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), TxError> {
        Ok(self.execute_batch(sql)?)
    }
}

impl rusqlite::ToSql for SqlValue {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            SqlValue::Null => ToSqlOutput::Owned(Value::Null),
            SqlValue::Int(v) => ToSqlOutput::Owned(Value::Integer(*v)),
            SqlValue::Real(v) => ToSqlOutput::Owned(Value::Real(*v)),
            SqlValue::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
        })
    }
}

/// `sql` with PostgreSQL's parameters `$N` written as SQLite's `?N` (`$1` would be a named
/// parameter, numbered by first appearance).
fn numbered_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let digit_follows = chars.peek().is_some_and(char::is_ascii_digit);
        out.push(if c == '$' && digit_follows { '?' } else { c });
    }
    out
}

/// Whether SQLite reports a lock held by another connection.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}
