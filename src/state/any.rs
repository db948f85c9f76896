//! [`AnyStore`]: the backend the configuration chose, as one [`Store`]
//! (the engine and the commands are compiled once, for this type).

use std::time::Duration;

use super::cache::Cache;
use super::error::StateError;
use super::files::FileStore;
use super::lock::KeyLock;
use super::postgres::{PgHold, PgInLine, PgStore};
use super::spool;
use super::store::{Intent, Kept, Look, Pending, RecordLoad, Store};
use crate::core::{Event, Failure, Key, Outcome, Record};

/// The state directory, or a PostgreSQL database.
#[derive(Debug)]
pub(crate) enum AnyStore {
    Files(FileStore),
    Postgres(Box<PgStore>),
}

/// A key held, on either backend; dropping it releases the key.
#[derive(Debug)]
#[expect(dead_code, reason = "held for what dropping it does")]
pub(crate) enum AnyHold {
    Files(KeyLock),
    Postgres(PgHold),
}

/// A place in line, on either backend; dropping it leaves the line.
#[derive(Debug)]
#[expect(dead_code, reason = "held for what dropping it does")]
pub(crate) enum AnyInLine {
    Files(spool::InLine),
    Postgres(PgInLine),
}

impl AnyStore {
    /// The cache of looked-up ids: always in the state directory.
    pub(crate) fn cache(&self) -> Cache {
        match self {
            AnyStore::Files(s) => s.cache(),
            AnyStore::Postgres(s) => s.cache(),
        }
    }
}

/// Runs the same call on whichever backend is there.
macro_rules! each {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Files($s) => $call,
            AnyStore::Postgres($s) => $call,
        }
    };
}

impl Store for AnyStore {
    type Hold = AnyHold;
    type InLine = AnyInLine;

    async fn hold(&self, key: &Key, timeout: Duration) -> Result<AnyHold, StateError> {
        Ok(match self {
            AnyStore::Files(s) => AnyHold::Files(s.hold(key, timeout).await?),
            AnyStore::Postgres(s) => AnyHold::Postgres(s.hold(key, timeout).await?),
        })
    }

    async fn enter_line(&self, kept: &Kept) -> Result<AnyInLine, StateError> {
        Ok(match self {
            AnyStore::Files(s) => AnyInLine::Files(s.enter_line(kept).await?),
            AnyStore::Postgres(s) => AnyInLine::Postgres(s.enter_line(kept).await?),
        })
    }

    async fn look(&self, mine: &Kept) -> Result<Look<AnyHold>, StateError> {
        Ok(match self {
            AnyStore::Files(s) => match s.look(mine).await? {
                Look::Held(h) => Look::Held(AnyHold::Files(h)),
                Look::Delivered(o) => Look::Delivered(o),
                Look::Wait => Look::Wait,
            },
            AnyStore::Postgres(s) => match s.look(mine).await? {
                Look::Held(h) => Look::Held(AnyHold::Postgres(h)),
                Look::Delivered(o) => Look::Delivered(o),
                Look::Wait => Look::Wait,
            },
        })
    }

    async fn load_record(&self, key: &Key) -> Result<RecordLoad, StateError> {
        each!(self, s => s.load_record(key).await)
    }

    async fn save_record(&self, record: &Record) -> Result<(), StateError> {
        each!(self, s => s.save_record(record).await)
    }

    async fn remove_record(&self, key: &Key) -> Result<(), StateError> {
        each!(self, s => s.remove_record(key).await)
    }

    async fn records(&self) -> Result<(Vec<Record>, Vec<String>), StateError> {
        each!(self, s => s.records().await)
    }

    fn record_location(&self, key: &Key) -> String {
        each!(self, s => s.record_location(key))
    }

    async fn keep(&self, event: &Event, glpi: &str) -> Result<Kept, StateError> {
        each!(self, s => s.keep(event, glpi).await)
    }

    async fn kept(&self, key: &Key) -> Result<Vec<Kept>, StateError> {
        each!(self, s => s.kept(key).await)
    }

    async fn delivered(
        &self,
        kept: &Kept,
        outcome: &Outcome,
        engine_id: Option<u64>,
    ) -> Result<(), StateError> {
        each!(self, s => s.delivered(kept, outcome, engine_id).await)
    }

    async fn take_receipt(&self, kept: &Kept) -> Result<Option<Outcome>, StateError> {
        each!(self, s => s.take_receipt(kept).await)
    }

    async fn last_engine_id(&self, key: &Key) -> Result<Option<u64>, StateError> {
        each!(self, s => s.last_engine_id(key).await)
    }

    async fn failed(
        &self,
        kept: &mut Kept,
        failure: Failure,
        error: String,
    ) -> Result<(), StateError> {
        each!(self, s => s.failed(kept, failure, error).await)
    }

    async fn started(&self, kept: &mut Kept) -> Result<(), StateError> {
        each!(self, s => s.started(kept).await)
    }

    async fn keys_with_kept_events(&self) -> Result<Vec<Key>, StateError> {
        each!(self, s => s.keys_with_kept_events().await)
    }

    async fn write_intent(&self, intent: &Intent) -> Result<(), StateError> {
        each!(self, s => s.write_intent(intent).await)
    }

    async fn read_intent(&self, key: &Key) -> Result<Option<Pending>, StateError> {
        each!(self, s => s.read_intent(key).await)
    }

    async fn clear_intent(&self, key: &Key) -> Result<(), StateError> {
        each!(self, s => s.clear_intent(key).await)
    }

    async fn forget(&self, key: &Key) -> Result<Vec<String>, StateError> {
        each!(self, s => s.forget(key).await)
    }

    async fn finish(&self) {
        each!(self, s => s.finish().await);
    }
}
