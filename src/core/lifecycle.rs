//! The decision: (recorded ticket, what GLPI said, event, policy) → plan of
//! actions. Pure — no I/O, no async, no clock — so every row of SPEC's
//! lifecycle table is a unit test below.
//!
//! GLPI is only asked what the decision needs: [`lookup`] names the next
//! question, given what is [`Known`] so far — nothing for a re-notification;
//! the recorded ticket before writing into it (never write into a ticket a
//! human closed); a search for the key's open ticket by its marker whenever
//! no usable recorded ticket is open and the event would open or solve one
//! (so a lost, stale or foreign record never doubles a ticket nor leaves one
//! open) — then [`decide`] turns the answers into a [`Plan`].
//!
//! A record the caller could not trust (written for another GLPI, a ticket id
//! of 0, a recorded ticket that does not carry the key's marker) is passed as
//! `None`: the decision then relies on the search.

use super::event::{Event, State};
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

/// The next question for GLPI, or `None` once [`decide`] has what it needs.
pub(crate) fn lookup(record: Option<&Record>, event: &Event, known: Known) -> Option<Lookup> {
    if let Some(r) = record {
        if is_repeat(r, event.state) {
            return None;
        }
        if known.recorded.is_none() {
            return Some(Lookup::ReadTicket(r.ticket_id));
        }
    }
    let recorded_open = record.is_some() && known.recorded == Some(Remote::Open);
    let opens_or_solves = event.state.is_problem() || event.state == State::Ok;
    (opens_or_solves && !recorded_open && known.search == Search::NotMade)
        .then_some(Lookup::FindByMarker)
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

fn write(event: &Event, steps: Vec<Step>, priority: u8) -> Plan {
    Plan {
        steps,
        skip: None,
        record: RecordChange::Write {
            state: event.state,
            output: event.output.clone(),
            priority,
            acked: false,
        },
    }
}

/// The plan for `event`, given the usable record (if any) and what GLPI said.
pub(crate) fn decide(record: Option<&Record>, known: Known, event: &Event, policy: Policy) -> Plan {
    let state = event.state;
    if let Some(r) = record
        && is_repeat(r, state)
    {
        return ignore(Skip::Renotification, RecordChange::Keep);
    }
    let recorded = record.zip(known.recorded);
    let found = match known.search {
        Search::Open(id) => Some(id),
        Search::NotMade | Search::Nothing => None,
    };
    let state_change = |from, ticket| Step::FollowUp {
        ticket,
        note: Note::StateChange { from, to: state },
    };
    if state.is_problem() {
        return match (recorded, found) {
            (Some((r, Remote::Open)), _) => {
                let mut steps = vec![state_change((!r.rebuilt).then_some(r.state), r.ticket_id)];
                let mut priority = r.priority;
                if policy.update_priority && event.priority != r.priority {
                    steps.push(Step::SetPriority {
                        ticket: r.ticket_id,
                        priority: event.priority,
                    });
                    priority = event.priority;
                }
                write(event, steps, priority)
            }
            // The key's open ticket, found by its marker: the record was
            // lost, stale or closed by a human meanwhile. Adopt it.
            (_, Some(id)) => write(event, vec![state_change(None, id)], event.priority),
            (Some((r, remote)), None) => write(
                event,
                vec![Step::Create {
                    previous: Some((r.ticket_id, remote)),
                }],
                event.priority,
            ),
            (None, None) => write(event, vec![Step::Create { previous: None }], event.priority),
        };
    }
    if state == State::Ok {
        return match (recorded, found) {
            (Some((r, Remote::Open)), _) => Plan {
                steps: vec![Step::Solve {
                    ticket: r.ticket_id,
                }],
                skip: None,
                record: RecordChange::Forget,
            },
            (_, Some(id)) => Plan {
                steps: vec![Step::Solve { ticket: id }],
                skip: None,
                record: RecordChange::Forget,
            },
            (Some((r, remote)), None) => ignore(
                Skip::ClosedInGlpi(r.ticket_id, remote),
                RecordChange::Forget,
            ),
            (None, None) => ignore(Skip::NoTicket, RecordChange::Keep),
        };
    }
    // ACK / UNACK
    match recorded {
        Some((r, Remote::Open)) => Plan {
            steps: vec![Step::FollowUp {
                ticket: r.ticket_id,
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
        Some((r, remote)) => ignore(Skip::ClosedInGlpi(r.ticket_id, remote), RecordChange::Keep),
        None => ignore(Skip::NoTicket, RecordChange::Keep),
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
            ack_author: "bob".into(),
            ack_comment: "on it".into(),
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
        assert_eq!(plan.steps, vec![Step::Solve { ticket: 7 }]);
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
            assert_eq!(plan.steps, vec![Step::Solve { ticket: 12 }]);
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
        assert_eq!(plan.steps, vec![Step::Solve { ticket: 9 }]);
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
}
