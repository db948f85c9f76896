//! Tickets and their timeline over the legacy API (glpi-api.md §6–§7):
//! `POST Ticket`, `GET Ticket/:id`, `POST ITILFollowup` / `ITILSolution`,
//! `PUT Ticket/:id`, `POST Item_Ticket`. GLPI 10 stores texts with their
//! entities encoded: they are decoded when read.

use reqwest::Method;

use super::Legacy;
use crate::glpi::code::ErrorCode;
use crate::glpi::error::GlpiError;
use crate::glpi::http::Access;
use crate::glpi::model::{Created, Input, NewTicket, NewTimelineItem, TicketRead, decode_entities};
use crate::glpi::tickets::{TicketOps, TicketState, Timeline, remote_status};

/// How many of a ticket's newest follow-ups are read to find a follow-up
/// that may have reached GLPI (its retry comes minutes after it, at most
/// hours: a handful of follow-ups later).
const FOLLOWUPS_READ: usize = 200;

impl TicketOps for Legacy<'_> {
    /// `POST /Ticket` → the new id (GLPI creates the requester's and the
    /// assets' links from the body).
    async fn create_ticket(&self, ticket: NewTicket) -> Result<u64, GlpiError> {
        let created: Created = self
            .call(Method::POST, "Ticket", Some(&Input { input: ticket }), &[])
            .await?;
        Ok(created.id.0)
    }

    /// `GET /Ticket/:id`; `Gone` on 404.
    async fn ticket(&self, id: u64) -> Result<TicketState, GlpiError> {
        let query = [("get_hateoas".to_string(), "false".to_string())];
        match self
            .call::<(), TicketRead>(Method::GET, &format!("Ticket/{id}"), None, &query)
            .await
        {
            Ok(t) if t.id.0 == id => Ok(TicketState {
                status: remote_status(t.status, t.is_deleted != 0),
                content: t
                    .content
                    .as_deref()
                    .map(decode_entities)
                    .unwrap_or_default(),
                external_id: t.externalid.filter(|e| !e.is_empty()),
            }),
            Ok(t) => Err(GlpiError::Protocol {
                what: format!("GET Ticket/{id}"),
                detail: format!("GLPI answered with ticket {}", t.id.0),
            }),
            Err(e) if e.code() == Some(&ErrorCode::ItemNotFound) => Ok(TicketState::gone()),
            Err(e) => Err(e),
        }
    }

    /// `GET Ticket/:id/ITILFollowup` (05k): the texts of the newest
    /// [`FOLLOWUPS_READ`] follow-ups, newest first, entities decoded.
    async fn followups(&self, ticket: u64) -> Result<Vec<String>, GlpiError> {
        #[derive(serde::Deserialize)]
        struct Followup {
            #[serde(default)]
            content: Option<String>,
        }
        let query = [
            ("sort".to_string(), "id".to_string()),
            ("order".to_string(), "DESC".to_string()),
            ("range".to_string(), format!("0-{}", FOLLOWUPS_READ - 1)),
            ("get_hateoas".to_string(), "false".to_string()),
        ];
        let list: Vec<Followup> = self
            .call::<(), _>(
                Method::GET,
                &format!("Ticket/{ticket}/ITILFollowup"),
                None,
                &query,
            )
            .await?;
        Ok(list
            .into_iter()
            .filter_map(|f| f.content.as_deref().map(decode_entities))
            .collect())
    }

    /// `POST /ITILFollowup` (public) or `POST /ITILSolution`.
    async fn add_to_timeline(
        &self,
        item: Timeline,
        ticket: u64,
        content: String,
    ) -> Result<u64, GlpiError> {
        let (path, is_private, solutiontypes_id) = match item {
            Timeline::Followup => ("ITILFollowup", Some(0), None),
            Timeline::Solution => ("ITILSolution", None, Some(0)),
        };
        let body = Input {
            input: NewTimelineItem {
                itemtype: "Ticket",
                items_id: ticket,
                content,
                is_private,
                solutiontypes_id,
            },
        };
        let created: Created = self.call(Method::POST, path, Some(&body), &[]).await?;
        Ok(created.id.0)
    }

    /// `PUT /Ticket/:id` with the key's `externalid` (GLPI 11).
    async fn set_external_id(&self, ticket: u64, id: &str) -> Result<(), GlpiError> {
        self.update_ticket(ticket, &serde_json::json!({ "externalid": id }))
            .await
    }

    /// `PUT /Ticket/:id`: the fields of `input` change.
    async fn update_ticket<I: serde::Serialize>(
        &self,
        ticket: u64,
        input: &I,
    ) -> Result<(), GlpiError> {
        let _: serde_json::Value = self
            .call(
                Method::PUT,
                &format!("Ticket/{ticket}"),
                Some(&Input { input }),
                &[],
            )
            .await?;
        Ok(())
    }
}

impl Legacy<'_> {
    /// `POST /Item_Ticket`: links a ticket to an asset after its creation
    /// (for the high-level API, which cannot).
    pub(crate) async fn link_item(
        &self,
        ticket: u64,
        itemtype: &str,
        items_id: u64,
    ) -> Result<(), GlpiError> {
        let body = Input {
            input: ItemTicket {
                itemtype,
                items_id,
                tickets_id: ticket,
            },
        };
        let _: serde_json::Value = self
            .call(Method::POST, "Item_Ticket", Some(&body), &[])
            .await?;
        Ok(())
    }
}

/// The `Item_Ticket` row.
#[derive(Debug, serde::Serialize)]
struct ItemTicket<'a> {
    itemtype: &'a str,
    items_id: u64,
    tickets_id: u64,
}
