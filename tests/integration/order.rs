//! SPEC "Durability": **Order**, **Identity** and **Lost state**, proved with
//! real processes started the way a monitoring engine starts them —
//! concurrently, a few milliseconds apart, sometimes in the wrong order —
//! against a slow or failing simulator.
//!
//! Events of one key reach GLPI in the order the engine produced them, a run
//! killed while it waits loses nothing, a stepped clock changes nothing, a
//! record is never written through into a ticket that is not the key's (nor
//! into another GLPI), and a lost record never doubles a ticket.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::glpi_sim::{Fault, FaultKind, Sim, SimOptions};
use crate::support::{Env, Run};

/// The longest one run may take before the test calls it hung (runs are
/// bounded by `run_timeout = 20` in the test configuration).
const RUN_DEADLINE: Duration = Duration::from_secs(25);

/// GLPI answers every request after `latency` (until `clear_faults`).
fn slow_glpi(env: &Env, latency: Duration) {
    env.sim
        .inject(Fault::new("/apirest.php/", FaultKind::Delay(latency)));
}

/// `esia-glpi --json notify` with the context as options, ready to spawn.
fn notify_cmd(env: &Env, node: &str, service: &str, state: &str, output: &str) -> Command {
    let mut c = env.cmd();
    c.args([
        "--json",
        "notify",
        "--node",
        node,
        "--service",
        service,
        "--state",
        state,
        "--output",
        output,
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    c
}

/// Waits (bounded) for a spawned run and returns what it printed.
fn finish(child: Child, what: &str) -> Run {
    crate::support::finish_within(child, what, RUN_DEADLINE)
}

/// Asserts a run's exit status and its `--json` outcome.
#[track_caller]
fn assert_outcome(run: &Run, what: &str, action: &str, ticket: u64) {
    assert_eq!(
        run.code, 0,
        "{what}: exit status\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout, run.stderr
    );
    let j = run.json();
    assert_eq!(
        (j["action"].as_str(), j["ticket_id"].as_u64()),
        (Some(action), Some(ticket)),
        "{what}: its own outcome\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout,
        run.stderr
    );
}

/// The tickets whose title is the one of `node:service` (no group).
fn tickets_of(sim: &Sim, node: &str, service: &str) -> Vec<u64> {
    let title = format!("(  ) {node}:{service}");
    sim.tickets()
        .into_iter()
        .filter(|t| t.name == title)
        .map(|t| t.id)
        .collect()
}

/// A ticket's follow-ups and solutions in the order GLPI took them, as
/// `follow-up: <text>` / `solution: <text>`, from the simulator's trail.
fn timeline(sim: &Sim, id: u64) -> Vec<String> {
    let head = format!("Ticket #{id} [");
    sim.trail()
        .lines()
        .skip_while(|l| !l.starts_with(&head))
        .skip(1)
        .take_while(|l| !l.starts_with("Ticket #"))
        .filter(|l| {
            let l = l.trim_start();
            !l.starts_with("content:") && !l.starts_with("requester(s):")
        })
        .filter_map(|l| {
            // "  <date> follow-up #3 by esia: <text>",
            // "  <date> solution #1 by esia [waiting]: <text>"
            let kind = if l.contains(" follow-up #") {
                "follow-up"
            } else if l.contains(" solution #") {
                "solution"
            } else {
                return None;
            };
            let text = l.split_once(": ").map_or("", |(_, t)| t);
            Some(format!("{kind}: {text}"))
        })
        .collect()
}

/// One expected entry of a ticket's timeline: its kind and what it says.
#[derive(Debug)]
struct Entry {
    kind: &'static str,
    says: Vec<String>,
}

fn followup(says: &[&str]) -> Entry {
    Entry {
        kind: "follow-up",
        says: says.iter().map(ToString::to_string).collect(),
    }
}

fn solution(says: &[&str]) -> Entry {
    Entry {
        kind: "solution",
        says: says.iter().map(ToString::to_string).collect(),
    }
}

/// What is wrong with ticket `id`'s timeline, if it is not exactly
/// `expected`, in order.
fn timeline_problem(sim: &Sim, id: u64, expected: &[Entry]) -> Option<String> {
    let got = timeline(sim, id);
    let matches = got.len() == expected.len()
        && got.iter().zip(expected).all(|(g, e)| {
            g.starts_with(&format!("{}: ", e.kind)) && e.says.iter().all(|s| g.contains(s))
        });
    (!matches).then(|| {
        format!(
            "ticket {id}: the trail is not the events in order\n--- expected\n{}\n--- got\n{}",
            expected
                .iter()
                .map(|e| format!("{}: … {}", e.kind, e.says.join(" … ")))
                .collect::<Vec<_>>()
                .join("\n"),
            got.join("\n"),
        )
    })
}

/// Asserts that ticket `id`'s timeline is exactly `expected`, in order.
#[track_caller]
fn assert_timeline(sim: &Sim, id: u64, expected: &[Entry]) {
    if let Some(problem) = timeline_problem(sim, id, expected) {
        panic!("{problem}\n--- GLPI\n{}", sim.trail());
    }
}

/// Asserts that `state list` shows no kept event for any key.
#[track_caller]
fn assert_nothing_kept(env: &Env) {
    let list = env.esia(&["state", "list"]);
    assert!(
        !list.ok().stdout.contains("event(s) kept"),
        "events are still kept\n{}",
        list.stdout
    );
}

/// One finished run of a burst: what it was, its event's state, the
/// ticket of its key, and what it printed.
struct Done {
    what: String,
    state: &'static str,
    ticket: u64,
    run: Run,
}

/// After a burst of WARNING, CRITICAL, OK per service: every run exited 0;
/// each service has exactly its one ticket (`title` → id), whose trail is the
/// WARNING's follow-up, the CRITICAL's, then the solution, and which is
/// solved; every run reported its own event's fate.
#[track_caller]
fn assert_bursts_delivered(env: &Env, services: &[(String, String, u64)], runs: &[Done]) {
    for d in runs {
        assert_eq!(
            d.run.code, 0,
            "{}: exit status\n--- stdout\n{}\n--- stderr\n{}",
            d.what, d.run.stdout, d.run.stderr
        );
    }
    let mut problems = Vec::new();
    for (s, title, id) in services {
        let own: Vec<u64> = env
            .sim
            .tickets()
            .into_iter()
            .filter(|t| t.name == *title)
            .map(|t| t.id)
            .collect();
        if own != vec![*id] {
            problems.push(format!("{s}: tickets {own:?}, expected only {id}"));
        }
        let expected = [
            followup(&["→ WARNING", &format!("{s} warn")]),
            followup(&["→ CRITICAL", &format!("{s} crit")]),
            solution(&[&format!("{s} back")]),
        ];
        if let Some(p) = timeline_problem(&env.sim, *id, &expected) {
            problems.push(format!("{s}: {p}"));
        }
        let status = env.sim.ticket(*id).unwrap().status;
        if status != 5 {
            problems.push(format!("{s}: ticket {id} has status {status}, not solved"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} services are wrong:\n{}\n--- GLPI\n{}",
        problems
            .iter()
            .map(|p| p.split(':').next().unwrap_or(""))
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        services.len(),
        problems.join("\n"),
        env.sim.trail()
    );
    for d in runs {
        let action = if d.state == "OK" {
            "solved"
        } else {
            "followed_up"
        };
        assert_outcome(&d.run, &d.what, action, d.ticket);
    }
    assert_nothing_kept(env);
    assert_eq!(env.sim.open_sessions(), 0, "every session is closed");
}

// ---------------------------------------------------------------------------
// Order
// ---------------------------------------------------------------------------

/// Eight services, each with an open ticket, then WARNING, CRITICAL, OK
/// spawned 40 ms apart per service while GLPI takes 300 ms per request: all
/// 24 runs are in flight at once. Each service's ticket gets its two
/// follow-ups then its solution, in that order, and each run reports its own
/// event's fate. (Reading ticket i takes 12·i ms more, so the services' runs
/// end at different instants: which run of a key gets it next must not
/// depend on when the previous one let go.)
#[test]
fn overlapping_runs_follow_up_then_solve_each_ticket_in_order() {
    let env = Env::new();
    let node = "srv-app-01";
    let services: Vec<String> = (1..=8).map(|i| format!("SVC{i}")).collect();
    let mut tickets = Vec::new();
    for s in &services {
        let j = env
            .notify(node, s, "CRITICAL", &["--output", &format!("{s} down")])
            .ok()
            .json();
        assert_eq!(j["action"], "created");
        tickets.push(j["ticket_id"].as_u64().unwrap());
    }

    // GLPI answers after 300 ms, and reading ticket i takes 12·i ms more:
    // the services' runs do not all end in step.
    for (i, id) in (0u64..).zip(&tickets) {
        env.sim.inject(Fault::new(
            &format!("/apirest.php/Ticket/{id}"),
            FaultKind::Delay(Duration::from_millis(300 + 12 * i)),
        ));
    }
    slow_glpi(&env, Duration::from_millis(300));
    let mut running = Vec::new();
    for (state, word) in [("WARNING", "warn"), ("CRITICAL", "crit"), ("OK", "back")] {
        for (s, &id) in services.iter().zip(&tickets) {
            let child = notify_cmd(&env, node, s, state, &format!("{s} {word}"))
                .spawn()
                .unwrap();
            running.push((format!("{state} of {s}"), state, id, child));
        }
        std::thread::sleep(Duration::from_millis(40));
    }
    let runs: Vec<Done> = running
        .into_iter()
        .map(|(what, state, ticket, child)| Done {
            run: finish(child, &what),
            what,
            state,
            ticket,
        })
        .collect();
    let services: Vec<(String, String, u64)> = services
        .iter()
        .zip(&tickets)
        .map(|(s, &id)| (s.clone(), format!("(  ) {node}:{s}"), id))
        .collect();
    assert_bursts_delivered(&env, &services, &runs);
}

/// One Nagios 4 service notification, its context in the environment
/// macros the way Nagios hands them (see `nagios4-notifications/`).
struct Nagios {
    service: String,
    state: &'static str,
    last_state: &'static str,
    output: String,
    /// `NAGIOS_SERVICEEVENTID`: a global counter, one per state change.
    event_id: u64,
    /// `NAGIOS_LASTSERVICEEVENTID`: this service's previous state change.
    last_event_id: u64,
    /// `NAGIOS_SERVICEPROBLEMID`: the current problem (the one that ended,
    /// on RECOVERY).
    problem_id: u64,
    /// `NAGIOS_NOTIFICATIONNUMBER` of the problem.
    number: u64,
}

const NAGIOS_HOST: &str = "srv-web-01";

fn state_id(state: &str) -> &'static str {
    match state {
        "OK" => "0",
        "WARNING" => "1",
        "CRITICAL" => "2",
        _ => "3",
    }
}

/// `esia-glpi --json notify -L 4`, no context option: everything comes from
/// the `NAGIOS_*` environment, as with a real Nagios 4.
fn nagios_cmd(env: &Env, n: &Nagios) -> Command {
    let mut c = env.cmd();
    c.args(["--json", "notify", "-L", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let kind = if n.state == "OK" {
        "RECOVERY"
    } else {
        "PROBLEM"
    };
    // Whole seconds only: the events of a burst share it.
    let timet = jiff::Timestamp::now().as_second().to_string();
    let (event, last_event, problem, number) = (
        n.event_id.to_string(),
        n.last_event_id.to_string(),
        n.problem_id.to_string(),
        n.number.to_string(),
    );
    let vars: &[(&str, &str)] = &[
        ("NAGIOS_CONTACTNAME", "esia"),
        ("NAGIOS_CONTACTALIAS", "esia"),
        ("NAGIOS_CONTACTEMAIL", "nobody@example.org"),
        ("NAGIOS_NOTIFICATIONRECIPIENTS", "esia"),
        ("NAGIOS_NOTIFICATIONTYPE", kind),
        ("NAGIOS_NOTIFICATIONNUMBER", &number),
        ("NAGIOS_SERVICENOTIFICATIONNUMBER", &number),
        ("NAGIOS_NOTIFICATIONISESCALATED", "0"),
        ("NAGIOS_HOSTNAME", NAGIOS_HOST),
        ("NAGIOS_HOSTALIAS", NAGIOS_HOST),
        ("NAGIOS_HOSTDISPLAYNAME", NAGIOS_HOST),
        ("NAGIOS_HOSTADDRESS", "127.0.0.1"),
        ("NAGIOS_HOSTGROUPNAME", "Paris"),
        ("NAGIOS_HOSTGROUPNAMES", "Paris"),
        ("NAGIOS_HOSTGROUPALIAS", "Paris"),
        ("NAGIOS_HOSTSTATE", "UP"),
        ("NAGIOS_HOSTSTATEID", "0"),
        ("NAGIOS_HOSTSTATETYPE", "HARD"),
        ("NAGIOS_HOSTEVENTID", "0"),
        ("NAGIOS_LASTHOSTEVENTID", "0"),
        ("NAGIOS_HOSTPROBLEMID", "0"),
        ("NAGIOS_LASTHOSTPROBLEMID", "0"),
        ("NAGIOS_SERVICEDESC", &n.service),
        ("NAGIOS_SERVICEDISPLAYNAME", &n.service),
        ("NAGIOS_SERVICESTATE", n.state),
        ("NAGIOS_SERVICESTATEID", state_id(n.state)),
        ("NAGIOS_SERVICESTATETYPE", "HARD"),
        ("NAGIOS_SERVICEATTEMPT", "1"),
        ("NAGIOS_MAXSERVICEATTEMPTS", "1"),
        ("NAGIOS_SERVICECHECKTYPE", "PASSIVE"),
        ("NAGIOS_SERVICEOUTPUT", &n.output),
        ("NAGIOS_LASTSERVICESTATE", n.last_state),
        ("NAGIOS_LASTSERVICESTATEID", state_id(n.last_state)),
        ("NAGIOS_SERVICEEVENTID", &event),
        ("NAGIOS_LASTSERVICEEVENTID", &last_event),
        ("NAGIOS_SERVICEPROBLEMID", &problem),
        ("NAGIOS_LASTSERVICEPROBLEMID", "0"),
        ("NAGIOS_TIMET", &timet),
        ("NAGIOS_LASTSERVICESTATECHANGE", &timet),
    ];
    for (k, v) in vars {
        c.env(k, v);
    }
    c
}

/// The same burst, context from the Nagios macros, runs spawned in the wrong
/// order (OK, then CRITICAL, then WARNING, 30 ms apart): the engine orders
/// one key's events by Nagios' event ids and waits (`order_wait`, 1 s by
/// default) for the earlier events a gap in `NAGIOS_LASTSERVICEEVENTID`
/// announces.
#[test]
fn nagios_runs_started_in_the_wrong_order_are_delivered_in_event_order() {
    let env = Env::new();
    let services = ["HTTP", "HTTPS", "SMTP"];
    // Nagios numbers state changes with one global counter: the three
    // problems are events 1..3 (problems 1..3), then the WARNINGs 4..6, the
    // CRITICALs 7..9 and the recoveries 10..12.
    let mut tickets = Vec::new();
    for (i, s) in (0u64..).zip(services) {
        let first = Nagios {
            service: s.to_string(),
            state: "CRITICAL",
            last_state: "OK",
            output: format!("{s} down"),
            event_id: 1 + i,
            last_event_id: 0,
            problem_id: 1 + i,
            number: 1,
        };
        let run = env.run(&mut nagios_cmd(&env, &first));
        let j = run.ok().json();
        assert_eq!(j["action"], "created", "{}", run.stderr);
        assert_eq!(j["node"], NAGIOS_HOST);
        assert_eq!(j["service"], s);
        tickets.push(j["ticket_id"].as_u64().unwrap());
    }
    let n = u64::try_from(services.len()).unwrap();
    let event = |step: u64, i: u64| -> Nagios {
        let s = services[usize::try_from(i).unwrap()];
        let (state, last_state, word) = match step {
            1 => ("WARNING", "CRITICAL", "warn"),
            2 => ("CRITICAL", "WARNING", "crit"),
            _ => ("OK", "CRITICAL", "back"),
        };
        let id = |step: u64| if step == 0 { 1 + i } else { step * n + 1 + i };
        Nagios {
            service: s.to_string(),
            state,
            last_state,
            output: format!("{s} {word}"),
            event_id: id(step),
            last_event_id: id(step - 1),
            problem_id: 1 + i,
            number: 1 + step,
        }
    };

    slow_glpi(&env, Duration::from_millis(300));
    let mut running = Vec::new();
    for step in [3, 2, 1] {
        for (i, &id) in (0u64..).zip(&tickets) {
            let e = event(step, i);
            let what = format!(
                "{} of {} (event {}, last {})",
                e.state, e.service, e.event_id, e.last_event_id
            );
            let child = nagios_cmd(&env, &e).spawn().unwrap();
            running.push((what, e, id, child));
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    let runs: Vec<Done> = running
        .into_iter()
        .map(|(what, e, ticket, child)| Done {
            run: finish(child, &what),
            what,
            state: e.state,
            ticket,
        })
        .collect();
    let services: Vec<(String, String, u64)> = services
        .iter()
        .zip(&tickets)
        .map(|(s, &id)| (s.to_string(), format!("( Paris ) {NAGIOS_HOST}:{s}"), id))
        .collect();
    assert_bursts_delivered(&env, &services, &runs);
}

/// `notify` started the way an engine starts it, but held by the host
/// before it does anything — a loaded host does not run processes in the
/// order it started them: a shell stops itself, then becomes the run when
/// continued (same process, so the host's start time is the shell's).
fn stalled_notify(env: &Env, node: &str, service: &str, state: &str, output: &str) -> Child {
    let child = Command::new("sh")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TZ", "UTC")
        .args([
            "-c",
            r#"kill -STOP $$; exec "$@""#,
            "sh",
            crate::support::BIN,
        ])
        .arg("--config")
        .arg(&env.config)
        .args([
            "--json",
            "notify",
            "--node",
            node,
            "--service",
            service,
            "--state",
            state,
            "--output",
            output,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stopped: field 3 of /proc/<pid>/stat is `T`.
    let stat = format!("/proc/{}/stat", child.id());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(&stat).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('T'))
    }) {
        assert!(Instant::now() < deadline, "the shell never stopped");
        std::thread::sleep(Duration::from_millis(2));
    }
    child
}

/// Without event numbers (Esia's case), the order is the order in which the
/// host started the runs, not the order in which they reach the spool: a
/// WARNING whose run the host held back while the OK started 40 ms later
/// ran first is still written before the OK solves the ticket — no second
/// ticket left open for a service that is OK.
#[test]
fn a_run_started_first_but_held_back_by_the_host_is_delivered_first() {
    let env = Env::new();
    let first = env.run(&mut notify_cmd(
        &env,
        "web",
        "HTTP",
        "CRITICAL",
        "HTTP down",
    ));
    assert_outcome(&first, "the CRITICAL", "created", 1);
    slow_glpi(&env, Duration::from_millis(150));

    let warning = stalled_notify(&env, "web", "HTTP", "WARNING", "HTTP slow");
    std::thread::sleep(Duration::from_millis(40));
    let ok = notify_cmd(&env, "web", "HTTP", "OK", "HTTP back")
        .spawn()
        .unwrap();
    // The OK's run reaches the spool and holds the key; then the host runs
    // the WARNING's.
    std::thread::sleep(Duration::from_millis(20));
    let cont = Command::new("kill")
        .args(["-CONT", &warning.id().to_string()])
        .status()
        .unwrap();
    assert!(cont.success());
    let warning = finish(warning, "the WARNING (started first, held back)");
    let ok = finish(ok, "the OK (started 40 ms later)");

    assert_eq!(
        tickets_of(&env.sim, "web", "HTTP"),
        vec![1],
        "{}",
        env.sim.trail()
    );
    assert_timeline(
        &env.sim,
        1,
        &[
            followup(&["→ WARNING", "HTTP slow"]),
            solution(&["HTTP back"]),
        ],
    );
    assert_eq!(env.sim.ticket(1).unwrap().status, 5, "{}", env.sim.trail());
    assert_outcome(&warning, "the WARNING", "followed_up", 1);
    assert_outcome(&ok, "the OK", "solved", 1);
    assert_nothing_kept(&env);
}

/// 24 runs of one key, alternating WARNING / CRITICAL, spawned 100 ms apart;
/// returns each run (1-based number, what it printed).
fn alternating_burst(env: &Env) -> Vec<(usize, Run)> {
    let mut running = Vec::new();
    for i in 1..=24 {
        let state = if i % 2 == 1 { "WARNING" } else { "CRITICAL" };
        let child = notify_cmd(env, "web01", "HTTP", state, &format!("out {i:02}"))
            .spawn()
            .unwrap();
        running.push((i, child));
        std::thread::sleep(Duration::from_millis(100));
    }
    running
        .into_iter()
        .map(|(i, child)| (i, finish(child, &format!("run {i}"))))
        .collect()
}

/// One ticket opened by "out 01", then one follow-up per transition, "out
/// 02" to "out 24", in order, nothing doubled, nothing swallowed.
#[track_caller]
fn assert_every_transition_in_order(sim: &Sim) -> u64 {
    let tickets = sim.tickets();
    assert_eq!(tickets.len(), 1, "one ticket\n{}", sim.trail());
    let t = &tickets[0];
    assert!(
        t.content.contains("out 01"),
        "opened by the first event\n{}",
        sim.trail()
    );
    let expected: Vec<Entry> = (2..=24)
        .map(|i| {
            let change = if i % 2 == 0 {
                "WARNING → CRITICAL"
            } else {
                "CRITICAL → WARNING"
            };
            followup(&[change, &format!("out {i:02}")])
        })
        .collect();
    assert_timeline(sim, t.id, &expected);
    t.id
}

/// A flapping service: 24 state changes 100 ms apart while each run takes a
/// few GLPI round trips of 60 ms, so runs queue up for the key. Every run
/// exits 0 and reports its own event; no transition is swallowed as a
/// re-notification, none comes out of order.
#[test]
fn alternating_burst_keeps_every_transition_in_order() {
    let env = Env::with_options(
        SimOptions {
            latency: Duration::from_millis(60),
            ..SimOptions::default()
        },
        "",
    );
    let runs = alternating_burst(&env);
    for (i, run) in &runs {
        assert_eq!(
            run.code, 0,
            "run {i}: exit status\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        );
    }
    let id = assert_every_transition_in_order(&env.sim);
    for (i, run) in &runs {
        let action = if *i == 1 { "created" } else { "followed_up" };
        assert_outcome(run, &format!("run {i}"), action, id);
    }
    assert_nothing_kept(&env);
    assert_eq!(env.sim.open_sessions(), 0, "every session is closed");
}

/// The same burst while one GLPI write in five fails with a 500: runs may
/// exit 5 (their event kept); once `flush` has emptied the spool (repeated,
/// bounded, the faults still on), the trail is complete, in order, with no
/// duplicate.
#[test]
fn alternating_burst_with_failing_writes_keeps_every_transition_after_flush() {
    let env = Env::with_options(
        SimOptions {
            latency: Duration::from_millis(60),
            ..SimOptions::default()
        },
        "",
    );
    // One write in five fails with a 500 (not applied by GLPI).
    env.sim.inject(
        Fault::new("/apirest.php/", FaultKind::Status(500))
            .method("POST")
            .probability(0.2),
    );
    env.sim.inject(
        Fault::new("/apirest.php/", FaultKind::Status(500))
            .method("PUT")
            .probability(0.2),
    );
    let runs = alternating_burst(&env);
    for (i, run) in &runs {
        assert!(
            matches!(run.code, 0 | 5),
            "run {i}: exit status {}\n--- stdout\n{}\n--- stderr\n{}",
            run.code,
            run.stdout,
            run.stderr
        );
        if run.code == 5 {
            assert_eq!(
                run.json()["action"],
                "spooled",
                "run {i}: its event is kept"
            );
        }
    }
    // The faults stay: flush until every kept event went through.
    let mut last = None;
    for _ in 0..40 {
        let flush = env.esia(&["flush"]);
        let done = flush.code == 0;
        assert!(
            matches!(flush.code, 0 | 5),
            "flush: exit status {}\n{}",
            flush.code,
            flush.stderr
        );
        last = Some(flush);
        if done {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let last = last.unwrap();
    assert_eq!(
        last.code, 0,
        "flush never emptied the spool\n--- stdout\n{}\n--- stderr\n{}",
        last.stdout, last.stderr
    );
    assert_every_transition_in_order(&env.sim);
    assert_nothing_kept(&env);
    assert_eq!(env.sim.open_sessions(), 0, "every session is closed");
}

/// A CRITICAL holds the key while GLPI is slow; the OK that waits behind it
/// is killed with SIGKILL. Its event was kept before it waited: after the
/// CRITICAL's run and a flush, the ticket is solved.
#[test]
fn run_killed_while_waiting_for_the_key_loses_nothing() {
    let env = Env::new();
    slow_glpi(&env, Duration::from_millis(1500));
    let a = notify_cmd(&env, "web01", "HTTP", "CRITICAL", "down")
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut b = notify_cmd(&env, "web01", "HTTP", "OK", "back up")
        .spawn()
        .unwrap();
    // B is waiting for the key. Its event is kept before it waits: give it
    // the time to show in `state show` (bounded), then kill it.
    std::thread::sleep(Duration::from_millis(300));
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline
        && !env
            .esia(&["state", "show", "web01", "HTTP"])
            .stdout
            .contains("back up")
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        b.try_wait().unwrap().is_none(),
        "the OK's run ended before it could be killed: GLPI was not slow enough"
    );
    b.kill().unwrap(); // SIGKILL
    b.wait().unwrap();
    // GLPI fast again: the CRITICAL's run ends sooner.
    env.sim.clear_faults();
    let a = finish(a, "the CRITICAL's run");
    a.ok();
    let id = a.json()["ticket_id"].as_u64().unwrap();
    assert_eq!(a.json()["action"], "created", "{}", a.stdout);

    env.esia(&["flush"]).ok();
    let tickets = env.sim.tickets();
    assert_eq!(tickets.len(), 1, "{}", env.sim.trail());
    let t = env.sim.ticket(id).unwrap();
    assert_eq!(
        t.status,
        5,
        "the OK of the killed run reached GLPI: the ticket is solved\n{}",
        env.sim.trail()
    );
    assert_eq!(t.solutions.len(), 1);
    assert!(t.solutions[0].contains("back up"), "{:?}", t.solutions);
    assert_nothing_kept(&env);
}

/// Every `YYYY-MM-DD HH:MM:SS` in `text`, in order.
fn dates_in(text: &str) -> Vec<jiff::civil::DateTime> {
    const SHAPE: &[u8; 19] = b"dddd-dd-dd dd:dd:dd";
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(18))
        .filter(|&i| i == 0 || !bytes[i - 1].is_ascii_digit())
        .filter(|&i| {
            SHAPE
                .iter()
                .zip(&bytes[i..i + 19])
                .all(|(shape, b)| match shape {
                    b'd' => b.is_ascii_digit(),
                    other => b == other,
                })
        })
        .filter_map(|i| {
            let s = std::str::from_utf8(&bytes[i..i + 19]).ok()?;
            jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", s).ok()
        })
        .collect()
}

/// GLPI down; a WARNING is kept; the wall clock is stepped back an hour; the
/// OK is kept. Once GLPI is back, the WARNING opens the ticket and the OK
/// solves it — the later event is not taken for the earlier one because its
/// clock reads earlier.
#[test]
fn clock_stepped_back_between_two_kept_events_changes_nothing() {
    let env = Env::new();
    env.sim
        .inject(Fault::new("/apirest.php/", FaultKind::Status(503)));
    let run = env.notify("web01", "HTTP", "WARNING", &["--output", "slow answers"]);
    run.code(5);
    assert_eq!(run.json()["action"], "spooled");
    let run = env.run(env.cmd().env("ESIA_GLPI_CLOCK_SKEW_SECS", "-3600").args([
        "--json",
        "notify",
        "--node",
        "web01",
        "--service",
        "HTTP",
        "--state",
        "OK",
        "--output",
        "fast again",
    ]));
    run.code(5);
    assert_eq!(run.json()["action"], "spooled");

    env.sim.clear_faults();
    env.esia(&["flush"]).ok();
    let tickets = env.sim.tickets();
    assert_eq!(tickets.len(), 1, "exactly one ticket\n{}", env.sim.trail());
    let t = &tickets[0];
    assert!(
        t.content.contains("slow answers"),
        "created by the WARNING\n{}",
        env.sim.trail()
    );
    assert_eq!(
        t.status,
        5,
        "then solved by the OK: nothing left open\n{}",
        env.sim.trail()
    );
    assert_eq!(t.solutions.len(), 1, "{}", env.sim.trail());
    assert!(t.solutions[0].contains("fast again"), "{:?}", t.solutions);
    assert_nothing_kept(&env);
    // The premise: the OK's run did read a clock one hour behind (its date,
    // written in the solution, is an hour before the WARNING's).
    let opened = dates_in(&t.content);
    let solved = dates_in(&t.solutions[0]);
    let (Some(opened), Some(solved)) = (opened.first(), solved.first()) else {
        panic!("no date in the ticket's texts\n{}", env.sim.trail());
    };
    let behind = opened.duration_since(*solved).as_secs();
    assert!(
        (3500..=3700).contains(&behind),
        "ESIA_GLPI_CLOCK_SKEW_SECS=-3600 took effect: the solution's date ({solved}) should be \
         an hour before the creation's ({opened}); it is {behind} s before\n{}",
        env.sim.trail()
    );
    assert_eq!(env.sim.open_sessions(), 0, "every session is closed");
}

// ---------------------------------------------------------------------------
// Identity
// ---------------------------------------------------------------------------

/// Non-GET requests other than the session's.
fn writes(sim: &Sim) -> Vec<String> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method != "GET" && !r.path.contains("Session"))
        .map(|r| format!("{} {} {}", r.method, r.path, r.body))
        .collect()
}

/// Two GLPIs, one state directory. A record written for GLPI A is never
/// written through into GLPI B's ticket of the same number (another key's),
/// and an event kept for A is delivered to A only.
#[test]
fn a_record_is_bound_to_its_glpi_and_kept_events_go_only_there() {
    let a = Env::new();
    let mut b = Env::with_sim(Sim::start(), "");
    b.state.clone_from(&a.state);
    b.write_config("");

    // B's ticket 1 belongs to another key.
    let other = b
        .notify("db01", "MYSQL", "CRITICAL", &["--output", "mysql down"])
        .ok()
        .json()["ticket_id"]
        .as_u64()
        .unwrap();
    // K's ticket in A is A's ticket 1 too.
    let k_in_a = a
        .notify("web01", "HTTP", "CRITICAL", &["--output", "k down"])
        .ok()
        .json()["ticket_id"]
        .as_u64()
        .unwrap();
    assert_eq!((other, k_in_a), (1, 1), "the same ticket number in both");

    // K through B: never into B's ticket 1; K gets its own ticket there.
    let run = b.notify("web01", "HTTP", "WARNING", &["--output", "k slow"]);
    run.ok();
    let t1 = b.sim.ticket(other).unwrap();
    assert!(
        t1.followups.is_empty() && t1.solutions.is_empty() && t1.status < 5,
        "B's ticket 1 (db01/MYSQL) was written into by web01/HTTP's record for A\n{}",
        b.sim.trail()
    );
    let own = tickets_of(&b.sim, "web01", "HTTP");
    assert_eq!(
        own.len(),
        1,
        "web01/HTTP's own ticket in B\n{}",
        b.sim.trail()
    );
    let k_in_b = own[0];
    assert_ne!(k_in_b, other);
    let j = run.json();
    assert_eq!(j["ticket_id"].as_u64(), Some(k_in_b), "{}", run.stdout);
    assert!(
        b.sim.ticket(k_in_b).unwrap().content.contains("k slow"),
        "{}",
        b.sim.trail()
    );

    // OK through B solves K's ticket in B, and nothing else.
    let run = b.notify("web01", "HTTP", "OK", &["--output", "k back (B)"]);
    assert_outcome(&run, "OK through B", "solved", k_in_b);
    assert_eq!(b.sim.ticket(k_in_b).unwrap().status, 5);
    let t1 = b.sim.ticket(other).unwrap();
    assert!(
        t1.followups.is_empty() && t1.solutions.is_empty() && t1.status < 5,
        "{}",
        b.sim.trail()
    );
    // OK through A solves K's ticket in A.
    let run = a.notify("web01", "HTTP", "OK", &["--output", "k back (A)"]);
    assert_outcome(&run, "OK through A", "solved", k_in_a);
    let t = a.sim.ticket(k_in_a).unwrap();
    assert_eq!(t.status, 5, "{}", a.sim.trail());
    assert!(t.solutions[0].contains("k back (A)"), "{:?}", t.solutions);
    assert_eq!(a.sim.tickets().len(), 1, "{}", a.sim.trail());

    // A down: K's next event is kept for A.
    a.sim
        .inject(Fault::new("/apirest.php/", FaultKind::Status(503)));
    let run = a.notify("web01", "HTTP", "CRITICAL", &["--output", "k down again"]);
    run.code(5);
    assert_eq!(run.json()["action"], "spooled");
    // A flush through B leaves it alone.
    b.sim.clear_requests();
    let b_before = b.sim.tickets();
    let flush = b.esia(&["flush"]);
    assert_eq!(
        writes(&b.sim),
        Vec::<String>::new(),
        "an event kept for A was written into B\n{}",
        b.sim.trail()
    );
    assert_eq!(b.sim.tickets(), b_before, "{}", b.sim.trail());
    // …and does not exit 0 while it is left (SPEC "Identity").
    flush.code(9);
    assert!(
        flush.stdout.contains("1 kept for another GLPI"),
        "{}",
        flush.stdout
    );
    // A back: a flush through A delivers it there.
    a.sim.clear_faults();
    a.esia(&["flush"]).ok();
    let own = tickets_of(&a.sim, "web01", "HTTP");
    assert_eq!(own.len(), 2, "{}", a.sim.trail());
    let t = a.sim.ticket(own[1]).unwrap();
    assert!(t.content.contains("k down again"), "{}", a.sim.trail());
    assert!(t.status < 5);
    assert_nothing_kept(&a);
    assert_eq!(a.sim.open_sessions(), 0, "every session is closed in A");
    assert_eq!(b.sim.open_sessions(), 0, "every session is closed in B");
}

// ---------------------------------------------------------------------------
// Lost state
// ---------------------------------------------------------------------------

/// The open ticket of web01/HTTP, then `lose` does something to the state
/// directory: the WARNING follows that ticket up (no second one) and the OK
/// solves it.
fn lost_state_then_warning_and_ok(lose: impl FnOnce(&Env)) {
    let env = Env::new();
    let id = env
        .notify("web01", "HTTP", "CRITICAL", &["--output", "down"])
        .ok()
        .json()["ticket_id"]
        .as_u64()
        .unwrap();
    lose(&env);
    let run = env.notify("web01", "HTTP", "WARNING", &["--output", "slow"]);
    assert_outcome(&run, "WARNING after the state was lost", "followed_up", id);
    assert_eq!(
        env.sim.tickets().len(),
        1,
        "no second ticket\n{}",
        env.sim.trail()
    );
    let run = env.notify("web01", "HTTP", "OK", &["--output", "fine"]);
    assert_outcome(&run, "OK", "solved", id);
    assert_eq!(env.sim.tickets().len(), 1, "{}", env.sim.trail());
    assert_timeline(
        &env.sim,
        id,
        &[followup(&["WARNING", "slow"]), solution(&["fine"])],
    );
    assert_eq!(env.sim.open_sessions(), 0, "every session is closed");
}

#[test]
fn lost_state_directory_never_doubles_the_ticket() {
    lost_state_then_warning_and_ok(|env| std::fs::remove_dir_all(&env.state).unwrap());
}

#[test]
fn deleted_record_file_never_doubles_the_ticket() {
    lost_state_then_warning_and_ok(|env| {
        std::fs::remove_file(env.state.join("records/web01~HTTP.json")).unwrap();
    });
}

/// A backup of the state directory taken before web01/HTTP's ticket was
/// opened, restored afterwards by `restore(backup, state)`: the state knows
/// nothing of that ticket, and must not believe it knows that none is open.
fn restored_state_then_warning_and_ok(restore: impl FnOnce(&Path, &Path)) {
    let env = Env::new();
    // The state exists and holds its inventory of GLPI's open tickets.
    env.notify("web02", "HTTP", "CRITICAL", &[]).ok();
    let backup = env.dir.path().join("backup");
    copy_tree(&env.state, &backup);
    // A restore within a second of the backup's writes is not told apart
    // from them (see README, "Lost state").
    std::thread::sleep(Duration::from_millis(2500));
    let id = env
        .notify("web01", "HTTP", "CRITICAL", &["--output", "down"])
        .ok()
        .json()["ticket_id"]
        .as_u64()
        .unwrap();
    restore(&backup, &env.state);
    let run = env.notify("web01", "HTTP", "WARNING", &["--output", "slow"]);
    assert_outcome(&run, "WARNING after the restore", "followed_up", id);
    assert_eq!(
        env.sim.tickets().len(),
        2,
        "no second ticket\n{}",
        env.sim.trail()
    );
    let run = env.notify("web01", "HTTP", "OK", &["--output", "fine"]);
    assert_outcome(&run, "OK", "solved", id);
    assert_eq!(env.sim.tickets().len(), 2, "{}", env.sim.trail());
}

/// The backup copied back whole over an emptied state directory (`cp -a`).
#[test]
fn restored_old_state_directory_never_doubles_the_ticket() {
    restored_state_then_warning_and_ok(|backup, state| {
        std::fs::remove_dir_all(state).unwrap();
        copy_tree(backup, state);
    });
}

/// The backup restored as `rsync -a --delete` does: what is newer removed,
/// what changed replaced, what did not change left as it is.
#[test]
fn state_directory_synced_back_to_an_old_backup_never_doubles_the_ticket() {
    restored_state_then_warning_and_ok(sync_back);
}

/// `rsync -a --delete backup/ state/`, file by file.
fn sync_back(backup: &Path, state: &Path) {
    for entry in std::fs::read_dir(state).unwrap().flatten() {
        let (path, name) = (entry.path(), entry.file_name());
        let old = backup.join(&name);
        if path.is_dir() {
            if old.is_dir() {
                sync_back(&old, &path);
            } else {
                std::fs::remove_dir_all(&path).unwrap();
            }
        } else if !old.exists() {
            std::fs::remove_file(&path).unwrap();
        } else if std::fs::read(&old).unwrap() != std::fs::read(&path).unwrap() {
            std::fs::remove_file(&path).unwrap();
            copy_file(&old, &path);
        }
    }
    for entry in std::fs::read_dir(backup).unwrap().flatten() {
        let to = state.join(entry.file_name());
        if !to.exists() {
            if entry.path().is_dir() {
                copy_tree(&entry.path(), &to);
            } else {
                copy_file(&entry.path(), &to);
            }
        }
    }
}

/// Copies a file with its mode and modification time, as backups do.
fn copy_file(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
    let modified = std::fs::metadata(from).unwrap().modified().unwrap();
    std::fs::File::options()
        .write(true)
        .open(to)
        .unwrap()
        .set_modified(modified)
        .unwrap();
}

/// Copies a tree, modes and modification times kept.
fn copy_tree(from: &Path, to: &Path) {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    let mode = std::fs::metadata(from).unwrap().permissions().mode();
    std::fs::DirBuilder::new().mode(mode).create(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else if entry.file_type().unwrap().is_file() {
            copy_file(&entry.path(), &target);
        }
    }
}

#[test]
fn record_naming_ticket_zero_never_doubles_the_ticket() {
    lost_state_then_warning_and_ok(|env| {
        let records: Vec<PathBuf> = std::fs::read_dir(env.state.join("records"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        assert_eq!(records.len(), 1, "{records:?}");
        let mut record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&records[0]).unwrap()).unwrap();
        assert!(record["ticket_id"].is_u64(), "{record}");
        record["ticket_id"] = serde_json::json!(0);
        crate::support::write_private(&records[0], &serde_json::to_string_pretty(&record).unwrap());
    });
}
