//! The PostgreSQL backend of [`Store`]: records, kept events, receipts and
//! creation intents in tables shared by every monitoring server that names
//! the database (`[state] backend = "postgres"`); per-key locks as advisory
//! locks of the database.
//!
//! One connection per run, opened on first use and kept for the run, in
//! autocommit: every write is durable once its statement returns (each is
//! one statement, atomic). On it the run holds, as session advisory locks,
//! its place in line and the key it works on ([`PgHold`]: dropping it
//! unlocks the key; a run that dies closes its connection, which releases
//! both). A new connection costs the database a process and the run a
//! SCRAM exchange — most of a run's work in the database — so there is one.
//!
//! Each statement is sent with its parameters' types
//! (`query_typed`): one round trip, where preparing it first takes two.
//!
//! Write-ahead: [`Store::keep`] writes the event into the local outbox
//! (`outbox.rs`) first, then moves the outbox into the database. When the
//! database cannot be reached the event stays there, and the run fails
//! with [`StateError::Database`] naming where it is kept (exit 6).
//!
//! Order: each key has a row in `keys` whose `last_seq` numbers its kept
//! events; the numbering and the insertion are one statement, so the row's
//! lock orders them: a kept event is visible before the next one of its key
//! is numbered.

mod connect;
mod outbox;
mod schema;

use std::cell::OnceCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::types::{Json, Type};
use tokio_postgres::{Client, Row};

pub(crate) use connect::PgSettings;
use connect::db_err;

use super::cache::Cache;
use super::error::StateError;
use super::files::FileStore;
use super::store::{Intent, Kept, Look, Pending, RecordLoad, Store};
use crate::core::{Event, Failure, Key, Outcome, Record};

/// First key of the advisory locks that hold a key (two-int4 form, so that
/// they never meet another application's one-bigint locks).
const NS_HOLD: i32 = 0x4547_4C01;
/// First key of the advisory locks that mark a run waiting in line.
const NS_WAIT: i32 = 0x4547_4C02;

/// How long a receipt waits for the run that kept its event.
const RECEIPT_TTL: &str = "1 hour";
/// How long the id of a kept event is remembered (an outbox entry moved
/// into the database is never inserted again within that time).
const EVENT_ID_TTL: &str = "30 days";

/// The second key of a key's hold lock: FNV-1a 32 of node, NUL, service,
/// kept positive. Stable across versions and platforms (two servers must
/// agree); two keys sharing a hash are merely serialised.
pub(crate) fn key_hash(key: &Key) -> i32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in key.node.bytes().chain([0]).chain(key.service.bytes()) {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    i32::try_from(hash & 0x7fff_ffff).unwrap_or(0)
}

/// What [`PgStore::probe`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PgProbe {
    /// The database user the program connects as.
    pub(crate) user: String,
    /// The schema's version (0: none yet; created on first use); `None`
    /// when the user may not read it (see `can_write`).
    pub(crate) schema: Option<i32>,
    /// The version this program writes.
    pub(crate) latest: i32,
    /// The user may create tables (needed to create or migrate the schema).
    pub(crate) can_migrate: bool,
    /// The user may read and write every table of the schema.
    pub(crate) can_write: bool,
    /// Whether a run's key lock would hold.
    pub(crate) lock: LockProbe,
}

/// What [`probe`] found of the key locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockProbe {
    /// A key could be locked, in a session of the connection's own.
    Works,
    /// The lock could not be taken (advisory locks refused, or another
    /// check holds the probe key).
    NotTaken,
    /// The statements of one connection reach several server sessions, or
    /// share one with another connection (a pooler in transaction or
    /// statement mode): a run's session lock would hold nothing.
    SharedSessions,
}

/// `op`, or a [`StateError::Database`] timeout after `limit`.
async fn within<T>(
    limit: Duration,
    action: &'static str,
    op: impl Future<Output = Result<T, StateError>>,
) -> Result<T, StateError> {
    tokio::time::timeout(limit, op).await.unwrap_or_else(|_| {
        Err(StateError::Database {
            action,
            reason: format!("no answer within {} s (timeout)", limit.as_secs()),
            kept_locally: None,
        })
    })
}

/// What `check` reports of the database, without changing it nor touching
/// the state directory: reached (else the error), the schema's version, the
/// rights the program needs, and whether a key can be locked.
pub(crate) async fn probe(settings: &PgSettings) -> Result<PgProbe, StateError> {
    let limit = settings.request_timeout;
    let client = connect::connect(settings).await?;
    let err = db_err("read the database user's rights");
    let tables = schema::TABLES.to_vec();
    let row = within(limit, "read the database user's rights", async {
        client
            .query_one(
                "SELECT current_user::text, \
                     has_schema_privilege(current_schema(), 'CREATE'), \
                     (SELECT coalesce(bool_and(has_table_privilege(c.oid, \
                         'SELECT,INSERT,UPDATE,DELETE')), false) \
                      FROM pg_class c WHERE c.relkind = 'r' \
                      AND c.relnamespace = current_schema()::regnamespace \
                      AND c.relname = ANY($1)), \
                     to_regclass('esia_glpi_schema') IS NOT NULL",
                &[&tables],
            )
            .await
            .map_err(&err)
    })
    .await?;
    // The same lock a run takes, on a key no run uses, in a transaction
    // rolled back at once.
    let probe_key = Key::new("esia-glpi check", "");
    let sql = format!(
        "BEGIN; SELECT pg_try_advisory_xact_lock({NS_HOLD}, {}); ROLLBACK",
        key_hash(&probe_key)
    );
    let lock_err = db_err("lock a node and service");
    let messages = within(limit, "lock a node and service", async {
        client.simple_query(&sql).await.map_err(&lock_err)
    })
    .await?;
    let lock_works = messages.iter().any(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0) == Some("t"),
        _ => false,
    });
    let one_session = within(
        limit,
        "compare database sessions",
        one_session(settings, &client),
    )
    .await?;
    let exists: bool = row.try_get(3).map_err(&err)?;
    let can_write = exists && row.try_get::<_, bool>(2).map_err(&err)?;
    // Its version, when the user may read it (else unknown: the rights say why).
    let schema = match (exists, can_write) {
        (false, _) => Some(0),
        (true, true) => {
            Some(within(limit, "read the schema version", schema::version(&client)).await?)
        }
        (true, false) => None,
    };
    Ok(PgProbe {
        user: row.try_get(0).map_err(&err)?,
        schema,
        latest: schema::latest(),
        can_migrate: row.try_get(1).map_err(&err)?,
        can_write,
        lock: match (one_session, lock_works) {
            (false, _) => LockProbe::SharedSessions,
            (true, true) => LockProbe::Works,
            (true, false) => LockProbe::NotTaken,
        },
    })
}

/// True when `client`'s statements stay in one server session that no
/// other connection shares: its session's process id is read, a second
/// connection opens a transaction (which pins a server session to it under
/// any pooler: a pooler reusing sessions hands it the one just used), then
/// `client`'s is read again. Directly connected, or through a pooler in
/// session mode, both reads agree and the other connection has its own.
async fn one_session(settings: &PgSettings, client: &Client) -> Result<bool, StateError> {
    let err = db_err("compare database sessions");
    let pid = |rows: Vec<tokio_postgres::SimpleQueryMessage>| {
        rows.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => {
                row.get(0).and_then(|p| p.parse::<i32>().ok())
            }
            _ => None,
        })
    };
    let sql = "SELECT pg_backend_pid()";
    let first = pid(client.simple_query(sql).await.map_err(&err)?);
    let other = connect::connect(settings).await?;
    let theirs = pid(other
        .simple_query("BEGIN; SELECT pg_backend_pid()")
        .await
        .map_err(&err)?);
    let again = pid(client.simple_query(sql).await.map_err(&err)?);
    let _ = other.simple_query("ROLLBACK").await;
    Ok(first.is_some() && first == again && theirs != first)
}

/// An opened PostgreSQL state: the settings, the local directory (cache and
/// outbox), and the connections once opened.
pub(crate) struct PgStore {
    settings: PgSettings,
    local: FileStore,
    outbox: PathBuf,
    data: OnceCell<Arc<Client>>,
    /// The server session (process id) the data connection reached: every
    /// statement of the run must reach it, or session locks mean nothing.
    backend_pid: std::cell::Cell<Option<i32>>,
    /// Unlocks sent when a hold or a place in line was dropped, awaited by
    /// [`Store::finish`].
    background: Background,
    /// The id of the event this run kept, and whether this run delivered
    /// it: that delivery leaves no receipt (nobody else waits for it).
    own: std::cell::RefCell<Option<(String, bool)>>,
    /// This run's place in line: its event's id, the row's id, and the flag
    /// its [`PgInLine`] reads.
    line: std::cell::RefCell<Option<(String, i64, Arc<AtomicBool>)>>,
    /// The creation intent of the key whose record was just read, read with
    /// it (used once by [`Store::read_intent`]).
    intent: std::cell::RefCell<Option<(Key, Option<Pending>)>>,
}

/// Statements sent in the background (unlocks on drop), so that the run
/// can wait for their answers before it ends: a connection closed with a
/// statement in flight is one a pooler may hand to the next run with that
/// statement's answer still unread.
type Background = Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>;

/// Sends `sql` on `client` in the background, its handle kept in `background`.
fn in_background(client: &Arc<Client>, background: &Background, sql: String) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let client = Arc::clone(client);
    let handle = runtime.spawn(async move {
        let _ = client.batch_execute(&sql).await;
    });
    if let Ok(mut tasks) = background.lock() {
        tasks.push(handle);
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.settings.shown_url())
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// A key held: the session advisory lock on its hash, on the run's
/// connection. Dropped: the key is unlocked (or, the run gone, released
/// with its connection).
pub(crate) struct PgHold {
    client: Arc<Client>,
    background: Background,
    hash: i32,
}

impl Drop for PgHold {
    fn drop(&mut self) {
        let sql = format!("SELECT pg_advisory_unlock({NS_HOLD}, {})", self.hash);
        in_background(&self.client, &self.background, sql);
    }
}

impl std::fmt::Debug for PgHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgHold")
    }
}

/// A run waiting in line: its row in `waiting`, whose advisory lock the
/// data connection holds while the run lives. Dropped: the lock is released
/// and the row removed (or, the run gone, the row is stale and ignored).
pub(crate) struct PgInLine {
    client: Arc<Client>,
    background: Background,
    id: i64,
    /// Set when the run left the line as it took the key ([`Store::look`]).
    left: Arc<AtomicBool>,
}

impl std::fmt::Debug for PgInLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgInLine")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Drop for PgInLine {
    fn drop(&mut self) {
        if self.left.load(Ordering::Relaxed) {
            return;
        }
        let sql = format!(
            "SELECT pg_advisory_unlock({NS_WAIT}, ({} % 2147483648)::int); \
             DELETE FROM waiting WHERE id = {}",
            self.id, self.id
        );
        in_background(&self.client, &self.background, sql);
    }
}

/// A statement's parameter with its type (`query_typed`: one round trip).
type Param<'a> = (&'a (dyn ToSql + Sync), Type);

/// The node and service of `key`, the first two parameters of most
/// statements.
fn key_params(key: &Key) -> [Param<'_>; 2] {
    [(&key.node, Type::TEXT), (&key.service, Type::TEXT)]
}

/// The key of a row whose first two columns are node and service.
fn key_of(row: &Row, action: &'static str) -> Result<Key, StateError> {
    Ok(Key::new(
        row.try_get::<_, String>(0).map_err(db_err(action))?,
        row.try_get::<_, String>(1).map_err(db_err(action))?,
    ))
}

/// A key's creation intent as read from `intents` (`None`: no row).
fn pending_of(
    column: Result<Option<Json<Intent>>, tokio_postgres::Error>,
    key: &Key,
) -> Option<Pending> {
    match column {
        Ok(None) => None,
        Ok(Some(Json(intent))) if intent.key == *key => Some(Pending::Intent(intent)),
        Ok(Some(_)) | Err(_) => Some(Pending::Unreadable),
    }
}

/// A kept event as read from `kept`.
fn kept_of(row: &tokio_postgres::Row) -> Result<Kept, String> {
    let get = |e: tokio_postgres::Error| e.to_string();
    let node: String = row.try_get("node").map_err(get)?;
    let service: String = row.try_get("service").map_err(get)?;
    let Json(event): Json<Event> = row.try_get("event").map_err(get)?;
    if event.key != Key::new(node, service) {
        return Err("the event's node and service are not the row's".into());
    }
    let failure: Option<Json<Failure>> = row.try_get("failure").map_err(get)?;
    Ok(Kept {
        id: row.try_get("uid").map_err(get)?,
        seq: u64::try_from(row.try_get::<_, i64>("seq").map_err(get)?).unwrap_or(0),
        glpi: row.try_get("glpi").map_err(get)?,
        event,
        attempts: u32::try_from(row.try_get::<_, i32>("attempts").map_err(get)?).unwrap_or(0),
        last_error: row.try_get("last_error").map_err(get)?,
        failure: failure.map(|Json(f)| f),
        in_flight: row
            .try_get::<_, Option<std::time::SystemTime>>("started_at")
            .map_err(get)?
            .is_some(),
    })
}

/// The numbering and insertion of one event, unless its id was inserted
/// already (then nothing), as common table expressions ending in `ins`
/// (the inserted row's `seq`): one statement, so the key's `keys` row lock
/// orders it.
macro_rules! numbered_insert {
    () => {
        "
WITH fresh AS (
    SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM event_ids WHERE uid = $1)
), num AS (
    INSERT INTO keys AS k (node, service, last_seq)
    SELECT $2, $3, 1 FROM fresh
    ON CONFLICT (node, service) DO UPDATE SET last_seq = k.last_seq + 1
    RETURNING last_seq
), ids AS (
    INSERT INTO event_ids (uid, node, service, seq)
    SELECT $1, $2, $3, last_seq FROM num
    ON CONFLICT (uid) DO NOTHING
    RETURNING seq
), ins AS (
    INSERT INTO kept (uid, node, service, seq, glpi, event, attempts, last_error, failure)
    SELECT $1, $2, $3, seq, $4, $5, $6, $7, $8 FROM ids
    RETURNING seq
)"
    };
}

/// Numbers and inserts one event (see [`numbered_insert`]): its number.
const INSERT_KEPT: &str = concat!(numbered_insert!(), " SELECT seq FROM ins");

/// The same, and the run that keeps it enters the line of waiting runs at
/// once (its place's row, locked by this session): its number, the
/// place's id, whether the place's lock was taken.
const INSERT_KEPT_IN_LINE: &str = concat!(
    numbered_insert!(),
    ", line AS (INSERT INTO waiting (node, service, seq) SELECT $2, $3, seq FROM ins \
     RETURNING id) \
     SELECT ins.seq, line.id, pg_try_advisory_lock($9, (line.id % 2147483648)::int) \
     FROM ins, line"
);

const KEPT_COLUMNS: &str =
    "uid, node, service, seq, glpi, event, attempts, last_error, failure, started_at";

impl PgStore {
    /// Opens the local state directory (cache, outbox); the database is
    /// reached on first use.
    pub(crate) fn open(root: &Path, settings: PgSettings) -> Result<PgStore, StateError> {
        let local = FileStore::open(root)?;
        Ok(PgStore {
            settings,
            outbox: root.join("outbox"),
            local,
            data: OnceCell::new(),
            backend_pid: std::cell::Cell::new(None),
            background: Background::default(),
            own: std::cell::RefCell::new(None),
            line: std::cell::RefCell::new(None),
            intent: std::cell::RefCell::new(None),
        })
    }

    /// The cache of looked-up ids: always local.
    pub(crate) fn cache(&self) -> Cache {
        self.local.cache()
    }

    /// The local state directory (for `state import`).
    pub(crate) fn local(&self) -> &FileStore {
        &self.local
    }

    /// The database's URL, as shown to people.
    pub(crate) fn shown_url(&self) -> &str {
        self.settings.shown_url()
    }

    /// The data connection: opened, the schema migrated and the outbox
    /// moved into the database on first use.
    async fn data(&self) -> Result<&Arc<Client>, StateError> {
        if let Some(client) = self.data.get() {
            return Ok(client);
        }
        let started = std::time::Instant::now();
        let client = self.connected().await?;
        let moved = self.drain(client, None).await?;
        tracing::debug!(
            "state database: {} kept event(s) moved in from the outbox, in {} ms",
            moved.len(),
            started.elapsed().as_millis()
        );
        Ok(client)
    }

    /// The data connection, opened and the schema migrated on first use
    /// (the outbox not moved).
    async fn connected(&self) -> Result<&Arc<Client>, StateError> {
        if let Some(client) = self.data.get() {
            return Ok(client);
        }
        let kept_locally = (!outbox::is_empty(&self.outbox)).then(|| self.outbox.clone());
        let with_outbox = |e: StateError| match e {
            StateError::Database { action, reason, .. } => StateError::Database {
                action,
                reason,
                kept_locally: kept_locally.clone(),
            },
            other => other,
        };
        let started = std::time::Instant::now();
        let (mut client, hello) = self.connect_in_step().await.map_err(with_outbox)?;
        let connected = started.elapsed();
        if hello.version != schema::latest() {
            self.timed("migrate the schema", schema::migrate(&mut client))
                .await
                .map_err(with_outbox)?;
        }
        self.backend_pid.set(Some(hello.backend_pid));
        tracing::debug!(
            "state database: connected in {} ms, schema checked in {} ms",
            connected.as_millis(),
            started.elapsed().saturating_sub(connected).as_millis()
        );
        Ok(self.data.get_or_init(|| Arc::new(client)))
    }

    /// A new connection whose first answer is its own: a connection out of
    /// step (see [`schema::hello`]) is dropped and another one opened, once.
    async fn connect_in_step(&self) -> Result<(Client, schema::Hello), StateError> {
        let nonce = outbox::new_uid()?;
        let mut tries = 0;
        loop {
            tries += 1;
            let client = connect::connect(&self.settings).await?;
            let hello = self
                .timed("read the schema version", schema::hello(&client, &nonce))
                .await?;
            match hello {
                Some(hello) => return Ok((client, hello)),
                None if tries < 2 => tracing::warn!(
                    "state database: the connection's first answer was not its own (a pooler \
                     handed over a connection another client left mid-statement): connecting \
                     again"
                ),
                None => {
                    return Err(StateError::Database {
                        action: "read the schema version",
                        reason: "twice, the connection's first answer was not its own: a \
                                 connection pooler between this host and PostgreSQL hands over \
                                 connections with answers unread"
                            .into(),
                        kept_locally: None,
                    });
                }
            }
        }
    }

    /// An error unless `pid` is the server session the data connection
    /// reached first: a pooler in transaction or statement mode sends the
    /// statements of one connection to several sessions, and a session lock
    /// taken in one of them holds nothing for this run.
    fn same_session(&self, pid: i32) -> Result<(), StateError> {
        match self.backend_pid.get() {
            Some(first) if first != pid => Err(StateError::Database {
                action: "lock the node and service",
                reason: format!(
                    "the run's statements reached two database sessions (server processes \
                     {first} and {pid}): a connection pooler in transaction or statement mode \
                     is in the way; runs need one session each (PgBouncer: pool_mode = \
                     session), or connect to PostgreSQL directly"
                ),
                kept_locally: None,
            }),
            _ => Ok(()),
        }
    }

    /// Bounds one database operation by the configuration's `timeout`.
    async fn timed<T>(
        &self,
        action: &'static str,
        op: impl Future<Output = Result<T, StateError>>,
    ) -> Result<T, StateError> {
        within(self.settings.request_timeout, action, op).await
    }

    /// One statement on the run's connection (opened on first use),
    /// bounded by the configuration's `timeout`.
    async fn on_data<T>(
        &self,
        action: &'static str,
        statement: impl AsyncFnOnce(&Client) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, StateError> {
        let client = self.data().await?;
        self.timed(action, async {
            statement(client).await.map_err(db_err(action))
        })
        .await
    }

    /// One statement on the run's connection: its rows.
    async fn rows(
        &self,
        action: &'static str,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<Row>, StateError> {
        self.on_data(action, async |c| c.query_typed(sql, params).await)
            .await
    }

    /// One statement on the run's connection: its row, if any.
    async fn opt(
        &self,
        action: &'static str,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<Row>, StateError> {
        self.on_data(action, async |c| c.query_typed_opt(sql, params).await)
            .await
    }

    /// One statement on the run's connection, for what it changes.
    async fn exec(
        &self,
        action: &'static str,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<(), StateError> {
        self.on_data(action, async |c| {
            c.execute_typed(sql, params).await.map(|_| ())
        })
        .await
    }

    /// Moves the outbox into the database, oldest first, up to the entry
    /// at `before` (excluded) when given; returns the sequence number of
    /// each entry moved. Entries whose run holds them are left to it.
    async fn drain(
        &self,
        client: &Client,
        before: Option<&Path>,
    ) -> Result<HashMap<String, u64>, StateError> {
        let mut moved = HashMap::new();
        let entries = outbox::list(&self.outbox)?;
        for (path, entry) in entries {
            if before.is_some_and(|b| b == path) {
                break;
            }
            // Its run moves it (or another run is moving it): not twice.
            let Some(_claim) = outbox::claim(&path)? else {
                continue;
            };
            let inserted = self
                .timed("keep the event in the database", async {
                    insert_kept(
                        client,
                        &entry.uid,
                        &entry.event,
                        Some(&entry.glpi),
                        0,
                        None,
                        None,
                    )
                    .await
                })
                .await
                .map_err(|e| match e {
                    StateError::Database { action, reason, .. } => StateError::Database {
                        action,
                        reason,
                        kept_locally: Some(path.clone()),
                    },
                    other => other,
                })?;
            if let Some(seq) = inserted {
                moved.insert(entry.uid.clone(), seq);
            }
            outbox::remove(&path)?;
        }
        Ok(moved)
    }

    /// `state migrate`: the schema's version before and after.
    pub(crate) async fn migrate(&self) -> Result<(i32, i32), StateError> {
        let mut client = connect::connect(&self.settings).await?;
        let versions = self
            .timed("migrate the schema", schema::migrate(&mut client))
            .await?;
        // The first use also moves the outbox and prunes what expired.
        self.data().await?;
        self.prune().await?;
        Ok(versions)
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
        self.on_data("prune the state database", async |c| {
            c.batch_execute(&sql).await
        })
        .await
    }

    /// Inserts a record unless the key has one; true when inserted.
    pub(crate) async fn insert_record_if_absent(
        &self,
        record: &Record,
    ) -> Result<bool, StateError> {
        let ticket = i64::try_from(record.ticket_id).unwrap_or(i64::MAX);
        self.on_data("import a record", async |c| {
            c.execute(
                "INSERT INTO records (node, service, ticket_id, record) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (node, service) DO NOTHING",
                &[
                    &record.key.node,
                    &record.key.service,
                    &ticket,
                    &Json(record),
                ],
            )
            .await
            .map(|n| n == 1)
        })
        .await
    }

    /// Inserts an intent unless the key has one; true when inserted.
    pub(crate) async fn insert_intent_if_absent(
        &self,
        intent: &Intent,
    ) -> Result<bool, StateError> {
        self.on_data("import an intent", async |c| {
            c.execute(
                "INSERT INTO intents (node, service, intent) VALUES ($1, $2, $3) \
                 ON CONFLICT (node, service) DO NOTHING",
                &[&intent.key.node, &intent.key.service, &Json(intent)],
            )
            .await
            .map(|n| n == 1)
        })
        .await
    }

    /// Appends a kept event of the files backend to its key's queue; true
    /// when inserted. Its id is a digest of its key and file: importing
    /// again after an interruption never doubles an event.
    pub(crate) async fn import_kept(&self, kept: &Kept) -> Result<bool, StateError> {
        let mut digest = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        let key = &kept.event.key;
        for part in [
            key.node.as_bytes(),
            &[0],
            key.service.as_bytes(),
            &[0],
            kept.id.as_bytes(),
        ] {
            digest.update(part);
        }
        let uid = format!("import-{}", outbox::hex(&digest.finish().as_ref()[..16]));
        let uid = uid.as_str();
        let client = self.data().await?;
        self.timed("import a kept event", async {
            insert_kept(
                client,
                uid,
                &kept.event,
                kept.glpi.as_deref(),
                kept.attempts,
                kept.last_error.as_deref(),
                kept.failure,
            )
            .await
            .map(|seq| seq.is_some())
        })
        .await
    }

    /// Sets a row that cannot be read aside into `dropped_<table>`.
    async fn set_aside(
        &self,
        client: &Client,
        table: &'static str,
        key: &Key,
        reason: &str,
    ) -> Result<Vec<String>, StateError> {
        let (column, from) = match table {
            "records" => ("record", "records"),
            _ => ("intent", "intents"),
        };
        let sql = format!(
            "WITH gone AS (DELETE FROM {from} WHERE node = $1 AND service = $2 \
                 RETURNING node, service, {column}) \
             INSERT INTO dropped_{from} (node, service, {column}, reason) \
             SELECT node, service, {column}, $3 FROM gone RETURNING id"
        );
        let rows = client
            .query(&sql, &[&key.node, &key.service, &reason])
            .await
            .map_err(db_err("set a row aside"))?;
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get::<_, i64>(0).ok())
            .map(|id| format!("database table dropped_{from} id {id}"))
            .collect())
    }
}

/// Inserts one kept event (see [`INSERT_KEPT`]); `None` when its id was
/// inserted before.
async fn insert_kept(
    client: &Client,
    uid: &str,
    event: &Event,
    glpi: Option<&str>,
    attempts: u32,
    last_error: Option<&str>,
    failure: Option<Failure>,
) -> Result<Option<u64>, StateError> {
    let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
    let failure = failure.map(Json);
    let row = insert_row(
        client,
        INSERT_KEPT,
        &[
            (&uid, Type::TEXT),
            (&event.key.node, Type::TEXT),
            (&event.key.service, Type::TEXT),
            (&glpi, Type::TEXT),
            (&Json(event), Type::JSONB),
            (&attempts, Type::INT4),
            (&last_error, Type::TEXT),
            (&failure, Type::JSONB),
        ],
    )
    .await?;
    Ok(row
        .and_then(|r| r.try_get::<_, i64>(0).ok())
        .map(|seq| u64::try_from(seq).unwrap_or(0)))
}

/// Inserts this run's own event and its place in line (see
/// [`INSERT_KEPT_IN_LINE`]): its number, the place's id, and whether the
/// place's lock was taken; `None` when its id was inserted before.
async fn insert_own(
    client: &Client,
    entry: &outbox::Entry,
) -> Result<Option<(u64, i64, bool)>, StateError> {
    let (none, zero): (Option<&str>, i32) = (None, 0);
    let no_failure: Option<Json<Failure>> = None;
    let row = insert_row(
        client,
        INSERT_KEPT_IN_LINE,
        &[
            (&entry.uid, Type::TEXT),
            (&entry.event.key.node, Type::TEXT),
            (&entry.event.key.service, Type::TEXT),
            (&entry.glpi, Type::TEXT),
            (&Json(&entry.event), Type::JSONB),
            (&zero, Type::INT4),
            (&none, Type::TEXT),
            (&no_failure, Type::JSONB),
            (&NS_WAIT, Type::INT4),
        ],
    )
    .await?;
    let err = db_err("keep the event in the database");
    row.map(|r| {
        let seq: i64 = r.try_get(0).map_err(&err)?;
        Ok((
            u64::try_from(seq).unwrap_or(0),
            r.try_get(1).map_err(&err)?,
            r.try_get(2).map_err(&err)?,
        ))
    })
    .transpose()
}

/// One insertion statement: its row, if any.
async fn insert_row(
    client: &Client,
    sql: &str,
    params: &[Param<'_>],
) -> Result<Option<Row>, StateError> {
    client
        .query_typed_opt(sql, params)
        .await
        .map_err(db_err("keep the event in the database"))
}

impl Store for PgStore {
    type Hold = PgHold;
    type InLine = PgInLine;

    async fn hold(&self, key: &Key, timeout: Duration) -> Result<PgHold, StateError> {
        if let Some(hold) = self.try_hold(key).await? {
            return Ok(hold);
        }
        tracing::info!("waiting for the lock on {key} (state database)");
        let client = self.data().await?;
        let hash = key_hash(key);
        let ms = timeout.as_millis().clamp(1, i32::MAX as u128);
        // One implicit transaction: the timeout is the server's, for this
        // wait only (undone with it when the wait fails); the session lock
        // outlives it.
        let sql = format!(
            "SET lock_timeout = {ms}; SELECT pg_advisory_lock({NS_HOLD}, {hash}), \
             pg_backend_pid(); RESET lock_timeout"
        );
        let timed_out = || StateError::LockTimeout {
            path: PathBuf::from(format!("state database lock of {key}")),
            timeout,
        };
        match tokio::time::timeout(
            timeout + self.settings.request_timeout,
            client.simple_query(&sql),
        )
        .await
        {
            Ok(Ok(messages)) => {
                let hold = self.held(client, hash);
                let pid = messages.iter().find_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(row) => {
                        row.get(1).and_then(|p| p.parse::<i32>().ok())
                    }
                    _ => None,
                });
                self.same_session(pid.unwrap_or(0))?;
                Ok(hold)
            }
            Ok(Err(e)) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => Err(timed_out()),
            Ok(Err(e)) => Err(db_err("lock the node and service")(e)),
            Err(_) => Err(timed_out()),
        }
    }

    async fn enter_line(&self, kept: &Kept) -> Result<PgInLine, StateError> {
        let client = self.data().await?;
        // Entered with the event's insertion (`keep`): no statement.
        if let Some(in_line) = self.place_of(client, &kept.id) {
            return Ok(in_line);
        }
        let seq = i64::try_from(kept.seq).unwrap_or(i64::MAX);
        let err = db_err("enter the line of waiting runs");
        let row = self
            .timed("enter the line of waiting runs", async {
                client
                    .query_typed_one(
                        "WITH w AS (INSERT INTO waiting (node, service, seq) \
                             VALUES ($1, $2, $3) RETURNING id) \
                         SELECT id, pg_try_advisory_lock($4, (id % 2147483648)::int) FROM w",
                        &[
                            (&kept.event.key.node, Type::TEXT),
                            (&kept.event.key.service, Type::TEXT),
                            (&seq, Type::INT8),
                            (&NS_WAIT, Type::INT4),
                        ],
                    )
                    .await
                    .map_err(&err)
            })
            .await?;
        self.took_place(
            &kept.id,
            row.try_get(0).map_err(&err)?,
            row.try_get(1).map_err(&err)?,
        );
        self.place_of(client, &kept.id)
            .ok_or_else(|| StateError::Database {
                action: "enter the line of waiting runs",
                reason: "the place in line was not kept".into(),
                kept_locally: None,
            })
    }

    async fn look(&self, mine: &Kept) -> Result<Look<PgHold>, StateError> {
        let client = self.data().await?;
        let key = &mine.event.key;
        let seq = i64::try_from(mine.seq).unwrap_or(i64::MAX);
        let hash = key_hash(key);
        let (place, left) = match self.line.borrow().as_ref() {
            Some((uid, id, left)) if *uid == mine.id => (*id, Some(Arc::clone(left))),
            _ => (-1, None),
        };
        let err = db_err("wait for the node and service");
        // One statement: the receipt (used up); each earlier place in line,
        // its lock tried (taken: its run died); the key's lock, tried when
        // there is no receipt and no live run ahead; and, the key held, the
        // run leaves the line.
        let row = self
            .timed("wait for the node and service", async {
                client
                    .query_typed_one(
                        "WITH receipt AS (DELETE FROM receipts WHERE uid = $1 RETURNING outcome), \
                         ahead AS (SELECT id, pg_try_advisory_lock($5, (id % 2147483648)::int) \
                             AS dead FROM waiting WHERE node = $2 AND service = $3 AND seq < $4), \
                         taken AS (SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM receipt) \
                             AND NOT EXISTS (SELECT 1 FROM ahead WHERE NOT dead) \
                             THEN pg_try_advisory_lock($6, $7) END AS held), \
                         gone AS (DELETE FROM waiting WHERE id = $8 \
                             AND (SELECT held FROM taken) RETURNING id) \
                         SELECT (SELECT outcome FROM receipt), (SELECT held FROM taken), \
                             ARRAY(SELECT id FROM ahead WHERE dead), \
                             (SELECT pg_advisory_unlock($5, (id % 2147483648)::int) FROM gone), \
                             pg_backend_pid()",
                        &[
                            (&mine.id, Type::TEXT),
                            (&key.node, Type::TEXT),
                            (&key.service, Type::TEXT),
                            (&seq, Type::INT8),
                            (&NS_WAIT, Type::INT4),
                            (&NS_HOLD, Type::INT4),
                            (&hash, Type::INT4),
                            (&place, Type::INT8),
                        ],
                    )
                    .await
                    .map_err(&err)
            })
            .await?;
        let receipt: Option<Json<Outcome>> = row.try_get(0).ok().flatten();
        let key_taken: Option<bool> = row.try_get(1).map_err(&err)?;
        let dead: Vec<i64> = row.try_get(2).map_err(&err)?;
        let left_line: Option<bool> = row.try_get(3).map_err(&err)?;
        self.same_session(row.try_get(4).map_err(&err)?)?;
        if left_line.is_some()
            && let Some(left) = left
        {
            left.store(true, Ordering::Relaxed);
        }
        if !dead.is_empty() {
            self.forget_dead_places(client, &dead).await?;
        }
        let hold = key_taken.unwrap_or(false).then(|| self.held(client, hash));
        Ok(match (receipt, hold) {
            (Some(Json(outcome)), _) => Look::Delivered(outcome),
            (None, Some(hold)) => Look::Held(hold),
            (None, None) => Look::Wait,
        })
    }

    async fn load_record(&self, key: &Key) -> Result<RecordLoad, StateError> {
        // The key's creation intent comes with it: the delivery asks for it
        // next (`read_intent`), under the same hold.
        let row = self
            .opt(
                "read a record",
                "SELECT (SELECT record FROM records WHERE node = $1 AND service = $2), \
                     (SELECT intent FROM intents WHERE node = $1 AND service = $2)",
                &key_params(key),
            )
            .await?;
        if let Some(row) = &row {
            let intent = row.try_get::<_, Option<Json<Intent>>>(1);
            *self.intent.borrow_mut() = Some((key.clone(), pending_of(intent, key)));
        }
        let Some(row) =
            row.filter(|r| !matches!(r.try_get::<_, Option<Json<Record>>>(0), Ok(None)))
        else {
            return Ok(RecordLoad::Missing);
        };
        match row.try_get::<_, Json<Record>>(0) {
            Ok(Json(record)) if record.key == *key => Ok(RecordLoad::Found(record)),
            Ok(_) | Err(_) => {
                let reason = "the record cannot be read by this version".to_owned();
                let client = self.data().await?;
                let kept_as = self
                    .set_aside(client, "records", key, &reason)
                    .await?
                    .join(", ");
                tracing::error!("the record of {key} is corrupt; kept as {kept_as}");
                Ok(RecordLoad::Corrupt { kept_as, reason })
            }
        }
    }

    async fn save_record(&self, record: &Record) -> Result<(), StateError> {
        let ticket = i64::try_from(record.ticket_id).unwrap_or(i64::MAX);
        self.exec(
            "write a record",
            "INSERT INTO records (node, service, ticket_id, record) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (node, service) DO UPDATE \
             SET ticket_id = EXCLUDED.ticket_id, record = EXCLUDED.record, \
                 updated_at = now()",
            &[
                (&record.key.node, Type::TEXT),
                (&record.key.service, Type::TEXT),
                (&ticket, Type::INT8),
                (&Json(record), Type::JSONB),
            ],
        )
        .await
    }

    async fn remove_record(&self, key: &Key) -> Result<(), StateError> {
        self.exec(
            "remove a record",
            "DELETE FROM records WHERE node = $1 AND service = $2",
            &key_params(key),
        )
        .await
    }

    async fn records(&self) -> Result<(Vec<Record>, Vec<String>), StateError> {
        let action = "read the records";
        let rows = self
            .rows(action, "SELECT node, service, record FROM records", &[])
            .await?;
        let mut found = Vec::new();
        let mut corrupt = Vec::new();
        for row in rows {
            let key = key_of(&row, action)?;
            match row.try_get::<_, Json<Record>>(2) {
                Ok(Json(record)) if record.key == key => found.push(record),
                Ok(_) | Err(_) => {
                    let client = self.data().await?;
                    corrupt.extend(
                        self.set_aside(client, "records", &key, "cannot be read by this version")
                            .await?,
                    );
                }
            }
        }
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok((found, corrupt))
    }

    fn record_location(&self, _key: &Key) -> String {
        "table records of the state database".to_owned()
    }

    async fn keep(&self, event: &Event, glpi: &str) -> Result<Kept, StateError> {
        // Durable locally before anything else: a run killed now, or a
        // database that cannot be reached, loses nothing.
        let mine = outbox::push(&self.outbox, event, glpi)?;
        let path = mine.path.clone();
        let kept_here = |e: StateError| match e {
            StateError::Database { action, reason, .. } => StateError::Database {
                action,
                reason,
                kept_locally: Some(path.clone()),
            },
            other => other,
        };
        let client = self.connected().await.map_err(kept_here)?;
        // What runs that could not reach the database left, ahead of it.
        self.drain(client, Some(&mine.path))
            .await
            .map_err(kept_here)?;
        // This run moves its own entry, from memory: whatever other runs
        // do with the outbox meanwhile, it is in the database once the
        // insertion returns (its id: never twice).
        let entry = &mine.entry;
        let err = db_err("keep the event in the database");
        let seq = self
            .timed("keep the event in the database", async {
                if let Some((seq, place, locked)) = insert_own(client, entry).await? {
                    self.took_place(&entry.uid, place, locked);
                    return Ok(Some(seq));
                }
                // Inserted before (by a version that moved entries it did
                // not lock): its number.
                let row = client
                    .query_typed_opt(
                        "SELECT seq FROM event_ids WHERE uid = $1",
                        &[(&entry.uid, Type::TEXT)],
                    )
                    .await
                    .map_err(&err)?;
                row.map(|r| r.try_get::<_, i64>(0))
                    .transpose()
                    .map_err(&err)
                    .map(|seq| seq.map(|s| u64::try_from(s).unwrap_or(0)))
            })
            .await
            .map_err(kept_here)?
            .ok_or_else(|| StateError::Database {
                action: "keep the event in the database",
                reason: "the event's id is taken but the event is not in the database".into(),
                kept_locally: Some(mine.path.clone()),
            })?;
        outbox::remove(&mine.path)?;
        let entry = mine.entry.clone();
        drop(mine);
        *self.own.borrow_mut() = Some((entry.uid.clone(), false));
        Ok(Kept {
            id: entry.uid,
            seq,
            glpi: Some(entry.glpi),
            event: entry.event,
            attempts: 0,
            last_error: None,
            failure: None,
            in_flight: false,
        })
    }

    async fn kept(&self, key: &Key) -> Result<Vec<Kept>, StateError> {
        let action = "read the kept events";
        let rows = self
            .rows(
                action,
                &format!(
                    "SELECT {KEPT_COLUMNS} FROM kept WHERE node = $1 AND service = $2 \
                     ORDER BY seq"
                ),
                &key_params(key),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            match kept_of(&row) {
                Ok(kept) => out.push(kept),
                Err(reason) => {
                    let uid: String = row.try_get("uid").map_err(db_err(action))?;
                    let client = self.data().await?;
                    let ids = self.drop_kept(client, Some(&uid), key, &reason).await?;
                    tracing::error!(
                        "a kept event of {key} cannot be read ({reason}); kept as {} — that \
                         event is not delivered",
                        ids.join(", ")
                    );
                }
            }
        }
        Ok(out)
    }

    async fn delivered(
        &self,
        kept: &Kept,
        outcome: &Outcome,
        engine_id: Option<u64>,
    ) -> Result<(), StateError> {
        let engine_id = engine_id.map(|id| i64::try_from(id).unwrap_or(i64::MAX));
        let own = self
            .own
            .borrow()
            .as_ref()
            .is_some_and(|(uid, _)| *uid == kept.id);
        if own {
            // This run's own event: the run has its outcome, no receipt.
            self.exec(
                "record a delivery",
                "WITH gone AS (DELETE FROM kept WHERE uid = $1 RETURNING node, service) \
                 UPDATE keys k SET last_engine_id = COALESCE($2, k.last_engine_id) \
                 FROM gone WHERE k.node = gone.node AND k.service = gone.service",
                &[(&kept.id, Type::TEXT), (&engine_id, Type::INT8)],
            )
            .await?;
            if let Some((_, delivered)) = self.own.borrow_mut().as_mut() {
                *delivered = true;
            }
            return Ok(());
        }
        // One statement: the event leaves the queue, its receipt and the
        // key's engine id appear, all at once.
        self.exec(
            "record a delivery",
            "WITH gone AS (DELETE FROM kept WHERE uid = $1 RETURNING node, service), \
             receipt AS (INSERT INTO receipts (uid, outcome) VALUES ($1, $2) \
                 ON CONFLICT (uid) DO UPDATE SET outcome = EXCLUDED.outcome) \
             UPDATE keys k SET last_engine_id = COALESCE($3, k.last_engine_id) \
             FROM gone WHERE k.node = gone.node AND k.service = gone.service",
            &[
                (&kept.id, Type::TEXT),
                (&Json(outcome), Type::JSONB),
                (&engine_id, Type::INT8),
            ],
        )
        .await
    }

    async fn take_receipt(&self, kept: &Kept) -> Result<Option<Outcome>, StateError> {
        let delivered_here = self
            .own
            .borrow()
            .as_ref()
            .is_some_and(|(uid, delivered)| *uid == kept.id && *delivered);
        if delivered_here {
            return Ok(None);
        }
        let row = self
            .opt(
                "read a receipt",
                "DELETE FROM receipts WHERE uid = $1 RETURNING outcome",
                &[(&kept.id, Type::TEXT)],
            )
            .await?;
        Ok(row.and_then(|r| r.try_get::<_, Json<Outcome>>(0).ok().map(|Json(o)| o)))
    }

    async fn last_engine_id(&self, key: &Key) -> Result<Option<u64>, StateError> {
        let row = self
            .opt(
                "read the key's last event",
                "SELECT last_engine_id FROM keys WHERE node = $1 AND service = $2",
                &key_params(key),
            )
            .await?;
        Ok(row
            .and_then(|r| r.try_get::<_, Option<i64>>(0).ok().flatten())
            .and_then(|id| u64::try_from(id).ok()))
    }

    async fn failed(
        &self,
        kept: &mut Kept,
        failure: Failure,
        error: String,
    ) -> Result<(), StateError> {
        kept.count_failure(failure, error);
        let attempts = i32::try_from(kept.attempts).unwrap_or(i32::MAX);
        self.exec(
            "record a failed delivery",
            "UPDATE kept SET attempts = $2, last_error = $3, failure = $4 WHERE uid = $1",
            &[
                (&kept.id, Type::TEXT),
                (&attempts, Type::INT4),
                (&kept.last_error, Type::TEXT),
                (&Json(failure), Type::JSONB),
            ],
        )
        .await
    }

    async fn started(&self, kept: &mut Kept) -> Result<(), StateError> {
        self.exec(
            "mark a follow-up in flight",
            "UPDATE kept SET started_at = COALESCE(started_at, now()) WHERE uid = $1",
            &[(&kept.id, Type::TEXT)],
        )
        .await?;
        kept.in_flight = true;
        Ok(())
    }

    async fn keys_with_kept_events(&self) -> Result<Vec<Key>, StateError> {
        // `flush` comes here first, every minute: a good time to prune.
        self.prune().await?;
        let action = "read the kept events";
        let rows = self
            .rows(action, "SELECT DISTINCT node, service FROM kept", &[])
            .await?;
        let mut keys = rows
            .iter()
            .map(|row| key_of(row, action))
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort();
        Ok(keys)
    }

    async fn write_intent(&self, intent: &Intent) -> Result<(), StateError> {
        *self.intent.borrow_mut() = None;
        self.exec(
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

    async fn read_intent(&self, key: &Key) -> Result<Option<Pending>, StateError> {
        // Read with the record, once (the next read asks the database).
        let prefetched = self.intent.borrow_mut().take();
        if let Some((of, pending)) = prefetched
            && of == *key
        {
            return Ok(pending);
        }
        let row = self
            .opt(
                "read a creation intent",
                "SELECT intent FROM intents WHERE node = $1 AND service = $2",
                &key_params(key),
            )
            .await?;
        Ok(row.and_then(|r| pending_of(r.try_get::<_, Option<Json<Intent>>>(0), key)))
    }

    async fn clear_intent(&self, key: &Key) -> Result<(), StateError> {
        *self.intent.borrow_mut() = None;
        self.exec(
            "clear a creation intent",
            "DELETE FROM intents WHERE node = $1 AND service = $2",
            &key_params(key),
        )
        .await
    }

    async fn finish(&self) {
        let tasks = match self.background.lock() {
            Ok(mut tasks) => std::mem::take(&mut *tasks),
            Err(_) => return,
        };
        for task in tasks {
            if tokio::time::timeout(self.settings.request_timeout, task)
                .await
                .is_err()
            {
                tracing::warn!("state database: an unlock got no answer in time");
            }
        }
    }

    async fn forget(&self, key: &Key) -> Result<Vec<String>, StateError> {
        let client = self.data().await?;
        let reason = "state forget";
        let mut moved = self.set_aside(client, "records", key, reason).await?;
        moved.extend(self.drop_kept(client, None, key, reason).await?);
        moved.extend(self.set_aside(client, "intents", key, reason).await?);
        Ok(moved)
    }
}

impl PgStore {
    /// The run of event `uid` took place `id` in line (`locked`: its lock
    /// with it).
    fn took_place(&self, uid: &str, id: i64, locked: bool) {
        if !locked {
            tracing::warn!("state database: the place in line {id} was already locked");
        }
        *self.line.borrow_mut() = Some((uid.to_owned(), id, Arc::new(AtomicBool::new(false))));
    }

    /// The place in line of event `uid`'s run, if it took one.
    fn place_of(&self, client: &Arc<Client>, uid: &str) -> Option<PgInLine> {
        let line = self.line.borrow();
        let (of, id, left) = line.as_ref()?;
        (*of == uid).then(|| PgInLine {
            client: Arc::clone(client),
            background: Arc::clone(&self.background),
            id: *id,
            left: Arc::clone(left),
        })
    }

    /// The key whose lock hash is `hash`, just locked on `client`.
    fn held(&self, client: &Arc<Client>, hash: i32) -> PgHold {
        PgHold {
            client: Arc::clone(client),
            background: Arc::clone(&self.background),
            hash,
        }
    }

    /// Takes the key if it is free, without waiting.
    async fn try_hold(&self, key: &Key) -> Result<Option<PgHold>, StateError> {
        let client = self.data().await?;
        let hash = key_hash(key);
        let err = db_err("lock the node and service");
        let row = self
            .timed("lock the node and service", async {
                client
                    .query_typed_one(
                        "SELECT pg_try_advisory_lock($1, $2), pg_backend_pid()",
                        &[(&NS_HOLD, Type::INT4), (&hash, Type::INT4)],
                    )
                    .await
                    .map_err(&err)
            })
            .await?;
        self.same_session(row.try_get(1).map_err(&err)?)?;
        Ok(row
            .try_get::<_, bool>(0)
            .map_err(&err)?
            .then(|| self.held(client, hash)))
    }

    /// Removes the places in line `ids` of runs that died, whose locks this
    /// run just took to prove it, and unlocks them.
    async fn forget_dead_places(&self, client: &Client, ids: &[i64]) -> Result<(), StateError> {
        self.timed("read the line of waiting runs", async {
            client
                .execute_typed(
                    "WITH gone AS (DELETE FROM waiting WHERE id = ANY($1) RETURNING id) \
                     SELECT pg_advisory_unlock($2, (id % 2147483648)::int) FROM gone",
                    &[(&ids, Type::INT8_ARRAY), (&NS_WAIT, Type::INT4)],
                )
                .await
                .map_err(db_err("read the line of waiting runs"))
        })
        .await
        .map(|_| ())
    }

    /// Moves kept events of `key` (one, or all) into `dropped_kept`.
    async fn drop_kept(
        &self,
        client: &Client,
        uid: Option<&str>,
        key: &Key,
        reason: &str,
    ) -> Result<Vec<String>, StateError> {
        let rows = self
            .timed("set kept events aside", async {
                client
                    .query(
                        &format!(
                            "WITH gone AS (DELETE FROM kept WHERE node = $1 AND service = $2 \
                                 AND ($3::text IS NULL OR uid = $3) RETURNING *) \
                             INSERT INTO dropped_kept ({KEPT_COLUMNS}, kept_at, reason) \
                             SELECT {KEPT_COLUMNS}, kept_at, $4 FROM gone ORDER BY seq \
                             RETURNING id"
                        ),
                        &[&key.node, &key.service, &uid, &reason],
                    )
                    .await
                    .map_err(db_err("set kept events aside"))
            })
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get::<_, i64>(0).ok())
            .map(|id| format!("database table dropped_kept id {id}"))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hash_is_stable_positive_and_tells_keys_apart() {
        // Two servers must compute the same lock: pinned values.
        assert_eq!(
            key_hash(&Key::new("web01", "HTTP")),
            key_hash(&Key::new("web01", "HTTP"))
        );
        let pinned = key_hash(&Key::new("", ""));
        assert_eq!(
            pinned,
            i32::try_from(0x050c_5d1f_u32 & 0x7fff_ffff).unwrap()
        );
        for (node, service) in [
            ("web01", "HTTP"),
            ("web0", "1HTTP"),
            ("web01HTTP", ""),
            ("é", "x"),
        ] {
            assert!(key_hash(&Key::new(node, service)) >= 0);
        }
        assert_ne!(
            key_hash(&Key::new("web01", "HTTP")),
            key_hash(&Key::new("web0", "1HTTP")),
            "the separator counts"
        );
        assert_ne!(NS_HOLD, NS_WAIT);
    }
}
