//! Tickets and their timeline over the high-level API (glpi-api.md §11.4):
//! `POST Assistance/Ticket`, `GET`/`PATCH Assistance/Ticket/:id`, the
//! `Timeline/Followup` and `Timeline/Solution` items.
//!
//! Creation answers 200, not 201; GLPI ignores a team given at creation
//! (05e/05f), so the requester is added as a team member by a second call.
//! v2 has no endpoint to link an asset: the link goes through the legacy
//! API when a `user_token` is configured (`Item_Ticket`), otherwise the log
//! says the ticket is not linked.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::{TicketRead, V2};
use crate::glpi::code::ErrorCode;
use crate::glpi::error::GlpiError;
use crate::glpi::http::Access;
use crate::glpi::legacy::Legacy;
use crate::glpi::model::{Created, NewTicket};
use crate::glpi::tickets::{TicketOps, TicketState, Timeline, remote_status};

/// The body of `POST Assistance/Ticket`.
#[derive(Debug, Serialize)]
struct TicketBody<'a> {
    name: &'a str,
    content: &'a str,
    #[serde(rename = "type")]
    type_: u8,
    urgency: u8,
    impact: u8,
    priority: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    entity: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<&'a str>,
}

/// `{"type": "User", "id": N, "role": "requester"}` (05c: 201, no body).
#[derive(Debug, Serialize)]
struct TeamMember {
    #[serde(rename = "type")]
    type_: &'static str,
    id: u64,
    role: &'static str,
}

impl TicketOps for V2<'_> {
    /// `POST Assistance/Ticket`, then the requester as a team member and
    /// the asset link (through the legacy API, when it can be used).
    async fn create_ticket(&self, t: NewTicket) -> Result<u64, GlpiError> {
        let body = TicketBody {
            name: &t.name,
            content: &t.content,
            type_: t.type_,
            urgency: t.urgency,
            impact: t.impact,
            priority: t.priority,
            entity: t.entities_id,
            category: t.itilcategories_id,
            external_id: t.externalid.as_deref(),
        };
        let created: Created = self
            .call(Method::POST, "Assistance/Ticket", Some(&body), &[])
            .await?;
        let id = created.id.0;
        // The ticket exists from here on: what follows is reported, and
        // never makes the creation fail (a retry would find the ticket).
        if let Some(user) = t.requester {
            let member = TeamMember {
                type_: "User",
                id: user,
                role: "requester",
            };
            let added: Result<serde_json::Value, GlpiError> = self
                .call(
                    Method::POST,
                    &format!("Assistance/Ticket/{id}/TeamMember"),
                    Some(&member),
                    &[],
                )
                .await;
            if let Err(e) = added {
                tracing::warn!("ticket {id} was created without its requester (user {user}): {e}");
            }
        }
        if !t.items_id.is_empty() {
            self.link_items_through_legacy(id, &t.items_id).await;
        }
        Ok(id)
    }

    /// `GET Assistance/Ticket/:id`; `Gone` on 404.
    async fn ticket(&self, id: u64) -> Result<TicketState, GlpiError> {
        match self
            .call::<(), TicketRead>(Method::GET, &format!("Assistance/Ticket/{id}"), None, &[])
            .await
        {
            Ok(t) if t.id == id => Ok(TicketState {
                status: remote_status(u8::try_from(t.status.id).unwrap_or(0), t.is_deleted),
                content: t.content.unwrap_or_default(),
                external_id: t.external_id,
            }),
            Ok(t) => Err(GlpiError::Protocol {
                what: format!("GET Assistance/Ticket/{id}"),
                detail: format!("GLPI answered with ticket {}", t.id),
            }),
            Err(e) if e.code() == Some(&ErrorCode::ItemNotFound) => Ok(TicketState::gone()),
            Err(e) => Err(e),
        }
    }

    /// `POST Assistance/Ticket/:id/Timeline/{Followup,Solution}`.
    async fn add_to_timeline(
        &self,
        item: Timeline,
        ticket: u64,
        content: String,
    ) -> Result<u64, GlpiError> {
        #[derive(Serialize)]
        struct Body {
            content: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            is_private: Option<bool>,
        }
        let (kind, is_private) = match item {
            Timeline::Followup => ("Followup", Some(false)),
            Timeline::Solution => ("Solution", None),
        };
        let created: Created = self
            .call(
                Method::POST,
                &format!("Assistance/Ticket/{ticket}/Timeline/{kind}"),
                Some(&Body {
                    content,
                    is_private,
                }),
                &[],
            )
            .await?;
        Ok(created.id.0)
    }

    /// `GET Assistance/Ticket/:id/Timeline/Followup` (06b): the follow-ups'
    /// texts, newest first (GLPI 11 stores texts as given).
    async fn followups(&self, ticket: u64) -> Result<Vec<String>, GlpiError> {
        #[derive(Deserialize)]
        struct Item {
            #[serde(default)]
            content: Option<String>,
        }
        #[derive(Deserialize)]
        struct Entry {
            item: Item,
        }
        let list: Vec<Entry> = self
            .call::<(), _>(
                Method::GET,
                &format!("Assistance/Ticket/{ticket}/Timeline/Followup"),
                None,
                &[],
            )
            .await?;
        Ok(list
            .into_iter()
            .rev()
            .filter_map(|e| e.item.content)
            .collect())
    }

    /// `PATCH Assistance/Ticket/{id}` with the key's `external_id`.
    async fn set_external_id(&self, ticket: u64, id: &str) -> Result<(), GlpiError> {
        self.update_ticket(ticket, &serde_json::json!({ "external_id": id }))
            .await
    }

    /// `PATCH Assistance/Ticket/{id}`: the fields of `body` change.
    async fn update_ticket<B: serde::Serialize>(
        &self,
        ticket: u64,
        body: &B,
    ) -> Result<(), GlpiError> {
        let _: serde_json::Value = self
            .call(
                Method::PATCH,
                &format!("Assistance/Ticket/{ticket}"),
                Some(body),
                &[],
            )
            .await?;
        Ok(())
    }
}

impl V2<'_> {
    /// Links the ticket to its assets with the legacy API's `Item_Ticket`,
    /// which the high-level API has no equivalent of.
    async fn link_items_through_legacy(&self, ticket: u64, items: &BTreeMap<String, Vec<u64>>) {
        let described = items
            .iter()
            .flat_map(|(t, ids)| ids.iter().map(move |id| format!("{t} {id}")))
            .collect::<Vec<_>>()
            .join(", ");
        let legacy = match Legacy::open_if_configured(self.client).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                tracing::info!(
                    "ticket {ticket} not linked to {described}: GLPI's high-level API cannot link \
                     an asset; set app_token and user_token to link it through the legacy API"
                );
                return;
            }
            Err(e) => {
                tracing::warn!("ticket {ticket} not linked to {described}: {e}");
                return;
            }
        };
        for (itemtype, ids) in items {
            for &items_id in ids {
                if let Err(e) = legacy.link_item(ticket, itemtype, items_id).await {
                    tracing::warn!("ticket {ticket} not linked to {itemtype} {items_id}: {e}");
                }
            }
        }
        legacy.close().await;
    }
}
