//! The built-in identity service: its settings, its signing keys and the
//! generic reads and writes of its records in the store.

use std::sync::RwLock;

use neutrino_store::{Filter, ListQuery, Reader, Scope, SigningKey, SqlValue, Store, StoreError, Table, Tx};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{IdentityError, IdentityResult};
use crate::records::{Assignment, Domain, Endpoint, Project, Region, Role, Service, User};
use crate::token::{self, Key};

/// What the identity needs from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentitySettings {
    /// Token lifetime, seconds.
    pub token_expiration: i64,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        IdentitySettings { token_expiration: 3600 }
    }
}

/// The built-in identity over a store.
#[derive(Debug)]
pub struct Identity {
    pub(crate) store: Store,
    pub(crate) settings: IdentitySettings,
    keys: RwLock<Vec<Key>>,
}

/// A record kept as a document in one identity table.
pub(crate) trait Record: Serialize + DeserializeOwned {
    /// Its table.
    const TABLE: Table;
    /// Its name in messages (`user`, `project`, …).
    const KIND: &'static str;
    /// Its id.
    fn id(&self) -> String;
    /// Values of the table's indexed columns.
    fn columns(&self) -> Vec<SqlValue>;
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_string())
}

fn flag(b: bool) -> SqlValue {
    SqlValue::Int(i64::from(b))
}

fn opt(s: &Option<String>) -> SqlValue {
    s.as_deref().map_or(SqlValue::Null, text)
}

impl Record for Domain {
    const TABLE: Table = Table::Domains;
    const KIND: &'static str = "domain";
    fn id(&self) -> String {
        self.id.clone()
    }
    fn columns(&self) -> Vec<SqlValue> {
        vec![text(&self.name), flag(self.enabled)]
    }
}

impl Record for Project {
    const TABLE: Table = Table::Projects;
    const KIND: &'static str = "project";
    fn id(&self) -> String {
        self.id.clone()
    }
    fn columns(&self) -> Vec<SqlValue> {
        vec![text(&self.domain_id), text(&self.name), flag(self.enabled)]
    }
}

impl Record for User {
    const TABLE: Table = Table::Users;
    const KIND: &'static str = "user";
    fn id(&self) -> String {
        self.id.clone()
    }
    fn columns(&self) -> Vec<SqlValue> {
        vec![text(&self.domain_id), text(&self.name), flag(self.enabled)]
    }
}

impl Record for Role {
    const TABLE: Table = Table::Roles;
    const KIND: &'static str = "role";
    fn id(&self) -> String {
        self.id.clone()
    }
    fn columns(&self) -> Vec<SqlValue> {
        vec![text(&self.name)]
    }
}

impl Record for Assignment {
    const TABLE: Table = Table::RoleAssignments;
    const KIND: &'static str = "role assignment";
    fn id(&self) -> String {
        format!("{}:{}:{}", self.project_id, self.user_id, self.role_id)
    }
    fn columns(&self) -> Vec<SqlValue> {
        vec![text(&self.project_id), text(&self.user_id), text(&self.role_id)]
    }
}

impl Record for Region {
    const TABLE: Table = Table::Regions;
    const KIND: &'static str = "region";
    fn id(&self) -> String {
        self.id.clone()
    }
    fn columns(&self) -> Vec<SqlValue> {
        vec![opt(&self.parent_region_id)]
    }
}

impl Record for Service {
    const TABLE: Table = Table::Services;
    const KIND: &'static str = "service";
    fn id(&self) -> String {
        self.id.clone()
    }
    fn columns(&self) -> Vec<SqlValue> {
        vec![text(&self.kind), text(&self.name), flag(self.enabled)]
    }
}

impl Record for Endpoint {
    const TABLE: Table = Table::Endpoints;
    const KIND: &'static str = "endpoint";
    fn id(&self) -> String {
        self.id.clone()
    }
    fn columns(&self) -> Vec<SqlValue> {
        vec![text(&self.service_id), opt(&self.region_id), text(&self.interface), flag(self.enabled)]
    }
}

/// An equality filter for [`Identity::list`].
pub(crate) fn eq(attr: &str, value: SqlValue) -> Filter {
    Filter::Eq { attr: attr.to_string(), values: vec![value] }
}

fn parse<R: Record>(id: &str, doc: &str) -> IdentityResult<R> {
    serde_json::from_str(doc).map_err(|e| {
        IdentityError::Store(neutrino_store::StoreError::Corrupt {
            table: R::TABLE.name(),
            id: id.to_string(),
            reason: e.to_string(),
        })
    })
}

fn row<R: Record>(r: &R) -> IdentityResult<neutrino_store::DocRow> {
    let doc = serde_json::to_string(r).map_err(|e| IdentityError::Internal(e.to_string()))?;
    Ok(neutrino_store::DocRow { id: r.id(), columns: r.columns(), doc })
}

/// Where records are read from: a transaction or a read connection.
pub(crate) trait Docs {
    async fn doc(&mut self, table: Table, id: &str) -> Result<Option<String>, StoreError>;
    async fn docs(&mut self, table: Table, q: &ListQuery) -> Result<Vec<String>, StoreError>;
}

impl Docs for Tx {
    async fn doc(&mut self, table: Table, id: &str) -> Result<Option<String>, StoreError> {
        self.get_doc(table, id, &Scope::Admin).await
    }
    async fn docs(&mut self, table: Table, q: &ListQuery) -> Result<Vec<String>, StoreError> {
        Ok(self.list_docs(table, q).await?.0)
    }
}

impl Docs for Reader {
    async fn doc(&mut self, table: Table, id: &str) -> Result<Option<String>, StoreError> {
        self.get_doc(table, id, &Scope::Admin).await
    }
    async fn docs(&mut self, table: Table, q: &ListQuery) -> Result<Vec<String>, StoreError> {
        Ok(self.list_docs(table, q).await?.0)
    }
}

/// Reads and writes of records.
impl Identity {
    pub(crate) async fn find<R: Record>(db: &mut impl Docs, id: &str) -> IdentityResult<Option<R>> {
        match db.doc(R::TABLE, id).await? {
            None => Ok(None),
            Some(doc) => parse(id, &doc).map(Some),
        }
    }

    pub(crate) async fn get<R: Record>(db: &mut impl Docs, id: &str) -> IdentityResult<R> {
        Self::find(db, id).await?.ok_or_else(|| IdentityError::NotFound { kind: R::KIND, id: id.to_string() })
    }

    pub(crate) async fn list_in<R: Record>(db: &mut impl Docs, filters: Vec<Filter>) -> IdentityResult<Vec<R>> {
        let mut q = ListQuery::all(Scope::Admin);
        q.filters = filters;
        let docs = db.docs(R::TABLE, &q).await?;
        docs.iter().map(|d| parse("?", d)).collect()
    }

    pub(crate) async fn insert<R: Record>(tx: &mut Tx, r: &R) -> IdentityResult<()> {
        tx.insert(R::TABLE, &row(r)?).await.map_err(|e| IdentityError::conflict_on(e, || R::KIND.to_string()))
    }

    pub(crate) async fn replace<R: Record>(tx: &mut Tx, r: &R) -> IdentityResult<()> {
        if tx.update(R::TABLE, &row(r)?).await.map_err(|e| IdentityError::conflict_on(e, || R::KIND.to_string()))? {
            Ok(())
        } else {
            Err(IdentityError::NotFound { kind: R::KIND, id: r.id() })
        }
    }

    pub(crate) async fn remove<R: Record>(tx: &mut Tx, id: &str) -> IdentityResult<()> {
        if tx.delete(R::TABLE, id).await.map_err(|e| IdentityError::conflict_on(e, || R::KIND.to_string()))? {
            Ok(())
        } else {
            Err(IdentityError::NotFound { kind: R::KIND, id: id.to_string() })
        }
    }
}

impl Identity {
    /// The identity over `store` (migrated). Makes the first signing key
    /// when the store has none.
    pub async fn open(store: Store, settings: IdentitySettings) -> IdentityResult<Identity> {
        let identity = Identity { store, settings, keys: RwLock::new(Vec::new()) };
        let mut tx = identity.store.begin().await?;
        if tx.signing_keys().await?.is_empty() {
            let key = SigningKey {
                id: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
                secret: token::new_secret(),
                created_at: crate::records::iso_time(crate::records::now()),
            };
            tx.add_signing_key(&key).await?;
        }
        tx.commit().await?;
        identity.reload_keys().await?;
        Ok(identity)
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Re-reads the signing keys (another server may have added one).
    pub(crate) async fn reload_keys(&self) -> IdentityResult<()> {
        let mut reader = self.store.read().await?;
        let stored = reader.signing_keys().await?;
        let keys: Vec<Key> = stored
            .iter()
            .filter_map(|k| match token::decode_secret(&k.secret) {
                Some(secret) => Some(Key { id: k.id.clone(), secret }),
                None => {
                    tracing::error!(key = %k.id, "a stored token signing key does not decode; skipped");
                    None
                }
            })
            .collect();
        if keys.is_empty() {
            return Err(IdentityError::Internal("no usable token signing key in the store".into()));
        }
        *self.keys.write().map_err(|_| IdentityError::Internal("signing key lock poisoned".into()))? = keys;
        Ok(())
    }

    /// The newest key (tokens are signed with it).
    pub(crate) fn signing_key(&self) -> IdentityResult<Key> {
        let keys = self.keys.read().map_err(|_| IdentityError::Internal("signing key lock poisoned".into()))?;
        keys.last().cloned().ok_or_else(|| IdentityError::Internal("no token signing key".into()))
    }

    /// Every key (tokens of any of them validate).
    pub(crate) fn all_keys(&self) -> IdentityResult<Vec<Key>> {
        Ok(self.keys.read().map_err(|_| IdentityError::Internal("signing key lock poisoned".into()))?.clone())
    }
}
