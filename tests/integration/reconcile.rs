//! `esia-glpi reconcile` as the real binary, against the GLPI simulator,
//! reading a `status.dat` written here (the real engines are in
//! `reconcile_engines.rs`): the decisions (solve what recovered without a
//! recovery, open what has a problem and no ticket, leave the rest and say
//! why), `--dry-run`, `--json`, a stale or unreadable source (exit 8,
//! nothing changed), not configured (exit 0), both state backends, and
//! notifications racing reconcile on the same keys (never two tickets
//! open, never a solution while the service is in a problem state).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::glpi_sim::{Fault, FaultKind, Sim};
use crate::support::pg::Pg;
use crate::support::{Env, Transport};

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// One object of a written `status.dat`.
#[derive(Clone)]
pub(crate) struct Obj {
    pub(crate) host: &'static str,
    /// Empty: the host itself.
    pub(crate) service: &'static str,
    pub(crate) state: u8,
    pub(crate) hard: bool,
    pub(crate) checked: bool,
    /// Seconds since the last hard state change.
    pub(crate) age: i64,
    pub(crate) downtime: bool,
}

impl Obj {
    pub(crate) fn service(host: &'static str, service: &'static str, state: u8) -> Obj {
        Obj {
            host,
            service,
            state,
            hard: true,
            checked: true,
            age: 600,
            downtime: false,
        }
    }

    pub(crate) fn host(host: &'static str, state: u8) -> Obj {
        Obj::service(host, "", state)
    }
}

/// A Nagios 4 `status.dat` written `written_ago` seconds ago holding `objects`.
pub(crate) fn status_dat(objects: &[Obj], written_ago: i64) -> String {
    let t = now();
    let mut s = format!(
        "# NAGIOS STATE RETENTION FILE\ninfo {{\n\tcreated={}\n\tversion=4.4.6\n\t}}\n\n\
         programstatus {{\n\tprogram_start={}\n\t}}\n\n",
        t - written_ago,
        t - 86_400
    );
    for o in objects {
        let (kind, name) = if o.service.is_empty() {
            ("hoststatus", String::new())
        } else {
            (
                "servicestatus",
                format!("\tservice_description={}\n", o.service),
            )
        };
        let _ = write!(
            s,
            "{kind} {{\n\thost_name={}\n{name}\tmodified_attributes=0\n\thas_been_checked={}\n\
             \tcurrent_state={}\n\tlast_hard_state={}\n\tstate_type={}\n\
             \tlast_hard_state_change={}\n\tplugin_output={} output of {}\n\
             \tscheduled_downtime_depth={}\n\tproblem_has_been_acknowledged=0\n\tis_flapping=0\n\t}}\n\n",
            o.host,
            u8::from(o.checked),
            o.state,
            o.state,
            u8::from(o.hard),
            t - o.age,
            ["OK", "WARNING", "CRITICAL", "UNKNOWN"][usize::from(o.state.min(3))],
            o.host,
            u8::from(o.downtime),
        );
    }
    s
}

/// An environment whose `[reconcile]` reads `status.dat` in its directory.
struct World {
    env: Env,
    status: PathBuf,
}

impl World {
    fn new(extra: &str) -> World {
        World::on(Sim::start(), extra)
    }

    fn on(sim: Sim, extra: &str) -> World {
        World::on_over(Transport::Legacy, sim, extra)
    }

    fn over(transport: Transport) -> World {
        World::on_over(transport, Sim::start_with(transport.options()), "")
    }

    fn on_over(transport: Transport, sim: Sim, extra: &str) -> World {
        let status = tempfile::tempdir().unwrap().keep().join("status.dat");
        let env = Env::with_sim_over(
            transport,
            sim,
            &format!(
                "lang=\"en\"\n{extra}\n[reconcile]\nstatus_file=\"{}\"\nmargin=5\n",
                status.display()
            ),
        );
        World { env, status }
    }

    fn write(&self, objects: &[Obj]) {
        write_file(&self.status, &status_dat(objects, 1));
    }

    fn reconcile(&self, more: &[&str]) -> crate::support::Run {
        let mut args = vec!["--json", "reconcile"];
        args.extend_from_slice(more);
        self.env.esia(&args)
    }

    /// Open tickets of a title.
    fn open(&self, title: &str) -> Vec<u64> {
        self.env
            .sim
            .tickets()
            .into_iter()
            .filter(|t| t.name == title && t.status < 5)
            .map(|t| t.id)
            .collect()
    }
}

fn write_file(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The JSON line of `node`/`service` in a reconcile report.
fn line<'a>(report: &'a serde_json::Value, node: &str, service: &str) -> &'a serde_json::Value {
    report["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["node"] == node && k["service"] == service)
        .unwrap_or_else(|| panic!("no line for {node}/{service} in {report:#}"))
}

fn title(node: &str, service: &str) -> String {
    if service.is_empty() {
        format!("(  ) {node}")
    } else {
        format!("(  ) {node}:{service}")
    }
}

#[test]
fn without_a_source_it_says_so_and_exits_0() {
    let env = Env::with_config("lang=\"en\"");
    let r = env.esia(&["reconcile"]);
    r.ok();
    assert!(
        r.stdout
            .contains("reconcile: not configured (no [reconcile] table in"),
        "{}",
        r.stdout
    );
    assert_eq!(
        env.esia(&["--json", "reconcile"]).json()["configured"],
        false
    );
    assert!(env.sim.requests().is_empty(), "GLPI was not contacted");
}

#[test]
#[expect(clippy::too_many_lines, reason = "one table of cases, told in order")]
fn it_solves_what_recovered_unnoticed_and_opens_what_has_no_ticket() {
    let w = World::new("");
    let env = &w.env;
    // Tickets open for five services; two more seen (one ticket solved).
    for (host, service) in [
        ("web01", "HTTP"),
        ("web01", "DISK"),
        ("web02", "HTTP"),
        ("db01", "PG"),
        ("old01", "PING"),
        ("web03", "HTTP"),
        ("web01", "SOFT"),
    ] {
        env.notify(host, service, "CRITICAL", &[]).ok();
    }
    env.notify("web03", "HTTP", "OK", &[]).ok();
    env.notify("web01", "SOFT", "OK", &[]).ok();
    // A person solved db01/PG's ticket in GLPI.
    let pg = w.open(&title("db01", "PG"))[0];
    env.sim.set_ticket_status(pg, 5);
    let (http, disk) = (
        w.open(&title("web01", "HTTP"))[0],
        w.open(&title("web01", "DISK"))[0],
    );
    w.write(&[
        Obj::host("web01", 0),
        // Recovered, no recovery sent: solved.
        Obj::service("web01", "HTTP", 0),
        // Still a problem, ticket open: right.
        Obj::service("web01", "DISK", 2),
        // Recovered a moment ago: a recovery may be on its way.
        Obj {
            age: 1,
            ..Obj::service("web02", "HTTP", 0)
        },
        // Still CRITICAL, its ticket solved by a person: left to people.
        Obj::service("db01", "PG", 2),
        // old01/PING: the engine no longer knows it.
        // web03/HTTP was seen (a ticket, solved): a problem again, no
        // notification → a ticket.
        Obj::service("web03", "HTTP", 1),
        // Never seen: nothing.
        Obj::service("new01", "HTTP", 2),
        // Soft, and in a downtime: left.
        Obj {
            hard: false,
            ..Obj::service("web01", "SOFT", 2)
        },
    ]);

    // --dry-run: says, changes nothing.
    let before = env.sim.tickets();
    let r = w.reconcile(&["--dry-run"]);
    r.ok();
    let dry = r.json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(line(&dry, "web01", "HTTP")["action"], "would_solve");
    assert_eq!(line(&dry, "web03", "HTTP")["action"], "would_open");
    assert_eq!(env.sim.tickets(), before, "a dry run changes nothing");

    let r = w.reconcile(&[]);
    r.ok();
    let report = r.json();
    assert_eq!(report["configured"], true);
    assert_eq!(report["open_tickets"], 4, "{report:#}");
    let l = line(&report, "web01", "HTTP");
    assert_eq!(
        (l["action"].as_str(), l["ticket"].as_u64()),
        (Some("solved"), Some(http))
    );
    let t = env.sim.ticket(http).unwrap();
    assert_eq!(t.status, 5);
    assert!(
        t.solutions[0].contains("the monitoring engine sent no recovery; its state says OK since"),
        "{:?}",
        t.solutions
    );
    assert_eq!(w.open(&title("web01", "DISK")), [disk]);
    let l = line(&report, "web02", "HTTP");
    assert_eq!(
        (l["action"].as_str(), l["reason"].as_str()),
        (Some("left"), Some("within_margin"))
    );
    assert_eq!(w.open(&title("web02", "HTTP")).len(), 1);
    let l = line(&report, "db01", "PG");
    assert_eq!(l["reason"], "closed_in_glpi");
    assert!(w.open(&title("db01", "PG")).is_empty());
    let l = line(&report, "old01", "PING");
    assert_eq!(l["reason"], "unknown_to_engine");
    assert_eq!(w.open(&title("old01", "PING")).len(), 1);
    let l = line(&report, "web03", "HTTP");
    assert_eq!(l["action"], "opened");
    let opened = w.open(&title("web03", "HTTP"));
    assert_eq!(opened.len(), 1);
    let t = env.sim.ticket(opened[0]).unwrap();
    assert_eq!(t.priority, 3, "default_priority");
    assert!(
        t.content.contains("WARNING output of web03"),
        "{}",
        t.content
    );
    assert_eq!(line(&report, "web01", "SOFT")["reason"], "soft_state");
    assert!(
        report["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["node"] != "new01"),
        "a never-seen object is not reported: {report:#}"
    );
    assert_eq!(
        (report["solved"].as_u64(), report["opened"].as_u64()),
        (Some(1), Some(1))
    );

    // Run again: nothing left to change, and the text says what it read.
    let r = w.env.esia(&["reconcile"]);
    r.ok();
    assert!(r.stdout.starts_with("reconcile: "), "{}", r.stdout);
    assert!(r.stdout.contains("objects from status.dat"), "{}", r.stdout);
    assert!(r.stdout.contains("→ solved 0, opened 0"), "{}", r.stdout);
    // The notification that follows finds the record reconcile wrote.
    env.notify("web03", "HTTP", "OK", &[]).ok();
    assert!(w.open(&title("web03", "HTTP")).is_empty());
}

#[test]
fn a_service_of_a_host_down_a_downtime_and_creation_scope() {
    let w = World::new("");
    let env = &w.env;
    for (host, service) in [("h1", "A"), ("h2", "B"), ("h3", "C")] {
        env.notify(host, service, "CRITICAL", &[]).ok();
        env.notify(host, service, "OK", &[]).ok();
    }
    w.write(&[
        Obj::host("h1", 1),
        Obj::service("h1", "A", 2),
        Obj::host("h2", 0),
        Obj {
            downtime: true,
            ..Obj::service("h2", "B", 2)
        },
        Obj::host("h3", 0),
        Obj {
            checked: false,
            ..Obj::service("h3", "C", 2)
        },
        Obj::host("h4", 0),
        Obj::service("h4", "NAMED", 2),
    ]);
    let report = w.reconcile(&[]).json();
    assert_eq!(line(&report, "h1", "A")["reason"], "host_down");
    assert_eq!(line(&report, "h2", "B")["reason"], "in_downtime");
    assert_eq!(line(&report, "h3", "C")["reason"], "not_checked");
    assert!(w.open(&title("h4", "NAMED")).is_empty(), "never seen");
    assert!(env.sim.tickets().iter().all(|t| t.status == 5));
    // Named by the configuration: opened although never seen.
    let text = std::fs::read_to_string(&env.config).unwrap();
    crate::support::write_private(&env.config, &format!("{text}create_names = [\"h4/N*\"]\n"));
    let report = w.reconcile(&[]).json();
    assert_eq!(line(&report, "h4", "NAMED")["action"], "opened");
    // create_missing = false: nothing opened.
    crate::support::write_private(&env.config, &format!("{text}create_missing = false\n"));
    env.notify("h5", "X", "CRITICAL", &[]).ok();
    env.notify("h5", "X", "OK", &[]).ok();
    let mut objects = vec![Obj::host("h5", 0), Obj::service("h5", "X", 2)];
    objects.push(Obj::host("h4", 0));
    w.write(&objects);
    w.reconcile(&[]).ok();
    assert!(w.open(&title("h5", "X")).is_empty());
}

#[test]
fn a_stale_or_unreadable_source_changes_nothing_and_exits_8() {
    let w = World::new("");
    let env = &w.env;
    env.notify("web01", "HTTP", "CRITICAL", &[]).ok();
    // Two minutes old: more than max_age (60 s).
    write_file(
        &w.status,
        &status_dat(&[Obj::service("web01", "HTTP", 0)], 120),
    );
    env.sim.clear_requests();
    let r = env.esia(&["reconcile"]);
    r.code(8);
    assert!(r.stderr.contains("is stale: written 12"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("nothing was solved or opened on old news"),
        "{}",
        r.stderr
    );
    assert!(env.sim.requests().is_empty(), "GLPI was not contacted");
    assert_eq!(w.open(&title("web01", "HTTP")).len(), 1);
    // Missing.
    std::fs::remove_file(&w.status).unwrap();
    let r = env.esia(&["reconcile"]);
    r.code(8);
    assert!(
        r.stderr.contains("cannot read the engine's state"),
        "{}",
        r.stderr
    );
    // Not a status.dat.
    write_file(&w.status, "hello\n");
    env.esia(&["reconcile"]).code(8);
    // --status-file overrides the table's source.
    let other = w.status.with_file_name("other.dat");
    write_file(&other, &status_dat(&[Obj::service("web01", "HTTP", 0)], 1));
    let r = env.esia(&[
        "--json",
        "reconcile",
        "--status-file",
        other.to_str().unwrap(),
    ]);
    r.ok();
    assert_eq!(line(&r.json(), "web01", "HTTP")["action"], "solved");
    // A relative --status-file is refused (exit 2).
    env.esia(&["reconcile", "--status-file", "status.dat"])
        .code(2);
}

#[test]
fn glpi_failing_keeps_nothing_and_exits_5() {
    let w = World::new("");
    let env = &w.env;
    env.notify("web01", "HTTP", "CRITICAL", &[]).ok();
    w.write(&[Obj::service("web01", "HTTP", 0)]);
    env.sim
        .inject(Fault::new("/ITILSolution", FaultKind::Status(503)));
    let r = w.reconcile(&[]);
    r.code(5);
    assert_eq!(line(&r.json(), "web01", "HTTP")["action"], "failed");
    assert_eq!(w.open(&title("web01", "HTTP")).len(), 1);
    // Nothing was kept for flush: a later reconcile reads the engine again.
    let list = env.esia(&["--json", "state", "list"]).json();
    assert!(
        list.to_string().contains("\"kept\":0") || !list.to_string().contains("kept"),
        "{list}"
    );
    env.sim.clear_faults();
    w.reconcile(&[]).ok();
    assert!(w.open(&title("web01", "HTTP")).is_empty());
}

#[test]
fn a_key_with_kept_events_is_left_to_its_notifications() {
    let w = World::new("");
    let env = &w.env;
    env.notify("web01", "HTTP", "CRITICAL", &[]).ok();
    // GLPI down: the recovery is kept.
    env.sim.inject(Fault::new("", FaultKind::Status(503)));
    env.notify("web01", "HTTP", "OK", &[]).code(5);
    env.sim.clear_faults();
    w.write(&[Obj::service("web01", "HTTP", 0)]);
    let report = w.reconcile(&[]).json();
    assert_eq!(
        line(&report, "web01", "HTTP")["reason"],
        "notification_in_progress"
    );
    // The kept recovery, flushed, solves it.
    env.esia(&["flush"]).ok();
    assert!(w.open(&title("web01", "HTTP")).is_empty());
}

/// Notifications and reconcile on the same keys at once, both orders:
/// never two tickets open for a key, and a key whose last word (the
/// engine's state and its notification agree) is a problem ends with its
/// ticket open.
fn races(w: &World) {
    let env = &w.env;
    let keys: Vec<(String, &str)> = (0..8).map(|i| (format!("r{i}"), "SVC")).collect();
    // Half were seen and are CRITICAL with no ticket (problem not sent);
    // the other half have a ticket open and recovered.
    let mut objects = Vec::new();
    for (i, (host, service)) in keys.iter().enumerate() {
        let host: &'static str = Box::leak(host.clone().into_boxed_str());
        env.notify(host, service, "CRITICAL", &[]).ok();
        if i % 2 == 0 {
            env.notify(host, service, "OK", &[]).ok();
            objects.push(Obj::service(host, service, 2));
        } else {
            objects.push(Obj::service(host, service, 0));
        }
    }
    w.write(&objects);
    // Every request takes a while: the runs overlap.
    env.sim
        .inject(Fault::new("", FaultKind::Delay(Duration::from_millis(40))));
    let mut children = Vec::new();
    for round in 0..2 {
        for (i, (host, service)) in keys.iter().enumerate() {
            let state = if i % 2 == 0 { "CRITICAL" } else { "OK" };
            let mut c = env.cmd();
            c.args([
                "notify",
                "--node",
                host,
                "--service",
                service,
                "--state",
                state,
            ])
            .stdout(std::process::Stdio::null());
            if round == 0 {
                children.push(c.spawn().unwrap());
            }
        }
        let mut c = env.cmd();
        c.args(["reconcile"]).stdout(std::process::Stdio::null());
        children.push(c.spawn().unwrap());
    }
    for mut c in children {
        let status = c.wait().unwrap();
        assert!(matches!(status.code(), Some(0)), "{status:?}");
    }
    env.sim.clear_faults();
    w.reconcile(&[]).ok();
    for (i, (host, service)) in keys.iter().enumerate() {
        let open = w.open(&title(host, service));
        if i % 2 == 0 {
            assert_eq!(
                open.len(),
                1,
                "{host}: one ticket open\n{}",
                env.sim.trail()
            );
        } else {
            assert!(open.is_empty(), "{host}: solved\n{}", env.sim.trail());
        }
    }
}

#[test]
fn notifications_racing_reconcile_never_give_two_tickets() {
    races(&World::new(""));
}

#[test]
fn notifications_racing_reconcile_with_the_postgres_backend() {
    let pg = Pg::start();
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("pg-password");
    pg.write_password_file(&password);
    let w = World::new(&pg.state_table(&password));
    races(&w);
    // The records are in the database.
    assert!(!pg.query("SELECT count(*) FROM records").trim().is_empty());
}

#[test]
fn check_reads_the_source_and_exits_8_when_only_reconcile_would_fail() {
    let w = World::new("");
    w.write(&[Obj::host("web01", 0), Obj::service("web01", "HTTP", 0)]);
    let r = w.env.esia(&["check"]);
    r.ok();
    assert!(
        r.stdout.contains("✓ reconcile source: status.dat ")
            && r.stdout
                .contains(": 2 hosts and services, written 1 s ago (max_age 60 s)"),
        "{}",
        r.stdout
    );
    // Stale: notify works, reconcile does not.
    write_file(&w.status, &status_dat(&[Obj::host("web01", 0)], 300));
    let r = w.env.esia(&["check"]);
    r.code(8);
    assert!(r.stdout.contains("✗ reconcile source: "), "{}", r.stdout);
    assert!(r.stdout.contains("is stale"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("→ notify will work, but not reconcile: 1 problem"),
        "{}",
        r.stdout
    );
    std::fs::remove_file(&w.status).unwrap();
    let r = w.env.esia(&["--json", "check"]);
    r.code(8);
    let checks = r.json()["checks"].clone();
    let line = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["step"] == "reconcile source")
        .unwrap();
    assert_eq!(line["status"], "fail");
    assert!(
        line["message"]
            .as_str()
            .unwrap()
            .contains("cannot read the engine's state"),
        "{line}"
    );
}

/// Both transports: reconcile lists GLPI's open tickets, solves and opens
/// over the legacy API and over GLPI 11's high-level API alike.
fn solves_and_opens(tr: Transport) {
    let w = World::over(tr);
    let env = &w.env;
    env.notify("web01", "HTTP", "CRITICAL", &[]).ok();
    env.notify("web02", "HTTP", "CRITICAL", &[]).ok();
    env.notify("web02", "HTTP", "OK", &[]).ok();
    w.write(&[
        Obj::service("web01", "HTTP", 0),
        Obj::service("web02", "HTTP", 2),
    ]);
    let report = w.reconcile(&[]);
    report.ok();
    let report = report.json();
    assert_eq!(report["open_tickets"], 1, "{report:#}");
    assert_eq!(line(&report, "web01", "HTTP")["action"], "solved");
    assert_eq!(line(&report, "web02", "HTTP")["action"], "opened");
    assert!(w.open(&title("web01", "HTTP")).is_empty());
    assert_eq!(w.open(&title("web02", "HTTP")).len(), 1);
    // Nothing left to change: one listing, no other request but the session's.
    let again = w.reconcile(&[]).json();
    assert_eq!(
        (again["solved"].as_u64(), again["opened"].as_u64()),
        (Some(0), Some(0))
    );
}

crate::over_both_transports!(solves_and_opens);

#[test]
fn a_recorded_ticket_the_listing_does_not_show_is_read_solved_or_forgotten() {
    // GLPI 11 lists esia-glpi's tickets by their externalid: one that lost
    // it (an older version's, or cleared) is not listed, yet still open.
    let w = World::over(Transport::V2);
    let env = &w.env;
    env.notify("web01", "HTTP", "CRITICAL", &[]).ok();
    env.notify("web02", "HTTP", "CRITICAL", &[]).ok();
    let (unlisted, closed) = (
        w.open(&title("web01", "HTTP"))[0],
        w.open(&title("web02", "HTTP"))[0],
    );
    env.sim.set_ticket_external_id(unlisted, None);
    // A person solved web02's ticket in GLPI.
    env.sim.set_ticket_status(closed, 5);
    w.write(&[
        Obj::service("web01", "HTTP", 0),
        Obj::service("web02", "HTTP", 0),
    ]);
    let report = w.reconcile(&[]).json();
    assert_eq!(report["open_tickets"], 0, "{report:#}");
    let l = line(&report, "web01", "HTTP");
    assert_eq!(
        (l["action"].as_str(), l["ticket"].as_u64()),
        (Some("solved"), Some(unlisted))
    );
    assert_eq!(env.sim.ticket(unlisted).unwrap().status, 5);
    // web02: nothing to say, and its record of a closed ticket is gone.
    assert!(
        report["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["node"] != "web02"),
        "{report:#}"
    );
    let list = env.esia(&["state", "list"]);
    list.ok();
    assert!(!list.stdout.contains("web02"), "{}", list.stdout);
    // Nothing left: a second run reads no ticket.
    let again = w.reconcile(&[]).json();
    assert!(again["keys"].as_array().unwrap().is_empty(), "{again:#}");
}
