//! The outcome of one event's delivery: the one typed value that the output
//! (`action`), the notification mail, the run's log line and the spool all
//! match on; with why nothing was written ([`Skip`]) and where a ticket
//! stands in GLPI ([`Remote`]).

use serde::{Deserialize, Serialize};

/// What became of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub(crate) enum Outcome {
    /// A ticket was opened; `replaces` names the ticket a human closed.
    Created { ticket: u64, replaces: Option<u64> },
    /// A follow-up (state change, or UNACK) was added.
    FollowedUp { ticket: u64 },
    /// The ticket got its solution (recovery).
    Solved { ticket: u64 },
    /// The acknowledgement was written into the ticket.
    Acknowledged { ticket: u64 },
    /// Nothing to write; `ticket` is the key's recorded ticket, if any.
    Ignored { ticket: Option<u64>, skip: Skip },
    /// GLPI could not take the event (or the local state could not be
    /// used): it is kept for a later run. `ticket` is the key's recorded
    /// ticket, if any; `reason` says why, for people.
    Kept {
        ticket: Option<u64>,
        failure: Failure,
        reason: String,
    },
}

/// Why an event was kept: the class of the failure, which sets the exit
/// status (mapped in `error.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Failure {
    /// The configuration cannot work (e.g. a token GLPI cannot be sent).
    Config,
    /// GLPI refused the request (tokens, rights, validation).
    Refused,
    /// GLPI unreachable, timing out or failing (5xx), or the run out of time.
    Unavailable,
    /// The local state could not be used (lock not obtained, disk).
    Local,
}

impl Outcome {
    /// SPEC's `action`: `created`, `followed_up`, `solved`, `acknowledged`,
    /// `ignored` or `spooled`.
    pub(crate) fn action(&self) -> &'static str {
        match self {
            Outcome::Created { .. } => "created",
            Outcome::FollowedUp { .. } => "followed_up",
            Outcome::Solved { .. } => "solved",
            Outcome::Acknowledged { .. } => "acknowledged",
            Outcome::Ignored { .. } => "ignored",
            Outcome::Kept { .. } => "spooled",
        }
    }

    /// The ticket acted upon, or the key's recorded one.
    pub(crate) fn ticket(&self) -> Option<u64> {
        match self {
            Outcome::Created { ticket, .. }
            | Outcome::FollowedUp { ticket }
            | Outcome::Solved { ticket }
            | Outcome::Acknowledged { ticket } => Some(*ticket),
            Outcome::Ignored { ticket, .. } | Outcome::Kept { ticket, .. } => *ticket,
        }
    }

    /// The ticket a human closed, replaced by a new one.
    pub(crate) fn replaces(&self) -> Option<u64> {
        match self {
            Outcome::Created { replaces, .. } => *replaces,
            _ => None,
        }
    }
}

/// Why nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Skip {
    /// Same state as recorded (SPEC: re-notification).
    Renotification,
    /// OK, ACK or UNACK without a ticket to act on.
    NoTicket,
    /// The recorded ticket was solved, closed, trashed or purged in GLPI.
    ClosedInGlpi(u64, Remote),
    /// A downtime started on a problem with no ticket open: a downtime
    /// never opens one.
    Downtime,
    /// Reconcile found the key's ticket open already: it never writes a
    /// follow-up.
    TicketOpen,
}

/// The state of a ticket in GLPI, as far as we care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Remote {
    /// New, processing or pending (statuses 1..4), not in the trash.
    Open,
    Solved,
    Closed,
    Trashed,
    /// Purged: GLPI answers 404.
    Gone,
}
