//! Look-ups through the legacy search engine (`/search/:itemtype`,
//! glpi-api.md §5): the requester by login, assets by exact name, the open
//! tickets of the API user (by their writer, field 22) by their marker or
//! (GLPI 11) their `externalid`. Matching
//! is re-checked on our side: GLPI's LIKE is case-insensitive and `%` in a
//! value is a wildcard.

use reqwest::Method;

use super::Legacy;
use crate::glpi::error::GlpiError;
use crate::glpi::http::Access;
use crate::glpi::model::{SearchResult, cell_id, cell_text};
use crate::glpi::search::{AssetMatch, Mark, MarkedTicket, Page, SearchOps, UserMatch};

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

impl Legacy<'_> {
    async fn search(
        &self,
        itemtype: &str,
        query: &[(String, String)],
    ) -> Result<SearchResult, GlpiError> {
        self.call::<(), SearchResult>(Method::GET, &format!("search/{itemtype}"), None, query)
            .await
    }
}

impl SearchOps for Legacy<'_> {
    /// The user whose login is exactly `login` (field 1), active (field 8).
    async fn find_user(&self, login: &str) -> Result<UserMatch, GlpiError> {
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
        Ok(UserMatch::of(&exact))
    }

    /// Every asset of `types` named exactly `name`, in one search over
    /// `AllAssets` (rows carry `itemtype` and `id`, transcript 10a).
    async fn find_assets(
        &self,
        name: &str,
        types: &[String],
    ) -> Result<Vec<AssetMatch>, GlpiError> {
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

    /// Open tickets written by `writer` (field 22, the ticket's writer,
    /// which GLPI's table indexes) whose `externalid` (search option 87,
    /// GLPI 11) is exactly `id`, oldest first.
    async fn open_tickets_with_id(
        &self,
        id: &str,
        writer: u64,
    ) -> Result<Vec<MarkedTicket>, GlpiError> {
        let anchored = format!("^{id}$");
        let writer = writer.to_string();
        let query = criteria(
            &[
                (22, "equals", &writer),
                (87, "contains", &anchored),
                (12, "equals", "notold"),
            ],
            &[2, 3, 21, 87],
        );
        let result = self.search("Ticket", &query).await?;
        Ok(marked_rows(&result, |row| {
            row.get("87").and_then(cell_text).as_deref() == Some(id)
        }))
    }

    /// A page of the open tickets (not solved, not closed, not in the
    /// trash) written by `writer` (field 22) that carry `mark` in their
    /// description (field 21) or their `externalid` (field 87), by id.
    async fn open_tickets_marked(
        &self,
        mark: Mark<'_>,
        writer: u64,
        page: Page,
    ) -> Result<(Vec<MarkedTicket>, bool), GlpiError> {
        let writer = writer.to_string();
        let (field, text) = match mark {
            Mark::Description(text) => (21, text),
            Mark::Identity(text) => (87, text),
        };
        let rules = [
            (22, "equals", writer.as_str()),
            (field, "contains", text),
            (12, "equals", "notold"),
        ];
        let mut query = criteria(&rules, &[2, 3, 21, 87]);
        query.retain(|(k, _)| k != "range");
        let end = page.start + page.size.max(1) - 1;
        query.extend([
            ("range".to_string(), format!("{}-{end}", page.start)),
            ("sort".to_string(), "2".to_string()),
            ("order".to_string(), "ASC".to_string()),
        ]);
        let result = self.search("Ticket", &query).await?;
        let more = result.totalcount > u64::try_from(end + 1).unwrap_or(u64::MAX);
        Ok((marked_rows(&result, |_| true), more))
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
                external_id: row.get("87").and_then(cell_text).filter(|e| !e.is_empty()),
            })
        })
        .collect();
    rows.sort_unstable_by_key(|r| r.id);
    rows
}
