//! The administration of the state database: `state migrate` (create or
//! upgrade the schema) and `state import` (copy a state directory's
//! records, kept events in order and creation intents into the database,
//! one key at a time, the key held on both sides).

use serde::Serialize;
use tokio_postgres::types::{Json, Type};

use super::conn::within;
use super::held::PgHeld;
use super::rows::NewKept;
use super::{PgStore, connect, schema};
use crate::core::Record;
use crate::state::StateError;
use crate::state::files::FileHeld;
use crate::state::outbox::hex;
use crate::state::store::{Held, Intent, Kept, Pending, RecordLoad};

/// What became of a key's record in `state import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RecordImport {
    Imported,
    /// The database's record was kept; the local one stays in place.
    InDatabase,
    /// There was none (or it could not be read).
    None,
}

/// What `state import` did for one key.
#[derive(Debug)]
pub(crate) struct Imported {
    pub(crate) record: RecordImport,
    /// Kept events appended to the key's queue in the database.
    pub(crate) events: usize,
    pub(crate) intent: bool,
    /// Where the imported local files were moved.
    pub(crate) moved_to: Vec<String>,
}

impl PgStore {
    /// `state migrate`: the schema's version before and after.
    pub(crate) async fn migrate(&self) -> Result<(i32, i32), StateError> {
        let mut client = connect::connect(&self.settings).await?;
        let versions = within(
            self.settings.request_timeout,
            "migrate the schema",
            schema::migrate(&mut client),
        )
        .await?;
        // The first use also moves the outbox and prunes what expired.
        self.prune().await?;
        Ok(versions)
    }
}

impl PgHeld {
    /// Imports the key `from` holds in the state directory into the
    /// database (this handle holds it there); moves what was imported to
    /// `imported/`.
    pub(crate) async fn import_from(
        &mut self,
        from: &mut FileHeld,
    ) -> Result<Imported, StateError> {
        let record = match from.load_record().await? {
            RecordLoad::Found(r) => {
                if self.insert_record_if_absent(&r).await? {
                    RecordImport::Imported
                } else {
                    RecordImport::InDatabase
                }
            }
            RecordLoad::Missing | RecordLoad::Corrupt { .. } => RecordImport::None,
        };
        let mut events = 0;
        for kept in from.queue().await?.kept {
            if self.import_kept(&kept).await? {
                events += 1;
            }
        }
        let intent = match from.read_intent().await? {
            Some(Pending::Intent(i)) => self.insert_intent_if_absent(&i).await?,
            Some(Pending::Unreadable) | None => false,
        };
        let moved_to = from.set_aside("imported", record != RecordImport::InDatabase)?;
        Ok(Imported {
            record,
            events,
            intent,
            moved_to,
        })
    }

    /// Inserts a record unless the key has one; true when inserted.
    async fn insert_record_if_absent(&self, record: &Record) -> Result<bool, StateError> {
        let ticket = i64::try_from(record.ticket_id).unwrap_or(i64::MAX);
        let row = self
            .conn
            .opt(
                "import a record",
                "INSERT INTO records (node, service, ticket_id, record) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (node, service) DO NOTHING \
                 RETURNING 1",
                &[
                    (&record.key.node, Type::TEXT),
                    (&record.key.service, Type::TEXT),
                    (&ticket, Type::INT8),
                    (&Json(record), Type::JSONB),
                ],
            )
            .await?;
        Ok(row.is_some())
    }

    /// Inserts an intent unless the key has one; true when inserted.
    async fn insert_intent_if_absent(&self, intent: &Intent) -> Result<bool, StateError> {
        let row = self
            .conn
            .opt(
                "import an intent",
                "INSERT INTO intents (node, service, intent) VALUES ($1, $2, $3) \
                 ON CONFLICT (node, service) DO NOTHING RETURNING 1",
                &[
                    (&intent.key.node, Type::TEXT),
                    (&intent.key.service, Type::TEXT),
                    (&Json(intent), Type::JSONB),
                ],
            )
            .await?;
        Ok(row.is_some())
    }

    /// Appends a kept event of the files backend to its key's queue; true
    /// when inserted. Its id is a digest of its key and file: importing
    /// again after an interruption never doubles an event.
    async fn import_kept(&self, kept: &Kept) -> Result<bool, StateError> {
        let mut digest = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        let key = &kept.event.key;
        for part in [
            key.node.as_bytes(),
            &[0],
            key.service.as_bytes(),
            &[0],
            kept.id.as_str().as_bytes(),
        ] {
            digest.update(part);
        }
        let uid = format!("import-{}", hex(&digest.finish().as_ref()[..16]));
        let inserted = NewKept {
            uid: &uid,
            event: &kept.event,
            glpi: kept.glpi.as_ref(),
            attempts: kept.attempts,
            last_error: kept.last_error.as_deref(),
            failure: kept.failure,
        }
        .insert(&self.conn)
        .await?;
        Ok(inserted.is_some())
    }
}
