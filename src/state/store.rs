//! The interface of the state ([`Store`]) and the values it keeps: a key's
//! record, its kept events, the intent of a creation in flight.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::StateError;
use crate::core::{Event, Failure, Key, Outcome, Record, State};

/// The outcome of reading a key's record.
#[derive(Debug)]
pub(crate) enum RecordLoad {
    Missing,
    Found(Record),
    /// It could not be decoded; it was set aside (never deleted) at `kept_as`.
    Corrupt {
        kept_as: String,
        reason: String,
    },
}

/// A ticket creation about to be sent: if its answer is lost (crash,
/// timeout), the next run looks for the ticket before creating a second one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Intent {
    #[serde(flatten)]
    pub(crate) key: Key,
    /// The state, output and priority the ticket is created with.
    pub(crate) state: State,
    pub(crate) output: String,
    pub(crate) priority: u8,
    pub(crate) event_time: jiff::Timestamp,
}

/// A creation intent found for a key.
#[derive(Debug)]
pub(crate) enum Pending {
    Intent(Intent),
    /// An intent is there but cannot be read: it still counts (better one
    /// search too many than a second ticket).
    Unreadable,
}

/// One event kept until GLPI confirmed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kept {
    /// Where the backend keeps it (a file, a row).
    pub(crate) id: String,
    /// Its place in the key's arrival order (0: kept by an older version).
    pub(crate) seq: u64,
    /// The GLPI it is meant for (`None`: kept by an older version, for any).
    pub(crate) glpi: Option<String>,
    pub(crate) event: Event,
    /// Delivery attempts that failed so far.
    pub(crate) attempts: u32,
    /// The last failure, for `state show`, and its class.
    pub(crate) last_error: Option<String>,
    pub(crate) failure: Option<Failure>,
    /// A follow-up for it may have reached GLPI ([`Store::started`]): before
    /// writing one, the run reads the ticket's follow-ups for the event's tag.
    pub(crate) in_flight: bool,
}

impl Kept {
    /// Counts a failed delivery attempt and keeps its error.
    pub(crate) fn count_failure(&mut self, failure: Failure, error: String) {
        self.attempts += 1;
        self.last_error = Some(error);
        self.failure = Some(failure);
    }
}

/// What a waiting run saw ([`Store::look`]).
#[derive(Debug)]
pub(crate) enum Look<H> {
    /// Another run delivered its event: the outcome.
    Delivered(Outcome),
    /// It holds the key.
    Held(H),
    /// Neither yet.
    Wait,
}

/// Records, kept events, creation intents and locks of every key.
///
/// Methods are `async` so that a backend behind a network (a database) can
/// implement them; the files backend does its I/O in place.
pub(crate) trait Store {
    /// Held while a run works on one key: runs of one key are serialised,
    /// runs of different keys proceed in parallel. Dropping it releases the key.
    type Hold;
    /// Held while a run waits for its key: runs are served in the order
    /// their events arrived. Dropping it leaves the line.
    type InLine;

    /// Takes the key, waiting at most `timeout`.
    async fn hold(&self, key: &Key, timeout: Duration) -> Result<Self::Hold, StateError>;
    /// The run of `kept` waits for the key.
    async fn enter_line(&self, kept: &Kept) -> Result<Self::InLine, StateError>;
    /// One look of the run of `mine`, waiting in line: its event's outcome
    /// if another run delivered it (the receipt used up), else the key if
    /// no run whose event arrived earlier still waits and the key is free,
    /// else nothing yet. A backend may leave the line as it takes the key.
    async fn look(&self, mine: &Kept) -> Result<Look<Self::Hold>, StateError>;

    async fn load_record(&self, key: &Key) -> Result<RecordLoad, StateError>;
    async fn save_record(&self, record: &Record) -> Result<(), StateError>;
    /// Forgets the record of a key whose ticket is solved (GLPI keeps the history).
    async fn remove_record(&self, key: &Key) -> Result<(), StateError>;
    /// Every record, sorted by key, and where corrupt ones were set aside.
    async fn records(&self) -> Result<(Vec<Record>, Vec<String>), StateError>;
    /// Where the record of `key` lives, for people.
    fn record_location(&self, key: &Key) -> String;

    /// Keeps `event`, meant for the GLPI `glpi`, durably until
    /// [`Store::delivered`] is called for it; it takes the next place in its
    /// key's arrival order. Never waits for another run.
    async fn keep(&self, event: &Event, glpi: &str) -> Result<Kept, StateError>;
    /// The kept events of `key`, in arrival order.
    async fn kept(&self, key: &Key) -> Result<Vec<Kept>, StateError>;
    /// GLPI confirmed it: it leaves the spool, and its outcome is left for
    /// the run that kept it (`engine_id`: the engine's id of the event).
    async fn delivered(
        &self,
        kept: &Kept,
        outcome: &Outcome,
        engine_id: Option<u64>,
    ) -> Result<(), StateError>;
    /// The outcome of `kept` if another run delivered it (used up).
    async fn take_receipt(&self, kept: &Kept) -> Result<Option<Outcome>, StateError>;
    /// The engine's id of the key's last delivered event that had one.
    async fn last_engine_id(&self, key: &Key) -> Result<Option<u64>, StateError>;
    /// A delivery attempt failed: count it and keep its error.
    async fn failed(
        &self,
        kept: &mut Kept,
        failure: Failure,
        error: String,
    ) -> Result<(), StateError>;
    /// A follow-up for `kept` is about to be sent to GLPI: marks it durably
    /// (read back as [`Kept::in_flight`]), so that a run that retries it,
    /// after an answer lost or a run killed before it recorded the delivery,
    /// first looks for the follow-up in the ticket instead of writing it twice.
    async fn started(&self, kept: &mut Kept) -> Result<(), StateError>;
    /// Every key with kept events, sorted.
    async fn keys_with_kept_events(&self) -> Result<Vec<Key>, StateError>;

    async fn write_intent(&self, intent: &Intent) -> Result<(), StateError>;
    async fn read_intent(&self, key: &Key) -> Result<Option<Pending>, StateError>;
    async fn clear_intent(&self, key: &Key) -> Result<(), StateError>;

    /// Sets aside (never deletes) the record, kept events and intent of
    /// `key`; returns where they went, empty when there was nothing.
    async fn forget(&self, key: &Key) -> Result<Vec<String>, StateError>;

    /// The command is done with the state: waits for what dropped holds and
    /// places in line still have in flight (a database's unlocks), so that
    /// nothing is left half-sent when the process ends.
    async fn finish(&self) {}
}
