//! The PostgreSQL backend of [`Store`]: records, kept events, receipts and
//! creation intents in tables shared by every monitoring server that names
//! the database (`[state] backend = "postgres"`); per-key holds as advisory
//! locks of the database.
//!
//! One connection per run (`conn.rs`), opened on first use and kept for the
//! run, in autocommit: every write is durable once its statement returns
//! (each is one statement, atomic). On it the run holds, as session
//! advisory locks, its place in line and the key it works on (`held.rs`;
//! a run that dies closes its connection, which releases both). A new
//! connection costs the database a process and the run a SCRAM exchange —
//! most of a run's work in the database — so there is one.
//!
//! Write-ahead: [`Store::keep`] writes the event into the local outbox
//! (`outbox.rs`) first, then moves the outbox into the database. When the
//! database cannot be reached the event stays there, and the run fails
//! with [`StateError::Database`] saying where it is kept (exit 6).
//!
//! Also here: the statements and rows (`rows.rs`), the schema and its
//! migrations (`schema.rs`), `check`'s probe (`probe.rs`), `state migrate`
//! and `state import` (`admin.rs`).

mod admin;
mod conn;
mod connect;
mod held;
mod probe;
mod rows;
mod schema;

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_postgres::types::{Json, Type};

pub(crate) use admin::{Imported, RecordImport};
use conn::Conn;
pub(crate) use connect::PgSettings;
use connect::db_err;
use held::IntentSeen;
pub(crate) use held::{PgHeld, PgInventory, PgLine};
pub(crate) use probe::{LockProbe, PgProbe, probe};
use rows::{
    ENTER_LINE, Entered, NS_HOLD, NS_INVENTORY, NS_WAIT, NewKept, ahead_of, kept_rows, key_hash,
    key_of, key_params, load_of, record_of,
};

use super::cache::Cache;
use super::error::{KeptLocally, StateError};
use super::files::FileStore;
use super::outbox;
use super::store::{Kept, KeptId, Look, Place, RecordLoad, Store};
use crate::core::{Event, GlpiId, Key, Outcome, Record};

/// How long a receipt waits for the run that kept its event.
const RECEIPT_TTL: &str = "1 hour";
/// How long the id of a kept event is remembered (an outbox entry moved
/// into the database is never inserted again within that time).
const EVENT_ID_TTL: &str = "30 days";

/// An opened PostgreSQL state: the settings, the local directory (cache and
/// outbox), and the run's connection once opened.
pub(crate) struct PgStore {
    settings: PgSettings,
    local: FileStore,
    outbox: PathBuf,
    conn: OnceCell<Arc<Conn>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.settings.shown_url())
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Opens the local state directory (cache, outbox); the database is
    /// reached on first use.
    pub(crate) fn open(root: &Path, settings: PgSettings) -> Result<PgStore, StateError> {
        let local = FileStore::open(root)?;
        Ok(PgStore {
            settings,
            outbox: root.join("outbox"),
            local,
            conn: OnceCell::new(),
        })
    }

    /// The cache of looked-up ids: always local.
    pub(crate) fn cache(&self) -> Cache {
        self.local.cache()
    }

    /// The local state directory (`state import` reads it).
    pub(crate) fn local(&self) -> &FileStore {
        &self.local
    }

    /// The database's URL, as shown to people.
    pub(crate) fn shown_url(&self) -> &str {
        self.settings.shown_url()
    }

    /// The run's connection: opened, the schema migrated and the outbox
    /// moved into the database on first use.
    async fn data(&self) -> Result<&Arc<Conn>, StateError> {
        if let Some(conn) = self.conn.get() {
            return Ok(conn);
        }
        let started = std::time::Instant::now();
        let conn = self.connected().await?;
        let moved = self.drain(conn, None).await?;
        tracing::debug!(
            "state database: {moved} kept event(s) moved in from the outbox, in {} ms",
            started.elapsed().as_millis()
        );
        Ok(conn)
    }

    /// The run's connection, opened and the schema migrated on first use
    /// (the outbox not moved).
    async fn connected(&self) -> Result<&Arc<Conn>, StateError> {
        if let Some(conn) = self.conn.get() {
            return Ok(conn);
        }
        let waiting = KeptLocally::Outbox(self.outbox.clone());
        let with_outbox = |e: StateError| {
            if outbox::is_empty(&self.outbox) {
                e
            } else {
                e.kept_locally(&waiting)
            }
        };
        let started = std::time::Instant::now();
        let mut opened = Conn::open(&self.settings).await.map_err(with_outbox)?;
        let connected = started.elapsed();
        if opened.version != schema::latest() {
            conn::within(
                self.settings.request_timeout,
                "migrate the schema",
                schema::migrate(opened.conn.client_mut()),
            )
            .await
            .map_err(with_outbox)?;
        }
        tracing::debug!(
            "state database: connected in {} ms, schema checked in {} ms",
            connected.as_millis(),
            started.elapsed().saturating_sub(connected).as_millis()
        );
        Ok(self.conn.get_or_init(|| Arc::new(opened.conn)))
    }

    /// Moves the outbox into the database, oldest first, up to the entry
    /// at `before` (excluded) when given; returns how many entries it
    /// moved. Entries whose run holds them are left to it.
    async fn drain(&self, conn: &Conn, before: Option<&Path>) -> Result<usize, StateError> {
        let mut moved = 0;
        for (path, entry) in outbox::list(&self.outbox)? {
            if before.is_some_and(|b| b == path) {
                break;
            }
            // Its run moves it (or another run is moving it): not twice.
            let Some(_claim) = outbox::claim(&path)? else {
                continue;
            };
            NewKept {
                uid: &entry.uid,
                event: &entry.event,
                glpi: Some(&entry.glpi),
                attempts: 0,
                last_error: None,
                failure: None,
            }
            .insert(conn)
            .await
            .map_err(|e| e.kept_locally(&KeptLocally::Outbox(self.outbox.clone())))?;
            moved += 1;
            outbox::remove(&path)?;
        }
        Ok(moved)
    }

    /// Forgets receipts nobody came for, ids of long-delivered events, and
    /// the places in line of runs that died.
    async fn prune(&self) -> Result<(), StateError> {
        let sql = format!(
            "DELETE FROM receipts WHERE delivered_at < now() - interval '{RECEIPT_TTL}'; \
             DELETE FROM event_ids e WHERE kept_at < now() - interval '{EVENT_ID_TTL}' \
                 AND NOT EXISTS (SELECT 1 FROM kept k WHERE k.uid = e.uid); \
             DELETE FROM waiting WHERE since < now() - interval '1 minute' \
                 AND pg_try_advisory_lock({NS_WAIT}, (id % 2147483648)::int) \
                 AND pg_advisory_unlock({NS_WAIT}, (id % 2147483648)::int)"
        );
        self.data()
            .await?
            .batch("prune the state database", &sql)
            .await
    }

    /// A key held by `conn`, just locked (`own`: the holding run's event).
    fn held(conn: &Arc<Conn>, key: &Key, own: Option<KeptId>) -> PgHeld {
        PgHeld {
            conn: Arc::clone(conn),
            key: key.clone(),
            hash: key_hash(key),
            own,
            intent: IntentSeen::Unknown,
            seen: None,
        }
    }

    /// This run's own event, moved into the database: its number and its
    /// place in line (its id inserted before by a run that moved entries it
    /// did not lock, an older version's: the number, and a place taken now).
    async fn keep_own(&self, conn: &Conn, mine: &outbox::Entry) -> Result<Entered, StateError> {
        let new = NewKept {
            uid: &mine.uid,
            event: &mine.event,
            glpi: Some(&mine.glpi),
            attempts: 0,
            last_error: None,
            failure: None,
        };
        if let Some(entered) = new.insert_in_line(conn).await? {
            return Ok(entered);
        }
        let action = "keep the event in the database";
        let err = db_err(action);
        let seq: i64 = conn
            .opt(
                action,
                "SELECT seq FROM event_ids WHERE uid = $1",
                &[(&mine.uid, Type::TEXT)],
            )
            .await?
            .ok_or_else(|| StateError::Database {
                action,
                reason: "the event's id is taken but the event is not in the database".into(),
                kept_locally: None,
            })?
            .try_get(0)
            .map_err(&err)?;
        let [node, service] = key_params(&mine.event.key);
        let row = conn
            .one(
                "enter the line of waiting runs",
                ENTER_LINE,
                &[(&NS_WAIT, Type::INT4), node, service, (&seq, Type::INT8)],
            )
            .await?;
        Ok(Entered {
            seq: u64::try_from(seq).unwrap_or(0),
            place: row.try_get(0).map_err(&err)?,
            locked: row.try_get(1).map_err(&err)?,
            ahead: ahead_of(&row, 2)?,
        })
    }

    /// Removes the places in line `ids` of runs that died, whose locks this
    /// run just took to prove it, and unlocks them.
    async fn forget_dead_places(conn: &Conn, ids: &[i64]) -> Result<(), StateError> {
        conn.exec(
            "read the line of waiting runs",
            "WITH gone AS (DELETE FROM waiting WHERE id = ANY($1) RETURNING id) \
             SELECT pg_advisory_unlock($2, (id % 2147483648)::int) FROM gone",
            &[(&ids, Type::INT8_ARRAY), (&NS_WAIT, Type::INT4)],
        )
        .await
    }
}

/// Takes a key's lock in this run's own session only (see `conn.rs`): NULL
/// when the session is not the run's own, false when it holds the key
/// already or another session does. Parameters: the namespace, the key's
/// hash, the run's mark.
const TRY_HOLD: &str = "SELECT CASE \
         WHEN current_setting('esia_glpi.run', true) IS DISTINCT FROM $3 THEN NULL \
         WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
             AND pid = pg_backend_pid() AND classid = $1::oid AND objid = $2::oid \
             AND objsubid = 2) THEN false \
         ELSE pg_try_advisory_lock($1, $2) END, \
     pg_backend_pid()";

/// One look of a waiting run, one statement: the receipt (used up); each
/// earlier place in line, its lock tried (taken: its run died); the key's
/// lock, tried when there is no receipt, no live run ahead and the session
/// is the run's own and does not hold the key already; and, the key held,
/// the run leaves the line.
const LOOK: &str = "WITH receipt AS (DELETE FROM receipts WHERE uid = $1 RETURNING outcome), \
     own AS (SELECT current_setting('esia_glpi.run', true) IS NOT DISTINCT FROM $9 AS ok), \
     ahead AS (SELECT id, CASE WHEN (SELECT ok FROM own) \
             THEN pg_try_advisory_lock($5, (id % 2147483648)::int) ELSE false END AS dead \
         FROM waiting WHERE node = $2 AND service = $3 AND seq < $4), \
     taken AS (SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM receipt) \
             AND NOT EXISTS (SELECT 1 FROM ahead WHERE NOT dead) \
             AND (SELECT ok FROM own) \
             AND NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
                 AND pid = pg_backend_pid() AND classid = $6::oid AND objid = $7::oid \
                 AND objsubid = 2) \
         THEN pg_try_advisory_lock($6, $7) END AS held), \
     gone AS (DELETE FROM waiting WHERE id = $8 AND (SELECT held FROM taken) RETURNING id) \
     SELECT (SELECT outcome FROM receipt), (SELECT held FROM taken), \
         ARRAY(SELECT id FROM ahead WHERE dead), \
         (SELECT pg_advisory_unlock($5, (id % 2147483648)::int) FROM gone), \
         pg_backend_pid(), (SELECT ok FROM own)";

impl Store for PgStore {
    type Held = PgHeld;
    type Line = PgLine;
    type Inventory = PgInventory;

    async fn keep(&self, event: &Event, glpi: &GlpiId) -> Result<Place<PgLine>, StateError> {
        // Durable locally before anything else: a run killed now, or a
        // database that cannot be reached, loses nothing.
        let mine = outbox::push(&self.outbox, event, glpi)?;
        let here = KeptLocally::Event(mine.path.clone());
        let kept_here = |e: StateError| e.kept_locally(&here);
        let conn = self.connected().await.map_err(kept_here)?;
        // What runs that could not reach the database left, ahead of it.
        self.drain(conn, Some(&mine.path))
            .await
            .map_err(kept_here)?;
        // This run moves its own entry, from memory: whatever other runs
        // do with the outbox meanwhile, it is in the database once the
        // insertion returns (its id: never twice).
        let entered = self.keep_own(conn, &mine.entry).await.map_err(kept_here)?;
        if !entered.locked {
            tracing::warn!(
                "state database: the place in line {} was already locked",
                entered.place
            );
        }
        outbox::remove(&mine.path)?;
        let outbox::Entry {
            uid, glpi, event, ..
        } = mine.entry.clone();
        Ok(Place {
            kept: Kept {
                id: KeptId::new(uid),
                seq: entered.seq,
                glpi: Some(glpi),
                event,
                attempts: 0,
                last_error: None,
                failure: None,
                in_flight: false,
            },
            ahead: entered.ahead,
            line: PgLine {
                conn: Arc::clone(conn),
                id: entered.place,
                left: AtomicBool::new(false),
            },
        })
    }

    async fn look(&self, mine: &Kept, line: &PgLine) -> Result<Look<PgHeld>, StateError> {
        let conn = &line.conn;
        let key = &mine.event.key;
        let seq = i64::try_from(mine.seq).unwrap_or(i64::MAX);
        let hash = key_hash(key);
        let err = db_err("wait for the node and service");
        let row = conn
            .one(
                "wait for the node and service",
                LOOK,
                &[
                    (&mine.id.as_str(), Type::TEXT),
                    (&key.node, Type::TEXT),
                    (&key.service, Type::TEXT),
                    (&seq, Type::INT8),
                    (&NS_WAIT, Type::INT4),
                    (&NS_HOLD, Type::INT4),
                    (&hash, Type::INT4),
                    (&line.id, Type::INT8),
                    (&conn.nonce, Type::TEXT),
                ],
            )
            .await?;
        let receipt: Option<Json<Outcome>> = row.try_get(0).ok().flatten();
        let key_taken: Option<bool> = row.try_get(1).map_err(&err)?;
        // Held from here on: dropped (on any error below), it is unlocked.
        let hold = key_taken
            .unwrap_or(false)
            .then(|| PgStore::held(conn, key, Some(mine.id.clone())));
        let dead: Vec<i64> = row.try_get(2).map_err(&err)?;
        let left_line: Option<bool> = row.try_get(3).map_err(&err)?;
        let own: Option<bool> = row.try_get(5).map_err(&err)?;
        conn.same_session(row.try_get(4).map_err(&err)?, own.unwrap_or(false))?;
        if left_line.is_some() {
            line.left.store(true, Ordering::Relaxed);
        }
        if !dead.is_empty() {
            PgStore::forget_dead_places(conn, &dead).await?;
        }
        Ok(match (receipt, hold) {
            (Some(Json(outcome)), _) => Look::Delivered(outcome),
            (None, Some(hold)) => Look::Held(hold),
            (None, None) => Look::Wait,
        })
    }

    async fn receipt(&self, mine: &Kept, line: &PgLine) -> Result<Option<Outcome>, StateError> {
        let row = line
            .conn
            .opt(
                "read a receipt",
                "DELETE FROM receipts WHERE uid = $1 RETURNING outcome",
                &[(&mine.id.as_str(), Type::TEXT)],
            )
            .await?;
        Ok(row.and_then(|r| r.try_get::<_, Json<Outcome>>(0).ok().map(|Json(o)| o)))
    }

    async fn try_hold(&self, key: &Key) -> Result<Option<PgHeld>, StateError> {
        let conn = self.data().await?;
        let hash = key_hash(key);
        let err = db_err("lock the node and service");
        let row = conn
            .one(
                "lock the node and service",
                TRY_HOLD,
                &[
                    (&NS_HOLD, Type::INT4),
                    (&hash, Type::INT4),
                    (&conn.nonce, Type::TEXT),
                ],
            )
            .await?;
        let taken: Option<bool> = row.try_get(0).map_err(&err)?;
        let hold = taken
            .unwrap_or(false)
            .then(|| PgStore::held(conn, key, None));
        conn.same_session(row.try_get(1).map_err(&err)?, taken.is_some())?;
        Ok(hold)
    }

    async fn try_hold_inventory(&self) -> Result<Option<PgInventory>, StateError> {
        let conn = self.data().await?;
        let err = db_err("lock the inventory");
        let zero = 0_i32;
        let row = conn
            .one(
                "lock the inventory",
                TRY_HOLD,
                &[
                    (&NS_INVENTORY, Type::INT4),
                    (&zero, Type::INT4),
                    (&conn.nonce, Type::TEXT),
                ],
            )
            .await?;
        let taken: Option<bool> = row.try_get(0).map_err(&err)?;
        let hold = taken.unwrap_or(false).then(|| PgInventory {
            conn: Arc::clone(conn),
        });
        conn.same_session(row.try_get(1).map_err(&err)?, taken.is_some())?;
        Ok(hold)
    }

    async fn write_inventory(
        &self,
        hold: &PgInventory,
        glpi: &GlpiId,
        listed: &[(Key, u64)],
    ) -> Result<(), StateError> {
        let nodes: Vec<&str> = listed.iter().map(|(k, _)| k.node.as_str()).collect();
        let services: Vec<&str> = listed.iter().map(|(k, _)| k.service.as_str()).collect();
        let tickets: Vec<i64> = listed
            .iter()
            .map(|(_, t)| i64::try_from(*t).unwrap_or(i64::MAX))
            .collect();
        // One statement: the listed tickets in, the others out, and what
        // identifies this database, so that a restored copy is not trusted.
        hold.conn
            .exec(
                "write the inventory",
                "WITH listed AS (SELECT * FROM unnest($2::text[], $3::text[], $4::int8[]) \
                     AS u(node, service, ticket_id)), \
                 ins AS (INSERT INTO inventory_tickets (glpi, node, service, ticket_id) \
                     SELECT $1, node, service, ticket_id FROM listed \
                     ON CONFLICT (glpi, node, service) DO UPDATE \
                     SET ticket_id = EXCLUDED.ticket_id), \
                 gone AS (DELETE FROM inventory_tickets t WHERE t.glpi = $1 AND NOT EXISTS \
                     (SELECT 1 FROM listed l WHERE l.node = t.node AND l.service = t.service)) \
                 INSERT INTO inventory (glpi, taken_at, system_identifier, timeline, db_oid, \
                     records_oid) \
                 VALUES ($1, now(), (SELECT system_identifier::text FROM pg_control_system()), \
                     (SELECT timeline_id FROM pg_control_checkpoint()), \
                     (SELECT oid FROM pg_database WHERE datname = current_database()), \
                     'records'::regclass::oid) \
                 ON CONFLICT (glpi) DO UPDATE SET taken_at = EXCLUDED.taken_at, \
                     system_identifier = EXCLUDED.system_identifier, \
                     timeline = EXCLUDED.timeline, db_oid = EXCLUDED.db_oid, \
                     records_oid = EXCLUDED.records_oid",
                &[
                    (&glpi.as_str(), Type::TEXT),
                    (&nodes, Type::TEXT_ARRAY),
                    (&services, Type::TEXT_ARRAY),
                    (&tickets, Type::INT8_ARRAY),
                ],
            )
            .await
    }

    async fn peek(&self, key: &Key) -> Result<(RecordLoad, Vec<Kept>), StateError> {
        let conn = self.data().await?;
        let row = conn
            .opt(
                "read a record",
                "SELECT record FROM records WHERE node = $1 AND service = $2",
                &key_params(key),
            )
            .await?;
        let record = load_of(conn, row.as_ref(), key).await?;
        let rows = conn
            .rows(
                "read the kept events",
                &format!(
                    "SELECT {} FROM kept WHERE node = $1 AND service = $2 ORDER BY seq",
                    rows::KEPT_COLUMNS
                ),
                &key_params(key),
            )
            .await?;
        Ok((record, kept_rows(conn, &rows, key).await?))
    }

    async fn records(&self) -> Result<(Vec<Record>, Vec<String>), StateError> {
        let action = "read the records";
        let conn = self.data().await?;
        let rows = conn
            .rows(action, "SELECT node, service, record FROM records", &[])
            .await?;
        let mut found = Vec::new();
        let mut corrupt = Vec::new();
        for row in rows {
            let key = key_of(&row, action)?;
            match record_of(&row, 2, &key) {
                Ok(Some(record)) => found.push(record),
                Ok(None) => {}
                Err(_) => corrupt.extend(
                    rows::set_aside(
                        conn,
                        rows::Table::Records,
                        &key,
                        "cannot be read by this version",
                    )
                    .await?,
                ),
            }
        }
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok((found, corrupt))
    }

    async fn keys_with_kept_events(&self) -> Result<Vec<Key>, StateError> {
        // `flush` comes here first, every minute: a good time to prune.
        self.prune().await?;
        let action = "read the kept events";
        let rows = self
            .data()
            .await?
            .rows(action, "SELECT DISTINCT node, service FROM kept", &[])
            .await?;
        let mut keys = rows
            .iter()
            .map(|row| key_of(row, action))
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort();
        Ok(keys)
    }

    fn record_location(&self, _key: &Key) -> String {
        "table records of the state database".to_owned()
    }

    async fn finish(&self) {
        if let Some(conn) = self.conn.get() {
            conn.finish().await;
        }
    }
}
