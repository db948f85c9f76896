//! The decision: (recorded ticket, what GLPI said, event, policy) → plan of
//! actions. Pure — no I/O, no async, no clock — so every row of SPEC's
//! lifecycle table and of its "Notification types" table is a unit test
//! below.
//!
//! GLPI is only asked what the decision needs: [`lookup`] names the next
//! question, given what is [`Known`] so far — nothing for a re-notification;
//! the recorded ticket before writing into it (never write into a ticket a
//! human closed); a search for the key's open ticket by its marker whenever
//! no usable recorded ticket is open and the event would act on one (so a
//! lost, stale or foreign record never doubles a ticket nor leaves one
//! open) — then [`decide`] turns the answers into a [`Plan`].
//!
//! The notification type decides what an event means, the state it carries
//! the rest: PROBLEM, RECOVERY and no type follow the states (with the
//! re-notification rule); an acknowledgement is `State::Ack` whatever state
//! the engine gave; flapping, downtime and custom notifications write their
//! follow-up into an open ticket whenever one is, solve it only when they
//! say the service is OK and flapping or a downtime ended, and open one only
//! for a problem that outlived the flapping or the downtime.
//!
//! A record the caller could not trust (written for another GLPI, a ticket id
//! of 0, a recorded ticket that does not carry the key's marker) is passed as
//! `None`: the decision then relies on the search.

use super::event::{Event, NotificationType, State};
use super::outcome::{Outcome, Remote, Skip};
use super::record::Record;

/// A question to ask GLPI before deciding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Read the recorded ticket: where it stands, and whether it is the key's.
    ReadTicket(u64),
    /// Search GLPI for the key's open ticket by its marker.
    FindByMarker,
}

/// What GLPI said so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Known {
    /// Where the recorded ticket stands, once read.
    pub(crate) recorded: Option<Remote>,
    /// The search for the key's open ticket by its marker.
    pub(crate) search: Search,
}

/// The search for the key's open ticket by its marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Search {
    #[default]
    NotMade,
    /// No open ticket carries the key's marker.
    Nothing,
    /// The key's open ticket (the oldest, if several).
    Open(u64),
}

impl From<Option<u64>> for Search {
    fn from(found: Option<u64>) -> Search {
        found.map_or(Search::Nothing, Search::Open)
    }
}

/// The text of a follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Note {
    /// `from` is `None` when the previous state is not known (record lost).
    StateChange {
        from: Option<State>,
        to: State,
    },
    Ack,
    Unack,
    /// A flapping, downtime or custom notification (`kind`) carrying the
    /// state `to`; `from` as for [`Note::StateChange`].
    Notification {
        kind: NotificationType,
        from: Option<State>,
        to: State,
    },
}

/// Why a ticket is solved: said in its solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Solution {
    /// A recovery (or OK, UP).
    Recovered,
    /// Flapping stopped (or its detection was disabled) on OK.
    FlappingStopped,
    /// A downtime ended (or was cancelled) on OK: it recovered meanwhile,
    /// and the engine sends no recovery during a downtime.
    RecoveredInDowntime,
    /// `reconcile` found the object OK (or UP) in a hard state, and the
    /// engine sent no recovery.
    Reconciled,
}

/// One write into GLPI, executed in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Open a ticket; `previous` names the ticket a human closed, if any.
    Create {
        previous: Option<(u64, Remote)>,
    },
    FollowUp {
        ticket: u64,
        note: Note,
    },
    SetPriority {
        ticket: u64,
        priority: u8,
    },
    Solve {
        ticket: u64,
        why: Solution,
    },
}

/// What becomes of the local record after the steps succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RecordChange {
    Keep,
    /// Remove it: the ticket is solved, or gone.
    Forget,
    /// Record the ticket (the created one, or the one written into).
    Write {
        state: State,
        output: String,
        priority: u8,
        acked: bool,
    },
}

/// The writes to make, in order, what becomes of the record, and — when
/// there is nothing to write — why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) steps: Vec<Step>,
    pub(crate) record: RecordChange,
    /// `Some` exactly when `steps` is empty.
    pub(crate) skip: Option<Skip>,
}

impl Plan {
    /// The outcome once the steps are done. `ticket` is the ticket acted
    /// upon: the one created by a `Create` step, else the key's ticket (the
    /// one written into, or the recorded one when nothing was written).
    pub(crate) fn outcome(&self, ticket: Option<u64>) -> Outcome {
        match (self.steps.first(), ticket) {
            (Some(Step::Create { previous }), Some(ticket)) => Outcome::Created {
                ticket,
                replaces: previous.map(|(id, _)| id),
            },
            (Some(Step::Solve { ticket, .. }), _) => Outcome::Solved { ticket: *ticket },
            (
                Some(Step::FollowUp {
                    ticket,
                    note: Note::Ack,
                }),
                _,
            ) => Outcome::Acknowledged { ticket: *ticket },
            (Some(Step::FollowUp { ticket, .. } | Step::SetPriority { ticket, .. }), _) => {
                Outcome::FollowedUp { ticket: *ticket }
            }
            (None | Some(Step::Create { .. }), ticket) => Outcome::Ignored {
                ticket,
                skip: self.skip.unwrap_or(Skip::NoTicket),
            },
        }
    }
}

/// Knobs of the decision that come from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) update_priority: bool,
}

/// What an event means, from its type and its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    /// PROBLEM, RECOVERY or no type: the state decides.
    State,
    /// An acknowledgement given (`true`) or removed.
    Ack(bool),
    /// A flapping, downtime or custom notification.
    Notification(NotificationType),
    /// `reconcile`: the engine's own state, read.
    Reconcile,
}

fn meaning(event: &Event) -> Meaning {
    match (event.state, event.kind) {
        (State::Ack, _) => Meaning::Ack(true),
        (State::Unack, _) => Meaning::Ack(false),
        (
            _,
            None
            | Some(
                NotificationType::Problem
                | NotificationType::Recovery
                | NotificationType::Acknowledgement,
            ),
        ) => Meaning::State,
        (_, Some(NotificationType::Reconcile)) => Meaning::Reconcile,
        (_, Some(kind)) => Meaning::Notification(kind),
    }
}

/// The next question for GLPI, or `None` once [`decide`] has what it needs.
pub(crate) fn lookup(record: Option<&Record>, event: &Event, known: Known) -> Option<Lookup> {
    if let Some(r) = record {
        if is_repeat(r, event) {
            return None;
        }
        if known.recorded.is_none() {
            return Some(Lookup::ReadTicket(r.ticket_id));
        }
    }
    let recorded_open = record.is_some() && known.recorded == Some(Remote::Open);
    let acts_on_a_ticket = !matches!(meaning(event), Meaning::Ack(_));
    (acts_on_a_ticket && !recorded_open && known.search == Search::NotMade)
        .then_some(Lookup::FindByMarker)
}

/// The re-notification rule: a PROBLEM, RECOVERY or untyped event in the
/// recorded state (host states acting as the service states they mean), a
/// second ACK while acknowledged, an UNACK while not. A recorded OK never
/// makes a repeat: the ticket is still open (a flapping or downtime
/// notification recorded it), and a recovery solves it.
fn is_repeat(record: &Record, event: &Event) -> bool {
    if record.rebuilt {
        return false;
    }
    match meaning(event) {
        Meaning::Ack(given) => record.acked == given,
        Meaning::State => {
            let s = event.state.acts_as();
            s == record.state.acts_as() && !s.is_ok()
        }
        Meaning::Notification(_) | Meaning::Reconcile => false,
    }
}

fn ignore(skip: Skip, record: RecordChange) -> Plan {
    Plan {
        steps: Vec::new(),
        record,
        skip: Some(skip),
    }
}

fn write(event: &Event, steps: Vec<Step>, priority: u8, acked: bool) -> Plan {
    Plan {
        steps,
        skip: None,
        record: RecordChange::Write {
            state: event.state,
            output: event.output.clone(),
            priority,
            acked,
        },
    }
}

fn solve(ticket: u64, why: Solution) -> Plan {
    Plan {
        steps: vec![Step::Solve { ticket, why }],
        skip: None,
        record: RecordChange::Forget,
    }
}

/// The key's ticket as GLPI said: the recorded one when open, else the one
/// its marker found; and the recorded ticket a human closed, if any.
struct Tickets<'a> {
    /// The open ticket, and the record when it is the recorded one.
    open: Option<(u64, Option<&'a Record>)>,
    closed: Option<(u64, Remote)>,
}

impl Tickets<'_> {
    fn of(record: Option<&Record>, known: Known) -> Tickets<'_> {
        let found = match known.search {
            Search::Open(id) => Some(id),
            Search::NotMade | Search::Nothing => None,
        };
        match record.zip(known.recorded) {
            Some((r, Remote::Open)) => Tickets {
                open: Some((r.ticket_id, Some(r))),
                closed: None,
            },
            Some((r, remote)) => Tickets {
                open: found.map(|id| (id, None)),
                closed: Some((r.ticket_id, remote)),
            },
            None => Tickets {
                open: found.map(|id| (id, None)),
                closed: None,
            },
        }
    }

    /// Nothing to write: no open ticket. A record of a ticket a human
    /// closed is forgotten when `forget` (the event tells the service is
    /// OK), kept otherwise.
    fn none_open(&self, forget: bool) -> Plan {
        match self.closed {
            Some((id, remote)) => ignore(
                Skip::ClosedInGlpi(id, remote),
                if forget {
                    RecordChange::Forget
                } else {
                    RecordChange::Keep
                },
            ),
            None => ignore(Skip::NoTicket, RecordChange::Keep),
        }
    }

    fn create(&self, event: &Event) -> Plan {
        write(
            event,
            vec![Step::Create {
                previous: self.closed,
            }],
            event.priority,
            false,
        )
    }
}

/// The previous state to name in a follow-up into `record`'s ticket: none
/// when the record is not the ticket's or was rebuilt.
fn from_state(record: Option<&Record>) -> Option<State> {
    record.filter(|r| !r.rebuilt).map(|r| r.state)
}

/// The plan for `event`, given the usable record (if any) and what GLPI said.
pub(crate) fn decide(record: Option<&Record>, known: Known, event: &Event, policy: Policy) -> Plan {
    if let Some(r) = record
        && is_repeat(r, event)
    {
        return ignore(Skip::Renotification, RecordChange::Keep);
    }
    let tickets = Tickets::of(record, known);
    match meaning(event) {
        Meaning::State => by_state(&tickets, event, policy),
        Meaning::Ack(given) => by_ack(record, known, given),
        Meaning::Notification(kind) => by_notification(&tickets, event, kind),
        Meaning::Reconcile => by_reconcile(&tickets, event),
    }
}

/// `reconcile`'s event: the engine's state, read when GLPI was out of step.
/// OK solves the open ticket (saying the engine sent no recovery); a
/// problem opens one only when none is open and no human closed the
/// recorded one. Never a follow-up: a ticket open for a problem is right.
fn by_reconcile(tickets: &Tickets<'_>, event: &Event) -> Plan {
    match tickets.open {
        Some((ticket, _)) if event.state.is_ok() => solve(ticket, Solution::Reconciled),
        Some(_) => ignore(Skip::TicketOpen, RecordChange::Keep),
        None if event.state.is_ok() => tickets.none_open(true),
        None => match tickets.closed {
            Some((id, remote)) => ignore(Skip::ClosedInGlpi(id, remote), RecordChange::Keep),
            None => tickets.create(event),
        },
    }
}

/// PROBLEM, RECOVERY or no type (SPEC's first table).
fn by_state(tickets: &Tickets<'_>, event: &Event, policy: Policy) -> Plan {
    let state = event.state;
    if state.is_problem() {
        return match tickets.open {
            Some((ticket, recorded)) => {
                let mut steps = vec![Step::FollowUp {
                    ticket,
                    note: Note::StateChange {
                        from: from_state(recorded),
                        to: state,
                    },
                }];
                // The key's open ticket found by its marker (the record was
                // lost, stale or closed by a human meanwhile) is adopted at
                // the event's priority.
                let mut priority = recorded.map_or(event.priority, |r| r.priority);
                if recorded.is_some() && policy.update_priority && event.priority != priority {
                    steps.push(Step::SetPriority {
                        ticket,
                        priority: event.priority,
                    });
                    priority = event.priority;
                }
                write(event, steps, priority, false)
            }
            None => tickets.create(event),
        };
    }
    match tickets.open {
        Some((ticket, _)) => solve(ticket, Solution::Recovered),
        None => tickets.none_open(true),
    }
}

/// ACK / UNACK: only into the recorded open ticket.
fn by_ack(record: Option<&Record>, known: Known, given: bool) -> Plan {
    match record.zip(known.recorded) {
        Some((r, Remote::Open)) => Plan {
            steps: vec![Step::FollowUp {
                ticket: r.ticket_id,
                note: if given { Note::Ack } else { Note::Unack },
            }],
            skip: None,
            record: RecordChange::Write {
                state: r.state,
                output: r.output.clone(),
                priority: r.priority,
                acked: given,
            },
        },
        Some((r, remote)) => ignore(Skip::ClosedInGlpi(r.ticket_id, remote), RecordChange::Keep),
        None => ignore(Skip::NoTicket, RecordChange::Keep),
    }
}

/// Flapping, downtime and custom notifications (SPEC "Notification types").
fn by_notification(tickets: &Tickets<'_>, event: &Event, kind: NotificationType) -> Plan {
    use NotificationType as T;
    let state = event.state;
    let ends = match kind {
        T::FlappingStop | T::FlappingDisabled => Some(Solution::FlappingStopped),
        T::DowntimeEnd | T::DowntimeCancelled => Some(Solution::RecoveredInDowntime),
        _ => None,
    };
    match (tickets.open, ends) {
        (Some((ticket, _)), Some(why)) if state.is_ok() => solve(ticket, why),
        (Some((ticket, recorded)), _) => write(
            event,
            vec![Step::FollowUp {
                ticket,
                note: Note::Notification {
                    kind,
                    from: from_state(recorded),
                    to: state,
                },
            }],
            recorded.map_or(event.priority, |r| r.priority),
            recorded.is_some_and(|r| r.acked),
        ),
        // Flapping started on a problem: the engine now stays silent; a
        // problem that outlived flapping or a downtime.
        (None, _) if state.is_problem() && (kind == T::FlappingStart || ends.is_some()) => {
            tickets.create(event)
        }
        (None, _) if kind == T::DowntimeStart && state.is_problem() => {
            ignore(Skip::Downtime, RecordChange::Keep)
        }
        (None, _) => tickets.none_open(state.is_ok() && ends.is_some()),
    }
}

#[cfg(test)]
mod tests;
