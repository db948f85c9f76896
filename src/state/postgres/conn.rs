//! The run's one connection to the state database ([`Conn`]): opened in
//! step (its first answer is its own), the server session it reached, the
//! run's own mark in that session, one statement at a time bounded by the
//! configuration's `timeout`, and the statements sent in the background
//! when a hold or a place in line is dropped.
//!
//! Each statement is sent with its parameters' types (`query_typed`): one
//! round trip, where preparing it first takes two.
//!
//! **The lock must be the run's own.** A key is held by a session advisory
//! lock, which means something only if the run's statements reach one
//! server session that no other client uses. Two checks, on every lock
//! statement: the server session is still the one the connection reached
//! first ([`Conn::same_session`]: a pooler in transaction or statement mode
//! spreads one client's statements over several sessions), and the
//! session still carries this run's mark, `esia_glpi.run`, set by its first
//! statement (another client sharing the session — a pooler with one server
//! session — has set its own). And a lock is taken only if the session does
//! not hold it already: advisory locks are re-entrant, and a session shared
//! with another run would "take" that run's lock again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row};

use super::connect::{self, PgSettings, db_err};
use super::schema;
use crate::state::StateError;

/// A statement's parameter with its type (`query_typed`: one round trip).
pub(super) type Param<'a> = (&'a (dyn ToSql + Sync), Type);

/// The run's connection.
pub(super) struct Conn {
    client: Client,
    /// The server session (process id) the connection reached first.
    backend_pid: i32,
    /// This run's mark in its server session (`esia_glpi.run`).
    pub(super) nonce: String,
    /// The longest one statement may take (the configuration's `timeout`).
    timeout: Duration,
    /// Statements sent in the background (unlocks on drop), awaited by
    /// [`Conn::finish`]: a connection closed with a statement in flight is
    /// one a pooler may hand to the next run with that statement's answer
    /// still unread.
    background: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("backend_pid", &self.backend_pid)
            .finish_non_exhaustive()
    }
}

/// `op`, or a [`StateError::Database`] timeout after `limit`.
pub(super) async fn within<T>(
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

/// What a fresh connection's first statement found: the schema's version.
pub(super) struct Opened {
    pub(super) conn: Conn,
    pub(super) version: i32,
}

impl Conn {
    /// A new connection whose first answer is its own: a connection out of
    /// step (see [`schema::hello`]) is dropped and another one opened, once.
    /// The first statement also marks the server session as this run's.
    pub(super) async fn open(settings: &PgSettings) -> Result<Opened, StateError> {
        let nonce = crate::state::outbox::new_uid()?;
        let timeout = settings.request_timeout;
        let mut tries = 0;
        loop {
            tries += 1;
            let client = connect::connect(settings).await?;
            let hello = within(
                timeout,
                "read the schema version",
                schema::hello(&client, &nonce),
            )
            .await?;
            match hello {
                Some(hello) => {
                    return Ok(Opened {
                        conn: Conn {
                            client,
                            backend_pid: hello.backend_pid,
                            nonce,
                            timeout,
                            background: Mutex::default(),
                        },
                        version: hello.version,
                    });
                }
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

    /// The client, for what needs it whole (a migration's transaction).
    pub(super) fn client_mut(&mut self) -> &mut Client {
        &mut self.client
    }

    /// An error unless a lock statement ran in this run's own server
    /// session: the session the connection reached first (`pid`), still
    /// carrying this run's mark (`own`) — see the module's documentation.
    pub(super) fn same_session(&self, pid: i32, own: bool) -> Result<(), StateError> {
        let reason = if pid != self.backend_pid {
            format!(
                "the run's statements reached two database sessions (server processes {} and \
                 {pid}): a connection pooler in transaction or statement mode is in the way",
                self.backend_pid
            )
        } else if !own {
            "the run's database session is shared with another client (a connection pooler in \
             transaction or statement mode is in the way), so a lock in it would not be this \
             run's own"
                .to_owned()
        } else {
            return Ok(());
        };
        Err(StateError::Database {
            action: "lock the node and service",
            reason: format!(
                "{reason}; runs need one session each (PgBouncer: pool_mode = session), or \
                 connect to PostgreSQL directly"
            ),
            kept_locally: None,
        })
    }

    /// Bounds one operation by the configuration's `timeout`.
    pub(super) async fn timed<T>(
        &self,
        action: &'static str,
        op: impl Future<Output = Result<T, StateError>>,
    ) -> Result<T, StateError> {
        within(self.timeout, action, op).await
    }

    /// One statement: its rows.
    pub(super) async fn rows(
        &self,
        action: &'static str,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<Row>, StateError> {
        self.timed(action, async {
            self.client
                .query_typed(sql, params)
                .await
                .map_err(db_err(action))
        })
        .await
    }

    /// One statement: its row, if any.
    pub(super) async fn opt(
        &self,
        action: &'static str,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<Row>, StateError> {
        self.timed(action, async {
            self.client
                .query_typed_opt(sql, params)
                .await
                .map_err(db_err(action))
        })
        .await
    }

    /// One statement: its one row.
    pub(super) async fn one(
        &self,
        action: &'static str,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Row, StateError> {
        self.timed(action, async {
            self.client
                .query_typed_one(sql, params)
                .await
                .map_err(db_err(action))
        })
        .await
    }

    /// One statement, for what it changes.
    pub(super) async fn exec(
        &self,
        action: &'static str,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<(), StateError> {
        self.timed(action, async {
            self.client
                .execute_typed(sql, params)
                .await
                .map(|_| ())
                .map_err(db_err(action))
        })
        .await
    }

    /// Statements without parameters, for what they change.
    pub(super) async fn batch(&self, action: &'static str, sql: &str) -> Result<(), StateError> {
        self.timed(action, async {
            self.client.batch_execute(sql).await.map_err(db_err(action))
        })
        .await
    }

    /// Sends `sql` in the background (from a `Drop`), awaited by
    /// [`Conn::finish`].
    pub(super) fn in_background(self: &Arc<Conn>, sql: String) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let conn = Arc::clone(self);
        let handle = runtime.spawn(async move {
            let _ = conn.client.batch_execute(&sql).await;
        });
        if let Ok(mut tasks) = self.background.lock() {
            tasks.push(handle);
        }
    }

    /// Waits for the statements sent in the background.
    pub(super) async fn finish(&self) {
        let tasks = match self.background.lock() {
            Ok(mut tasks) => std::mem::take(&mut *tasks),
            Err(_) => return,
        };
        for task in tasks {
            if tokio::time::timeout(self.timeout, task).await.is_err() {
                tracing::warn!("state database: an unlock got no answer in time");
            }
        }
    }
}
