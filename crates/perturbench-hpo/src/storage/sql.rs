//! The driver-neutral view of a transaction that the shared SQL of both backends runs on:
//! values, rows, and the [`Sql`] trait that SQLite's and PostgreSQL's transactions implement.
//! SQL is written once with PostgreSQL's numbered parameters (`$1`, `$2`, ...).

use super::dialect::Dialect;
use super::StorageError;

/// A parameter or a column value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SqlValue {
    /// SQL NULL.
    Null,
    /// An integer (or a boolean as 0/1).
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text (also the label of a PostgreSQL enum).
    Text(String),
}

macro_rules! sql_value_from {
    ($($t:ty => |$v:ident| $e:expr;)*) => {$(
        impl From<$t> for SqlValue {
            fn from($v: $t) -> Self {
                $e
            }
        }
    )*};
}

sql_value_from! {
    i64 => |v| SqlValue::Int(v);
    f64 => |v| SqlValue::Real(v);
    &str => |v| SqlValue::Text(v.to_string());
    String => |v| SqlValue::Text(v);
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(SqlValue::Null, Into::into)
    }
}

/// A Rust value that a column can be read as.
pub(crate) trait FromColumn: Sized {
    /// The value, or why the column holds something else.
    fn from_column(v: SqlValue) -> Result<Self, String>;
}

macro_rules! from_column {
    ($($t:ty, $what:literal: $($p:pat => $e:expr),+;)*) => {$(
        impl FromColumn for $t {
            fn from_column(v: SqlValue) -> Result<Self, String> {
                match v {
                    $($p => Ok($e),)+
                    other => Err(format!(concat!("expected ", $what, ", found {:?}"), other)),
                }
            }
        }
    )*};
}

from_column! {
    i64, "an integer": SqlValue::Int(i) => i;
    bool, "a boolean": SqlValue::Int(i) => i != 0;
    f64, "a number": SqlValue::Real(f) => f, SqlValue::Int(i) => i as f64;
    String, "text": SqlValue::Text(s) => s;
}

impl<T: FromColumn> FromColumn for Option<T> {
    fn from_column(v: SqlValue) -> Result<Self, String> {
        match v {
            SqlValue::Null => Ok(None),
            v => T::from_column(v).map(Some),
        }
    }
}

/// A Rust tuple that a row can be read as, column by column.
pub(crate) trait FromRow: Sized {
    /// The row's first columns as a tuple.
    fn from_row(row: &Row) -> Result<Self, TxError>;
}

macro_rules! tuple_from_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: FromColumn),+> FromRow for ($($t,)+) {
            fn from_row(row: &Row) -> Result<Self, TxError> {
                Ok(($(row.get::<$t>($i)?,)+))
            }
        }
    };
}

tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);

/// One row of a result.
#[derive(Debug)]
pub(crate) struct Row(pub(crate) Vec<SqlValue>);

impl Row {
    /// Column `i` as a `T`.
    pub(crate) fn get<T: FromColumn>(&self, i: usize) -> Result<T, TxError> {
        let v = self.0.get(i).cloned().ok_or("no such column".to_string());
        v.and_then(T::from_column)
            .map_err(|e| TxError::Decode(format!("column {i}: {e}")))
    }
}

/// An error inside a transaction: the driver's (maybe retried), a column of an unexpected
/// type, or the store's own.
#[derive(Debug)]
pub(crate) enum TxError {
    /// SQLite failed.
    Sqlite(rusqlite::Error),
    /// PostgreSQL failed.
    Postgres(postgres::Error),
    /// A column holds another type than expected.
    Decode(String),
    /// The store's own error (not found, conflict, ...).
    Storage(StorageError),
}

impl From<rusqlite::Error> for TxError {
    fn from(e: rusqlite::Error) -> Self {
        TxError::Sqlite(e)
    }
}

impl From<postgres::Error> for TxError {
    fn from(e: postgres::Error) -> Self {
        TxError::Postgres(e)
    }
}

impl TxError {
    /// The store's error for all but a driver error of the backend itself (which the backend
    /// maps with its address): a column that cannot be read is [`StorageError::Corrupt`].
    pub(crate) fn into_storage(self, store: &str, action: &str) -> StorageError {
        let what = match self {
            TxError::Storage(e) => return e,
            TxError::Sqlite(e) => e.to_string(),
            TxError::Postgres(e) => e.to_string(),
            TxError::Decode(what) => what,
        };
        StorageError::Corrupt {
            store: store.to_string(),
            what: format!("cannot {action}: {what}"),
        }
    }
}

impl From<StorageError> for TxError {
    fn from(e: StorageError) -> Self {
        TxError::Storage(e)
    }
}

/// An open transaction of either backend.
pub(crate) trait Sql {
    /// The SQL that differs on this backend.
    fn dialect(&self) -> Dialect;

    /// Runs one statement with `$1`, `$2`, ... bound to `params`; returns its rows (none for
    /// a statement without `RETURNING`).
    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, TxError>;

    /// Runs statements without parameters (DDL).
    fn batch(&mut self, sql: &str) -> Result<(), TxError>;
}

impl dyn Sql + '_ {
    /// Runs one statement, ignoring any rows.
    pub(crate) fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<(), TxError> {
        self.query(sql, params).map(drop)
    }

    /// The first row of a query, if any.
    pub(crate) fn query_opt(
        &mut self,
        sql: &str,
        params: &[SqlValue],
    ) -> Result<Option<Row>, TxError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// Column 0 of the first row of a query that yields one.
    pub(crate) fn value<T: FromColumn>(
        &mut self,
        sql: &str,
        params: &[SqlValue],
    ) -> Result<T, TxError> {
        match self.query_opt(sql, params)? {
            Some(row) => row.get(0),
            None => Err(TxError::Decode(format!("no row from {sql}"))),
        }
    }

    /// Each row of a query as a tuple.
    pub(crate) fn rows<T: FromRow>(
        &mut self,
        sql: &str,
        params: &[SqlValue],
    ) -> Result<Vec<T>, TxError> {
        self.query(sql, params)?.iter().map(T::from_row).collect()
    }
}
