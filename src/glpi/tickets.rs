//! Tickets and their timeline: create, read where a ticket stands, follow-up,
//! solution, priority (glpi-api.md §6–§7).

use reqwest::Method;

use super::code::ErrorCode;
use super::error::GlpiError;
use super::model::{
    Created, Input, NewTicket, NewTimelineItem, PriorityUpdate, TicketRead, decode_entities,
};
use super::session::Session;
use crate::core::Remote;

/// Where a ticket stands, from GLPI's status and trash flag (both APIs
/// give the same numbers): in the trash whatever its status; solved (5);
/// closed (6); otherwise open (new, processing or pending: 1..4).
pub(crate) fn remote_status(status: u8, is_deleted: bool) -> Remote {
    match (is_deleted, status) {
        (true, _) => Remote::Trashed,
        (false, 5) => Remote::Solved,
        (false, 6) => Remote::Closed,
        _ => Remote::Open,
    }
}

/// A ticket as read: where it stands, and its description (GLPI 10's
/// stored entities decoded), which carries the key's marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TicketState {
    pub(crate) status: Remote,
    /// Empty for a purged ticket.
    pub(crate) content: String,
    /// The key's identity GLPI 11 keeps (`externalid`), when set.
    pub(crate) external_id: Option<String>,
}

impl TicketState {
    /// A purged ticket.
    pub(super) fn gone() -> TicketState {
        TicketState {
            status: Remote::Gone,
            content: String::new(),
            external_id: None,
        }
    }
}

/// How many of a ticket's newest follow-ups are read to find a follow-up
/// that may have reached GLPI (its retry comes minutes after it, at most
/// hours: a handful of follow-ups later).
const FOLLOWUPS_READ: usize = 200;

/// The two items of a ticket's timeline esia-glpi writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timeline {
    /// `ITILFollowup`, public.
    Followup,
    /// `ITILSolution`: GLPI sets the ticket to solved (5).
    Solution,
}

impl Session<'_> {
    /// `POST /Ticket` → the new id.
    pub(crate) async fn create_ticket(&self, ticket: NewTicket) -> Result<u64, GlpiError> {
        if self.is_v2() {
            return self.v2_create_ticket(ticket).await;
        }
        let created: Created = self
            .call(Method::POST, "Ticket", Some(&Input { input: ticket }), &[])
            .await?;
        Ok(created.id.0)
    }

    /// `GET /Ticket/:id` → where the ticket stands, and its description;
    /// `Gone` on 404.
    pub(crate) async fn ticket(&self, id: u64) -> Result<TicketState, GlpiError> {
        if self.is_v2() {
            return self.v2_ticket(id).await;
        }
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

    /// `POST /ITILFollowup`: a public follow-up.
    pub(crate) async fn add_followup(
        &self,
        ticket: u64,
        content: String,
    ) -> Result<u64, GlpiError> {
        self.add_to_timeline(Timeline::Followup, ticket, content)
            .await
    }

    /// The texts of the ticket's follow-ups, newest first (GLPI 10's stored
    /// entities decoded): `GET Ticket/:id/ITILFollowup` (05k), the newest
    /// [`FOLLOWUPS_READ`]; v2 `GET Assistance/Ticket/:id/Timeline/Followup`.
    /// Only read to retry a follow-up that may have reached GLPI.
    pub(crate) async fn followups(&self, ticket: u64) -> Result<Vec<String>, GlpiError> {
        #[derive(serde::Deserialize)]
        struct Followup {
            #[serde(default)]
            content: Option<String>,
        }
        if self.is_v2() {
            return self.v2_followups(ticket).await;
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

    /// `POST /ITILSolution`: GLPI sets the ticket to solved (5). Only call it
    /// after reading the ticket: GLPI accepts a solution for a missing ticket.
    pub(crate) async fn add_solution(
        &self,
        ticket: u64,
        content: String,
    ) -> Result<u64, GlpiError> {
        self.add_to_timeline(Timeline::Solution, ticket, content)
            .await
    }

    async fn add_to_timeline(
        &self,
        item: Timeline,
        ticket: u64,
        content: String,
    ) -> Result<u64, GlpiError> {
        if self.is_v2() {
            return self.v2_add_to_timeline(item, ticket, content).await;
        }
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

    /// Sets the ticket's priority with the urgency and impact it was derived
    /// from, so that the three stay consistent: `PUT /Ticket/:id` (v2:
    /// `PATCH`) with all three. A changed urgency makes GLPI recompute the priority from its
    /// matrix whatever is sent (§6.4); when the default matrix gives
    /// another priority (6, "major", or a configured urgency/impact), a
    /// second `PUT` with the priority alone — which GLPI stores as is, even
    /// without CHANGEPRIORITY — sets it.
    pub(crate) async fn set_priority(
        &self,
        ticket: u64,
        priority: u8,
        urgency: u8,
        impact: u8,
    ) -> Result<(), GlpiError> {
        self.put_priority(ticket, Some((urgency, impact)), priority)
            .await?;
        if matrix_priority(urgency, impact) != priority {
            self.put_priority(ticket, None, priority).await?;
        }
        Ok(())
    }

    /// Gives a ticket the key's identity (`externalid`, GLPI 11): tickets
    /// opened before GLPI 11 have none, and a look-up by identity would
    /// miss them once their record is lost.
    pub(crate) async fn set_external_id(&self, ticket: u64, id: &str) -> Result<(), GlpiError> {
        if self.is_v2() {
            return self.v2_patch_external_id(ticket, id).await;
        }
        self.put_ticket(ticket, serde_json::json!({ "externalid": id }))
            .await
    }

    /// `PUT Ticket/{id}`: the fields of `input` change.
    async fn put_ticket<I: serde::Serialize>(
        &self,
        ticket: u64,
        input: I,
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

    async fn put_priority(
        &self,
        ticket: u64,
        levels: Option<(u8, u8)>,
        priority: u8,
    ) -> Result<(), GlpiError> {
        if self.is_v2() {
            return self.v2_patch_priority(ticket, levels, priority).await;
        }
        let input = PriorityUpdate {
            urgency: levels.map(|(u, _)| u),
            impact: levels.map(|(_, i)| i),
            priority,
        };
        self.put_ticket(ticket, input).await
    }
}

/// The priority GLPI's default matrix gives an urgency and an impact
/// (glpi-api.md §6.4; rows urgency, columns impact, 1..=5).
pub(crate) fn matrix_priority(urgency: u8, impact: u8) -> u8 {
    const MATRIX: [[u8; 5]; 5] = [
        [1, 1, 2, 2, 2],
        [1, 2, 2, 3, 3],
        [2, 2, 3, 4, 4],
        [2, 3, 4, 4, 5],
        [2, 3, 4, 5, 5],
    ];
    let at = |level: u8| usize::from(level.clamp(1, 5) - 1);
    MATRIX[at(urgency)][at(impact)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diagonal_of_the_default_matrix_is_the_priority() {
        for p in 1..=5 {
            assert_eq!(matrix_priority(p, p), p);
        }
        assert_eq!(matrix_priority(5, 1), 2);
    }

    #[test]
    fn status_mapping() {
        for s in 1..=4 {
            assert_eq!(remote_status(s, false), Remote::Open);
        }
        assert_eq!(remote_status(5, false), Remote::Solved);
        assert_eq!(remote_status(6, false), Remote::Closed);
        assert_eq!(remote_status(2, true), Remote::Trashed);
    }
}
