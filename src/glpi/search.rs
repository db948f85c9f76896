//! The look-ups both transports make ([`SearchOps`]) and what they answer,
//! whichever API they go through: the requester by login, assets by exact
//! name, the open tickets of a key or of the API user (each search carries
//! the ticket's writer, which GLPI's database finds through an index on a
//! table of any size). The searches themselves are in
//! `legacy/search.rs` (the search engine) and `v2/search.rs` (RSQL
//! filters); both re-check matches on our side, since GLPI compares
//! case-insensitively.

use serde::{Deserialize, Serialize};

use super::error::GlpiError;

/// The look-ups of a transport: `legacy/search.rs` and `v2/search.rs` each
/// implement them all, and `session.rs` dispatches to them.
pub(super) trait SearchOps {
    /// The user whose login is exactly `login`, and whether it is active.
    async fn find_user(&self, login: &str) -> Result<UserMatch, GlpiError>;

    /// Every asset of `types` named exactly `name`.
    async fn find_assets(&self, name: &str, types: &[String])
    -> Result<Vec<AssetMatch>, GlpiError>;

    /// Open tickets written by `writer` whose external id is exactly `id`,
    /// oldest first.
    async fn open_tickets_with_id(
        &self,
        id: &str,
        writer: u64,
    ) -> Result<Vec<MarkedTicket>, GlpiError>;

    /// One page of the open tickets written by `writer` that carry `mark`,
    /// by id; and whether more follow.
    async fn open_tickets_marked(
        &self,
        mark: Mark<'_>,
        writer: u64,
        page: Page,
    ) -> Result<(Vec<MarkedTicket>, bool), GlpiError>;
}

/// What a listing of tickets looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark<'a> {
    /// This text in the description (a marker, or its prefix).
    Description(&'a str),
    /// This text in the external id (GLPI 11: `esia-glpi:`).
    Identity(&'a str),
}

/// A page of a listing: `size` items from the `start`-th.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) start: usize,
    pub(crate) size: usize,
}

/// The answer of a requester look-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum UserMatch {
    Found(u64),
    NotFound,
    Inactive(u64),
    Ambiguous(usize),
}

impl UserMatch {
    /// The answer for the users whose login matched exactly, each with its
    /// id and whether it is active.
    pub(super) fn of(exact: &[(u64, bool)]) -> UserMatch {
        match exact {
            [] => UserMatch::NotFound,
            [(id, true)] => UserMatch::Found(*id),
            [(id, false)] => UserMatch::Inactive(*id),
            many => UserMatch::Ambiguous(many.len()),
        }
    }
}

/// One asset carrying exactly the node's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AssetMatch {
    pub(crate) itemtype: String,
    pub(crate) id: u64,
}

/// An open ticket found by its marker (or its identity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MarkedTicket {
    pub(crate) id: u64,
    pub(crate) priority: u8,
    /// The description, as GLPI holds it (entities decoded).
    pub(crate) content: String,
    /// Its external id (GLPI 11), when the search read it.
    pub(crate) external_id: Option<String>,
}
