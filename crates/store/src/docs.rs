//! Resource documents: insert, update, delete, get and list.

use sqlx::{Any, AnyConnection, Row};

use crate::backend::{Reader, Tx};
use crate::dialect::Dialect;
use crate::error::StoreError;
use crate::query::{self, ListQuery, Scope, Sql, SqlValue};
use crate::table::{DocRow, Table};

pub(crate) fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    args: &'q [SqlValue],
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            SqlValue::Null => q.bind(Option::<String>::None),
            SqlValue::Int(i) => q.bind(*i),
            SqlValue::Text(s) => q.bind(s.as_str()),
        };
    }
    q
}

async fn fetch_docs(conn: &mut AnyConnection, sql: &Sql) -> Result<Vec<String>, StoreError> {
    let rows = bind_all(sqlx::query(&sql.text), &sql.args)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).map_err(StoreError::from))
        .collect()
}

pub(crate) async fn get_doc(
    conn: &mut AnyConnection,
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
    Ok(fetch_docs(conn, &sql).await?.into_iter().next())
}

/// Returns the page and whether more rows follow it.
pub(crate) async fn list_docs(
    conn: &mut AnyConnection,
    dialect: Dialect,
    table: Table,
    q: &ListQuery,
) -> Result<(Vec<String>, bool), StoreError> {
    let keys = query::effective_sort(q);
    let marker_values = match &q.marker {
        None => None,
        Some(id) => {
            let sql = query::build_marker_values(dialect, table, &keys, id);
            let row = bind_all(sqlx::query(&sql.text), &sql.args)
                .fetch_optional(&mut *conn)
                .await?;
            match row {
                None => return Err(StoreError::MarkerNotFound(id.clone())),
                Some(row) => {
                    let mut values = Vec::with_capacity(keys.len());
                    for i in 0..keys.len() {
                        values.push(read_value(&row, i));
                    }
                    Some(values)
                }
            }
        }
    };
    let fetch = q.limit.map(|l| l + 1);
    let sql = query::build_list(dialect, table, q, marker_values.as_deref(), fetch);
    let mut docs = fetch_docs(conn, &sql).await?;
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

fn read_value(row: &sqlx::any::AnyRow, i: usize) -> SqlValue {
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return v.map_or(SqlValue::Null, SqlValue::Int);
    }
    if let Ok(v) = row.try_get::<Option<String>, _>(i) {
        return v.map_or(SqlValue::Null, SqlValue::Text);
    }
    if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
        return v.map_or(SqlValue::Null, |f| SqlValue::Text(f.to_string()));
    }
    SqlValue::Null
}

pub(crate) async fn count(
    conn: &mut AnyConnection,
    dialect: Dialect,
    table: Table,
    q: &ListQuery,
) -> Result<i64, StoreError> {
    let inner = query::build_list(dialect, table, &ListQuery { limit: None, marker: None, ..q.clone() }, None, None);
    let text = format!("SELECT COUNT(*) FROM ({}) c", inner.text);
    let row = bind_all(sqlx::query(&text), &inner.args)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get(0)?)
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
                get_doc(conn, dialect, table, id, scope).await
            }

            /// A page of documents, and whether more follow.
            pub async fn list_docs(
                &mut self,
                table: Table,
                q: &ListQuery,
            ) -> Result<(Vec<String>, bool), StoreError> {
                let (conn, dialect) = self.conn();
                list_docs(conn, dialect, table, q).await
            }

            /// Number of rows matching `q` (ignoring paging).
            pub async fn count(&mut self, table: Table, q: &ListQuery) -> Result<i64, StoreError> {
                let (conn, dialect) = self.conn();
                count(conn, dialect, table, q).await
            }
        }
    };
}

read_methods!(Tx);
read_methods!(Reader);

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
        bind_all(sqlx::query(&sql.text), &sql.args).execute(conn).await?;
        Ok(())
    }

    /// Inserts a row unless a unique key is taken; returns whether it was
    /// inserted. The transaction stays usable either way.
    pub async fn try_insert(&mut self, table: Table, row: &DocRow) -> Result<bool, StoreError> {
        // SQLite undoes only the failed statement, so the transaction goes on.
        match self.insert(table, row).await {
            Ok(()) => Ok(true),
            Err(StoreError::UniqueViolation(_)) => Ok(false),
            Err(e) => Err(e),
        }
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
        let done = bind_all(sqlx::query(&sql.text), &sql.args).execute(conn).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a row (and its tags). Returns false if it was not there.
    pub async fn delete(&mut self, table: Table, id: &str) -> Result<bool, StoreError> {
        self.delete_tags(table, id).await?;
        let (conn, dialect) = self.conn();
        let text = format!("DELETE FROM {} WHERE id = {}", table.name(), dialect.placeholder(1));
        let done = sqlx::query(&text).bind(id).execute(conn).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Documents of `table` whose `column` equals `value` (internal reads,
    /// no visibility rule: the caller has already authorised the parent).
    pub async fn docs_where(
        &mut self,
        table: Table,
        column: &str,
        value: &str,
    ) -> Result<Vec<String>, StoreError> {
        let (conn, dialect) = self.conn();
        let Some(col) = table.column_for(column) else {
            return Err(StoreError::Db(sqlx::Error::ColumnNotFound(column.to_string())));
        };
        let mut sql = Sql::default();
        sql.push(&format!("SELECT doc FROM {} WHERE {col} = ", table.name()));
        sql.bind(dialect, SqlValue::Text(value.to_string()));
        sql.push(" ORDER BY id");
        fetch_docs(conn, &sql).await
    }
}
