//! `state rebuild`: recreate lost records from GLPI — the open tickets that
//! carry an esia-glpi marker and were written by the API user. A key that
//! already has a record keeps it; several open tickets for one key: the
//! oldest is recorded and the others named in a warning.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Globals, glpi_settings};
use crate::error::Error;
use crate::event::{Key, State};
use crate::glpi::{Client, MarkedTicket};
use crate::output;
use crate::state::{RecordLoad, StateDir, TicketRecord};
use crate::text;

#[derive(Debug, Serialize)]
struct Rebuilt {
    node: String,
    service: String,
    ticket_id: u64,
    /// `recorded`, `kept` (a record already named it) or `conflict`.
    outcome: &'static str,
}

pub(crate) fn run(globals: &Globals) -> Result<(), Error> {
    let config = globals.load_config()?;
    let dir = StateDir::open(globals.state_root(&config))?;
    let client = Client::new(glpi_settings(&config))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let found = runtime.block_on(async {
        let session = client.open().await?;
        let result = async {
            let me = session.me().await?;
            session
                .find_marked_tickets(text::MARKER_PREFIX, me.id)
                .await
        }
        .await;
        session.close().await;
        result
    })?;
    let mut lines: Vec<Rebuilt> = Vec::new();
    let mut seen: Vec<Key> = Vec::new();
    for MarkedTicket {
        id: ticket_id,
        priority,
        content,
    } in found
    {
        let Some(key) = text::parse_marker(&content) else {
            tracing::warn!("ticket {ticket_id} carries an unreadable esia-glpi marker: skipped");
            continue;
        };
        if seen.contains(&key) {
            tracing::warn!(
                "{key}: ticket {ticket_id} is a second open ticket for this key: not recorded"
            );
            lines.push(line(&key, ticket_id, "conflict"));
            continue;
        }
        seen.push(key.clone());
        let _lock = dir.lock(&key, config.lock_timeout)?;
        let outcome = match dir.load_record(&key)? {
            RecordLoad::Found(r) if r.ticket_id == ticket_id => "kept",
            RecordLoad::Found(r) => {
                tracing::warn!(
                    "{key}: the local record names ticket {} while ticket {ticket_id} is open in GLPI: record kept",
                    r.ticket_id
                );
                "conflict"
            }
            RecordLoad::Missing | RecordLoad::Corrupt { .. } => {
                let now = jiff::Timestamp::now();
                dir.save_record(&TicketRecord {
                    schema: crate::state::SCHEMA,
                    node: key.node.clone(),
                    service: key.service.clone(),
                    ticket_id,
                    state: State::Unknown,
                    output: String::new(),
                    priority,
                    acked: false,
                    opened_at: now,
                    updated_at: now,
                    rebuilt: true,
                })?;
                "recorded"
            }
        };
        lines.push(line(&key, ticket_id, outcome));
    }
    let recorded = lines.iter().filter(|l| l.outcome == "recorded").count();
    let mut text = format!(
        "{} open ticket(s) carry a marker; {recorded} record(s) rebuilt",
        lines.len()
    );
    for l in &lines {
        let key = Key {
            node: l.node.clone(),
            service: l.service.clone(),
        };
        let _ = write!(
            text,
            "\n  {} ticket {} {}",
            output::sanitize(&key.to_string()),
            l.ticket_id,
            l.outcome
        );
    }
    output::text(globals.json, &lines, &text);
    Ok(())
}

fn line(key: &Key, ticket_id: u64, outcome: &'static str) -> Rebuilt {
    Rebuilt {
        node: key.node.clone(),
        service: key.service.clone(),
        ticket_id,
        outcome,
    }
}
