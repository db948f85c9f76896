//! What we remember about the open ticket of a key (the state layer stores
//! it; the lifecycle decides from it).

use serde::{Deserialize, Serialize};

use super::event::{Key, State};
use super::identity::GlpiId;

/// The open ticket of a key, as last written. Serialised with the key's two
/// fields (`node`, `service`) at the top level, beside the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    #[serde(flatten)]
    pub(crate) key: Key,
    /// The GLPI the record was written for (its root URL, without user
    /// information); absent in records of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) glpi: Option<GlpiId>,
    pub(crate) ticket_id: u64,
    /// The last problem state written into the ticket (WARNING, CRITICAL, UNKNOWN).
    pub(crate) state: State,
    pub(crate) output: String,
    pub(crate) priority: u8,
    pub(crate) acked: bool,
    pub(crate) opened_at: jiff::Timestamp,
    pub(crate) updated_at: jiff::Timestamp,
    /// Rebuilt from GLPI by `state rebuild`: the last state is not known, so
    /// no event counts as a re-notification until one is recorded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) rebuilt: bool,
}

#[cfg(test)]
impl Record {
    /// The CRITICAL ticket `ticket` of `key`, "down", priority 4, not
    /// acknowledged, opened and updated at the epoch, for no GLPI in
    /// particular: tests change what they need.
    pub(crate) fn sample(key: &Key, ticket: u64) -> Record {
        Record {
            key: key.clone(),
            glpi: None,
            ticket_id: ticket,
            state: State::Critical,
            output: "down".into(),
            priority: 4,
            acked: false,
            opened_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
            rebuilt: false,
        }
    }
}
