//! The lifecycle's calls over GLPI 11's high-level API (`api.php/v2`,
//! glpi-api.md §11.4, checked against `glpi11-transcripts/05*`–`10*`).
//!
//! - Creation is `POST Assistance/Ticket` (answers 200, not 201); GLPI
//!   ignores a team given at creation (05e/05f), so the requester is added
//!   as a team member by a second call. v2 has no endpoint to link an asset:
//!   the link goes through the legacy API when a `user_token` is configured
//!   (`Item_Ticket`), otherwise the log says the ticket is not linked.
//! - Searches are RSQL filters: the key's open ticket by `external_id`
//!   (not solved, not closed, not in the trash — v2 searches do not skip the
//!   trash), users by `username`, assets by `name`, one asset type at a
//!   time. `==` compares like the database (case-insensitively): matches
//!   are checked again here. Collections are read from the array itself,
//!   never from `Content-Range`.
//! - Texts are sent and read raw: GLPI 11 stores them as given.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::code::ErrorCode;
use super::error::GlpiError;
use super::model::{Created, Input, NewTicket};
use super::search::{AssetMatch, MarkedTicket, UserMatch};
use super::session::Session;
use super::tickets::{TicketState, Timeline, remote_status};

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

/// `{"id": N, …}`: an item of a collection, or a reference to one.
#[derive(Debug, Deserialize)]
struct Ref {
    id: u64,
}

/// The fields of a ticket we read (05b).
#[derive(Debug, Deserialize)]
struct TicketRead {
    id: u64,
    status: Ref,
    #[serde(default)]
    is_deleted: bool,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    priority: Option<u8>,
    #[serde(default)]
    external_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UserRead {
    id: u64,
    #[serde(default)]
    username: Option<String>,
    #[serde(default = "active")]
    is_active: bool,
}

fn active() -> bool {
    true
}

#[derive(Debug, Deserialize)]
struct NamedRead {
    id: u64,
    #[serde(default)]
    name: Option<String>,
}

/// A value inside an RSQL filter: quoted, its quotes and backslashes
/// escaped.
fn rsql(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The filter of tickets still open: not solved (5), not closed (6), not in
/// the trash.
const OPEN: &str = "status.id=out=(5,6);is_deleted==false";

impl Session<'_> {
    /// `GET` a collection with an RSQL filter, at most `limit` items.
    async fn collection<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        filter: &str,
        limit: usize,
    ) -> Result<Vec<T>, GlpiError> {
        let query = [
            ("filter".to_string(), filter.to_string()),
            ("limit".to_string(), limit.to_string()),
        ];
        self.call::<(), Vec<T>>(Method::GET, path, None, &query)
            .await
    }

    /// `POST Assistance/Ticket`, then the requester as a team member and
    /// the asset link (through the legacy API, when it can be used).
    pub(super) async fn v2_create_ticket(&self, t: NewTicket) -> Result<u64, GlpiError> {
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

    /// Links the ticket to its assets with the legacy API's `Item_Ticket`,
    /// which the high-level API has no equivalent of.
    async fn link_items_through_legacy(&self, ticket: u64, items: &BTreeMap<String, Vec<u64>>) {
        let described = items
            .iter()
            .flat_map(|(t, ids)| ids.iter().map(move |id| format!("{t} {id}")))
            .collect::<Vec<_>>()
            .join(", ");
        let legacy = match self.client.open_legacy().await {
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
                let body = Input {
                    input: ItemTicket {
                        itemtype,
                        items_id,
                        tickets_id: ticket,
                    },
                };
                let linked: Result<serde_json::Value, GlpiError> = legacy
                    .call(Method::POST, "Item_Ticket", Some(&body), &[])
                    .await;
                if let Err(e) = linked {
                    tracing::warn!("ticket {ticket} not linked to {itemtype} {items_id}: {e}");
                }
            }
        }
        legacy.close().await;
    }

    /// `GET Assistance/Ticket/:id`; `Gone` on 404.
    pub(super) async fn v2_ticket(&self, id: u64) -> Result<TicketState, GlpiError> {
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
    pub(super) async fn v2_add_to_timeline(
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
    pub(super) async fn v2_followups(&self, ticket: u64) -> Result<Vec<String>, GlpiError> {
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

    /// `PATCH Assistance/Ticket/:id` with the priority (and the urgency and
    /// impact it comes from, when given).
    pub(super) async fn v2_patch_priority(
        &self,
        ticket: u64,
        levels: Option<(u8, u8)>,
        priority: u8,
    ) -> Result<(), GlpiError> {
        let body = super::model::PriorityUpdate {
            urgency: levels.map(|(u, _)| u),
            impact: levels.map(|(_, i)| i),
            priority,
        };
        self.v2_patch_ticket(ticket, &body).await
    }

    /// `PATCH Assistance/Ticket/{id}` with the key's `external_id`.
    pub(super) async fn v2_patch_external_id(
        &self,
        ticket: u64,
        id: &str,
    ) -> Result<(), GlpiError> {
        self.v2_patch_ticket(ticket, &serde_json::json!({ "external_id": id }))
            .await
    }

    /// `PATCH Assistance/Ticket/{id}`: the fields of `body` change.
    async fn v2_patch_ticket<B: serde::Serialize>(
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

    /// The user whose login is exactly `login`.
    pub(super) async fn v2_find_user(&self, login: &str) -> Result<UserMatch, GlpiError> {
        let users: Vec<UserRead> = self
            .collection(
                "Administration/User",
                &format!("username=={}", rsql(login)),
                50,
            )
            .await?;
        let exact: Vec<&UserRead> = users
            .iter()
            .filter(|u| u.username.as_deref() == Some(login))
            .collect();
        Ok(match exact.as_slice() {
            [] => UserMatch::NotFound,
            [u] if u.is_active => UserMatch::Found(u.id),
            [u] => UserMatch::Inactive(u.id),
            many => UserMatch::Ambiguous(many.len()),
        })
    }

    /// Every asset of `types` named exactly `name`: one search per type.
    pub(super) async fn v2_find_assets(
        &self,
        name: &str,
        types: &[String],
    ) -> Result<Vec<AssetMatch>, GlpiError> {
        let mut found = Vec::new();
        for itemtype in types {
            let items: Vec<NamedRead> = self
                .collection(
                    &format!("Assets/{itemtype}"),
                    &format!("name=={}", rsql(name)),
                    50,
                )
                .await?;
            found.extend(
                items
                    .into_iter()
                    .filter(|i| i.name.as_deref() == Some(name))
                    .map(|i| AssetMatch {
                        itemtype: itemtype.clone(),
                        id: i.id,
                    }),
            );
        }
        Ok(found)
    }

    /// Open tickets whose `external_id` is exactly `external_id`, oldest
    /// first.
    pub(super) async fn v2_open_tickets_with_id(
        &self,
        external_id: &str,
    ) -> Result<Vec<MarkedTicket>, GlpiError> {
        let filter = format!("external_id=={};{OPEN}", rsql(external_id));
        let rows: Vec<TicketRead> = self.collection("Assistance/Ticket", &filter, 50).await?;
        Ok(marked(
            rows.into_iter()
                .filter(|t| t.external_id.as_deref() == Some(external_id)),
        ))
    }

    /// Open tickets written by `writer` whose description contains `text`,
    /// oldest first (`state rebuild`).
    pub(super) async fn v2_open_tickets_containing(
        &self,
        text: &str,
        writer: u64,
        max: usize,
    ) -> Result<Vec<MarkedTicket>, GlpiError> {
        let pattern = format!("*{}*", text.replace('*', "\\*"));
        let filter = format!(
            "content=like={};user_recipient.id=={writer};{OPEN}",
            rsql(&pattern)
        );
        let rows: Vec<TicketRead> = self.collection("Assistance/Ticket", &filter, max).await?;
        if rows.len() >= max {
            tracing::warn!("only the first {max} open tickets containing {text} were read");
        }
        Ok(marked(rows.into_iter()))
    }
}

/// The legacy `Item_Ticket` row.
#[derive(Debug, Serialize)]
struct ItemTicket<'a> {
    itemtype: &'a str,
    items_id: u64,
    tickets_id: u64,
}

/// Tickets as the lifecycle's searches return them, oldest first.
fn marked(rows: impl Iterator<Item = TicketRead>) -> Vec<MarkedTicket> {
    let mut out: Vec<MarkedTicket> = rows
        .map(|t| MarkedTicket {
            id: t.id,
            priority: t.priority.unwrap_or(3),
            content: t.content.unwrap_or_default(),
        })
        .collect();
    out.sort_unstable_by_key(|t| t.id);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsql_values_are_quoted_and_escaped() {
        assert_eq!(rsql("( Mon ) web:HTTP"), "\"( Mon ) web:HTTP\"");
        assert_eq!(rsql(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn a_ticket_reads_as_glpi_11_answers_it() {
        // glpi11-transcripts/05b, trimmed.
        let t: TicketRead = serde_json::from_str(
            r#"{"id":16,"name":"x","content":"<p>c</p>","is_deleted":false,"priority":4,
                "external_id":null,"status":{"id":1,"name":"New"},"team":[]}"#,
        )
        .unwrap();
        assert_eq!((t.id, t.status.id, t.is_deleted), (16, 1, false));
        assert_eq!(t.external_id, None);
    }
}
