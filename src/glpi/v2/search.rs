//! Look-ups over the high-level API, as RSQL filters (glpi-api.md §11.4):
//! users by `username`, assets by `name` (one asset type at a time), the
//! API user's open tickets (`user_recipient`) by `external_id` or by their
//! description. `==`
//! compares like the database (case-insensitively): matches are checked
//! again here.

use serde::Deserialize;

use super::{OPEN, TicketRead, V2, marked, rsql};
use crate::glpi::error::GlpiError;
use crate::glpi::search::{AssetMatch, Mark, MarkedTicket, Page, SearchOps, UserMatch};

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

impl SearchOps for V2<'_> {
    /// The user whose login is exactly `login`.
    async fn find_user(&self, login: &str) -> Result<UserMatch, GlpiError> {
        let users: Vec<UserRead> = self
            .collection(
                "Administration/User",
                &format!("username=={}", rsql(login)),
                50,
            )
            .await?;
        let exact: Vec<(u64, bool)> = users
            .iter()
            .filter(|u| u.username.as_deref() == Some(login))
            .map(|u| (u.id, u.is_active))
            .collect();
        Ok(UserMatch::of(&exact))
    }

    /// Every asset of `types` named exactly `name`: one search per type.
    async fn find_assets(
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

    /// Open tickets written by `writer` whose `external_id` is exactly
    /// `external_id`, oldest first.
    async fn open_tickets_with_id(
        &self,
        external_id: &str,
        writer: u64,
    ) -> Result<Vec<MarkedTicket>, GlpiError> {
        let filter = format!(
            "user_recipient.id=={writer};external_id=={};{OPEN}",
            rsql(external_id)
        );
        let rows: Vec<TicketRead> = self.collection("Assistance/Ticket", &filter, 50).await?;
        Ok(marked(
            rows.into_iter()
                .filter(|t| t.external_id.as_deref() == Some(external_id)),
        ))
    }

    /// A page of the open tickets written by `writer` that carry `mark`
    /// in their description or their `external_id`, by id.
    async fn open_tickets_marked(
        &self,
        mark: Mark<'_>,
        writer: u64,
        page: Page,
    ) -> Result<(Vec<MarkedTicket>, bool), GlpiError> {
        let (field, text) = match mark {
            Mark::Description(text) => ("content", text),
            Mark::Identity(text) => ("external_id", text),
        };
        let pattern = format!("*{}*", text.replace('*', "\\*"));
        let filter = format!(
            "user_recipient.id=={writer};{field}=like={};{OPEN}",
            rsql(&pattern)
        );
        let rows: Vec<TicketRead> = self.page("Assistance/Ticket", &filter, page).await?;
        let more = rows.len() >= page.size;
        Ok((marked(rows.into_iter()), more))
    }
}
