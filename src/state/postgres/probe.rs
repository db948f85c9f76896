//! What `check` reports of the state database ([`probe`]), without
//! changing it nor touching the state directory: reached (else the error),
//! the schema's version, the rights the program needs, and whether a run's
//! key lock would hold (a lock taken in a session of the connection's own).

use tokio_postgres::Client;

use super::conn::within;
use super::connect::{self, PgSettings, db_err};
use super::rows::{NS_HOLD, key_hash};
use super::schema;
use crate::core::Key;
use crate::state::StateError;

/// What [`probe`] found.
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

/// What `check` reports of the database: see the module's documentation.
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
