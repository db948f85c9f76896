//! Tickets and their timeline: create, read status, follow-up, solution,
//! priority (glpi-api.md §6–§7).

use reqwest::Method;

use super::model::{Created, Input, NewTicket, NewTimelineItem, PriorityUpdate, TicketRead};
use super::{GlpiError, Session};
use crate::lifecycle::Remote;

impl Session<'_> {
    /// `POST /Ticket` → the new id.
    pub(crate) async fn create_ticket(&self, ticket: NewTicket) -> Result<u64, GlpiError> {
        let created: Created = self
            .call(Method::POST, "Ticket", Some(&Input { input: ticket }), &[])
            .await?;
        Ok(created.id.0)
    }

    /// `GET /Ticket/:id` → where the ticket stands; `Gone` on 404.
    pub(crate) async fn ticket_state(&self, id: u64) -> Result<Remote, GlpiError> {
        let query = [("get_hateoas".to_string(), "false".to_string())];
        match self
            .call::<(), TicketRead>(Method::GET, &format!("Ticket/{id}"), None, &query)
            .await
        {
            Ok(t) if t.id.0 == id => Ok(Remote::from_glpi(t.status, t.is_deleted != 0)),
            Ok(t) => Err(GlpiError::Protocol {
                what: format!("GET Ticket/{id}"),
                detail: format!("GLPI answered with ticket {}", t.id.0),
            }),
            Err(e) if e.code() == Some("ERROR_ITEM_NOT_FOUND") => Ok(Remote::Gone),
            Err(e) => Err(e),
        }
    }

    /// `POST /ITILFollowup`.
    pub(crate) async fn add_followup(
        &self,
        ticket: u64,
        content: String,
    ) -> Result<u64, GlpiError> {
        let body = Input {
            input: NewTimelineItem {
                itemtype: "Ticket",
                items_id: ticket,
                content,
                is_private: Some(0),
                solutiontypes_id: None,
            },
        };
        let created: Created = self
            .call(Method::POST, "ITILFollowup", Some(&body), &[])
            .await?;
        Ok(created.id.0)
    }

    /// `POST /ITILSolution`: GLPI sets the ticket to solved (5). Only call it
    /// after reading the ticket: GLPI accepts a solution for a missing ticket.
    pub(crate) async fn add_solution(
        &self,
        ticket: u64,
        content: String,
    ) -> Result<u64, GlpiError> {
        let body = Input {
            input: NewTimelineItem {
                itemtype: "Ticket",
                items_id: ticket,
                content,
                is_private: None,
                solutiontypes_id: Some(0),
            },
        };
        let created: Created = self
            .call(Method::POST, "ITILSolution", Some(&body), &[])
            .await?;
        Ok(created.id.0)
    }

    /// `PUT /Ticket/:id {"priority": N}` — priority alone, so GLPI keeps it
    /// even without CHANGEPRIORITY and does not recompute it (§6.4).
    pub(crate) async fn set_priority(&self, ticket: u64, priority: u8) -> Result<(), GlpiError> {
        let body = Input {
            input: PriorityUpdate { priority },
        };
        let _: serde_json::Value = self
            .call(Method::PUT, &format!("Ticket/{ticket}"), Some(&body), &[])
            .await?;
        Ok(())
    }
}
