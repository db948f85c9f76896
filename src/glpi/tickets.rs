//! What both transports do and say of tickets, whichever API they speak:
//! the operations each implements ([`TicketOps`]), a ticket as read
//! ([`TicketState`], its status as `core`'s [`Remote`]), the two timeline
//! items esia-glpi writes, and GLPI's default priority matrix (glpi-api.md
//! §6–§7). No I/O here: the calls are in `legacy/` and `v2/`.

use serde::Serialize;

use super::error::GlpiError;
use super::model::NewTicket;
use crate::core::Remote;

/// The ticket operations of a transport: `legacy/tickets.rs` and
/// `v2/tickets.rs` each implement them all, and `session.rs` dispatches to
/// them.
pub(super) trait TicketOps {
    /// Creates a ticket (with its requester and its assets' links) → its id.
    async fn create_ticket(&self, ticket: NewTicket) -> Result<u64, GlpiError>;

    /// Where the ticket stands, and its description; `Gone` when purged.
    async fn ticket(&self, id: u64) -> Result<TicketState, GlpiError>;

    /// A public follow-up or a solution → its id.
    async fn add_to_timeline(
        &self,
        item: Timeline,
        ticket: u64,
        content: String,
    ) -> Result<u64, GlpiError>;

    /// The texts of the ticket's newest follow-ups, newest first.
    async fn followups(&self, ticket: u64) -> Result<Vec<String>, GlpiError>;

    /// The fields of `input` change.
    async fn update_ticket<I: Serialize>(&self, ticket: u64, input: &I) -> Result<(), GlpiError>;

    /// Gives the ticket the key's identity (GLPI 11's external id).
    async fn set_external_id(&self, ticket: u64, id: &str) -> Result<(), GlpiError>;
}

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

/// The two items of a ticket's timeline esia-glpi writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timeline {
    /// A public follow-up.
    Followup,
    /// A solution: GLPI sets the ticket to solved (5).
    Solution,
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
