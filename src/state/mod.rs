//! The local state: per key, the record of its open ticket, the events kept
//! until GLPI confirmed them, the intent of a ticket creation in flight, and
//! the hold that serialises the runs of the key; plus the cache of
//! looked-up GLPI ids.
//!
//! The contract is [`Store`] and [`Held`] (`store.rs`): keeping an event
//! gives the run its place in line; holding a key gives the one handle
//! through which that key is read and written. Two backends implement it:
//! `FileStore` (`files.rs`: records, the per-key spool `spool.rs`, locks
//! `lock.rs`, traces and the inventory `known.rs`) on the state directory,
//! and `PgStore` (`postgres/`) on a PostgreSQL database shared by several
//! monitoring servers; both write ahead through one journal (`journal.rs`);
//! the outbox (`outbox.rs`) holds what is not in the store yet. [`open`] (`any.rs`) chooses
//! between them, once; [`AnyStore`] is the chosen one. [`Cache`] is always
//! local. `contract.rs` tests both backends against one suite. `inspect.rs`
//! looks at the state directory as a run would meet it, without writing
//! (for `check`); `accounts.rs` names the users its errors speak of.
//!
//! Knows nothing of GLPI or of the lifecycle; imports only `core`.

mod accounts;
mod any;
mod atomic;
mod cache;
#[cfg(test)]
mod contract;
mod error;
mod files;
mod inspect;
mod journal;
mod known;
mod lock;
mod outbox;
mod paths;
mod postgres;
mod records;
mod spool;
mod store;

pub(crate) use accounts::Account;
pub(crate) use any::{AnyStore, Backend, open};
pub(crate) use cache::Cache;
pub(crate) use error::{StateError, engine_user};
pub(crate) use inspect::{Inspection, inspect};
pub(crate) use postgres::{LockProbe, PgProbe, PgSettings, RecordImport, probe as probe_database};
pub(crate) use store::{
    Held, Intent, Kept, KeptId, Look, Pending, Place, Queue, RecordLoad, Store,
};

/// Keeps `event`, which met an invalid or unreadable configuration, in the
/// outbox of the state directory `root` (created if need be, checked like
/// any state directory), bound to that configuration (`binding`): the next
/// run or `flush` of the configuration, once fixed, moves it into its store
/// — whichever backend it names — and delivers it. Returns the entry's
/// path.
pub(crate) fn keep_unconfigured(
    root: &std::path::Path,
    event: &crate::core::Event,
    binding: &crate::core::GlpiId,
) -> Result<std::path::PathBuf, StateError> {
    files::FileStore::open(root)?;
    Ok(outbox::push(&root.join("outbox"), event, binding)?.path)
}
