//! The decision: (recorded ticket, what GLPI says about it, event, policy) →
//! plan of actions. Pure — no I/O, no async, no clock — so every row of SPEC's
//! lifecycle table is a unit test below.
//!
//! The decision runs in two steps because GLPI is only asked when needed:
//! [`lookup`] says what must be read first (nothing for a re-notification, the
//! recorded ticket before writing into it, a marker search for an OK without
//! record), then [`decide`] turns the answer into a [`Plan`].

use super::event::{Event, State};
use super::outcome::{Outcome, Remote, Skip};
use super::record::Record;

/// What GLPI must be asked before deciding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Decide from local state alone (and perhaps contact GLPI only to write).
    Nothing,
    /// Read the recorded ticket: never write into a ticket a human closed.
    ReadTicket(u64),
    /// Search GLPI for an open ticket carrying the key's marker.
    FindByMarker,
}

/// The answer to a [`Lookup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    NotLooked,
    /// The ticket read or found, with its state.
    Ticket(u64, Remote),
    /// The marker search found no open ticket.
    NoTicket,
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
            (Some(Step::Solve { ticket }), _) => Outcome::Solved { ticket: *ticket },
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

/// What must be read from GLPI before [`decide`]. `record_lost` is true when
/// the record file was corrupt: then a problem looks for the open ticket by its
/// marker instead of opening a second one.
pub(crate) fn lookup(record: Option<&Record>, event: &Event, record_lost: bool) -> Lookup {
    match (record, event.state) {
        (Some(r), s) if is_repeat(r, s) => Lookup::Nothing,
        (Some(r), _) => Lookup::ReadTicket(r.ticket_id),
        (None, State::Ok) => Lookup::FindByMarker,
        (None, s) if s.is_problem() && record_lost => Lookup::FindByMarker,
        (None, _) => Lookup::Nothing,
    }
}

fn is_repeat(record: &Record, state: State) -> bool {
    if record.rebuilt {
        return false;
    }
    match state {
        State::Ack => record.acked,
        State::Unack => !record.acked,
        s => s == record.state,
    }
}

fn ignore(skip: Skip, record: RecordChange) -> Plan {
    Plan {
        steps: Vec::new(),
        record,
        skip: Some(skip),
    }
}

fn create(event: &Event, previous: Option<(u64, Remote)>) -> Plan {
    Plan {
        steps: vec![Step::Create { previous }],
        skip: None,
        record: RecordChange::Write {
            state: event.state,
            output: event.output.clone(),
            priority: event.priority,
            acked: false,
        },
    }
}

/// The plan for `event`, given the record and what GLPI said.
pub(crate) fn decide(record: Option<&Record>, found: Found, event: &Event, policy: Policy) -> Plan {
    let state = event.state;
    if let Some(r) = record
        && is_repeat(r, state)
    {
        return ignore(Skip::Renotification, RecordChange::Keep);
    }
    match (record, found) {
        // ---- problems: WARNING / CRITICAL / UNKNOWN
        (None, Found::Ticket(id, Remote::Open)) if state.is_problem() => {
            // Record lost, ticket found by its marker: adopt it.
            Plan {
                steps: vec![Step::FollowUp {
                    ticket: id,
                    note: Note::StateChange {
                        from: None,
                        to: state,
                    },
                }],
                skip: None,
                record: RecordChange::Write {
                    state,
                    output: event.output.clone(),
                    priority: event.priority,
                    acked: false,
                },
            }
        }
        (None, _) if state.is_problem() => create(event, None),
        (Some(r), Found::Ticket(id, Remote::Open)) if state.is_problem() => {
            let mut steps = vec![Step::FollowUp {
                ticket: id,
                note: Note::StateChange {
                    from: (!r.rebuilt).then_some(r.state),
                    to: state,
                },
            }];
            let mut priority = r.priority;
            if policy.update_priority && event.priority != r.priority {
                steps.push(Step::SetPriority {
                    ticket: id,
                    priority: event.priority,
                });
                priority = event.priority;
            }
            Plan {
                steps,
                skip: None,
                record: RecordChange::Write {
                    state,
                    output: event.output.clone(),
                    priority,
                    acked: false,
                },
            }
        }
        (Some(r), Found::Ticket(_, remote)) if state.is_problem() => {
            create(event, Some((r.ticket_id, remote)))
        }
        (Some(r), _) if state.is_problem() => {
            // Not looked up (cannot happen through `lookup`): be safe, read first.
            create(event, Some((r.ticket_id, Remote::Gone)))
        }

        // ---- recovery: OK
        (_, Found::Ticket(id, Remote::Open)) if state == State::Ok => Plan {
            steps: vec![Step::Solve { ticket: id }],
            skip: None,
            record: RecordChange::Forget,
        },
        (Some(r), Found::Ticket(_, remote)) if state == State::Ok => ignore(
            Skip::ClosedInGlpi(r.ticket_id, remote),
            RecordChange::Forget,
        ),
        (_, _) if state == State::Ok => ignore(Skip::NoTicket, RecordChange::Keep),

        // ---- ACK / UNACK
        (Some(r), Found::Ticket(id, Remote::Open)) => Plan {
            steps: vec![Step::FollowUp {
                ticket: id,
                note: if state == State::Ack {
                    Note::Ack
                } else {
                    Note::Unack
                },
            }],
            skip: None,
            record: RecordChange::Write {
                state: r.state,
                output: r.output.clone(),
                priority: r.priority,
                acked: state == State::Ack,
            },
        },
        (Some(r), Found::Ticket(_, remote)) => {
            ignore(Skip::ClosedInGlpi(r.ticket_id, remote), RecordChange::Keep)
        }
        (_, _) => ignore(Skip::NoTicket, RecordChange::Keep),
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
            key: Key::new("web01", "HTTP"),
            group: String::new(),
            address: String::new(),
            state,
            output: "out".into(),
            priority,
            ack_author: "bob".into(),
            ack_comment: "on it".into(),
            vars: Vec::new(),
            time: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    /// The outcome of a plan whose ticket is 7 (written into or created).
    fn outcome(plan: &Plan) -> Outcome {
        plan.outcome(Some(7))
    }

    fn record(state: State, priority: u8, acked: bool) -> Record {
        Record {
            key: Key::new("web01", "HTTP"),
            ticket_id: 7,
            state,
            output: "old".into(),
            priority,
            acked,
            opened_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
            rebuilt: false,
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
    fn problem_without_ticket_creates_one() {
        for s in PROBLEMS {
            let e = event(s, 4);
            assert_eq!(lookup(None, &e, false), Lookup::Nothing);
            let plan = decide(None, Found::NotLooked, &e, POLICY);
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
    fn state_change_on_open_ticket_follows_up_and_updates_priority() {
        let r = record(State::Warning, 3, false);
        let e = event(State::Critical, 5);
        assert_eq!(lookup(Some(&r), &e, false), Lookup::ReadTicket(7));
        let plan = decide(Some(&r), Found::Ticket(7, Remote::Open), &e, POLICY);
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
            Found::Ticket(7, Remote::Open),
            &event(State::Critical, 3),
            POLICY,
        );
        assert_eq!(plan.steps.len(), 1);
        let off = Policy {
            update_priority: false,
        };
        let plan = decide(
            Some(&r),
            Found::Ticket(7, Remote::Open),
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
            assert_eq!(lookup(Some(&r), &e, false), Lookup::Nothing);
            let plan = decide(Some(&r), Found::NotLooked, &e, POLICY);
            assert_eq!(plan.skip, Some(Skip::Renotification));
            assert!(plan.steps.is_empty());
            assert_eq!(plan.record, RecordChange::Keep);
        }
    }

    #[test]
    fn problem_on_ticket_closed_by_a_human_opens_a_new_one_naming_it() {
        for remote in CLOSED {
            let r = record(State::Warning, 3, false);
            let plan = decide(
                Some(&r),
                Found::Ticket(7, remote),
                &event(State::Critical, 4),
                POLICY,
            );
            assert_eq!(
                plan.steps,
                vec![Step::Create {
                    previous: Some((7, remote))
                }]
            );
            assert_eq!(outcome(&plan).action(), "created");
        }
    }

    #[test]
    fn ok_with_open_ticket_solves_and_forgets() {
        let r = record(State::Critical, 3, true);
        let e = event(State::Ok, 3);
        assert_eq!(lookup(Some(&r), &e, false), Lookup::ReadTicket(7));
        let plan = decide(Some(&r), Found::Ticket(7, Remote::Open), &e, POLICY);
        assert_eq!(plan.steps, vec![Step::Solve { ticket: 7 }]);
        assert_eq!(outcome(&plan).action(), "solved");
        assert_eq!(plan.record, RecordChange::Forget);
    }

    #[test]
    fn ok_on_ticket_closed_by_a_human_writes_nothing_and_forgets() {
        for remote in CLOSED {
            let r = record(State::Critical, 3, false);
            let plan = decide(
                Some(&r),
                Found::Ticket(7, remote),
                &event(State::Ok, 3),
                POLICY,
            );
            assert!(plan.steps.is_empty());
            assert_eq!(
                outcome(&plan),
                Outcome::Ignored {
                    ticket: Some(7),
                    skip: Skip::ClosedInGlpi(7, remote)
                }
            );
            assert_eq!(plan.record, RecordChange::Forget);
        }
    }

    #[test]
    fn ok_without_record_looks_for_the_marker_once() {
        let e = event(State::Ok, 3);
        assert_eq!(lookup(None, &e, false), Lookup::FindByMarker);
        let plan = decide(None, Found::NoTicket, &e, POLICY);
        assert!(plan.steps.is_empty());
        assert_eq!(plan.skip, Some(Skip::NoTicket));
        let plan = decide(None, Found::Ticket(9, Remote::Open), &e, POLICY);
        assert_eq!(plan.steps, vec![Step::Solve { ticket: 9 }]);
        assert_eq!(outcome(&plan).action(), "solved");
    }

    #[test]
    fn lost_record_finds_the_open_ticket_instead_of_a_second_one() {
        let e = event(State::Critical, 3);
        assert_eq!(lookup(None, &e, true), Lookup::FindByMarker);
        let plan = decide(None, Found::Ticket(9, Remote::Open), &e, POLICY);
        assert!(matches!(plan.steps[..], [Step::FollowUp { ticket: 9, .. }]));
        assert_eq!(outcome(&plan).action(), "followed_up");
        let plan = decide(None, Found::NoTicket, &e, POLICY);
        assert_eq!(plan.steps, vec![Step::Create { previous: None }]);
    }

    #[test]
    fn ack_and_unack() {
        let e_ack = event(State::Ack, 3);
        let e_unack = event(State::Unack, 3);
        // no ticket: nothing to do
        for e in [&e_ack, &e_unack] {
            assert_eq!(lookup(None, e, false), Lookup::Nothing);
            let plan = decide(None, Found::NotLooked, e, POLICY);
            assert_eq!(plan.skip, Some(Skip::NoTicket));
        }
        // ack on an open ticket
        let r = record(State::Critical, 3, false);
        assert_eq!(lookup(Some(&r), &e_ack, false), Lookup::ReadTicket(7));
        let plan = decide(Some(&r), Found::Ticket(7, Remote::Open), &e_ack, POLICY);
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
        assert_eq!(lookup(Some(&acked), &e_ack, false), Lookup::Nothing);
        assert_eq!(lookup(Some(&r), &e_unack, false), Lookup::Nothing);
        // unack
        let plan = decide(
            Some(&acked),
            Found::Ticket(7, Remote::Open),
            &e_unack,
            POLICY,
        );
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
        // ack on a ticket closed by a human: nothing written, record kept
        for remote in CLOSED {
            let plan = decide(Some(&r), Found::Ticket(7, remote), &e_ack, POLICY);
            assert!(plan.steps.is_empty());
            assert_eq!(plan.record, RecordChange::Keep);
        }
    }

    #[test]
    fn a_state_change_clears_the_acknowledgement() {
        let r = record(State::Warning, 3, true);
        let plan = decide(
            Some(&r),
            Found::Ticket(7, Remote::Open),
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
        assert_eq!(lookup(Some(&r), &e, false), Lookup::ReadTicket(7));
        let plan = decide(Some(&r), Found::Ticket(7, Remote::Open), &e, POLICY);
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
}
