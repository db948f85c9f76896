//! GLPI 11's high-level API (`api.php/v2`, glpi-api.md §11.4, checked
//! against `glpi11-transcripts/05*`–`10*`) as one transport, [`V2`]: calls
//! carry the client's OAuth2 access token (`oauth.rs`); there is no session
//! to open or close, and a token GLPI refuses is renewed once and the call
//! sent again. Its calls, in the files below: tickets and their timeline
//! (`tickets.rs`), searches (`search.rs`), `check`'s probe (`probe.rs`).
//!
//! - Searches are RSQL filters: `==` compares like the database
//!   (case-insensitively), so matches are checked again here. Collections
//!   are read from the array itself, never from `Content-Range`.
//! - Texts are sent and read raw: GLPI 11 stores them as given.

mod probe;
mod search;
mod tickets;

use reqwest::Method;
use reqwest::header::HeaderMap;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::client::Api;
use super::client::{Client, sensitive};
use super::code::ErrorCode;
use super::error::GlpiError;
use super::http::Access;
use super::search::MarkedTicket;

/// The high-level API's access: the client's current access token.
#[derive(Debug)]
pub(super) struct V2<'c> {
    client: &'c Client,
}

impl Access for V2<'_> {
    const API: Api = Api::V2;

    fn client(&self) -> &Client {
        self.client
    }

    fn headers(&self) -> Result<HeaderMap, GlpiError> {
        let mut h = HeaderMap::new();
        let token = self.client.bearer.borrow();
        let token = token.as_ref().ok_or_else(|| GlpiError::Setup {
            reason: "no access token".into(),
        })?;
        h.insert(
            reqwest::header::AUTHORIZATION,
            sensitive(&format!("Bearer {}", token.expose_secret()))?,
        );
        Ok(h)
    }

    async fn renewed(&self, refusal: &GlpiError) -> Result<bool, GlpiError> {
        if !token_refused(refusal) {
            return Ok(false);
        }
        tracing::info!("GLPI refused the access token ({refusal}); getting a new one");
        let refused = self.client.bearer.borrow().clone();
        self.client.access_token(refused.as_ref()).await?;
        Ok(true)
    }
}

impl<'c> V2<'c> {
    /// The access token: one this run already holds (`check`'s grant), or
    /// the kept one, refreshed or granted.
    pub(super) async fn open(client: &'c Client) -> Result<V2<'c>, GlpiError> {
        if client.bearer.borrow().is_none() {
            client.access_token(None).await?;
        }
        Ok(V2 { client })
    }

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

    /// `GET` one page of a collection with an RSQL filter, by id.
    async fn page<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        filter: &str,
        page: crate::glpi::search::Page,
    ) -> Result<Vec<T>, GlpiError> {
        let query = [
            ("filter".to_string(), filter.to_string()),
            ("start".to_string(), page.start.to_string()),
            ("limit".to_string(), page.size.to_string()),
            ("sort".to_string(), "id".to_string()),
        ];
        self.call::<(), Vec<T>>(Method::GET, path, None, &query)
            .await
    }
}

/// True when GLPI's high-level API refused the access token itself (revoked,
/// expired, unreadable): `401 ERROR_UNAUTHENTICATED`, or `400
/// ERROR_INVALID_PARAMETER` "Invalid OAuth token" (glpi11-transcripts 04b,
/// 04c, 04g).
fn token_refused(e: &GlpiError) -> bool {
    match e {
        GlpiError::Refused {
            status: 401,
            code: ErrorCode::Unauthenticated,
            ..
        } => true,
        GlpiError::Refused {
            status: 400,
            code: ErrorCode::InvalidParameter,
            message,
            ..
        } => message.contains("OAuth token"),
        _ => false,
    }
}

/// A value inside an RSQL filter: quoted, its quotes and backslashes
/// escaped.
fn rsql(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The filter of tickets still open: not solved (5), not closed (6), not in
/// the trash (v2 searches do not skip the trash).
const OPEN: &str = "status.id=out=(5,6);is_deleted==false";

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

/// Tickets as the lifecycle's searches return them, oldest first.
fn marked(rows: impl Iterator<Item = TicketRead>) -> Vec<MarkedTicket> {
    let mut out: Vec<MarkedTicket> = rows
        .map(|t| MarkedTicket {
            id: t.id,
            priority: t.priority.unwrap_or(3),
            content: t.content.unwrap_or_default(),
            external_id: t.external_id.filter(|e| !e.is_empty()),
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

    #[test]
    fn only_a_refusal_of_the_token_itself_renews_it() {
        let refused = |status: u16, code: &str, message: &str| GlpiError::Refused {
            what: "GET Assistance/Ticket/1".into(),
            status,
            code: code.into(),
            message: message.into(),
        };
        assert!(token_refused(&refused(401, "ERROR_UNAUTHENTICATED", "")));
        assert!(token_refused(&refused(
            400,
            "ERROR_INVALID_PARAMETER",
            "Invalid OAuth token"
        )));
        assert!(!token_refused(&refused(
            400,
            "ERROR_INVALID_PARAMETER",
            "filter"
        )));
        assert!(!token_refused(&refused(403, "ERROR_UNAUTHENTICATED", "")));
        assert!(!token_refused(&refused(403, "ERROR_RIGHT_MISSING", "")));
    }
}
