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
mod tests {
    use super::*;
    use crate::core::event::Key;

    const POLICY: Policy = Policy {
        update_priority: true,
    };

    fn event(state: State, priority: u8) -> Event {
        Event {
            output: "out".into(),
            priority,
            author: "bob".into(),
            comment: "on it".into(),
            ..Event::sample("web01", "HTTP", state)
        }
    }

    /// The outcome of a plan whose ticket is 7 (written into or created).
    fn outcome(plan: &Plan) -> Outcome {
        plan.outcome(Some(7))
    }

    fn record(state: State, priority: u8, acked: bool) -> Record {
        Record {
            state,
            output: "old".into(),
            priority,
            acked,
            ..Record::sample(&Key::new("web01", "HTTP"), 7)
        }
    }

    fn read(remote: Remote) -> Known {
        Known {
            recorded: Some(remote),
            search: Search::NotMade,
        }
    }

    /// The recorded ticket read, and the search made.
    fn both(remote: Remote, search: Search) -> Known {
        Known {
            recorded: Some(remote),
            search,
        }
    }

    fn searched(found: Option<u64>) -> Known {
        Known {
            recorded: None,
            search: found.into(),
        }
    }

    const PROBLEMS: [State; 3] = [State::Warning, State::Critical, State::Unknown];
    const CLOSED: [Remote; 4] = [
        Remote::Solved,
        Remote::Closed,
        Remote::Trashed,
        Remote::Gone,
    ];

    #[test]
    fn problem_without_record_searches_then_creates_one() {
        for s in PROBLEMS {
            let e = event(s, 4);
            assert_eq!(
                lookup(None, &e, Known::default()),
                Some(Lookup::FindByMarker)
            );
            assert_eq!(lookup(None, &e, searched(None)), None);
            let plan = decide(None, searched(None), &e, POLICY);
            assert_eq!(plan.steps, vec![Step::Create { previous: None }]);
            assert_eq!(outcome(&plan).action(), "created");
            assert_eq!(
                plan.record,
                RecordChange::Write {
                    state: s,
                    output: "out".into(),
                    priority: 4,
                    acked: false
                }
            );
        }
    }

    #[test]
    fn problem_without_record_adopts_the_open_ticket_found_by_its_marker() {
        let e = event(State::Critical, 3);
        let plan = decide(None, searched(Some(9)), &e, POLICY);
        assert_eq!(
            plan.steps,
            vec![Step::FollowUp {
                ticket: 9,
                note: Note::StateChange {
                    from: None,
                    to: State::Critical
                }
            }]
        );
        assert_eq!(plan.outcome(Some(9)), Outcome::FollowedUp { ticket: 9 });
        assert!(matches!(plan.record, RecordChange::Write { .. }));
    }

    #[test]
    fn state_change_on_open_ticket_follows_up_and_updates_priority() {
        let r = record(State::Warning, 3, false);
        let e = event(State::Critical, 5);
        assert_eq!(
            lookup(Some(&r), &e, Known::default()),
            Some(Lookup::ReadTicket(7))
        );
        assert_eq!(lookup(Some(&r), &e, read(Remote::Open)), None);
        let plan = decide(Some(&r), read(Remote::Open), &e, POLICY);
        assert_eq!(
            plan.steps,
            vec![
                Step::FollowUp {
                    ticket: 7,
                    note: Note::StateChange {
                        from: Some(State::Warning),
                        to: State::Critical
                    }
                },
                Step::SetPriority {
                    ticket: 7,
                    priority: 5
                }
            ]
        );
        assert_eq!(outcome(&plan).action(), "followed_up");
        assert!(matches!(
            plan.record,
            RecordChange::Write { priority: 5, .. }
        ));
    }

    #[test]
    fn same_priority_or_policy_off_means_no_priority_update() {
        let r = record(State::Warning, 3, false);
        let plan = decide(
            Some(&r),
            read(Remote::Open),
            &event(State::Critical, 3),
            POLICY,
        );
        assert_eq!(plan.steps.len(), 1);
        let off = Policy {
            update_priority: false,
        };
        let plan = decide(
            Some(&r),
            read(Remote::Open),
            &event(State::Critical, 5),
            off,
        );
        assert_eq!(plan.steps.len(), 1);
        assert!(matches!(
            plan.record,
            RecordChange::Write { priority: 3, .. }
        ));
    }

    #[test]
    fn same_state_is_a_renotification_whatever_the_output() {
        for s in PROBLEMS {
            let r = record(s, 3, false);
            let e = event(s, 5);
            assert_eq!(lookup(Some(&r), &e, Known::default()), None);
            let plan = decide(Some(&r), Known::default(), &e, POLICY);
            assert_eq!(plan.skip, Some(Skip::Renotification));
            assert!(plan.steps.is_empty());
            assert_eq!(plan.record, RecordChange::Keep);
        }
    }

    #[test]
    fn problem_on_ticket_closed_by_a_human_searches_then_opens_a_new_one_naming_it() {
        for remote in CLOSED {
            let r = record(State::Warning, 3, false);
            let e = event(State::Critical, 4);
            assert_eq!(
                lookup(Some(&r), &e, read(remote)),
                Some(Lookup::FindByMarker)
            );
            let plan = decide(Some(&r), both(remote, Search::Nothing), &e, POLICY);
            assert_eq!(
                plan.steps,
                vec![Step::Create {
                    previous: Some((7, remote))
                }]
            );
            assert_eq!(outcome(&plan).action(), "created");
            assert_eq!(outcome(&plan).replaces(), Some(7));
            // An old record: the key's real open ticket is another one.
            let plan = decide(Some(&r), both(remote, Search::Open(12)), &e, POLICY);
            assert!(
                matches!(plan.steps[..], [Step::FollowUp { ticket: 12, .. }]),
                "{plan:?}"
            );
        }
    }

    #[test]
    fn ok_with_open_ticket_solves_and_forgets() {
        let r = record(State::Critical, 3, true);
        let e = event(State::Ok, 3);
        assert_eq!(
            lookup(Some(&r), &e, Known::default()),
            Some(Lookup::ReadTicket(7))
        );
        assert_eq!(lookup(Some(&r), &e, read(Remote::Open)), None);
        let plan = decide(Some(&r), read(Remote::Open), &e, POLICY);
        assert_eq!(
            plan.steps,
            vec![Step::Solve {
                ticket: 7,
                why: Solution::Recovered
            }]
        );
        assert_eq!(outcome(&plan).action(), "solved");
        assert_eq!(plan.record, RecordChange::Forget);
    }

    #[test]
    fn ok_on_ticket_closed_by_a_human_writes_nothing_and_forgets() {
        for remote in CLOSED {
            let r = record(State::Critical, 3, false);
            let e = event(State::Ok, 3);
            assert_eq!(
                lookup(Some(&r), &e, read(remote)),
                Some(Lookup::FindByMarker)
            );
            let plan = decide(Some(&r), both(remote, Search::Nothing), &e, POLICY);
            assert!(plan.steps.is_empty());
            assert_eq!(
                outcome(&plan),
                Outcome::Ignored {
                    ticket: Some(7),
                    skip: Skip::ClosedInGlpi(7, remote)
                }
            );
            assert_eq!(plan.record, RecordChange::Forget);
            // An old record: the key's real open ticket is solved.
            let plan = decide(Some(&r), both(remote, Search::Open(12)), &e, POLICY);
            assert_eq!(
                plan.steps,
                vec![Step::Solve {
                    ticket: 12,
                    why: Solution::Recovered
                }]
            );
        }
    }

    #[test]
    fn ok_without_record_looks_for_the_marker_once() {
        let e = event(State::Ok, 3);
        assert_eq!(
            lookup(None, &e, Known::default()),
            Some(Lookup::FindByMarker)
        );
        assert_eq!(lookup(None, &e, searched(None)), None);
        let plan = decide(None, searched(None), &e, POLICY);
        assert!(plan.steps.is_empty());
        assert_eq!(plan.skip, Some(Skip::NoTicket));
        let plan = decide(None, searched(Some(9)), &e, POLICY);
        assert_eq!(
            plan.steps,
            vec![Step::Solve {
                ticket: 9,
                why: Solution::Recovered
            }]
        );
        assert_eq!(outcome(&plan).action(), "solved");
    }

    #[test]
    fn ack_and_unack() {
        let e_ack = event(State::Ack, 3);
        let e_unack = event(State::Unack, 3);
        // no ticket: nothing to do, nothing asked
        for e in [&e_ack, &e_unack] {
            assert_eq!(lookup(None, e, Known::default()), None);
            let plan = decide(None, Known::default(), e, POLICY);
            assert_eq!(plan.skip, Some(Skip::NoTicket));
        }
        // ack on an open ticket
        let r = record(State::Critical, 3, false);
        assert_eq!(
            lookup(Some(&r), &e_ack, Known::default()),
            Some(Lookup::ReadTicket(7))
        );
        assert_eq!(lookup(Some(&r), &e_ack, read(Remote::Open)), None);
        let plan = decide(Some(&r), read(Remote::Open), &e_ack, POLICY);
        assert_eq!(
            plan.steps,
            vec![Step::FollowUp {
                ticket: 7,
                note: Note::Ack
            }]
        );
        assert_eq!(outcome(&plan), Outcome::Acknowledged { ticket: 7 });
        assert!(matches!(
            plan.record,
            RecordChange::Write {
                acked: true,
                state: State::Critical,
                ..
            }
        ));
        // second ack: re-notification; unack while not acked too
        let acked = record(State::Critical, 3, true);
        assert_eq!(lookup(Some(&acked), &e_ack, Known::default()), None);
        assert_eq!(lookup(Some(&r), &e_unack, Known::default()), None);
        // unack
        let plan = decide(Some(&acked), read(Remote::Open), &e_unack, POLICY);
        assert_eq!(
            plan.steps,
            vec![Step::FollowUp {
                ticket: 7,
                note: Note::Unack
            }]
        );
        assert_eq!(outcome(&plan).action(), "followed_up");
        assert!(matches!(
            plan.record,
            RecordChange::Write { acked: false, .. }
        ));
        // ack on a ticket closed by a human: nothing written, record kept, no search
        for remote in CLOSED {
            assert_eq!(lookup(Some(&r), &e_ack, read(remote)), None);
            let plan = decide(Some(&r), read(remote), &e_ack, POLICY);
            assert!(plan.steps.is_empty());
            assert_eq!(plan.record, RecordChange::Keep);
        }
    }

    #[test]
    fn a_state_change_clears_the_acknowledgement() {
        let r = record(State::Warning, 3, true);
        let plan = decide(
            Some(&r),
            read(Remote::Open),
            &event(State::Critical, 3),
            POLICY,
        );
        assert!(matches!(
            plan.record,
            RecordChange::Write { acked: false, .. }
        ));
    }

    #[test]
    fn a_rebuilt_record_repeats_nothing_and_names_no_previous_state() {
        let mut r = record(State::Unknown, 3, false);
        r.rebuilt = true;
        let e = event(State::Unknown, 3);
        assert_eq!(
            lookup(Some(&r), &e, Known::default()),
            Some(Lookup::ReadTicket(7))
        );
        let plan = decide(Some(&r), read(Remote::Open), &e, POLICY);
        assert_eq!(
            plan.steps,
            vec![Step::FollowUp {
                ticket: 7,
                note: Note::StateChange {
                    from: None,
                    to: State::Unknown
                }
            }]
        );
        assert!(matches!(plan.record, RecordChange::Write { .. }));
    }

    fn typed(kind: NotificationType, state: State) -> Event {
        Event {
            kind: Some(kind),
            ..event(state, 4)
        }
    }

    fn followup_of(kind: NotificationType, from: Option<State>, to: State) -> Vec<Step> {
        vec![Step::FollowUp {
            ticket: 7,
            note: Note::Notification { kind, from, to },
        }]
    }

    use NotificationType as T;
    const ENDS: [(NotificationType, Solution); 4] = [
        (T::FlappingStop, Solution::FlappingStopped),
        (T::FlappingDisabled, Solution::FlappingStopped),
        (T::DowntimeEnd, Solution::RecoveredInDowntime),
        (T::DowntimeCancelled, Solution::RecoveredInDowntime),
    ];

    #[test]
    fn flapping_start_never_solves_and_opens_a_ticket_only_on_a_problem() {
        let r = record(State::Critical, 3, true);
        // OK with a ticket open: a follow-up, the record takes OK, the
        // acknowledgement stays.
        let e = typed(T::FlappingStart, State::Ok);
        assert_eq!(lookup(Some(&r), &e, read(Remote::Open)), None);
        let plan = decide(Some(&r), read(Remote::Open), &e, POLICY);
        assert_eq!(
            plan.steps,
            followup_of(T::FlappingStart, Some(State::Critical), State::Ok)
        );
        assert_eq!(
            plan.record,
            RecordChange::Write {
                state: State::Ok,
                output: "out".into(),
                priority: 3,
                acked: true
            }
        );
        // In the state recorded: still a follow-up, no re-notification.
        let same = typed(T::FlappingStart, State::Critical);
        assert_eq!(
            lookup(Some(&r), &same, Known::default()),
            Some(Lookup::ReadTicket(7))
        );
        assert_eq!(
            decide(Some(&r), read(Remote::Open), &same, POLICY).steps,
            followup_of(T::FlappingStart, Some(State::Critical), State::Critical)
        );
        // No ticket: a problem opens one (the engine now stays silent), OK
        // does nothing.
        let plan = decide(None, searched(None), &same, POLICY);
        assert_eq!(plan.steps, vec![Step::Create { previous: None }]);
        let plan = decide(None, searched(None), &e, POLICY);
        assert_eq!(plan.skip, Some(Skip::NoTicket));
        // The key's open ticket found by its marker: a follow-up into it.
        let plan = decide(None, searched(Some(9)), &e, POLICY);
        assert!(matches!(plan.steps[..], [Step::FollowUp { ticket: 9, .. }]));
    }

    #[test]
    fn flapping_and_downtime_ends_solve_on_ok_saying_why() {
        for (kind, why) in ENDS {
            let r = record(State::Critical, 3, false);
            let ok = typed(kind, State::Ok);
            let plan = decide(Some(&r), read(Remote::Open), &ok, POLICY);
            assert_eq!(plan.steps, vec![Step::Solve { ticket: 7, why }], "{kind:?}");
            assert_eq!(plan.record, RecordChange::Forget);
            assert_eq!(outcome(&plan).action(), "solved");
            // Found by its marker (record lost).
            let plan = decide(None, searched(Some(9)), &ok, POLICY);
            assert_eq!(plan.steps, vec![Step::Solve { ticket: 9, why }]);
            // No ticket: nothing; a record of a ticket a human closed is
            // forgotten.
            assert_eq!(
                decide(None, searched(None), &ok, POLICY).skip,
                Some(Skip::NoTicket)
            );
            let plan = decide(Some(&r), both(Remote::Closed, Search::Nothing), &ok, POLICY);
            assert_eq!(plan.record, RecordChange::Forget);
            // A problem: a follow-up into the open ticket; with none, a new
            // one (it outlived the flapping or the maintenance).
            let problem = typed(kind, State::Warning);
            let plan = decide(Some(&r), read(Remote::Open), &problem, POLICY);
            assert_eq!(
                plan.steps,
                followup_of(kind, Some(State::Critical), State::Warning)
            );
            assert!(matches!(
                plan.record,
                RecordChange::Write {
                    state: State::Warning,
                    ..
                }
            ));
            let plan = decide(
                Some(&r),
                both(Remote::Solved, Search::Nothing),
                &problem,
                POLICY,
            );
            assert_eq!(
                plan.steps,
                vec![Step::Create {
                    previous: Some((7, Remote::Solved))
                }]
            );
        }
    }

    #[test]
    fn a_downtime_start_never_opens_a_ticket() {
        let e = typed(T::DowntimeStart, State::Critical);
        let plan = decide(None, searched(None), &e, POLICY);
        assert!(plan.steps.is_empty());
        assert_eq!(plan.skip, Some(Skip::Downtime));
        assert_eq!(outcome(&plan).action(), "ignored");
        let r = record(State::Critical, 3, false);
        let plan = decide(Some(&r), read(Remote::Open), &e, POLICY);
        assert_eq!(
            plan.steps,
            followup_of(T::DowntimeStart, Some(State::Critical), State::Critical)
        );
        // OK (a downtime scheduled on a healthy service) with no ticket.
        let ok = typed(T::DowntimeStart, State::Ok);
        assert_eq!(
            decide(None, searched(None), &ok, POLICY).skip,
            Some(Skip::NoTicket)
        );
        // A ticket a human closed: nothing written, the record kept.
        let plan = decide(Some(&r), both(Remote::Closed, Search::Nothing), &ok, POLICY);
        assert_eq!(plan.record, RecordChange::Keep);
        assert!(plan.steps.is_empty());
    }

    #[test]
    fn a_custom_notification_is_a_followup_or_nothing() {
        let r = record(State::Warning, 2, false);
        for state in [State::Ok, State::Warning, State::Critical] {
            let e = typed(T::Custom, state);
            let plan = decide(Some(&r), read(Remote::Open), &e, POLICY);
            assert_eq!(
                plan.steps,
                followup_of(T::Custom, Some(State::Warning), state)
            );
            // The priority stays the recorded one: only a state change of
            // PROBLEM updates it.
            assert!(matches!(
                plan.record,
                RecordChange::Write { priority: 2, .. }
            ));
            assert_eq!(outcome(&plan).action(), "followed_up");
            let plan = decide(None, searched(None), &e, POLICY);
            assert!(plan.steps.is_empty(), "{state:?}");
        }
    }

    #[test]
    fn the_type_decides_even_against_the_state_and_the_rule_covers_problem_recovery_and_none() {
        // PROBLEM, RECOVERY and no type follow the states, with the
        // re-notification rule.
        let r = record(State::Critical, 3, false);
        for kind in [None, Some(T::Problem), Some(T::Recovery)] {
            let e = Event {
                kind,
                ..event(State::Critical, 3)
            };
            assert_eq!(lookup(Some(&r), &e, Known::default()), None);
            assert_eq!(
                decide(Some(&r), Known::default(), &e, POLICY).skip,
                Some(Skip::Renotification)
            );
        }
        // An acknowledgement resolved to ACK is one whatever its type says.
        let ack = Event {
            kind: Some(T::Acknowledgement),
            ..event(State::Ack, 3)
        };
        let plan = decide(Some(&r), read(Remote::Open), &ack, POLICY);
        assert_eq!(outcome(&plan), Outcome::Acknowledged { ticket: 7 });
    }

    #[test]
    fn host_states_act_as_service_states_including_records_of_earlier_versions() {
        // A record an earlier version wrote for a host said CRITICAL.
        let old = Record {
            key: Key::new("srv-db-02", ""),
            ..record(State::Critical, 3, false)
        };
        let down = Event {
            key: Key::new("srv-db-02", ""),
            ..event(State::Down, 3)
        };
        assert_eq!(
            decide(Some(&old), Known::default(), &down, POLICY).skip,
            Some(Skip::Renotification)
        );
        let unreachable = Event {
            state: State::Unreachable,
            ..down.clone()
        };
        let plan = decide(Some(&old), read(Remote::Open), &unreachable, POLICY);
        assert_eq!(
            plan.steps[0],
            Step::FollowUp {
                ticket: 7,
                note: Note::StateChange {
                    from: Some(State::Critical),
                    to: State::Unreachable
                }
            }
        );
        let up = Event {
            state: State::Up,
            ..down.clone()
        };
        let plan = decide(Some(&old), read(Remote::Open), &up, POLICY);
        assert_eq!(
            plan.steps,
            vec![Step::Solve {
                ticket: 7,
                why: Solution::Recovered
            }]
        );
        assert_eq!(
            decide(None, searched(None), &down, POLICY).steps,
            vec![Step::Create { previous: None }]
        );
    }

    #[test]
    fn a_recorded_ok_is_never_a_renotification_of_a_recovery() {
        // Flapping started on OK recorded OK with the ticket still open:
        // the next recovery solves it.
        let r = record(State::Ok, 3, false);
        let e = event(State::Ok, 3);
        assert_eq!(
            lookup(Some(&r), &e, Known::default()),
            Some(Lookup::ReadTicket(7))
        );
        assert_eq!(
            decide(Some(&r), read(Remote::Open), &e, POLICY).steps,
            vec![Step::Solve {
                ticket: 7,
                why: Solution::Recovered
            }]
        );
    }

    #[test]
    fn a_reconcile_event_solves_or_creates_and_never_follows_up() {
        let ok = typed(T::Reconcile, State::Ok);
        let crit = typed(T::Reconcile, State::Critical);
        let r = record(State::Critical, 3, false);
        // Never a re-notification: the recorded ticket is read first.
        assert_eq!(
            lookup(Some(&r), &crit, Known::default()),
            Some(Lookup::ReadTicket(7))
        );
        // OK, the recorded ticket open: solved, saying the engine sent no
        // recovery; the record goes.
        let plan = decide(Some(&r), read(Remote::Open), &ok, POLICY);
        assert_eq!(
            plan.steps,
            vec![Step::Solve {
                ticket: 7,
                why: Solution::Reconciled
            }]
        );
        assert_eq!(plan.record, RecordChange::Forget);
        assert_eq!(outcome(&plan).action(), "solved");
        // The key's open ticket listed by GLPI, no record.
        let plan = decide(None, searched(Some(9)), &ok, POLICY);
        assert_eq!(
            plan.steps,
            vec![Step::Solve {
                ticket: 9,
                why: Solution::Reconciled
            }]
        );
        // OK and nothing open: nothing; a record of a ticket a human closed
        // is forgotten.
        assert_eq!(
            decide(None, searched(None), &ok, POLICY).skip,
            Some(Skip::NoTicket)
        );
        for remote in CLOSED {
            let plan = decide(Some(&r), both(remote, Search::Nothing), &ok, POLICY);
            assert!(plan.steps.is_empty());
            assert_eq!(plan.record, RecordChange::Forget);
        }
        // A problem with a ticket open: nothing written (no follow-up), the
        // record kept as it is.
        for known in [read(Remote::Open), both(Remote::Solved, Search::Open(9))] {
            let plan = decide(Some(&r), known, &crit, POLICY);
            assert!(plan.steps.is_empty(), "{known:?}");
            assert_eq!(plan.skip, Some(Skip::TicketOpen));
            assert_eq!(plan.record, RecordChange::Keep);
        }
        // A problem and no ticket: one is opened at the event's priority.
        let plan = decide(None, searched(None), &crit, POLICY);
        assert_eq!(plan.steps, vec![Step::Create { previous: None }]);
        assert!(matches!(
            plan.record,
            RecordChange::Write {
                state: State::Critical,
                priority: 4,
                ..
            }
        ));
        // A problem whose recorded ticket a human closed: left to humans.
        for remote in CLOSED {
            let plan = decide(Some(&r), both(remote, Search::Nothing), &crit, POLICY);
            assert!(plan.steps.is_empty());
            assert_eq!(plan.skip, Some(Skip::ClosedInGlpi(7, remote)));
            assert_eq!(plan.record, RecordChange::Keep);
        }
    }
}
