//! The contract of the state ([`Store`], [`Held`]) and the values it keeps:
//! a key's record, its kept events, the intent of a creation in flight.
//!
//! The seam, in two steps:
//! - keeping an event ([`Store::keep`]) makes it durable before the run
//!   waits for anything, and returns the run's [`Place`] in its key's line;
//! - a run takes the key ([`Store::look`] from its place, or
//!   [`Store::try_hold`]) and gets a [`Held`] handle: every read and write
//!   of that key's record, kept events and intent goes through it, and
//!   dropping it releases the key.
//!
//! What a backend remembers of a run is in these two values, never in the
//! store: a store serves any number of places and handles, in any order.
//! The store only ever *tries*: the engine does the waiting
//! (`engine/order.rs`).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::StateError;
use crate::core::{Coverage, Event, Failure, GlpiId, Key, Outcome, Record, State, Trace};

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
#[derive(Debug, Clone)]
pub(crate) enum Pending {
    Intent(Intent),
    /// An intent is there but cannot be read: it still counts (better one
    /// search too many than a second ticket).
    Unreadable,
}

/// Where a backend keeps one kept event (a file's path, a row's id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct KeptId(String);

impl KeptId {
    pub(crate) fn new(id: impl Into<String>) -> KeptId {
        KeptId(id.into())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One event kept until GLPI confirmed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kept {
    pub(crate) id: KeptId,
    /// Its place in the key's arrival order (0: kept by an older version).
    pub(crate) seq: u64,
    /// The GLPI it is meant for (`None`: kept by an older version, for any).
    pub(crate) glpi: Option<GlpiId>,
    pub(crate) event: Event,
    /// Delivery attempts that failed so far.
    pub(crate) attempts: u32,
    /// The last failure, for `state show`, and its class.
    pub(crate) last_error: Option<String>,
    pub(crate) failure: Option<Failure>,
    /// A follow-up for it may have reached GLPI ([`Held::started`]): before
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

/// A key's kept events, in arrival order, and the engine's id of the last
/// event delivered for it (the engine's own order, `core::order`).
#[derive(Debug, Default, Clone)]
pub(crate) struct Queue {
    pub(crate) kept: Vec<Kept>,
    pub(crate) last_engine_id: Option<u64>,
}

/// A run's place in its key's line, as [`Store::keep`] returns it: the kept
/// event, the attempts made so far on each event kept ahead of it (so that
/// a delivery that fails while the run waits is told from an old failure),
/// and the backend's mark of the run in line (dropping it leaves the line).
#[derive(Debug)]
pub(crate) struct Place<L> {
    pub(crate) kept: Kept,
    pub(crate) ahead: Vec<(KeptId, u32)>,
    pub(crate) line: L,
}

/// What a run waiting in line saw ([`Store::look`]).
#[derive(Debug)]
pub(crate) enum Look<H> {
    /// Another run delivered its event: the outcome.
    Delivered(Outcome),
    /// It holds the key.
    Held(H),
    /// Neither yet.
    Wait,
}

/// Records, kept events, creation intents and key holds of every key.
///
/// Methods are `async` so that a backend behind a network (a database) can
/// implement them; the files backend does its I/O in place. No method waits
/// for another run: the engine polls.
pub(crate) trait Store {
    /// A key held ([`Held`]).
    type Held: Held;
    /// The backend's mark of a run waiting in line.
    type Line;
    /// The state-wide hold of the run taking the inventory.
    type Inventory;

    /// Keeps `event`, meant for the GLPI `glpi`, durably until it is
    /// delivered ([`Held::delivered`]); it takes the next place in its key's
    /// arrival order and the run enters the key's line. Never waits for
    /// another run.
    async fn keep(&self, event: &Event, glpi: &GlpiId) -> Result<Place<Self::Line>, StateError>;
    /// One look of a run waiting in line (`mine` and `line`: its
    /// [`Place`]): its event's outcome if another
    /// run delivered it (the receipt used up), else the key if no run whose
    /// event arrived earlier still waits and the key is free, else nothing
    /// yet. A backend may leave the line as it takes the key.
    async fn look(&self, mine: &Kept, line: &Self::Line) -> Result<Look<Self::Held>, StateError>;
    /// The outcome of the run's event if another run delivered it (the
    /// receipt used up): for a run that took the key just after another
    /// run delivered its event.
    async fn receipt(&self, mine: &Kept, line: &Self::Line) -> Result<Option<Outcome>, StateError>;
    /// Takes the key if it is free (`flush`, the state commands).
    async fn try_hold(&self, key: &Key) -> Result<Option<Self::Held>, StateError>;

    /// Takes the state-wide hold under which one run takes the inventory
    /// of GLPI's open tickets, if it is free (the engine waits).
    async fn try_hold_inventory(&self) -> Result<Option<Self::Inventory>, StateError>;
    /// Writes the inventory of the GLPI `glpi`: every open ticket the API
    /// user wrote that carries a marker, with its key. From now on a key it
    /// does not list, and that has no trace, has no open ticket
    /// ([`Held::seen`]). The caller holds the inventory.
    async fn write_inventory(
        &self,
        hold: &Self::Inventory,
        glpi: &GlpiId,
        listed: &[(Key, u64)],
    ) -> Result<(), StateError>;

    /// What a person sees of a key without holding it: its record and kept
    /// events (a corrupt entry found is set aside, as by any read).
    async fn peek(&self, key: &Key) -> Result<(RecordLoad, Vec<Kept>), StateError>;
    /// Every record, sorted by key, and where corrupt ones were set aside.
    async fn records(&self) -> Result<(Vec<Record>, Vec<String>), StateError>;
    /// Every key with kept events, sorted.
    async fn keys_with_kept_events(&self) -> Result<Vec<Key>, StateError>;
    /// Where the record of `key` lives, for people.
    fn record_location(&self, key: &Key) -> String;

    /// The command is done with the state: waits for what dropped holds and
    /// places in line still have in flight (a database's unlocks), so that
    /// nothing is left half-sent when the process ends.
    async fn finish(&self) {}
}

/// One key, held: every key-scoped read and write. Dropping it releases the
/// key (a run that dies releases it too).
pub(crate) trait Held {
    fn key(&self) -> &Key;

    /// The key's kept events, in arrival order, and its last engine id.
    async fn queue(&mut self) -> Result<Queue, StateError>;

    async fn load_record(&mut self) -> Result<RecordLoad, StateError>;
    /// Writes the key's record; its trace says the ticket is open (a record
    /// of an older version, bound to no GLPI, leaves the trace alone).
    async fn save_record(&mut self, record: &Record) -> Result<(), StateError>;
    /// Forgets the record of a key whose ticket is no longer open (solved,
    /// or closed in GLPI; GLPI keeps the history); its trace becomes
    /// `closed` (a trace of that ticket, not open).
    async fn close_record(&mut self, closed: &Trace) -> Result<(), StateError>;
    /// Removes a record that named no ticket of the key (its trace stays).
    async fn remove_record(&mut self) -> Result<(), StateError>;
    /// What the state knows of the key's ticket beside its record: its
    /// trace, and how far the inventory of the GLPI `glpi` covers it (an
    /// inventory older than `ttl`, of another GLPI, or of a state restored
    /// or copied since it was taken covers nothing).
    async fn seen(
        &mut self,
        glpi: &GlpiId,
        ttl: Duration,
    ) -> Result<(Option<Trace>, Coverage), StateError>;

    /// GLPI confirmed `kept`: it leaves the queue, and its outcome is left
    /// for the run that kept it — unless this handle's run kept it.
    async fn delivered(&mut self, kept: &Kept, outcome: &Outcome) -> Result<(), StateError>;
    /// A delivery attempt failed: count it and keep its error.
    async fn failed(
        &mut self,
        kept: &mut Kept,
        failure: Failure,
        error: String,
    ) -> Result<(), StateError>;
    /// A follow-up for `kept` is about to be sent to GLPI: marks it durably
    /// (read back as [`Kept::in_flight`]), so that a run that retries it,
    /// after an answer lost or a run killed before it recorded the delivery,
    /// first looks for the follow-up in the ticket instead of writing it twice.
    async fn started(&mut self, kept: &mut Kept) -> Result<(), StateError>;
    /// Binds `kept` to the GLPI `glpi` (`state adopt`: an event kept for
    /// another GLPI, or by another configuration, handed to this one).
    async fn rebind(&mut self, kept: &mut Kept, glpi: &GlpiId) -> Result<(), StateError>;

    async fn write_intent(&mut self, intent: &Intent) -> Result<(), StateError>;
    async fn read_intent(&mut self) -> Result<Option<Pending>, StateError>;
    async fn clear_intent(&mut self) -> Result<(), StateError>;

    /// Sets aside (never deletes) the record, kept events and intent of the
    /// key; returns where they went, empty when there was nothing.
    async fn forget(&mut self) -> Result<Vec<String>, StateError>;
}
