//! The local state: per key, the record of its open ticket, the events kept
//! until GLPI confirmed them (the spool), the intent of a ticket creation in
//! flight, and the lock that serialises the runs of the key; plus the cache
//! of looked-up GLPI ids.
//!
//! [`Store`] (`store.rs`) is the one interface the engine uses for records,
//! kept events, intents and locks; [`FileStore`] (`files.rs`) implements it on
//! the state directory, [`PgStore`] (`postgres/`) on a PostgreSQL database
//! shared by several monitoring servers; [`AnyStore`] (`any.rs`) is the one
//! the configuration chose. [`Cache`] is always local. Knows nothing of GLPI or of the
//! lifecycle; imports only `core`.

mod any;
mod atomic;
mod cache;
mod error;
mod files;
mod lock;
mod paths;
mod postgres;
mod records;
mod spool;
mod store;

pub(crate) use any::AnyStore;
pub(crate) use cache::Cache;
pub(crate) use error::StateError;
pub(crate) use files::FileStore;
pub(crate) use postgres::{LockProbe, PgProbe, PgSettings, PgStore, probe as probe_database};
pub(crate) use store::{Intent, Kept, Look, Pending, RecordLoad, Store};
