//! Ticket creation, and the reconciliation of creations whose answer was
//! lost.
//!
//! A creation is preceded by an intent (kept by the store). If its answer is
//! lost (timeout, reset, crash), the same run and every later run first look
//! for the ticket by its marker and adopt it, so a retry never opens a second
//! ticket.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::Config;
use crate::core::{Event, Record, Remote, State};
use crate::glpi::{GlpiError, NewTicket};
use crate::state::{Held, Intent, Store};
use crate::text::{self, TicketText};

use super::deliver::Run;
use super::error::EngineError;

/// The title and content of a new ticket for `event` (`previous_state`: the
/// recorded one; `replaces`: the ticket a human closed), an unknown template
/// variable warned about. Also what `render` shows.
pub(crate) fn ticket_texts(
    config: &Config,
    event: &Event,
    previous_state: Option<State>,
    replaces: Option<(u64, Remote)>,
    date: &str,
) -> TicketText {
    let vars = text::vars(event, previous_state, date, config.lang);
    let texts = text::ticket(
        &config.tpl_title,
        config.tpl_content.as_deref(),
        &vars,
        config.lang,
        replaces,
        &event.key,
    );
    for name in &texts.unknown {
        tracing::warn!("unknown template variable %{name} left as written");
    }
    texts
}

impl<S: Store> Run<'_, S> {
    /// A previous creation may have succeeded without us hearing of it: look
    /// for its ticket and adopt it as the key's record. Returns the record
    /// and what the search found (the key's open ticket, if any).
    pub(super) async fn reconcile_intent(
        &mut self,
        held: &mut S::Held,
        intent: Option<Intent>,
        record: Option<Record>,
    ) -> Result<(Option<Record>, Option<u64>), EngineError> {
        let key = &held.key().clone();
        let found = self.find_open(key).await?;
        let record = match (found, intent) {
            (Some(id), _) if record.as_ref().is_some_and(|r| r.ticket_id == id) => record,
            (Some(id), Some(intent)) => {
                tracing::info!(
                    "{key}: adopting ticket {id}, created by a run whose answer was lost"
                );
                let adopted = Record {
                    key: intent.key,
                    glpi: Some(self.engine.glpi().clone()),
                    ticket_id: id,
                    state: intent.state,
                    output: intent.output,
                    priority: intent.priority,
                    acked: false,
                    opened_at: intent.event_time,
                    updated_at: self.engine.clock.now(),
                    rebuilt: false,
                };
                held.save_record(&adopted).await?;
                Some(adopted)
            }
            _ => record,
        };
        held.clear_intent().await?;
        Ok((record, found))
    }

    /// Opens the ticket of `event`; `previous` names the ticket a human
    /// closed, if any. Returns the new ticket's id.
    pub(super) async fn create(
        &mut self,
        held: &mut S::Held,
        event: &Event,
        record: Option<&Record>,
        previous: Option<(u64, Remote)>,
        date: &str,
    ) -> Result<u64, EngineError> {
        let config = self.engine.config;
        let texts = ticket_texts(config, event, record.map(|r| r.state), previous, date);
        let requester = self.requester().await?;
        let mut items_id = BTreeMap::new();
        if let Some(asset) = self.asset(&event.key.node).await? {
            items_id.insert(asset.itemtype, vec![asset.id]);
        }
        // Priority -L plus the urgency/impact that GLPI's default matrix maps to
        // the same priority, so a profile without CHANGEPRIORITY still gets it.
        let (urgency, impact) = config.urgency_impact(event.priority);
        let externalid = self.glpi11().await?.then(|| text::external_id(&event.key));
        let ticket = NewTicket {
            name: texts.title,
            content: texts.content,
            type_: config.ticket_type.glpi_id(),
            urgency,
            impact,
            priority: event.priority,
            entities_id: config.entity,
            itilcategories_id: config.category,
            requester,
            items_id,
            externalid,
        };
        held.write_intent(&Intent {
            key: event.key.clone(),
            state: event.state,
            output: event.output.clone(),
            priority: event.priority,
            event_time: event.time,
        })
        .await?;
        match self.session().await?.create_ticket(ticket).await {
            Ok(id) => Ok(id),
            Err(GlpiError::Unavailable {
                outcome_unknown: true,
                what,
                reason,
            }) => {
                // The creation may have happened: look before anyone retries.
                tracing::warn!("{what}: {reason}; looking for the ticket by its marker");
                tokio::time::sleep(Duration::from_millis(200)).await;
                match self.find_open(&event.key).await {
                    Ok(Some(id)) => {
                        tracing::info!("{}: the lost creation did make ticket {id}", event.key);
                        Ok(id)
                    }
                    Ok(None) | Err(_) => Err(EngineError::Glpi(GlpiError::Unavailable {
                        what,
                        reason,
                        outcome_unknown: true,
                    })),
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}
