//! [`AnyStore`]: the backend the configuration chose, as one [`Store`] (the
//! engine and the commands are compiled once, for this type), chosen in one
//! place ([`open`]); and what the commands may ask of either backend beyond
//! the contract (`state migrate`, `state import`).

use std::path::Path;
use std::time::Duration;

use super::cache::Cache;
use super::error::StateError;
use super::files::{FileHeld, FileStore};
use super::lock::KeyLock;
use super::postgres::{Imported, PgHeld, PgInventory, PgLine, PgSettings, PgStore};
use super::spool::InLine;
use super::store::{Held, Intent, Kept, Look, Pending, Place, Queue, RecordLoad, Store};
use crate::core::{Coverage, Event, Failure, GlpiId, Key, Outcome, Record, Trace};

/// Where the state lives (`[state] backend`).
#[derive(Debug)]
pub(crate) enum Backend {
    /// The state directory alone.
    Files,
    /// A PostgreSQL database (and the state directory for the cache and
    /// the outbox).
    Postgres(PgSettings),
}

/// Opens the state: the one place that chooses between the backends. The
/// database is reached on first use.
pub(crate) fn open(root: &Path, backend: Backend) -> Result<AnyStore, StateError> {
    Ok(match backend {
        Backend::Files => AnyStore::Files(FileStore::open(root)?),
        Backend::Postgres(settings) => AnyStore::Postgres(Box::new(PgStore::open(root, settings)?)),
    })
}

/// The state directory, or a PostgreSQL database.
#[derive(Debug)]
pub(crate) enum AnyStore {
    Files(FileStore),
    Postgres(Box<PgStore>),
}

/// A key held, on either backend; dropping it releases the key.
#[derive(Debug)]
pub(crate) enum AnyHeld {
    Files(FileHeld),
    Postgres(PgHeld),
}

/// The inventory's hold, on either backend; dropping it releases it.
#[derive(Debug)]
pub(crate) enum AnyInventory {
    Files(KeyLock),
    Postgres(PgInventory),
}

/// A place in line, on either backend; dropping it leaves the line.
#[derive(Debug)]
pub(crate) enum AnyLine {
    Files(InLine),
    Postgres(PgLine),
}

/// Runs the same call on whichever variant is there.
macro_rules! each {
    ($on:expr, $enum:ident, $s:ident => $call:expr) => {
        match $on {
            $enum::Files($s) => $call,
            $enum::Postgres($s) => $call,
        }
    };
}

impl AnyStore {
    /// The cache of looked-up ids: always in the state directory.
    pub(crate) fn cache(&self) -> Cache {
        each!(self, AnyStore, s => s.cache())
    }

    /// `state migrate`: the database's schema version before and after
    /// (`None`: the files backend has no schema).
    pub(crate) async fn migrate(&self) -> Result<Option<(i32, i32)>, StateError> {
        match self {
            AnyStore::Files(_) => Ok(None),
            AnyStore::Postgres(s) => s.migrate().await.map(Some),
        }
    }

    /// Where the state lives, for people.
    pub(crate) fn describe(&self) -> String {
        match self {
            AnyStore::Files(_) => "the state directory".to_owned(),
            AnyStore::Postgres(s) => s.shown_url().to_owned(),
        }
    }

    /// `state import`: the state directory a database imports from, as a
    /// store of its own (`None` for the files backend).
    pub(crate) fn import_source(&self) -> Option<AnyStore> {
        match self {
            AnyStore::Files(_) => None,
            AnyStore::Postgres(s) => Some(AnyStore::Files(s.local().clone())),
        }
    }

    /// Imports the key `from` holds in the state directory into the
    /// database `into` holds it in.
    pub(crate) async fn import_key(
        from: &mut AnyHeld,
        into: &mut AnyHeld,
    ) -> Result<Option<Imported>, StateError> {
        match (from, into) {
            (AnyHeld::Files(from), AnyHeld::Postgres(into)) => {
                into.import_from(from).await.map(Some)
            }
            _ => Ok(None),
        }
    }
}

impl Store for AnyStore {
    type Held = AnyHeld;
    type Line = AnyLine;
    type Inventory = AnyInventory;

    async fn keep(&self, event: &Event, glpi: &GlpiId) -> Result<Place<AnyLine>, StateError> {
        Ok(match self {
            AnyStore::Files(s) => {
                let p = s.keep(event, glpi).await?;
                Place {
                    kept: p.kept,
                    ahead: p.ahead,
                    line: AnyLine::Files(p.line),
                }
            }
            AnyStore::Postgres(s) => {
                let p = s.keep(event, glpi).await?;
                Place {
                    kept: p.kept,
                    ahead: p.ahead,
                    line: AnyLine::Postgres(p.line),
                }
            }
        })
    }

    async fn look(&self, mine: &Kept, line: &AnyLine) -> Result<Look<AnyHeld>, StateError> {
        Ok(match (self, line) {
            (AnyStore::Files(s), AnyLine::Files(l)) => lift(s.look(mine, l).await?, AnyHeld::Files),
            (AnyStore::Postgres(s), AnyLine::Postgres(l)) => {
                lift(s.look(mine, l).await?, AnyHeld::Postgres)
            }
            _ => return Err(other_backend()),
        })
    }

    async fn receipt(&self, mine: &Kept, line: &AnyLine) -> Result<Option<Outcome>, StateError> {
        match (self, line) {
            (AnyStore::Files(s), AnyLine::Files(l)) => s.receipt(mine, l).await,
            (AnyStore::Postgres(s), AnyLine::Postgres(l)) => s.receipt(mine, l).await,
            _ => Err(other_backend()),
        }
    }

    async fn try_hold(&self, key: &Key) -> Result<Option<AnyHeld>, StateError> {
        Ok(match self {
            AnyStore::Files(s) => s.try_hold(key).await?.map(AnyHeld::Files),
            AnyStore::Postgres(s) => s.try_hold(key).await?.map(AnyHeld::Postgres),
        })
    }

    async fn try_hold_inventory(&self) -> Result<Option<AnyInventory>, StateError> {
        Ok(match self {
            AnyStore::Files(s) => s.try_hold_inventory().await?.map(AnyInventory::Files),
            AnyStore::Postgres(s) => s.try_hold_inventory().await?.map(AnyInventory::Postgres),
        })
    }

    async fn write_inventory(
        &self,
        hold: &AnyInventory,
        glpi: &GlpiId,
        listed: &[(Key, u64)],
    ) -> Result<(), StateError> {
        match (self, hold) {
            (AnyStore::Files(s), AnyInventory::Files(h)) => {
                s.write_inventory(h, glpi, listed).await
            }
            (AnyStore::Postgres(s), AnyInventory::Postgres(h)) => {
                s.write_inventory(h, glpi, listed).await
            }
            _ => Err(other_backend()),
        }
    }

    async fn peek(&self, key: &Key) -> Result<(RecordLoad, Vec<Kept>), StateError> {
        each!(self, AnyStore, s => s.peek(key).await)
    }

    async fn records(&self) -> Result<(Vec<Record>, Vec<String>), StateError> {
        each!(self, AnyStore, s => s.records().await)
    }

    async fn keys_with_kept_events(&self) -> Result<Vec<Key>, StateError> {
        each!(self, AnyStore, s => s.keys_with_kept_events().await)
    }

    fn record_location(&self, key: &Key) -> String {
        each!(self, AnyStore, s => s.record_location(key))
    }

    async fn finish(&self) {
        each!(self, AnyStore, s => s.finish().await);
    }
}

/// A look of one backend, its hold wrapped.
fn lift<H, A>(look: Look<H>, wrap: impl FnOnce(H) -> A) -> Look<A> {
    match look {
        Look::Held(h) => Look::Held(wrap(h)),
        Look::Delivered(o) => Look::Delivered(o),
        Look::Wait => Look::Wait,
    }
}

/// A place in line or a hold handed to the other backend: a bug.
fn other_backend() -> StateError {
    StateError::Database {
        action: "use the state",
        reason: "internal: a place in line or a hold of the other backend".into(),
        kept_locally: None,
    }
}

impl Held for AnyHeld {
    fn key(&self) -> &Key {
        each!(self, AnyHeld, h => h.key())
    }

    async fn queue(&mut self) -> Result<Queue, StateError> {
        each!(self, AnyHeld, h => h.queue().await)
    }

    async fn load_record(&mut self) -> Result<RecordLoad, StateError> {
        each!(self, AnyHeld, h => h.load_record().await)
    }

    async fn save_record(&mut self, record: &Record) -> Result<(), StateError> {
        each!(self, AnyHeld, h => h.save_record(record).await)
    }

    async fn close_record(&mut self, closed: &Trace) -> Result<(), StateError> {
        each!(self, AnyHeld, h => h.close_record(closed).await)
    }

    async fn remove_record(&mut self) -> Result<(), StateError> {
        each!(self, AnyHeld, h => h.remove_record().await)
    }

    async fn seen(
        &mut self,
        glpi: &GlpiId,
        ttl: Duration,
    ) -> Result<(Option<Trace>, Coverage), StateError> {
        each!(self, AnyHeld, h => h.seen(glpi, ttl).await)
    }

    async fn delivered(&mut self, kept: &Kept, outcome: &Outcome) -> Result<(), StateError> {
        each!(self, AnyHeld, h => h.delivered(kept, outcome).await)
    }

    async fn failed(
        &mut self,
        kept: &mut Kept,
        failure: Failure,
        error: String,
    ) -> Result<(), StateError> {
        each!(self, AnyHeld, h => h.failed(kept, failure, error).await)
    }

    async fn started(&mut self, kept: &mut Kept) -> Result<(), StateError> {
        each!(self, AnyHeld, h => h.started(kept).await)
    }

    async fn rebind(&mut self, kept: &mut Kept, glpi: &GlpiId) -> Result<(), StateError> {
        each!(self, AnyHeld, h => h.rebind(kept, glpi).await)
    }

    async fn write_intent(&mut self, intent: &Intent) -> Result<(), StateError> {
        each!(self, AnyHeld, h => h.write_intent(intent).await)
    }

    async fn read_intent(&mut self) -> Result<Option<Pending>, StateError> {
        each!(self, AnyHeld, h => h.read_intent().await)
    }

    async fn clear_intent(&mut self) -> Result<(), StateError> {
        each!(self, AnyHeld, h => h.clear_intent().await)
    }

    async fn forget(&mut self) -> Result<Vec<String>, StateError> {
        each!(self, AnyHeld, h => h.forget().await)
    }
}
