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
