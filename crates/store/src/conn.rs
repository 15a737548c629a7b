//! One connection of any engine, as the store's modules use it: a
//! statement with `?` placeholders and [`SqlValue`] arguments in, a count
//! or [`Row`]s out. SQLite runs inline (microseconds, see [`crate::backend`]);
//! PostgreSQL goes through sqlx, with `?` renumbered to `$n` and NULL
//! arguments written as literals so the server infers their type; MySQL
//! (MariaDB) through sqlx as written.

use rusqlite::types::{Value as SqliteValue, ValueRef};
use sqlx::{Column, Row as _, TypeInfo};

use crate::dialect::Dialect;
use crate::error::StoreError;
use crate::query::SqlValue;

/// A connection the store is using: the SQLite writer or reader, or a
/// PostgreSQL connection (in a transaction or not).
pub(crate) enum Conn<'a> {
    /// SQLite, inline.
    Sqlite(&'a mut rusqlite::Connection),
    /// PostgreSQL.
    Pg(&'a mut sqlx::PgConnection),
    /// MySQL / MariaDB.
    My(&'a mut sqlx::MySqlConnection),
}

/// One result row, decoded: integers as [`SqlValue::Int`], everything else as text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row(pub Vec<SqlValue>);

impl Row {
    fn at(&self, i: usize) -> Result<&SqlValue, StoreError> {
        self.0.get(i).ok_or_else(|| StoreError::Decode(format!("no column {i}")))
    }

    /// Column `i` as text (NULL is an error).
    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?.ok_or_else(|| StoreError::Decode(format!("column {i} is NULL")))
    }

    /// Column `i` as text or NULL.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.at(i)? {
            SqlValue::Null => Ok(None),
            SqlValue::Text(s) => Ok(Some(s.clone())),
            SqlValue::Int(n) => Ok(Some(n.to_string())),
        }
    }

    /// Column `i` as text, moved out of the row (NULL is an error).
    pub fn into_text(mut self, i: usize) -> Result<String, StoreError> {
        match self.0.get_mut(i).map(|v| std::mem::replace(v, SqlValue::Null)) {
            Some(SqlValue::Text(s)) => Ok(s),
            Some(SqlValue::Int(n)) => Ok(n.to_string()),
            Some(SqlValue::Null) => Err(StoreError::Decode(format!("column {i} is NULL"))),
            None => Err(StoreError::Decode(format!("no column {i}"))),
        }
    }

    /// Column `i` as an integer (NULL is an error).
    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_int(i)?.ok_or_else(|| StoreError::Decode(format!("column {i} is NULL")))
    }

    /// Column `i` as an integer or NULL.
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.at(i)? {
            SqlValue::Null => Ok(None),
            SqlValue::Int(n) => Ok(Some(*n)),
            SqlValue::Text(s) => s.parse().map(Some).map_err(|_| StoreError::Decode(format!("column {i}: {s:?}"))),
        }
    }
}

/// Arguments as SQLite takes them.
fn sqlite_params(args: &[SqlValue]) -> impl Iterator<Item = SqliteValue> + '_ {
    args.iter().map(|a| match a {
        SqlValue::Null => SqliteValue::Null,
        SqlValue::Int(i) => SqliteValue::Integer(*i),
        SqlValue::Text(s) => SqliteValue::Text(s.clone()),
    })
}

fn sqlite_value(v: ValueRef<'_>) -> SqlValue {
    match v {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Int(i),
        ValueRef::Real(f) => SqlValue::Text(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
    }
}

/// `sql` with each `?` numbered `$1…` in order, NULL arguments written as
/// `NULL` (so PostgreSQL infers their type), and the remaining arguments.
/// The statement text is the store's own: `?` never occurs in a literal.
pub(crate) fn numbered(sql: &str, args: &[SqlValue]) -> (String, Vec<SqlValue>) {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut kept = Vec::with_capacity(args.len());
    let mut it = args.iter();
    for ch in sql.chars() {
        if ch != '?' {
            out.push(ch);
            continue;
        }
        match it.next() {
            Some(SqlValue::Null) | None => out.push_str("NULL"),
            Some(v) => {
                kept.push(v.clone());
                out.push('$');
                out.push_str(&kept.len().to_string());
            }
        }
    }
    (out, kept)
}

/// `sql` with `args` bound, for either database server.
fn bound<'q, DB>(
    sql: &'q str,
    args: &'q [SqlValue],
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut q = sqlx::query(sql);
    for a in args {
        q = match a {
            SqlValue::Int(i) => q.bind(*i),
            SqlValue::Text(s) => q.bind(s.as_str()),
            SqlValue::Null => q.bind(Option::<String>::None),
        };
    }
    q
}

fn my_row(r: &sqlx::mysql::MySqlRow) -> Result<Row, StoreError> {
    let mut out = Vec::with_capacity(r.len());
    for (i, c) in r.columns().iter().enumerate() {
        let name = c.type_info().name();
        let v = if name.ends_with("UNSIGNED") {
            r.try_get::<Option<u64>, _>(i)?.map(|n| SqlValue::Int(i64::try_from(n).unwrap_or(i64::MAX)))
        } else if matches!(name, "BIGINT" | "INT" | "MEDIUMINT" | "SMALLINT" | "TINYINT" | "BOOLEAN") {
            r.try_get::<Option<i64>, _>(i)?.map(SqlValue::Int)
        } else if name == "NULL" {
            None
        } else {
            r.try_get_unchecked::<Option<String>, _>(i)?.map(SqlValue::Text)
        };
        out.push(v.unwrap_or(SqlValue::Null));
    }
    Ok(Row(out))
}

fn pg_row(r: &sqlx::postgres::PgRow) -> Result<Row, StoreError> {
    let mut out = Vec::with_capacity(r.len());
    for (i, c) in r.columns().iter().enumerate() {
        let v = match c.type_info().name() {
            "INT8" => r.try_get::<Option<i64>, _>(i)?.map(SqlValue::Int),
            "INT4" => r.try_get::<Option<i32>, _>(i)?.map(|n| SqlValue::Int(n.into())),
            "INT2" => r.try_get::<Option<i16>, _>(i)?.map(|n| SqlValue::Int(n.into())),
            "BOOL" => r.try_get::<Option<bool>, _>(i)?.map(|b| SqlValue::Int(b.into())),
            _ => r.try_get::<Option<String>, _>(i)?.map(SqlValue::Text),
        };
        out.push(v.unwrap_or(SqlValue::Null));
    }
    Ok(Row(out))
}

/// A boxed, `Send` future: sqlx's executor futures, awaited inside the
/// store's own async methods, otherwise trip the compiler's higher-ranked
/// `Send` check in callers that spawn them.
type Boxed<'c, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, sqlx::Error>> + Send + 'c>>;

fn pg_execute(c: &mut sqlx::PgConnection, sql: String, args: Vec<SqlValue>) -> Boxed<'_, u64> {
    Box::pin(async move { Ok(bound::<sqlx::Postgres>(&sql, &args).execute(c).await?.rows_affected()) })
}

fn pg_fetch(c: &mut sqlx::PgConnection, sql: String, args: Vec<SqlValue>) -> Boxed<'_, Vec<sqlx::postgres::PgRow>> {
    Box::pin(async move { bound::<sqlx::Postgres>(&sql, &args).fetch_all(c).await })
}

fn pg_batch(c: &mut sqlx::PgConnection, sql: String) -> Boxed<'_, ()> {
    // A bare string has no arguments: the simple query protocol, which
    // takes several statements at once.
    Box::pin(async move {
        sqlx::Executor::execute(c, sql.as_str()).await?;
        Ok(())
    })
}

fn my_execute(c: &mut sqlx::MySqlConnection, sql: String, args: Vec<SqlValue>) -> Boxed<'_, u64> {
    Box::pin(async move { Ok(bound::<sqlx::MySql>(&sql, &args).execute(c).await?.rows_affected()) })
}

fn my_fetch(c: &mut sqlx::MySqlConnection, sql: String, args: Vec<SqlValue>) -> Boxed<'_, Vec<sqlx::mysql::MySqlRow>> {
    Box::pin(async move { bound::<sqlx::MySql>(&sql, &args).fetch_all(c).await })
}

/// Runs statements one by one (split at `;` ending a line: the store's own
/// schema files, which put no `;` at the end of a line inside a literal).
fn my_batch(c: &mut sqlx::MySqlConnection, sql: String) -> Boxed<'_, ()> {
    Box::pin(async move {
        for stmt in sql.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
            let stmt = stmt.trim_end_matches(';');
            let code: String =
                stmt.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
            if code.trim().is_empty() {
                continue;
            }
            sqlx::Executor::execute(&mut *c, code.as_str()).await?;
        }
        Ok(())
    })
}

impl Conn<'_> {
    /// The engine's dialect.
    pub fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Pg(_) => Dialect::Postgres,
            Conn::My(_) => Dialect::Mysql,
        }
    }

    /// Runs a statement; returns the rows it changed.
    pub async fn execute(&mut self, sql: &str, args: &[SqlValue]) -> Result<u64, StoreError> {
        match self {
            Conn::Sqlite(c) => {
                let n = c.prepare_cached(sql)?.execute(rusqlite::params_from_iter(sqlite_params(args)))?;
                Ok(n as u64)
            }
            Conn::Pg(c) => {
                let (text, kept) = numbered(sql, args);
                Ok(pg_execute(c, text, kept).await?)
            }
            Conn::My(c) => Ok(my_execute(c, sql.to_string(), args.to_vec()).await?),
        }
    }

    /// Runs a query; returns every row.
    pub async fn rows(&mut self, sql: &str, args: &[SqlValue]) -> Result<Vec<Row>, StoreError> {
        match self {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let n = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(sqlite_params(args)))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    let mut row = Vec::with_capacity(n);
                    for i in 0..n {
                        row.push(sqlite_value(r.get_ref(i)?));
                    }
                    out.push(Row(row));
                }
                Ok(out)
            }
            Conn::Pg(c) => {
                let (text, kept) = numbered(sql, args);
                let rows = pg_fetch(c, text, kept).await?;
                rows.iter().map(pg_row).collect()
            }
            Conn::My(c) => {
                let rows = my_fetch(c, sql.to_string(), args.to_vec()).await?;
                rows.iter().map(my_row).collect()
            }
        }
    }

    /// Runs a query; returns its first row, if any.
    pub async fn row(&mut self, sql: &str, args: &[SqlValue]) -> Result<Option<Row>, StoreError> {
        Ok(self.rows(sql, args).await?.into_iter().next())
    }

    /// Runs a query; returns the first column of every row as text.
    pub async fn texts(&mut self, sql: &str, args: &[SqlValue]) -> Result<Vec<String>, StoreError> {
        self.rows(sql, args).await?.into_iter().map(|r| r.into_text(0)).collect()
    }

    /// Runs statements without arguments (schema changes, transaction control).
    pub async fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Conn::Pg(c) => Ok(pg_batch(c, sql.to_string()).await?),
            Conn::My(c) => Ok(my_batch(c, sql.to_string()).await?),
        }
    }

    /// A statement that may violate a key (an insert, a delete), in a way
    /// that keeps the transaction usable when it does, as callers that map
    /// the violation to an API error expect: PostgreSQL aborts a transaction
    /// on any error, so the statement gets a savepoint of its own there.
    pub async fn guarded(&mut self, sql: &str, args: &[SqlValue]) -> Result<u64, StoreError> {
        // SQLite and InnoDB undo only the failed statement.
        if !matches!(self, Conn::Pg(_)) {
            return self.execute(sql, args).await;
        }
        self.batch("SAVEPOINT neutrino_insert").await?;
        match self.execute(sql, args).await {
            Ok(n) => {
                self.batch("RELEASE SAVEPOINT neutrino_insert").await?;
                Ok(n)
            }
            Err(e) => {
                self.batch("ROLLBACK TO SAVEPOINT neutrino_insert; RELEASE SAVEPOINT neutrino_insert").await?;
                Err(e)
            }
        }
    }
}

/// Shorthand for text arguments.
pub(crate) fn t(s: &str) -> SqlValue {
    SqlValue::Text(s.to_string())
}

/// Shorthand for optional text arguments.
pub(crate) fn ot(s: Option<&str>) -> SqlValue {
    s.map_or(SqlValue::Null, t)
}

/// Shorthand for optional integer arguments.
pub(crate) fn oi(n: Option<i64>) -> SqlValue {
    n.map_or(SqlValue::Null, SqlValue::Int)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_and_nulls_inlined() {
        let (sql, args) = numbered(
            "INSERT INTO x (a, b, c) VALUES (?, ?, ?) WHERE d = ?",
            &[SqlValue::Int(1), SqlValue::Null, t("c"), t("d")],
        );
        assert_eq!(sql, "INSERT INTO x (a, b, c) VALUES ($1, NULL, $2) WHERE d = $3");
        assert_eq!(args, [SqlValue::Int(1), t("c"), t("d")]);
    }
}
