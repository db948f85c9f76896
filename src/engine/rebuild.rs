//! `state rebuild`: recreate lost records from GLPI — the open tickets that
//! carry an esia-glpi marker and were written by the API user. A key that
//! already has a record keeps it; several open tickets for one key: the
//! oldest is recorded and the others named in a warning.

use serde::Serialize;

use crate::core::{Key, Record, State};
use crate::glpi::MarkedTicket;
use crate::state::{RecordLoad, Store};
use crate::text;

use super::api::Engine;
use super::context::glpi_client;
use super::error::EngineError;

/// What became of one open ticket that carries a marker.
#[derive(Debug, Serialize)]
pub(crate) struct Rebuilt {
    #[serde(flatten)]
    pub(crate) key: Key,
    pub(crate) ticket_id: u64,
    /// `recorded`, `kept` (a record already named it) or `conflict`.
    pub(crate) outcome: &'static str,
}

impl<S: Store> Engine<'_, S> {
    /// Records every open ticket of the API user that carries a marker and
    /// whose key has no record.
    pub(crate) fn rebuild(&self) -> Result<Vec<Rebuilt>, EngineError> {
        let glpi = glpi_client(self.ctx.config, &self.ctx.cache)?;
        self.runtime.block_on(async {
            let session = glpi.open().await?;
            let found = async {
                let me = session.me().await?;
                session
                    .find_marked_tickets(text::MARKER_PREFIX, me.id)
                    .await
            }
            .await;
            session.close().await;
            let mut lines: Vec<Rebuilt> = Vec::new();
            for ticket in found? {
                if let Some(line) = self.rebuild_one(ticket, &lines).await? {
                    lines.push(line);
                }
            }
            Ok(lines)
        })
    }

    /// The record of one marked ticket, unless its marker is unreadable.
    async fn rebuild_one(
        &self,
        ticket: MarkedTicket,
        seen: &[Rebuilt],
    ) -> Result<Option<Rebuilt>, EngineError> {
        let MarkedTicket {
            id: ticket_id,
            priority,
            content,
        } = ticket;
        let Some(key) = text::parse_marker(&content) else {
            tracing::warn!("ticket {ticket_id} carries an unreadable esia-glpi marker: skipped");
            return Ok(None);
        };
        let line = |outcome| {
            Some(Rebuilt {
                key: key.clone(),
                ticket_id,
                outcome,
            })
        };
        if seen.iter().any(|l| l.key == key) {
            tracing::warn!(
                "{key}: ticket {ticket_id} is a second open ticket for this key: not recorded"
            );
            return Ok(line("conflict"));
        }
        let _hold = self
            .ctx
            .store
            .hold(&key, self.ctx.config.lock_timeout)
            .await?;
        let outcome = match self.ctx.store.load_record(&key).await? {
            RecordLoad::Found(r) if r.ticket_id == ticket_id => "kept",
            RecordLoad::Found(r) => {
                tracing::warn!(
                    "{key}: the local record names ticket {} while ticket {ticket_id} is open in GLPI: record kept",
                    r.ticket_id
                );
                "conflict"
            }
            RecordLoad::Missing | RecordLoad::Corrupt { .. } => {
                let now = self.ctx.clock.now();
                self.ctx
                    .store
                    .save_record(&Record {
                        key: key.clone(),
                        glpi: Some(self.ctx.glpi.clone()),
                        ticket_id,
                        state: State::Unknown,
                        output: String::new(),
                        priority,
                        acked: false,
                        opened_at: now,
                        updated_at: now,
                        rebuilt: true,
                    })
                    .await?;
                "recorded"
            }
        };
        Ok(line(outcome))
    }
}
