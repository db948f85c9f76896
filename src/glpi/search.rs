//! Look-ups through the search engine (`/search/:itemtype`, glpi-api.md §5):
//! the requester by login, assets by exact name, the open ticket of a key by
//! its marker. Matching is re-checked on our side: GLPI's LIKE is
//! case-insensitive and `%` in a value is a wildcard.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::error::GlpiError;
use super::model::{SearchResult, cell_id, cell_text};
use super::session::Session;

/// The answer of a requester look-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum UserMatch {
    Found(u64),
    NotFound,
    Inactive(u64),
    Ambiguous(usize),
}

/// One asset carrying exactly the node's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AssetMatch {
    pub(crate) itemtype: String,
    pub(crate) id: u64,
}

fn criteria(rules: &[(u32, &str, &str)], display: &[u32]) -> Vec<(String, String)> {
    let mut q = Vec::new();
    for (i, (field, searchtype, value)) in rules.iter().enumerate() {
        if i > 0 {
            q.push((format!("criteria[{i}][link]"), "AND".to_string()));
        }
        q.push((format!("criteria[{i}][field]"), field.to_string()));
        q.push((
            format!("criteria[{i}][searchtype]"),
            (*searchtype).to_string(),
        ));
        q.push((format!("criteria[{i}][value]"), (*value).to_string()));
    }
    for (i, f) in display.iter().enumerate() {
        q.push((format!("forcedisplay[{i}]"), f.to_string()));
    }
    q.push(("range".to_string(), "0-49".to_string()));
    q
}

impl Session<'_> {
    async fn search(
        &self,
        itemtype: &str,
        query: &[(String, String)],
    ) -> Result<SearchResult, GlpiError> {
        self.call::<(), SearchResult>(Method::GET, &format!("search/{itemtype}"), None, query)
            .await
    }

    /// The user whose login is exactly `login` (field 1), active (field 8).
    pub(crate) async fn find_user(&self, login: &str) -> Result<UserMatch, GlpiError> {
        if self.is_v2() {
            return self.v2_find_user(login).await;
        }
        let anchored = format!("^{login}$");
        let result = self
            .search("User", &criteria(&[(1, "contains", &anchored)], &[2, 8]))
            .await?;
        let exact: Vec<_> = result
            .data
            .iter()
            .filter(|row| row.get("1").and_then(cell_text).as_deref() == Some(login))
            .filter_map(|row| {
                let id = row.get("2").and_then(cell_id)?;
                let active = row.get("8").and_then(cell_id).is_none_or(|a| a != 0);
                Some((id, active))
            })
            .collect();
        Ok(match exact.as_slice() {
            [] => UserMatch::NotFound,
            [(id, true)] => UserMatch::Found(*id),
            [(id, false)] => UserMatch::Inactive(*id),
            many => UserMatch::Ambiguous(many.len()),
        })
    }

    /// Every asset of `types` named exactly `name`, in one search over
    /// `AllAssets` (rows carry `itemtype` and `id`, transcript 10a).
    pub(crate) async fn find_assets(
        &self,
        name: &str,
        types: &[String],
    ) -> Result<Vec<AssetMatch>, GlpiError> {
        if self.is_v2() {
            return self.v2_find_assets(name, types).await;
        }
        let anchored = format!("^{name}$");
        let result = self
            .search("AllAssets", &criteria(&[(1, "contains", &anchored)], &[2]))
            .await?;
        Ok(result
            .data
            .iter()
            .filter(|row| row.get("1").and_then(cell_text).as_deref() == Some(name))
            .filter_map(|row| {
                let itemtype = row.get("itemtype").and_then(cell_text)?;
                let id = row.get("id").or_else(|| row.get("2")).and_then(cell_id)?;
                types
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(&itemtype))
                    .then_some(AssetMatch { itemtype, id })
            })
            .collect())
    }

    /// Open tickets written by `writer` (field 22) that carry an esia-glpi
    /// marker (`prefix`), oldest first (`state rebuild`).
    pub(crate) async fn find_marked_tickets(
        &self,
        prefix: &str,
        writer: u64,
    ) -> Result<Vec<MarkedTicket>, GlpiError> {
        if self.is_v2() {
            return self.v2_open_tickets_containing(prefix, writer, 1000).await;
        }
        self.open_tickets_containing(prefix, Some(writer), 1000)
            .await
    }

    /// The key's open tickets, oldest first: on GLPI 11 those whose
    /// `externalid` is `external_id` (an equality search), otherwise those
    /// whose description carries `marker` ("contains" also matches a marker
    /// quoted in another ticket's check output, which the caller weeds out
    /// with the description returned).
    pub(crate) async fn find_open_tickets(
        &self,
        marker: &str,
        external_id: Option<&str>,
    ) -> Result<Vec<MarkedTicket>, GlpiError> {
        match external_id {
            Some(id) if self.is_v2() => self.v2_open_tickets_with_id(id).await,
            Some(id) => self.open_tickets_with_external_id(id).await,
            None => self.open_tickets_containing(marker, None, 50).await,
        }
    }

    /// Open tickets whose `externalid` (search option 87, GLPI 11) is
    /// exactly `id`.
    async fn open_tickets_with_external_id(
        &self,
        id: &str,
    ) -> Result<Vec<MarkedTicket>, GlpiError> {
        let anchored = format!("^{id}$");
        let query = criteria(
            &[(87, "contains", &anchored), (12, "equals", "notold")],
            &[2, 3, 21, 87],
        );
        let result = self.search("Ticket", &query).await?;
        Ok(marked_rows(&result, |row| {
            row.get("87").and_then(cell_text).as_deref() == Some(id)
        }))
    }

    /// Open tickets (not solved, not closed, not in the trash) whose
    /// description (field 21) contains `text`, written by `writer` if given,
    /// at most `max`, oldest first.
    async fn open_tickets_containing(
        &self,
        text: &str,
        writer: Option<u64>,
        max: usize,
    ) -> Result<Vec<MarkedTicket>, GlpiError> {
        let writer = writer.map(|w| w.to_string());
        let mut rules = vec![(21, "contains", text), (12, "equals", "notold")];
        if let Some(w) = &writer {
            rules.push((22, "equals", w));
        }
        let mut query = criteria(&rules, &[2, 3, 21]);
        query.retain(|(k, _)| k != "range");
        query.push(("range".to_string(), format!("0-{}", max - 1)));
        let result = self.search("Ticket", &query).await?;
        let rows = marked_rows(&result, |_| true);
        if result.totalcount > u64::try_from(max).unwrap_or(u64::MAX) {
            tracing::warn!(
                "{} open tickets contain {text}; only the first {max} were read",
                result.totalcount
            );
        }
        Ok(rows)
    }
}

/// The tickets of a search's rows that pass `keep`, oldest first.
fn marked_rows(
    result: &SearchResult,
    keep: impl Fn(&std::collections::BTreeMap<String, serde_json::Value>) -> bool,
) -> Vec<MarkedTicket> {
    let mut rows: Vec<MarkedTicket> = result
        .data
        .iter()
        .filter(|row| keep(row))
        .filter_map(|row| {
            Some(MarkedTicket {
                id: row.get("2").and_then(cell_id)?,
                priority: row
                    .get("3")
                    .and_then(cell_id)
                    .and_then(|p| u8::try_from(p).ok())
                    .unwrap_or(3),
                content: row.get("21").and_then(cell_text).unwrap_or_default(),
            })
        })
        .collect();
    rows.sort_unstable_by_key(|r| r.id);
    rows
}

/// An open ticket found by its marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MarkedTicket {
    pub(crate) id: u64,
    pub(crate) priority: u8,
    /// The description, as GLPI holds it (entities decoded).
    pub(crate) content: String,
}
