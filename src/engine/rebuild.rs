//! `state rebuild`: recreate lost records from GLPI — the open tickets that
//! carry an esia-glpi marker and were written by the API user. A key that
//! already has a record keeps it; several open tickets for one key: the
//! oldest is recorded and the others named in a warning. On GLPI 11 the
//! recorded tickets that have no `externalid` (opened before the upgrade)
//! are given the key's, so that a lost record finds them by identity.

use serde::Serialize;

use crate::core::{Key, Record, Remote, State};
use crate::glpi::{Api, Mark, MarkedTicket, Session};
use crate::state::{Held, RecordLoad, Store};
use crate::text;

use super::api::Engine;
use super::context::glpi_client;
use super::error::EngineError;
use super::lookup::major;
use super::order;

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
    pub(crate) async fn rebuild(&self) -> Result<Vec<Rebuilt>, EngineError> {
        let glpi = glpi_client(self.ctx.config, &self.ctx.cache)?;
        let session = glpi.open().await?;
        let found = async {
            let me = session.me().await?;
            session
                .open_marked_tickets(Mark::Description(text::MARKER_PREFIX), me.id)
                .await
        }
        .await;
        let rebuilt = async {
            let mut lines: Vec<Rebuilt> = Vec::new();
            for ticket in found? {
                if let Some(line) = self.rebuild_one(ticket, &lines).await? {
                    lines.push(line);
                }
            }
            if is_glpi11(&session).await {
                stamp_identities(&session, &lines).await;
            }
            Ok(lines)
        }
        .await;
        session.close().await;
        rebuilt
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
            ..
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
        let mut held = order::hold(self.ctx.store, &key, self.ctx.config.lock_timeout).await?;
        let outcome = match held.load_record().await? {
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
                held.save_record(&Record {
                    key: key.clone(),
                    glpi: Some(self.ctx.glpi().clone()),
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

/// Whether GLPI is 11 or later: implied by the high-level API, else asked.
async fn is_glpi11(session: &Session<'_>) -> bool {
    session.api() == Api::V2
        || session
            .glpi_config()
            .await
            .ok()
            .and_then(|c| c.version)
            .and_then(|v| major(&v))
            .is_some_and(|m| m >= 11)
}

/// On GLPI 11, the recorded tickets opened before the upgrade get the key's
/// `externalid`, so that a lost record finds them by identity (README,
/// "GLPI 11 and externalid"). Failures are logged, never fatal.
async fn stamp_identities(session: &Session<'_>, lines: &[Rebuilt]) {
    for line in lines.iter().filter(|l| l.outcome != "conflict") {
        let (key, id) = (&line.key, line.ticket_id);
        match session.ticket(id).await {
            Ok(t) if t.external_id.is_none() && t.status == Remote::Open => {
                match session.set_external_id(id, &text::external_id(key)).await {
                    Ok(()) => tracing::info!("{key}: ticket {id} given its externalid"),
                    Err(e) => tracing::warn!("{key}: ticket {id} not given its externalid: {e}"),
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("{key}: ticket {id} not read back: {e}"),
        }
    }
}
