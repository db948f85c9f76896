//! A key held in the state database ([`PgHeld`]: the session advisory lock
//! on the key's hash, on the run's connection) and every key-scoped read
//! and write through it; a run's place in line ([`PgLine`]: its row in
//! `waiting`, whose advisory lock the run's connection holds).
//!
//! What the handle remembers is the run's own: the event its run kept (its
//! delivery leaves no receipt: nobody else waits for it), and the key's
//! creation intent read with the record (the delivery asks for it next,
//! under the same hold, so nobody can change it meanwhile).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_postgres::types::{Json, Type};

use super::conn::Conn;
use super::rows::{
    KEPT_COLUMNS, NS_HOLD, NS_INVENTORY, NS_WAIT, Table, drop_kept, kept_rows, key_params, load_of,
    pending_of, set_aside,
};
use std::time::Duration;

use serde::Deserialize;

use crate::core::{Coverage, Failure, GlpiId, Key, Outcome, Record, Trace};
use crate::state::StateError;
use crate::state::store::{Held, Intent, Kept, KeptId, Pending, Queue, RecordLoad};

/// A key held: dropped, the key is unlocked (or, the run gone, released
/// with its connection).
pub(crate) struct PgHeld {
    pub(super) conn: Arc<Conn>,
    pub(super) key: Key,
    pub(super) hash: i32,
    /// The event the holding run kept, if any.
    pub(super) own: Option<KeptId>,
    /// The key's creation intent, read with its record, until used.
    pub(super) intent: IntentSeen,
    /// The key's trace and the inventories, read with its record (and
    /// read again once the inventory or the trace changed).
    pub(super) seen: Option<Seen>,
}

/// What the state database knows of a key beside its record, read with it.
#[derive(Debug, Clone, Default)]
pub(super) struct Seen {
    trace: Option<Trace>,
    inventories: Vec<InventorySeen>,
}

/// One GLPI's inventory, as a run sees it.
#[derive(Debug, Clone, Deserialize)]
struct InventorySeen {
    glpi: GlpiId,
    /// Seconds since it was taken.
    age: i64,
    /// Taken in this very database (not a restored or copied one).
    same: bool,
    /// The key's open ticket it lists.
    listed: Option<u64>,
}

/// The columns that read a key's trace and the inventories, for a row
/// whose key is `$1`, `$2`.
pub(super) const SEEN_COLUMNS: &str = "\
    (SELECT jsonb_build_object('glpi', glpi, 'ticket', ticket_id, 'open', open) \
        FROM traces WHERE node = $1 AND service = $2), \
    (SELECT coalesce(jsonb_agg(jsonb_build_object( \
        'glpi', i.glpi, \
        'age', extract(epoch FROM now() - i.taken_at)::bigint, \
        'same', i.system_identifier = (SELECT system_identifier::text FROM pg_control_system()) \
            AND i.timeline = (SELECT timeline_id FROM pg_control_checkpoint()) \
            AND i.db_oid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
            AND i.records_oid = 'records'::regclass::oid, \
        'listed', (SELECT t.ticket_id FROM inventory_tickets t \
            WHERE t.glpi = i.glpi AND t.node = $1 AND t.service = $2))), '[]'::jsonb) \
        FROM inventory i)";

impl Seen {
    /// Read from the two [`SEEN_COLUMNS`] at `at` of `row`.
    pub(super) fn of(row: &tokio_postgres::Row, at: usize) -> Seen {
        let trace = row
            .try_get::<_, Option<Json<Trace>>>(at)
            .ok()
            .flatten()
            .map(|Json(t)| t);
        let inventories = row
            .try_get::<_, Json<Vec<InventorySeen>>>(at + 1)
            .map(|Json(i)| i)
            .unwrap_or_default();
        Seen { trace, inventories }
    }

    /// The trace, and how far the inventory of `glpi` covers the key.
    pub(super) fn coverage(self, glpi: &GlpiId, ttl: Duration) -> (Option<Trace>, Coverage) {
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let coverage = self
            .inventories
            .iter()
            .find(|i| i.glpi == *glpi && i.same && i.age < ttl)
            .map_or(Coverage::Unknown, |i| Coverage::Complete {
                listed: i.listed,
            });
        (self.trace, coverage)
    }
}

/// What the handle knows of the key's creation intent.
#[derive(Debug)]
pub(super) enum IntentSeen {
    /// Not read (or used up): the next read asks the database.
    Unknown,
    /// Read with the record, or just changed by this handle.
    Known(Option<Pending>),
}

impl std::fmt::Debug for PgHeld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgHeld")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Drop for PgHeld {
    fn drop(&mut self) {
        let sql = format!("SELECT pg_advisory_unlock({NS_HOLD}, {})", self.hash);
        self.conn.in_background(sql);
    }
}

/// The state-wide hold of the run taking the inventory: the advisory lock
/// `(NS_INVENTORY, 0)` on the run's connection; dropped, it is unlocked.
pub(crate) struct PgInventory {
    pub(super) conn: Arc<Conn>,
}

impl std::fmt::Debug for PgInventory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgInventory")
    }
}

impl Drop for PgInventory {
    fn drop(&mut self) {
        let sql = format!("SELECT pg_advisory_unlock({NS_INVENTORY}, 0)");
        self.conn.in_background(sql);
    }
}

/// A run waiting in line: its row in `waiting`, whose advisory lock the
/// connection holds while the run lives. Dropped: the lock is released and
/// the row removed (or, the run gone, the row is stale and ignored).
pub(crate) struct PgLine {
    pub(super) conn: Arc<Conn>,
    pub(super) id: i64,
    /// Set when the run left the line as it took the key.
    pub(super) left: AtomicBool,
}

impl std::fmt::Debug for PgLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLine")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Drop for PgLine {
    fn drop(&mut self) {
        if self.left.load(Ordering::Relaxed) {
            return;
        }
        let sql = format!(
            "SELECT pg_advisory_unlock({NS_WAIT}, ({} % 2147483648)::int); \
             DELETE FROM waiting WHERE id = {}",
            self.id, self.id
        );
        self.conn.in_background(sql);
    }
}

impl Held for PgHeld {
    fn key(&self) -> &Key {
        &self.key
    }

    async fn queue(&mut self) -> Result<Queue, StateError> {
        let rows = self
            .conn
            .rows(
                "read the kept events",
                &format!(
                    "SELECT {KEPT_COLUMNS}, (SELECT last_engine_id FROM keys k \
                         WHERE k.node = $1 AND k.service = $2) AS last_engine_id \
                     FROM kept WHERE node = $1 AND service = $2 ORDER BY seq"
                ),
                &key_params(&self.key),
            )
            .await?;
        let last_engine_id = rows
            .first()
            .and_then(|r| r.try_get::<_, Option<i64>>("last_engine_id").ok().flatten())
            .and_then(|id| u64::try_from(id).ok());
        Ok(Queue {
            kept: kept_rows(&self.conn, &rows, &self.key).await?,
            last_engine_id,
        })
    }

    async fn load_record(&mut self) -> Result<RecordLoad, StateError> {
        // The key's creation intent comes with it: the delivery asks for it
        // next (`read_intent`).
        let row = self
            .conn
            .opt(
                "read a record",
                &format!(
                    "SELECT (SELECT record FROM records WHERE node = $1 AND service = $2), \
                         (SELECT intent FROM intents WHERE node = $1 AND service = $2), \
                         {SEEN_COLUMNS}"
                ),
                &key_params(&self.key),
            )
            .await?;
        self.seen = row.as_ref().map(|r| Seen::of(r, 2));
        self.intent = match &row {
            Some(r) => IntentSeen::Known(pending_of(
                r.try_get::<_, Option<Json<Intent>>>(1),
                &self.key,
            )),
            None => IntentSeen::Unknown,
        };
        load_of(&self.conn, row.as_ref(), &self.key).await
    }

    async fn save_record(&mut self, record: &Record) -> Result<(), StateError> {
        self.seen = None;
        let ticket = i64::try_from(record.ticket_id).unwrap_or(i64::MAX);
        let glpi = record.glpi.as_ref().map(GlpiId::as_str);
        // One statement: the record, and its trace when it changes.
        self.conn
            .exec(
                "write a record",
                "WITH rec AS (INSERT INTO records (node, service, ticket_id, record) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (node, service) DO UPDATE \
                     SET ticket_id = EXCLUDED.ticket_id, record = EXCLUDED.record, \
                         updated_at = now()) \
                 INSERT INTO traces (node, service, glpi, ticket_id, open) \
                 SELECT $1, $2, $5, $3, true WHERE $5::text IS NOT NULL \
                 ON CONFLICT (node, service) DO UPDATE \
                 SET glpi = EXCLUDED.glpi, ticket_id = EXCLUDED.ticket_id, open = true, \
                     written_at = now() \
                 WHERE traces.glpi <> EXCLUDED.glpi OR traces.ticket_id <> EXCLUDED.ticket_id \
                     OR NOT traces.open",
                &[
                    (&record.key.node, Type::TEXT),
                    (&record.key.service, Type::TEXT),
                    (&ticket, Type::INT8),
                    (&Json(record), Type::JSONB),
                    (&glpi, Type::TEXT),
                ],
            )
            .await
    }

    async fn close_record(&mut self, closed: &Trace) -> Result<(), StateError> {
        self.seen = None;
        let ticket = i64::try_from(closed.ticket).unwrap_or(i64::MAX);
        let [node, service] = key_params(&self.key);
        self.conn
            .exec(
                "remove a record",
                "WITH gone AS (DELETE FROM records WHERE node = $1 AND service = $2) \
                 INSERT INTO traces (node, service, glpi, ticket_id, open) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (node, service) DO UPDATE \
                 SET glpi = EXCLUDED.glpi, ticket_id = EXCLUDED.ticket_id, \
                     open = EXCLUDED.open, written_at = now()",
                &[
                    node,
                    service,
                    (&closed.glpi.as_str(), Type::TEXT),
                    (&ticket, Type::INT8),
                    (&closed.open, Type::BOOL),
                ],
            )
            .await
    }

    async fn seen(
        &mut self,
        glpi: &GlpiId,
        ttl: Duration,
    ) -> Result<(Option<Trace>, Coverage), StateError> {
        if let Some(seen) = self.seen.clone() {
            return Ok(seen.coverage(glpi, ttl));
        }
        let row = self
            .conn
            .opt(
                "read what the state knows of a key",
                &format!("SELECT {SEEN_COLUMNS}"),
                &key_params(&self.key),
            )
            .await?;
        Ok(row
            .map(|r| Seen::of(&r, 0))
            .unwrap_or_default()
            .coverage(glpi, ttl))
    }

    async fn remove_record(&mut self) -> Result<(), StateError> {
        self.conn
            .exec(
                "remove a record",
                "DELETE FROM records WHERE node = $1 AND service = $2",
                &key_params(&self.key),
            )
            .await
    }

    async fn delivered(&mut self, kept: &Kept, outcome: &Outcome) -> Result<(), StateError> {
        let engine_id = kept
            .event
            .order
            .as_ref()
            .map(|o| i64::try_from(o.id).unwrap_or(i64::MAX));
        let uid = kept.id.as_str();
        if self.own.as_ref() == Some(&kept.id) {
            // This run's own event: the run has its outcome, no receipt.
            return self
                .conn
                .exec(
                    "record a delivery",
                    "WITH gone AS (DELETE FROM kept WHERE uid = $1 RETURNING node, service) \
                     UPDATE keys k SET last_engine_id = COALESCE($2, k.last_engine_id) \
                     FROM gone WHERE k.node = gone.node AND k.service = gone.service",
                    &[(&uid, Type::TEXT), (&engine_id, Type::INT8)],
                )
                .await;
        }
        // One statement: the event leaves the queue, its receipt and the
        // key's engine id appear, all at once.
        self.conn
            .exec(
                "record a delivery",
                "WITH gone AS (DELETE FROM kept WHERE uid = $1 RETURNING node, service), \
                 receipt AS (INSERT INTO receipts (uid, outcome) VALUES ($1, $2) \
                     ON CONFLICT (uid) DO UPDATE SET outcome = EXCLUDED.outcome) \
                 UPDATE keys k SET last_engine_id = COALESCE($3, k.last_engine_id) \
                 FROM gone WHERE k.node = gone.node AND k.service = gone.service",
                &[
                    (&uid, Type::TEXT),
                    (&Json(outcome), Type::JSONB),
                    (&engine_id, Type::INT8),
                ],
            )
            .await
    }

    async fn failed(
        &mut self,
        kept: &mut Kept,
        failure: Failure,
        error: String,
    ) -> Result<(), StateError> {
        kept.count_failure(failure, error);
        let attempts = i32::try_from(kept.attempts).unwrap_or(i32::MAX);
        self.conn
            .exec(
                "record a failed delivery",
                "UPDATE kept SET attempts = $2, last_error = $3, failure = $4 WHERE uid = $1",
                &[
                    (&kept.id.as_str(), Type::TEXT),
                    (&attempts, Type::INT4),
                    (&kept.last_error, Type::TEXT),
                    (&Json(failure), Type::JSONB),
                ],
            )
            .await
    }

    async fn rebind(&mut self, kept: &mut Kept, glpi: &GlpiId) -> Result<(), StateError> {
        self.conn
            .exec(
                "hand a kept event to this GLPI",
                "UPDATE kept SET glpi = $2 WHERE uid = $1",
                &[
                    (&kept.id.as_str(), Type::TEXT),
                    (&glpi.as_str(), Type::TEXT),
                ],
            )
            .await?;
        kept.glpi = Some(glpi.clone());
        Ok(())
    }

    async fn started(&mut self, kept: &mut Kept) -> Result<(), StateError> {
        self.conn
            .exec(
                "mark a follow-up in flight",
                "UPDATE kept SET started_at = COALESCE(started_at, now()) WHERE uid = $1",
                &[(&kept.id.as_str(), Type::TEXT)],
            )
            .await?;
        kept.in_flight = true;
        Ok(())
    }

    async fn write_intent(&mut self, intent: &Intent) -> Result<(), StateError> {
        self.intent = IntentSeen::Unknown;
        self.conn
            .exec(
                "write a creation intent",
                "INSERT INTO intents (node, service, intent) VALUES ($1, $2, $3) \
                 ON CONFLICT (node, service) DO UPDATE \
                 SET intent = EXCLUDED.intent, written_at = now()",
                &[
                    (&intent.key.node, Type::TEXT),
                    (&intent.key.service, Type::TEXT),
                    (&Json(intent), Type::JSONB),
                ],
            )
            .await
    }

    async fn read_intent(&mut self) -> Result<Option<Pending>, StateError> {
        // Read with the record, once (the next read asks the database).
        if let IntentSeen::Known(pending) = std::mem::replace(&mut self.intent, IntentSeen::Unknown)
        {
            return Ok(pending);
        }
        let row = self
            .conn
            .opt(
                "read a creation intent",
                "SELECT intent FROM intents WHERE node = $1 AND service = $2",
                &key_params(&self.key),
            )
            .await?;
        Ok(row.and_then(|r| pending_of(r.try_get::<_, Option<Json<Intent>>>(0), &self.key)))
    }

    async fn clear_intent(&mut self) -> Result<(), StateError> {
        self.intent = IntentSeen::Known(None);
        self.conn
            .exec(
                "clear a creation intent",
                "DELETE FROM intents WHERE node = $1 AND service = $2",
                &key_params(&self.key),
            )
            .await
    }

    async fn forget(&mut self) -> Result<Vec<String>, StateError> {
        let reason = "state forget";
        let key = &self.key;
        let mut moved = set_aside(&self.conn, Table::Records, key, reason).await?;
        moved.extend(drop_kept(&self.conn, None, key, reason).await?);
        moved.extend(set_aside(&self.conn, Table::Intents, key, reason).await?);
        self.intent = IntentSeen::Known(None);
        Ok(moved)
    }
}
