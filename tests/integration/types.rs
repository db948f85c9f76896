//! SPEC "Notification types", end to end: what each kind of notification an
//! engine sends does to a ticket — the real binary, given the context as
//! arguments (as the shipped wiring gives it), against the simulator. Also:
//! values that start with `-`, a malformed type or number, and a run that
//! lacks its context.

use crate::support::{Env, Run, Transport};

/// `notify --type KIND` for `web01`/`HTTP` in `state`, with `more`.
fn typed(env: &Env, kind: &str, state: &str, more: &[&str]) -> Run {
    let mut args = vec!["--type", kind];
    args.extend_from_slice(more);
    env.notify("web01", "HTTP", state, &args)
}

/// The `(action, ticket)` a run printed, after asserting it exited 0.
#[track_caller]
fn done(run: &Run) -> (String, Option<u64>) {
    let j = run.ok().json();
    (
        j["action"].as_str().unwrap_or_default().to_owned(),
        j["ticket_id"].as_u64(),
    )
}

#[track_caller]
fn open_ticket(env: &Env) -> u64 {
    let (action, id) = done(&typed(env, "PROBLEM", "CRITICAL", &["--output", "down"]));
    assert_eq!(action, "created");
    id.unwrap()
}

fn flapping_never_solves_then_its_end_does(tr: Transport) {
    let env = Env::over(tr, "");
    let id = open_ticket(&env);
    // FLAPPINGSTART carrying OK (what Nagios and Icinga send): a
    // follow-up, the ticket stays open.
    let run = typed(&env, "FLAPPINGSTART", "OK", &["--output", "OK - up"]);
    assert_eq!(done(&run), ("followed_up".into(), Some(id)));
    let t = env.sim.ticket(id).unwrap();
    assert!(t.solutions.is_empty(), "flapping solved the ticket");
    assert!(
        t.followups[0].contains("Bagotement détecté — état : CRITICAL → OK"),
        "{:?}",
        t.followups
    );
    // The engine stays silent during flapping; FLAPPINGSTOP (Icinga 2
    // spells it FLAPPINGEND) carrying OK solves, saying why.
    let run = typed(&env, "flappingend", "OK", &[]);
    assert_eq!(done(&run), ("solved".into(), Some(id)));
    let t = env.sim.ticket(id).unwrap();
    assert!(
        t.solutions[0].contains("Fin du bagotement : retour à l&#39;état OK"),
        "{:?}",
        t.solutions
    );
    // Nothing left: a later FLAPPINGSTART carrying OK opens nothing.
    let run = typed(&env, "FLAPPINGSTART", "OK", &[]);
    assert_eq!(done(&run).0, "ignored");
    assert_eq!(env.sim.tickets().len(), 1);
}

#[test]
fn flapping_never_solves_then_its_end_does_legacy() {
    flapping_never_solves_then_its_end_does(Transport::Legacy);
}

#[test]
fn flapping_never_solves_then_its_end_does_v2() {
    flapping_never_solves_then_its_end_does(Transport::V2);
}

#[test]
fn flapping_that_starts_in_a_problem_opens_a_ticket_and_its_stop_solves_it() {
    let env = Env::new();
    let run = typed(&env, "FLAPPINGSTART", "WARNING", &["--output", "slow"]);
    let (action, id) = done(&run);
    assert_eq!(action, "created");
    let t = env.sim.ticket(id.unwrap()).unwrap();
    assert!(t.content.contains("FLAPPINGSTART"), "{}", t.content);
    // No RECOVERY ever follows (ENGINES.md): FLAPPINGSTOP(OK) is the news.
    assert_eq!(
        done(&typed(&env, "FLAPPINGSTOP", "OK", &[])),
        ("solved".into(), id)
    );
}

#[test]
fn a_downtime_never_opens_a_ticket_and_its_end_solves_what_recovered_during_it() {
    let env = Env::with_config("lang = \"en\"");
    // A downtime on a problem with no ticket: nothing.
    let run = typed(
        &env,
        "DOWNTIMESTART",
        "CRITICAL",
        &["--author", "jeanne", "--comment", "patching"],
    );
    assert_eq!(done(&run).0, "ignored");
    assert!(run.stderr.is_empty() || !run.stderr.contains("ERROR"));
    assert!(env.sim.tickets().is_empty(), "a downtime opened a ticket");
    // It outlived the maintenance: the end opens one.
    let (action, id) = done(&typed(&env, "DOWNTIMEEND", "CRITICAL", &[]));
    assert_eq!(action, "created");
    let id = id.unwrap();
    // Another downtime: author and comment into the ticket.
    let run = typed(
        &env,
        "DOWNTIMESTART",
        "CRITICAL",
        &["--author", "jeanne", "--comment", "patching"],
    );
    assert_eq!(done(&run), ("followed_up".into(), Some(id)));
    let t = env.sim.ticket(id).unwrap();
    let last = t.followups.last().unwrap();
    assert!(
        last.contains("Downtime started by jeanne") && last.contains("patching"),
        "{last}"
    );
    // It recovered during the downtime (no RECOVERY is sent): the end,
    // carrying OK, solves it.
    let run = typed(&env, "DOWNTIMEEND", "OK", &["--output", "OK - fine"]);
    assert_eq!(done(&run), ("solved".into(), Some(id)));
    let t = env.sim.ticket(id).unwrap();
    assert!(
        t.solutions[0].contains("Recovered during the downtime"),
        "{:?}",
        t.solutions
    );
}

#[test]
fn a_custom_notification_is_a_followup_with_its_author_and_comment_or_nothing() {
    let env = Env::with_config("lang = \"en\"");
    let run = typed(&env, "CUSTOM", "CRITICAL", &["--author", "paul"]);
    assert_eq!(done(&run).0, "ignored");
    assert!(env.sim.tickets().is_empty());
    let id = open_ticket(&env);
    let run = typed(
        &env,
        "CUSTOM",
        "CRITICAL",
        &["--author", "paul", "--comment", "call the vendor"],
    );
    assert_eq!(done(&run), ("followed_up".into(), Some(id)));
    let t = env.sim.ticket(id).unwrap();
    assert!(
        t.followups[0].contains("Custom notification by paul")
            && t.followups[0].contains("call the vendor"),
        "{:?}",
        t.followups
    );
    // A repeated CRITICAL after it is still a re-notification.
    assert_eq!(done(&typed(&env, "PROBLEM", "CRITICAL", &[])).0, "ignored");
}

#[test]
fn the_type_decides_even_when_a_state_is_given() {
    let env = Env::new();
    let id = open_ticket(&env);
    // What an arguments-only wiring passes for an acknowledgement.
    let run = typed(
        &env,
        "ACKNOWLEDGEMENT",
        "CRITICAL",
        &["--author", "Jeanne", "--comment", "looking"],
    );
    let j = run.ok().json();
    assert_eq!(j["action"], "acknowledged", "{}", run.stdout);
    assert_eq!(j["state"], "acknowledged");
    let t = env.sim.ticket(id).unwrap();
    assert!(t.followups[0].contains("Acquitté par Jeanne"));
    // The type from the environment, when no option gives it.
    let run = env.run(
        env.cmd()
            .args(["--json", "notify", "--node", "web01", "--service", "HTTP"])
            .args(["--state", "OK"])
            .env("NAGIOS_NOTIFICATIONTYPE", "FLAPPINGSTART"),
    );
    assert_eq!(done(&run), ("followed_up".into(), Some(id)));
}

#[test]
fn a_malformed_type_or_number_is_ignored_with_a_warning_not_an_exit_2() {
    let env = Env::new();
    let run = typed(
        &env,
        "FLAPPING-WHATEVER",
        "CRITICAL",
        &[
            "--event-id",
            "12abc",
            "--last-event-id",
            "x",
            "--problem-id",
            "0b6c9a3e-9d1e-4b1f-8f0e-1d2c3b4a5f60",
        ],
    );
    let (action, _) = done(&run);
    assert_eq!(action, "created", "read as no type");
    assert!(
        run.stderr.contains("FLAPPING-WHATEVER") && run.stderr.contains("12abc"),
        "both warned about: {}",
        run.stderr
    );
    // Naemon's problem ids are UUIDs: opaque text, no warning; its event
    // numbers order its events.
    assert!(!run.stderr.contains("0b6c9a3e"), "{}", run.stderr);
    let naemon = |state: &str, id: &str, previous: &str| {
        env.notify(
            "naemon01",
            "HTTP",
            state,
            &[
                "--type",
                "PROBLEM",
                "--event-id",
                id,
                "--last-event-id",
                previous,
                "--problem-id",
                "6f1c3e0a-2b4d-4e8f-9a1b-7c5d3e2f1a00",
            ],
        )
    };
    let (action, ticket) = done(&naemon("CRITICAL", "40", "39"));
    assert_eq!(action, "created");
    let run = naemon("WARNING", "41", "40");
    assert_eq!(done(&run), ("followed_up".into(), ticket));
    assert!(!run.stderr.contains("problem"), "{}", run.stderr);
}

#[test]
fn option_values_starting_with_a_dash_reach_glpi() {
    let env = Env::new();
    let run = env.run(env.cmd().args([
        "--json",
        "notify",
        "--node",
        "-weird-node",
        "--group",
        "-prod",
        "--address",
        "-10.0.0.1",
        "--service",
        "-temp",
        "--state",
        "CRITICAL",
        "--output",
        "-5 degrees C",
        "--type",
        "PROBLEM",
    ]));
    let (action, id) = done(&run);
    assert_eq!(action, "created");
    let t = env.sim.ticket(id.unwrap()).unwrap();
    assert_eq!(t.name, "( -prod ) -weird-node:-temp");
    for value in ["-5 degrees C", "-10.0.0.1", "-prod"] {
        assert!(t.content.contains(value), "{value} in {}", t.content);
    }
    let run = env.run(env.cmd().args([
        "--json",
        "notify",
        "--node",
        "-weird-node",
        "--service",
        "-temp",
        "--state",
        "ACK",
        "--ack-author",
        "-",
        "--ack-comment",
        "-- on it",
    ]));
    assert_eq!(done(&run).0, "acknowledged");
    let t = env.sim.ticket(id.unwrap()).unwrap();
    assert!(t.followups[0].contains("-- on it"), "{:?}", t.followups);
    // An empty value (an empty macro in quotes) is an empty value.
    let run = env.run(env.cmd().args([
        "--json",
        "notify",
        "--node",
        "db01",
        "--service",
        "",
        "--group",
        "",
        "--state",
        "DOWN",
        "--author",
        "",
        "--comment",
        "",
        "--type",
        "",
        "--event-id",
        "",
    ]));
    assert_eq!(done(&run).0, "created");
}

#[test]
fn a_run_without_its_context_says_how_to_wire_the_engine() {
    let env = Env::new();
    // `SEND_TICKET_GLPI -L 4` as a default Nagios runs it: no macro in the
    // environment, no argument.
    let run = env.run(env.cmd().args(["notify", "-L", "4"]));
    run.code(2);
    for hint in [
        "enable_environment_macros=1",
        "/usr/share/esia-glpi/engines/",
        "Wiring the monitoring engine",
    ] {
        assert!(run.stderr.contains(hint), "{hint} in {}", run.stderr);
    }
}
