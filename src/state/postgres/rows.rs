//! The rows of the state database: the statements that number and insert a
//! kept event, how a row becomes a [`Kept`], a record or an intent, and how
//! rows are set aside into the `dropped_*` tables (never deleted).
//!
//! Order: each key has a row in `keys` whose `last_seq` numbers its kept
//! events; the numbering and the insertion are one statement, so the row's
//! lock orders them: a kept event is visible before the next one of its key
//! is numbered.

use tokio_postgres::Row;
use tokio_postgres::types::{Json, Type};

use super::conn::{Conn, Param};
use super::connect::db_err;
use crate::core::{Event, Failure, GlpiId, Key, Record};
use crate::state::StateError;
use crate::state::store::{Intent, Kept, KeptId, Pending, RecordLoad};

/// First key of the advisory locks that hold a key (two-int4 form, so that
/// they never meet another application's one-bigint locks).
pub(super) const NS_HOLD: i32 = 0x4547_4C01;
/// First key of the advisory locks that mark a run waiting in line.
pub(super) const NS_WAIT: i32 = 0x4547_4C02;
/// First key of the advisory lock of the run taking the inventory of
/// GLPI's open tickets (`schema.rs` uses …03 to migrate).
pub(super) const NS_INVENTORY: i32 = 0x4547_4C04;

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

/// The node and service of `key`, the first two parameters of most
/// statements.
pub(super) fn key_params(key: &Key) -> [Param<'_>; 2] {
    [(&key.node, Type::TEXT), (&key.service, Type::TEXT)]
}

/// The key of a row whose first two columns are node and service.
pub(super) fn key_of(row: &Row, action: &'static str) -> Result<Key, StateError> {
    Ok(Key::new(
        row.try_get::<_, String>(0).map_err(db_err(action))?,
        row.try_get::<_, String>(1).map_err(db_err(action))?,
    ))
}

/// A key's creation intent as read from `intents` (`None`: no row).
pub(super) fn pending_of(
    column: Result<Option<Json<Intent>>, tokio_postgres::Error>,
    key: &Key,
) -> Option<Pending> {
    match column {
        Ok(None) => None,
        Ok(Some(Json(intent))) if intent.key == *key => Some(Pending::Intent(intent)),
        Ok(Some(_)) | Err(_) => Some(Pending::Unreadable),
    }
}

/// The columns of `kept` read back.
pub(super) const KEPT_COLUMNS: &str =
    "uid, node, service, seq, glpi, event, attempts, last_error, failure, started_at";

/// A kept event as read from `kept`.
pub(super) fn kept_of(row: &Row) -> Result<Kept, String> {
    let get = |e: tokio_postgres::Error| e.to_string();
    let node: String = row.try_get("node").map_err(get)?;
    let service: String = row.try_get("service").map_err(get)?;
    let Json(event): Json<Event> = row.try_get("event").map_err(get)?;
    if event.key != Key::new(node, service) {
        return Err("the event's node and service are not the row's".into());
    }
    let failure: Option<Json<Failure>> = row.try_get("failure").map_err(get)?;
    Ok(Kept {
        id: KeptId::new(row.try_get::<_, String>("uid").map_err(get)?),
        seq: u64::try_from(row.try_get::<_, i64>("seq").map_err(get)?).unwrap_or(0),
        glpi: row
            .try_get::<_, Option<String>>("glpi")
            .map_err(get)?
            .map(GlpiId::new),
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

/// What a run entering the line is told, beside its place: the id and
/// attempts of every event of the key kept ahead of it.
macro_rules! ahead {
    ($seq:literal) => {
        concat!(
            "ARRAY(SELECT uid FROM kept WHERE node = $2 AND service = $3 AND seq < ",
            $seq,
            " ORDER BY seq), ",
            "ARRAY(SELECT attempts FROM kept WHERE node = $2 AND service = $3 AND seq < ",
            $seq,
            " ORDER BY seq)"
        )
    };
}

/// The same, and the run that keeps it enters the line of waiting runs at
/// once (its place's row, locked by this session): its number, the
/// place's id, whether the place's lock was taken, and the events ahead.
const INSERT_KEPT_IN_LINE: &str = concat!(
    numbered_insert!(),
    ", line AS (INSERT INTO waiting (node, service, seq) SELECT $2, $3, seq FROM ins \
     RETURNING id) \
     SELECT ins.seq, line.id, pg_try_advisory_lock($9, (line.id % 2147483648)::int), ",
    ahead!("ins.seq"),
    " FROM ins, line"
);

/// A run whose event was moved into the database by another run enters
/// the line: its place's id, whether its lock was taken, the events ahead.
pub(super) const ENTER_LINE: &str = concat!(
    "WITH w AS (INSERT INTO waiting (node, service, seq) VALUES ($2, $3, $4) RETURNING id) \
     SELECT w.id, pg_try_advisory_lock($1, (w.id % 2147483648)::int), ",
    ahead!("$4"),
    " FROM w"
);

/// A run's place in line, as the insertion of its event gave it.
pub(super) struct Entered {
    pub(super) seq: u64,
    pub(super) place: i64,
    pub(super) locked: bool,
    pub(super) ahead: Vec<(KeptId, u32)>,
}

/// The events ahead, from the two arrays at `at` and `at + 1` of `row`.
pub(super) fn ahead_of(row: &Row, at: usize) -> Result<Vec<(KeptId, u32)>, StateError> {
    let err = db_err("keep the event in the database");
    let uids: Vec<String> = row.try_get(at).map_err(&err)?;
    let attempts: Vec<i32> = row.try_get(at + 1).map_err(&err)?;
    Ok(uids
        .into_iter()
        .map(KeptId::new)
        .zip(attempts.into_iter().map(|a| u32::try_from(a).unwrap_or(0)))
        .collect())
}

/// An event kept by a run to be inserted: its id, event, GLPI, and what an
/// import carries over.
pub(super) struct NewKept<'a> {
    pub(super) uid: &'a str,
    pub(super) event: &'a Event,
    pub(super) glpi: Option<&'a GlpiId>,
    pub(super) attempts: u32,
    pub(super) last_error: Option<&'a str>,
    pub(super) failure: Option<Failure>,
}

impl NewKept<'_> {
    /// Inserts it (see [`INSERT_KEPT`]); `None` when its id was inserted
    /// before.
    pub(super) async fn insert(&self, conn: &Conn) -> Result<Option<u64>, StateError> {
        let attempts = i32::try_from(self.attempts).unwrap_or(i32::MAX);
        let failure = self.failure.map(Json);
        let glpi = self.glpi.map(GlpiId::as_str);
        let row = conn
            .opt(
                "keep the event in the database",
                INSERT_KEPT,
                &[
                    (&self.uid, Type::TEXT),
                    (&self.event.key.node, Type::TEXT),
                    (&self.event.key.service, Type::TEXT),
                    (&glpi, Type::TEXT),
                    (&Json(self.event), Type::JSONB),
                    (&attempts, Type::INT4),
                    (&self.last_error, Type::TEXT),
                    (&failure, Type::JSONB),
                ],
            )
            .await?;
        Ok(row
            .and_then(|r| r.try_get::<_, i64>(0).ok())
            .map(|seq| u64::try_from(seq).unwrap_or(0)))
    }

    /// Inserts this run's own event and its place in line (see
    /// [`INSERT_KEPT_IN_LINE`]); `None` when its id was inserted before.
    pub(super) async fn insert_in_line(&self, conn: &Conn) -> Result<Option<Entered>, StateError> {
        let (none, zero): (Option<&str>, i32) = (None, 0);
        let no_failure: Option<Json<Failure>> = None;
        let glpi = self.glpi.map(GlpiId::as_str);
        let row = conn
            .opt(
                "keep the event in the database",
                INSERT_KEPT_IN_LINE,
                &[
                    (&self.uid, Type::TEXT),
                    (&self.event.key.node, Type::TEXT),
                    (&self.event.key.service, Type::TEXT),
                    (&glpi, Type::TEXT),
                    (&Json(self.event), Type::JSONB),
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
            Ok(Entered {
                seq: u64::try_from(seq).unwrap_or(0),
                place: r.try_get(1).map_err(&err)?,
                locked: r.try_get(2).map_err(&err)?,
                ahead: ahead_of(&r, 3)?,
            })
        })
        .transpose()
    }
}

/// A record as read from `records` (with the key's intent beside it).
pub(super) fn record_of(row: &Row, at: usize, key: &Key) -> Result<Option<Record>, String> {
    match row.try_get::<_, Option<Json<Record>>>(at) {
        Ok(None) => Ok(None),
        Ok(Some(Json(record))) if record.key == *key => Ok(Some(record)),
        Ok(Some(_)) | Err(_) => Err("the record cannot be read by this version".to_owned()),
    }
}

/// The record of `key` in `row`: found, missing, or corrupt (then set aside).
pub(super) async fn load_of(
    conn: &Conn,
    row: Option<&Row>,
    key: &Key,
) -> Result<RecordLoad, StateError> {
    match row.map(|r| record_of(r, 0, key)).transpose() {
        Ok(None | Some(None)) => Ok(RecordLoad::Missing),
        Ok(Some(Some(record))) => Ok(RecordLoad::Found(record)),
        Err(reason) => {
            let kept_as = set_aside(conn, Table::Records, key, &reason)
                .await?
                .join(", ");
            tracing::error!("the record of {key} is corrupt; kept as {kept_as}");
            Ok(RecordLoad::Corrupt { kept_as, reason })
        }
    }
}

/// The tables whose rows are set aside whole.
#[derive(Debug, Clone, Copy)]
pub(super) enum Table {
    Records,
    Intents,
}

/// Sets the row of `key` in `table` aside into `dropped_<table>`; where
/// it went.
pub(super) async fn set_aside(
    conn: &Conn,
    table: Table,
    key: &Key,
    reason: &str,
) -> Result<Vec<String>, StateError> {
    let (column, from) = match table {
        Table::Records => ("record", "records"),
        Table::Intents => ("intent", "intents"),
    };
    let sql = format!(
        "WITH gone AS (DELETE FROM {from} WHERE node = $1 AND service = $2 \
             RETURNING node, service, {column}) \
         INSERT INTO dropped_{from} (node, service, {column}, reason) \
         SELECT node, service, {column}, $3 FROM gone RETURNING id"
    );
    let [node, service] = key_params(key);
    let rows = conn
        .rows(
            "set a row aside",
            &sql,
            &[node, service, (&reason, Type::TEXT)],
        )
        .await?;
    Ok(dropped("dropped_", from, &rows))
}

/// Moves kept events of `key` (one, or all) into `dropped_kept`.
pub(super) async fn drop_kept(
    conn: &Conn,
    uid: Option<&str>,
    key: &Key,
    reason: &str,
) -> Result<Vec<String>, StateError> {
    let [node, service] = key_params(key);
    let rows = conn
        .rows(
            "set kept events aside",
            &format!(
                "WITH gone AS (DELETE FROM kept WHERE node = $1 AND service = $2 \
                     AND ($3::text IS NULL OR uid = $3) RETURNING *) \
                 INSERT INTO dropped_kept ({KEPT_COLUMNS}, kept_at, reason) \
                 SELECT {KEPT_COLUMNS}, kept_at, $4 FROM gone ORDER BY seq \
                 RETURNING id"
            ),
            &[node, service, (&uid, Type::TEXT), (&reason, Type::TEXT)],
        )
        .await?;
    Ok(dropped("dropped_", "kept", &rows))
}

/// Where rows set aside went, for people.
fn dropped(prefix: &str, table: &str, rows: &[Row]) -> Vec<String> {
    rows.iter()
        .filter_map(|r| r.try_get::<_, i64>(0).ok())
        .map(|id| format!("database table {prefix}{table} id {id}"))
        .collect()
}

/// The kept events of `key` among `rows` (in order); a row that cannot be
/// read is set aside and reported.
pub(super) async fn kept_rows(
    conn: &Conn,
    rows: &[Row],
    key: &Key,
) -> Result<Vec<Kept>, StateError> {
    let action = "read the kept events";
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        match kept_of(row) {
            Ok(kept) => out.push(kept),
            Err(reason) => {
                let uid: String = row.try_get("uid").map_err(db_err(action))?;
                let ids = drop_kept(conn, Some(&uid), key, &reason).await?;
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
