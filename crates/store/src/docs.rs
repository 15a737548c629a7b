//! Resource documents: insert, update, delete, get and list.

use rusqlite::types::{Value as SqliteValue, ValueRef};
use rusqlite::Connection;

use crate::backend::{Reader, Tx};
use crate::dialect::Dialect;
use crate::error::StoreError;
use crate::query::{self, ListQuery, Scope, Sql, SqlValue};
use crate::table::{DocRow, Table};

/// Bound values as SQLite takes them.
pub(crate) fn params(args: &[SqlValue]) -> impl Iterator<Item = SqliteValue> + '_ {
    args.iter().map(|a| match a {
        SqlValue::Null => SqliteValue::Null,
        SqlValue::Int(i) => SqliteValue::Integer(*i),
        SqlValue::Text(s) => SqliteValue::Text(s.clone()),
    })
}

fn fetch_docs(conn: &Connection, sql: &Sql) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(&sql.text)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params(&sql.args)), |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r?);
    }
    Ok(out)
}

fn execute(conn: &Connection, sql: &Sql) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(&sql.text)?;
    Ok(stmt.execute(rusqlite::params_from_iter(params(&sql.args)))?)
}

pub(crate) fn get_doc(
    conn: &Connection,
    dialect: Dialect,
    table: Table,
    id: &str,
    scope: &Scope,
) -> Result<Option<String>, StoreError> {
    let t = table.name();
    let mut sql = Sql::default();
    sql.push(&format!("SELECT {t}.doc FROM {t} WHERE {t}.id = "));
    sql.bind(dialect, SqlValue::Text(id.to_string()));
    sql.push(" AND ");
    query::push_scope(&mut sql, dialect, table, scope);
    Ok(fetch_docs(conn, &sql)?.into_iter().next())
}

/// Returns the page and whether more rows follow it.
pub(crate) fn list_docs(
    conn: &Connection,
    dialect: Dialect,
    table: Table,
    q: &ListQuery,
) -> Result<(Vec<String>, bool), StoreError> {
    let keys = query::effective_sort(q);
    let marker_values = match &q.marker {
        None => None,
        Some(id) => {
            let sql = query::build_marker_values(dialect, table, &keys, id);
            let mut stmt = conn.prepare_cached(&sql.text)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(params(&sql.args)))?;
            match rows.next()? {
                None => return Err(StoreError::MarkerNotFound(id.clone())),
                Some(row) => {
                    let mut values = Vec::with_capacity(keys.len());
                    for i in 0..keys.len() {
                        values.push(read_value(row.get_ref(i)?));
                    }
                    Some(values)
                }
            }
        }
    };
    let fetch = q.limit.map(|l| l + 1);
    let sql = query::build_list(dialect, table, q, marker_values.as_deref(), fetch);
    let mut docs = fetch_docs(conn, &sql)?;
    let more = match q.limit {
        Some(l) if docs.len() as u64 > l => {
            docs.truncate(l as usize);
            true
        }
        _ => false,
    };
    if q.page_reverse {
        docs.reverse();
    }
    Ok((docs, more))
}

fn read_value(v: ValueRef<'_>) -> SqlValue {
    match v {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Int(i),
        ValueRef::Real(f) => SqlValue::Text(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
    }
}

pub(crate) fn count(conn: &Connection, dialect: Dialect, table: Table, q: &ListQuery) -> Result<i64, StoreError> {
    let inner = query::build_list(dialect, table, &ListQuery { limit: None, marker: None, ..q.clone() }, None, None);
    let text = format!("SELECT COUNT(*) FROM ({}) c", inner.text);
    let mut stmt = conn.prepare_cached(&text)?;
    Ok(stmt.query_row(rusqlite::params_from_iter(params(&inner.args)), |r| r.get(0))?)
}

macro_rules! read_methods {
    ($ty:ty) => {
        impl $ty {
            /// The document of `id` if `scope` may see it.
            pub async fn get_doc(
                &mut self,
                table: Table,
                id: &str,
                scope: &Scope,
            ) -> Result<Option<String>, StoreError> {
                let (conn, dialect) = self.conn();
                get_doc(conn, dialect, table, id, scope)
            }

            /// A page of documents, and whether more follow.
            pub async fn list_docs(&mut self, table: Table, q: &ListQuery) -> Result<(Vec<String>, bool), StoreError> {
                let (conn, dialect) = self.conn();
                list_docs(conn, dialect, table, q)
            }

            /// Number of rows matching `q` (ignoring paging).
            pub async fn count(&mut self, table: Table, q: &ListQuery) -> Result<i64, StoreError> {
                let (conn, dialect) = self.conn();
                count(conn, dialect, table, q)
            }
        }
    };
}

read_methods!(Tx);
read_methods!(Reader);

impl crate::backend::Store {
    /// A page of documents on a blocking thread: a list of thousands of rows
    /// takes milliseconds, which must not stall the async workers.
    pub async fn list_docs(&self, table: Table, q: ListQuery) -> Result<(Vec<String>, bool), StoreError> {
        let mut reader = self.read().await?;
        tokio::task::spawn_blocking(move || {
            let (conn, dialect) = reader.conn();
            list_docs(conn, dialect, table, &q)
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }
}

impl Tx {
    /// Inserts a row.
    pub async fn insert(&mut self, table: Table, row: &DocRow) -> Result<(), StoreError> {
        let (conn, dialect) = self.conn();
        let cols = table.columns();
        let mut sql = Sql::default();
        sql.push(&format!("INSERT INTO {} (id, {}, doc) VALUES (", table.name(), cols.join(", ")));
        sql.bind(dialect, SqlValue::Text(row.id.clone()));
        for v in &row.columns {
            sql.push(", ");
            sql.bind(dialect, v.clone());
        }
        sql.push(", ");
        sql.bind(dialect, SqlValue::Text(row.doc.clone()));
        sql.push(")");
        execute(conn, &sql)?;
        Ok(())
    }

    /// Replaces a row's columns and document. Returns false if it is gone.
    pub async fn update(&mut self, table: Table, row: &DocRow) -> Result<bool, StoreError> {
        let (conn, dialect) = self.conn();
        let mut sql = Sql::default();
        sql.push(&format!("UPDATE {} SET ", table.name()));
        for (c, v) in table.columns().iter().zip(&row.columns) {
            sql.push(&format!("{c} = "));
            sql.bind(dialect, v.clone());
            sql.push(", ");
        }
        sql.push("doc = ");
        sql.bind(dialect, SqlValue::Text(row.doc.clone()));
        sql.push(" WHERE id = ");
        sql.bind(dialect, SqlValue::Text(row.id.clone()));
        Ok(execute(conn, &sql)? == 1)
    }

    /// Deletes a row (and its tags). Returns false if it was not there.
    pub async fn delete(&mut self, table: Table, id: &str) -> Result<bool, StoreError> {
        self.delete_tags(table, id).await?;
        let (conn, dialect) = self.conn();
        let mut sql = Sql::default();
        sql.push(&format!("DELETE FROM {} WHERE id = ", table.name()));
        sql.bind(dialect, SqlValue::Text(id.to_string()));
        Ok(execute(conn, &sql)? == 1)
    }

    /// Documents of `table` whose `column` equals `value` (internal reads,
    /// no visibility rule: the caller has already authorised the parent).
    pub async fn docs_where(&mut self, table: Table, column: &str, value: &str) -> Result<Vec<String>, StoreError> {
        let (conn, dialect) = self.conn();
        let Some(col) = table.column_for(column) else {
            return Err(StoreError::Db(rusqlite::Error::InvalidColumnName(column.to_string())));
        };
        let mut sql = Sql::default();
        sql.push(&format!("SELECT doc FROM {} WHERE {col} = ", table.name()));
        sql.bind(dialect, SqlValue::Text(value.to_string()));
        sql.push(" ORDER BY id");
        fetch_docs(conn, &sql)
    }
}
