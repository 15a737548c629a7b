//! Resource documents: insert, update, delete, get and list.

use crate::backend::{Reader, Tx};
use crate::conn::{t, Conn};
use crate::error::StoreError;
use crate::query::{self, ListQuery, Scope, Sql, SqlValue};
use crate::table::{DocRow, Table};

pub(crate) async fn get_doc(
    mut conn: Conn<'_>,
    table: Table,
    id: &str,
    scope: &Scope,
) -> Result<Option<String>, StoreError> {
    let t = table.name();
    let mut sql = Sql::default();
    sql.push(&format!("SELECT {t}.doc FROM {t} WHERE {t}.id = "));
    sql.bind(SqlValue::Text(id.to_string()));
    sql.push(" AND ");
    query::push_scope(&mut sql, table, scope);
    Ok(conn.texts(&sql.text, &sql.args).await?.into_iter().next())
}

/// Returns the page and whether more rows follow it.
pub(crate) async fn list_docs(
    mut conn: Conn<'_>,
    table: Table,
    q: &ListQuery,
) -> Result<(Vec<String>, bool), StoreError> {
    let dialect = conn.dialect();
    let keys = query::effective_sort(q);
    let marker_values = match &q.marker {
        None => None,
        Some(id) => {
            let sql = query::build_marker_values(dialect, table, &keys, id);
            match conn.row(&sql.text, &sql.args).await? {
                None => return Err(StoreError::MarkerNotFound(id.clone())),
                Some(row) => Some(row.0),
            }
        }
    };
    let fetch = q.limit.map(|l| l + 1);
    let sql = query::build_list(dialect, table, q, marker_values.as_deref(), fetch);
    let mut docs = conn.texts(&sql.text, &sql.args).await?;
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

pub(crate) async fn count(mut conn: Conn<'_>, table: Table, q: &ListQuery) -> Result<i64, StoreError> {
    let dialect = conn.dialect();
    let inner = query::build_list(dialect, table, &ListQuery { limit: None, marker: None, ..q.clone() }, None, None);
    let text = format!("SELECT COUNT(*) FROM ({}) c", inner.text);
    match conn.row(&text, &inner.args).await? {
        Some(r) => r.int(0),
        None => Ok(0),
    }
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
                get_doc(self.conn(), table, id, scope).await
            }

            /// A page of documents, and whether more follow.
            pub async fn list_docs(&mut self, table: Table, q: &ListQuery) -> Result<(Vec<String>, bool), StoreError> {
                list_docs(self.conn(), table, q).await
            }

            /// Number of rows matching `q` (ignoring paging).
            pub async fn count(&mut self, table: Table, q: &ListQuery) -> Result<i64, StoreError> {
                count(self.conn(), table, q).await
            }
        }
    };
}

read_methods!(Tx);
read_methods!(Reader);

impl crate::backend::Store {
    /// A page of documents. On SQLite it is read on a blocking thread: a
    /// list of thousands of rows takes milliseconds, which must not stall
    /// the async workers.
    pub async fn list_docs(&self, table: Table, q: ListQuery) -> Result<(Vec<String>, bool), StoreError> {
        let mut reader = self.read().await?;
        if !reader.is_inline() {
            return list_docs(reader.conn(), table, &q).await;
        }
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || handle.block_on(list_docs(reader.conn(), table, &q)))
            .await
            .map_err(|_| StoreError::Closed)?
    }
}

impl Tx {
    /// Inserts a row.
    pub async fn insert(&mut self, table: Table, row: &DocRow) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let cols = table.columns();
        let mut sql = Sql::default();
        sql.push(&format!("INSERT INTO {} (id, {}, doc) VALUES (", table.name(), cols.join(", ")));
        sql.bind(SqlValue::Text(row.id.clone()));
        for v in &row.columns {
            sql.push(", ");
            sql.bind(v.clone());
        }
        sql.push(", ");
        sql.bind(SqlValue::Text(row.doc.clone()));
        sql.push(")");
        conn.guarded(&sql.text, &sql.args).await?;
        Ok(())
    }

    /// Replaces a row's columns and document. Returns false if it is gone.
    pub async fn update(&mut self, table: Table, row: &DocRow) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let mut sql = Sql::default();
        sql.push(&format!("UPDATE {} SET ", table.name()));
        for (c, v) in table.columns().iter().zip(&row.columns) {
            sql.push(&format!("{c} = "));
            sql.bind(v.clone());
            sql.push(", ");
        }
        sql.push("doc = ");
        sql.bind(SqlValue::Text(row.doc.clone()));
        sql.push(" WHERE id = ");
        sql.bind(SqlValue::Text(row.id.clone()));
        Ok(conn.execute(&sql.text, &sql.args).await? == 1)
    }

    /// Deletes a row (and its tags). Returns false if it was not there.
    pub async fn delete(&mut self, table: Table, id: &str) -> Result<bool, StoreError> {
        self.delete_tags(table, id).await?;
        if table == Table::Ports {
            // MySQL cannot hold these by a (deferred) key to the port.
            self.delete_port_allocations(id).await?;
        }
        let sql = format!("DELETE FROM {} WHERE id = ?", table.name());
        Ok(self.conn().guarded(&sql, &[t(id)]).await? == 1)
    }

    /// Documents of `table` whose `column` equals `value` (internal reads,
    /// no visibility rule: the caller has already authorised the parent).
    pub async fn docs_where(&mut self, table: Table, column: &str, value: &str) -> Result<Vec<String>, StoreError> {
        let Some(col) = table.column_for(column) else {
            return Err(StoreError::Decode(format!("{} has no column {column}", table.name())));
        };
        let sql = format!("SELECT doc FROM {} WHERE {col} = ? ORDER BY id", table.name());
        self.conn().texts(&sql, &[t(value)]).await
    }
}
