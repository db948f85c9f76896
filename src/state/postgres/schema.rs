//! The schema of the state database: an ordered list of migrations, each
//! applied once, the version kept in `esia_glpi_schema`. Every run checks
//! the version on connecting (one query); the first run after an upgrade
//! (or `state migrate`) applies what is missing, under an advisory lock so
//! that two runs never migrate at once.

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;

use super::connect::db_err;
use crate::state::StateError;

/// First key of the advisory lock taken while migrating the schema.
pub(super) const NS_MIGRATE: i32 = 0x4547_4C03;

/// The migrations, in order: version `i + 1` is `MIGRATIONS[i]`. Never
/// edit one that shipped; add the next.
pub(super) const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The tables the program reads and writes (rights checked by `check`).
pub(super) const TABLES: [&str; 14] = [
    "esia_glpi_schema",
    "records",
    "keys",
    "event_ids",
    "kept",
    "receipts",
    "intents",
    "waiting",
    "dropped_records",
    "dropped_kept",
    "dropped_intents",
    "traces",
    "inventory",
    "inventory_tickets",
];

/// The schema version this program writes.
pub(super) fn latest() -> i32 {
    i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX)
}

/// Version 1: records, kept events (per-key order in `seq`), receipts,
/// creation intents, the line of waiting runs, and what `state forget` or
/// a corrupt row set aside.
const V1: &str = "
CREATE TABLE records (
    node text NOT NULL,
    service text NOT NULL,
    ticket_id bigint NOT NULL,
    record jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node, service)
);
CREATE TABLE keys (
    node text NOT NULL,
    service text NOT NULL,
    last_seq bigint NOT NULL DEFAULT 0,
    last_engine_id bigint,
    PRIMARY KEY (node, service)
);
CREATE TABLE event_ids (
    uid text PRIMARY KEY,
    node text NOT NULL,
    service text NOT NULL,
    seq bigint NOT NULL,
    kept_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_ids_kept_at ON event_ids (kept_at);
CREATE TABLE kept (
    uid text PRIMARY KEY,
    node text NOT NULL,
    service text NOT NULL,
    seq bigint NOT NULL,
    glpi text,
    event jsonb NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    failure jsonb,
    kept_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (node, service, seq)
);
CREATE TABLE receipts (
    uid text PRIMARY KEY,
    outcome jsonb NOT NULL,
    delivered_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX receipts_delivered_at ON receipts (delivered_at);
CREATE TABLE intents (
    node text NOT NULL,
    service text NOT NULL,
    intent jsonb NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node, service)
);
CREATE TABLE waiting (
    id bigserial PRIMARY KEY,
    node text NOT NULL,
    service text NOT NULL,
    seq bigint NOT NULL,
    since timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX waiting_key ON waiting (node, service, seq);
CREATE TABLE dropped_records (
    id bigserial PRIMARY KEY,
    node text NOT NULL,
    service text NOT NULL,
    record jsonb NOT NULL,
    reason text NOT NULL,
    dropped_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE dropped_kept (
    id bigserial PRIMARY KEY,
    uid text NOT NULL,
    node text NOT NULL,
    service text NOT NULL,
    seq bigint NOT NULL,
    glpi text,
    event jsonb NOT NULL,
    attempts integer NOT NULL,
    last_error text,
    failure jsonb,
    kept_at timestamptz NOT NULL,
    reason text NOT NULL,
    dropped_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE dropped_intents (
    id bigserial PRIMARY KEY,
    node text NOT NULL,
    service text NOT NULL,
    intent jsonb NOT NULL,
    reason text NOT NULL,
    dropped_at timestamptz NOT NULL DEFAULT now()
);
";

/// Version 2: when a kept event's follow-up was about to be sent to GLPI
/// (`started_at`, NULL until then): a run that retries it reads the
/// ticket's follow-ups first, so that a follow-up GLPI took is not written
/// twice.
const V2: &str = "
ALTER TABLE kept ADD COLUMN started_at timestamptz;
ALTER TABLE dropped_kept ADD COLUMN started_at timestamptz;
";

/// Version 3: what the state knows of GLPI's open tickets beside the
/// records (`core::knowledge`): each key's trace (the last ticket recorded
/// and whether it was open), and the inventory of each GLPI (when it was
/// taken, what it listed, and what identifies this database, so that a
/// restored or copied one is not trusted).
const V3: &str = "
CREATE TABLE traces (
    node text NOT NULL,
    service text NOT NULL,
    glpi text NOT NULL,
    ticket_id bigint NOT NULL,
    open boolean NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node, service)
);
CREATE TABLE inventory (
    glpi text PRIMARY KEY,
    taken_at timestamptz NOT NULL,
    system_identifier text NOT NULL,
    timeline integer NOT NULL,
    db_oid oid NOT NULL,
    records_oid oid NOT NULL
);
CREATE TABLE inventory_tickets (
    glpi text NOT NULL,
    node text NOT NULL,
    service text NOT NULL,
    ticket_id bigint NOT NULL,
    PRIMARY KEY (glpi, node, service)
);
";

/// The schema's version, `0` when the database has none yet.
pub(super) async fn version(client: &Client) -> Result<i32, StateError> {
    // Typed (no parameters): one round trip, no statement prepared first.
    match client
        .query_typed_opt("SELECT version FROM esia_glpi_schema", &[])
        .await
    {
        Ok(row) => Ok(row
            .map_or(Ok(0), |r| r.try_get(0))
            .map_err(db_err("read the schema version"))?),
        Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(0),
        Err(e) => Err(db_err("read the schema version")(e)),
    }
}

/// The first answer of a new connection: the schema's version and the
/// server session the connection reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Hello {
    pub(super) version: i32,
    pub(super) backend_pid: i32,
}

/// The schema's version and the session's process id, read together with
/// `nonce` echoed back: `Ok(None)` when the answer is not this statement's
/// — the connection is out of step, as when a pooler hands over a server
/// connection whose previous client left with a statement unanswered. The
/// same statement marks the server session as this run's (`esia_glpi.run`,
/// see `conn.rs`): the echo is the mark's new value.
pub(super) async fn hello(client: &Client, nonce: &str) -> Result<Option<Hello>, StateError> {
    let ask = |sql: &'static str| async move {
        client.query_typed_opt(sql, &[(&nonce, Type::TEXT)]).await
    };
    let mut answer = ask(
        "SELECT set_config('esia_glpi.run', $1::text, false), pg_backend_pid(), \
         (SELECT max(version) FROM esia_glpi_schema)",
    )
    .await;
    if answer
        .as_ref()
        .is_err_and(|e| e.code() == Some(&SqlState::UNDEFINED_TABLE))
    {
        // No schema yet: the session's id alone, the session marked too.
        answer =
            ask("SELECT set_config('esia_glpi.run', $1::text, false), pg_backend_pid(), 0").await;
    }
    let row = match answer {
        Ok(row) => row,
        Err(e) if e.as_db_error().is_some() => return Err(db_err("read the schema version")(e)),
        // Not the server's error about this statement: an answer out of
        // step (an unexpected message, a column of another type).
        Err(_) => None,
    };
    Ok(row.and_then(|row| {
        let echoed = row.try_get::<_, String>(0).ok()?;
        let backend_pid = row.try_get::<_, i32>(1).ok()?;
        let version = row.try_get::<_, Option<i32>>(2).ok()?;
        (echoed == nonce).then_some(Hello {
            version: version.unwrap_or(0),
            backend_pid,
        })
    }))
}

/// Brings the schema to [`latest`]; returns the versions before and after.
pub(super) async fn migrate(client: &mut Client) -> Result<(i32, i32), StateError> {
    let before = version(client).await?;
    let known = latest();
    if before > known {
        return Err(StateError::SchemaTooNew {
            found: before,
            known,
            kept_locally: None,
        });
    }
    if before == known {
        return Ok((before, known));
    }
    let err = db_err("migrate the schema");
    let tx = client.transaction().await.map_err(&err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&NS_MIGRATE])
        .await
        .map_err(&err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS esia_glpi_schema (
             version integer NOT NULL,
             migrated_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(&err)?;
    // Another run may have migrated while this one waited for the lock.
    let current: i32 = match tx
        .query_opt("SELECT version FROM esia_glpi_schema", &[])
        .await
        .map_err(&err)?
    {
        Some(row) => row.try_get(0).map_err(&err)?,
        None => {
            tx.execute("INSERT INTO esia_glpi_schema (version) VALUES (0)", &[])
                .await
                .map_err(&err)?;
            0
        }
    };
    if current > known {
        return Err(StateError::SchemaTooNew {
            found: current,
            known,
            kept_locally: None,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
        if version <= current {
            continue;
        }
        tx.batch_execute(sql).await.map_err(&err)?;
        tx.execute(
            "UPDATE esia_glpi_schema SET version = $1, migrated_at = now()",
            &[&version],
        )
        .await
        .map_err(&err)?;
        tracing::info!("state database: schema migrated to version {version}");
    }
    tx.commit().await.map_err(&err)?;
    Ok((before, known))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_ordered_and_each_creates_something() {
        assert_eq!(latest(), 3);
        for sql in MIGRATIONS {
            assert!(sql.contains("CREATE") || sql.contains("ALTER"), "{sql}");
            // A migration never drops what holds state.
            assert!(!sql.to_ascii_uppercase().contains("DROP TABLE"), "{sql}");
        }
        // Every table the store reads or writes exists in the schema.
        let all = MIGRATIONS.concat();
        for table in &TABLES[1..] {
            assert!(all.contains(&format!("CREATE TABLE {table} (")), "{table}");
        }
    }
}
