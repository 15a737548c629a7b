//! The Store: one transaction per API call over a relational database.
//!
//! Resources are kept as their API documents (`doc`, JSON text) next to the
//! columns the store filters, joins and constrains on; invariants (one IP per
//! subnet, one MAC per network, one segment per id) live in side tables with
//! unique keys, so they hold under concurrency whatever the server does.
//!
//! SQLite is the embedded backend. Everything that differs between database
//! engines is in [`dialect`]; the plugins only see [`Store`] and [`Tx`], so
//! PostgreSQL and MariaDB are added there without touching them.
#![warn(missing_docs)]

mod allocations;
mod backend;
mod bindings;
mod changes;
mod conn;
pub mod dialect;
mod docs;
mod error;
mod identity;
mod migrations;
mod query;
mod quotas;
mod security_groups;
mod segments;
mod table;
mod tags;
pub mod testing;
mod writer;

pub use allocations::Allocation;
pub use backend::{Reader, SchemaState, Store, StoreOptions, Tx};
pub use bindings::Hosting;
pub use changes::Change;
pub use error::StoreError;
pub use identity::SigningKey;
pub use query::{Filter, ListQuery, Scope, SortDir, SortKey, SqlValue, TagMatch};
pub use segments::{SegmentAllocation, SegmentRow};
pub use table::{DocRow, Table};
