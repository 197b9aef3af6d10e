//! The PostgreSQL backend: one database shared by workers on many machines.
//!
//! Rows are locked (`SELECT ... FOR UPDATE [SKIP LOCKED]`, see [`super::store`]) rather than
//! the database; a transaction aborted by a deadlock or serialization failure is retried.
//! Parameters and columns are converted to and from the column's type (Optuna's ids are
//! `INTEGER`, its enum columns have enum types whose values are bound as their labels).

use super::dialect::Dialect;
use super::schema::create_schema;
use super::sql::{Row, Sql, SqlValue, TxError};
use super::store::Backend;
use super::url::{pg_address, pg_database, pg_describe};
use super::StorageError;
use bytes::BytesMut;
use postgres::error::SqlState;
use postgres::types::{to_sql_checked, FromSql, IsNull, Kind, ToSql, Type};
use postgres::{Client, IsolationLevel, NoTls, Transaction};
use std::error::Error;

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
        store.transaction(true, "create the schema", |tx| create_schema(tx, &label))?;
        Ok(store)
    }
}

impl Backend for PostgresStorage {
    /// A read transaction is a read-only REPEATABLE READ one (one consistent view).
    fn transaction<T>(
        &mut self,
        write: bool,
        action: &str,
        mut body: impl FnMut(&mut dyn Sql) -> Result<T, TxError>,
    ) -> Result<T, StorageError> {
        let mut attempt = 0;
        loop {
            let result = (|| {
                let mut tx = if write {
                    self.client.transaction()?
                } else {
                    self.client
                        .build_transaction()
                        .isolation_level(IsolationLevel::RepeatableRead)
                        .read_only(true)
                        .start()?
                };
                let value = body(&mut tx)?;
                tx.commit()?;
                Ok(value)
            })();
            match result {
                Ok(v) => return Ok(v),
                Err(TxError::Postgres(e)) if is_transient(&e) && attempt < RETRIES => attempt += 1,
                Err(TxError::Postgres(source)) => {
                    return Err(StorageError::Postgres {
                        address: self.address.clone(),
                        database: self.database.clone(),
                        action: action.to_string(),
                        source,
                    })
                }
                Err(e) => return Err(e.into_storage(&self.described, action)),
            }
        }
    }

    fn label(&self) -> String {
        self.described.clone()
    }
}

impl Sql for Transaction<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, TxError> {
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        Transaction::query(self, sql, &params)?
            .iter()
            .map(|row| {
                let values = (0..row.len()).map(|i| row.try_get(i));
                Ok(Row(values.collect::<Result<_, _>>()?))
            })
            .collect()
    }

    fn batch(&mut self, sql: &str) -> Result<(), TxError> {
        Ok(self.batch_execute(sql)?)
    }
}

/// Whether the server aborted the transaction in a way that a retry can fix.
fn is_transient(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

/// Whether values of `ty` are text on the wire (text types and enum labels).
fn is_text(ty: &Type) -> bool {
    <&str as ToSql>::accepts(ty) || matches!(ty.kind(), Kind::Enum(_))
}

impl ToSql for SqlValue {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match (self, ty) {
            (SqlValue::Null, _) => Ok(IsNull::Yes),
            (SqlValue::Int(v), &Type::INT2) => i16::try_from(*v)?.to_sql(ty, out),
            (SqlValue::Int(v), &Type::INT4) => i32::try_from(*v)?.to_sql(ty, out),
            (SqlValue::Int(v), &Type::INT8) => v.to_sql(ty, out),
            (SqlValue::Int(v), &Type::FLOAT8) => (*v as f64).to_sql(ty, out),
            (SqlValue::Real(v), &Type::FLOAT8) => v.to_sql(ty, out),
            (SqlValue::Text(v), ty) if is_text(ty) => v.as_str().to_sql(ty, out),
            (v, ty) => Err(format!("cannot pass {v:?} as a parameter of type {ty}").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for SqlValue {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(match *ty {
            Type::VOID => SqlValue::Null,
            Type::BOOL => SqlValue::Int(bool::from_sql(ty, raw)?.into()),
            Type::INT2 => SqlValue::Int(i16::from_sql(ty, raw)?.into()),
            Type::INT4 => SqlValue::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT8 => SqlValue::Int(i64::from_sql(ty, raw)?),
            Type::FLOAT4 => SqlValue::Real(f32::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => SqlValue::Real(f64::from_sql(ty, raw)?),
            ref ty if is_text(ty) => SqlValue::Text(<&str>::from_sql(ty, raw)?.to_string()),
            ref ty => return Err(format!("cannot read a column of type {ty}").into()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(SqlValue::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}
