//! The shipped wiring (`conf/engines/`), as shipped: a real Nagios 4 with
//! its default `enable_environment_macros=0` and a real Icinga 2 load the
//! definitions from `conf/engines/` (only the program's path changed, to
//! the binary under test, started as `SEND_TICKET_GLPI`), and drive the
//! program through a whole story against the GLPI simulator: a problem, an
//! acknowledgement, a custom notification, a downtime with a recovery
//! inside it, flapping that starts and stops, a host DOWN and UP, a
//! recovery — every ticket ends solved, each with the trail its
//! notifications wrote. Also: the definitions the README quotes are these
//! files, and the package installs them (operations.rs checks the .deb).
//!
//! Between the engine and the program sits the recorder of
//! `support/engines.rs` (it notes each run's arguments, then `exec`s the
//! program with them), so that a step can wait for its notification.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::engines::{
    HostSpec, Icinga2, Icinga2Options, Nagios, NagiosOptions, Recorder, ServiceSpec, Target,
    wait_until,
};
use crate::support::glpi_sim::{Sim, TicketView};
use crate::support::{BIN, Env};

/// How long one step may take (Icinga 2's 5 s timers, a loaded machine).
const WAIT: Duration = Duration::from_secs(40);

/// Where the package installs the definitions, and the program's path in
/// them.
const INSTALLED: &str = "/usr/share/esia-glpi/engines/";
const PROGRAM: &str = "/usr/bin/SEND_TICKET_GLPI";

fn shipped(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conf/engines")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The program as the engine runs it: the recorder, then the binary under
/// test started as `SEND_TICKET_GLPI` with its configuration (`--config`:
/// the shipped definitions rely on the default path). As root the engine
/// runs as `nagios`: the configuration and the state directory live in the
/// recorder's directory, which is that user's.
struct Program {
    rec: Recorder,
    env: Env,
}

impl Program {
    fn new() -> Program {
        let rec = Recorder::then(
            Path::new("{dir}/SEND_TICKET_GLPI"),
            &["--config", "{dir}/glpi.conf"],
        );
        let env = Env::with_sim(Sim::start(), "lang = \"en\"");
        std::os::unix::fs::symlink(BIN, rec.dir().join("SEND_TICKET_GLPI")).unwrap();
        let text = std::fs::read_to_string(&env.config).unwrap();
        let text = text.replace(
            &format!("state_dir=\"{}\"", env.state.display()),
            &format!("state_dir=\"{}\"", rec.dir().join("state").display()),
        );
        let config = rec.dir().join("glpi.conf");
        crate::support::write_private(&config, &text);
        if rustix::process::geteuid().is_root() {
            let out = std::process::Command::new("chown")
                .args(["-R", "nagios:nagios"])
                .arg(rec.dir())
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
        }
        Program { rec, env }
    }

    /// The shipped file `name`, running this program.
    fn definitions(&self, name: &str) -> String {
        let text = shipped(name);
        assert!(text.contains(PROGRAM), "{name} runs {PROGRAM}");
        text.replace(PROGRAM, &self.rec.script().display().to_string())
    }

    fn sim(&self) -> &Sim {
        &self.env.sim
    }

    /// Waits until GLPI holds a ticket titled `title` for which `done`
    /// holds, and returns it.
    #[track_caller]
    fn wait_ticket(
        &self,
        what: &str,
        title: &str,
        done: impl Fn(&TicketView) -> bool,
    ) -> TicketView {
        wait_until(what, WAIT, || {
            self.sim()
                .tickets()
                .into_iter()
                .rev()
                .find(|t| t.name == title && done(t))
        })
    }

    /// Every ticket solved, or the trail and what the program was given.
    #[track_caller]
    fn assert_all_solved(&self, tickets: usize) {
        let all = self.sim().tickets();
        assert!(
            all.len() == tickets && all.iter().all(|t| t.status == 5),
            "{tickets} tickets, all solved:\n{}\n--- the runs:\n{:#?}",
            self.sim().trail(),
            self.rec.calls().iter().map(|c| &c.args).collect::<Vec<_>>()
        );
    }
}

fn solved(t: &TicketView) -> bool {
    t.status == 5
}

fn followups_with(t: &TicketView, needle: &str) -> bool {
    t.followups.iter().any(|f| f.contains(needle))
}

fn story_hosts() -> Vec<HostSpec> {
    vec![
        HostSpec::new("srv-web-01")
            .group("Paris")
            .with(ServiceSpec::new("HTTP").no_flapping())
            .with(ServiceSpec::new("DB").no_flapping())
            .service("FLAP"),
        HostSpec::new("srv-down-01").group("Lyon"),
    ]
}

const HTTP_TITLE: &str = "( Paris ) srv-web-01:HTTP";
const DB_TITLE: &str = "( Paris ) srv-web-01:DB";
const FLAP_TITLE: &str = "( Paris ) srv-web-01:FLAP";
const HOST_TITLE: &str = "( Lyon ) srv-down-01";

#[test]
fn nagios_with_the_shipped_definitions_opens_and_solves_every_ticket() {
    let p = Program::new();
    let nagios = Nagios::start(NagiosOptions {
        hosts: story_hosts(),
        commands: p.definitions("nagios4.cfg"),
        contacts: "glpi".to_owned(),
        ..NagiosOptions::default()
    });
    let (web, http, db, flap) = ("srv-web-01", "HTTP", "DB", "FLAP");

    // A problem whose output starts with `-`: a ticket, high priority.
    nagios.service_result(web, http, 2, "-5 degrees C");
    let t = p.wait_ticket("the HTTP ticket", HTTP_TITLE, |_| true);
    assert_eq!(t.priority, 4);
    assert!(t.content.contains("-5 degrees C"), "{}", t.content);
    // An acknowledgement: who and why, with the state the engine gave.
    nagios.acknowledge_service(web, http, "Jeanne", "-- on it");
    p.wait_ticket("the acknowledgement", HTTP_TITLE, |t| {
        followups_with(t, "Acknowledged by Jeanne") && followups_with(t, "-- on it")
    });
    // A custom notification: a follow-up with its author and comment.
    nagios.custom_service_notification(web, http, "Paul", "call the vendor");
    p.wait_ticket("the custom notification", HTTP_TITLE, |t| {
        followups_with(t, "Custom notification by Paul") && followups_with(t, "call the vendor")
    });

    // A downtime with a recovery inside it: no RECOVERY ever comes, the
    // DOWNTIMEEND carrying OK solves the ticket.
    nagios.service_result(web, db, 2, "CRITICAL - before maintenance");
    p.wait_ticket("the DB ticket", DB_TITLE, |_| true);
    nagios.schedule_service_downtime(
        web,
        db,
        Duration::from_secs(3),
        "Paul",
        "maintenance window",
    );
    p.wait_ticket("the downtime's start", DB_TITLE, |t| {
        followups_with(t, "Downtime started by Paul") && followups_with(t, "maintenance window")
    });
    nagios.wait_status("DB in a downtime", WAIT, |st| {
        st.service_field(web, db, "scheduled_downtime_depth") == Some("1")
    });
    nagios.service_result(web, db, 0, "OK - during maintenance");
    let t = p.wait_ticket("the downtime's end", DB_TITLE, solved);
    assert!(
        t.solutions[0].contains("Recovered during the downtime"),
        "{:?}",
        t.solutions
    );

    // Flapping: CRITICAL, OK, CRITICAL notified, the fourth result (OK)
    // starts the flapping (FLAPPINGSTART carrying OK: never solves); 19
    // steady OK results later, FLAPPINGSTOP (OK) solves.
    for i in 0..4u8 {
        let state = if i % 2 == 0 { 2 } else { 0 };
        nagios.service_result(web, flap, state, &format!("flap {i}"));
        p.rec.wait_calls_with(flap, usize::from(i) + 1, WAIT);
    }
    let second = p.wait_ticket("the flapping follow-up", FLAP_TITLE, |t| {
        followups_with(t, "Flapping started")
    });
    assert_eq!(second.status, 1, "flapping solved the ticket");
    for i in 0..25 {
        nagios.service_result(web, flap, 0, &format!("steady {i}"));
        std::thread::sleep(Duration::from_millis(20));
    }
    let t = p.wait_ticket("the flapping stop", FLAP_TITLE, |t| {
        t.id == second.id && solved(t)
    });
    assert!(
        t.solutions[0].contains("Flapping stopped"),
        "{:?}",
        t.solutions
    );

    // A host DOWN then UP: a host's ticket, titled without a service.
    nagios.host_result("srv-down-01", 1, "DOWN - no route");
    let t = p.wait_ticket("the host ticket", HOST_TITLE, |_| true);
    assert_eq!(t.priority, 5);
    assert!(t.content.contains("DOWN"), "{}", t.content);
    nagios.host_result("srv-down-01", 0, "UP - back");
    p.wait_ticket("the host recovery", HOST_TITLE, solved);

    // The recovery of HTTP.
    nagios.service_result(web, http, 0, "OK - back");
    p.wait_ticket("the HTTP recovery", HTTP_TITLE, solved);
    // HTTP, DB, FLAP twice (its first problem recovered before flapping),
    // the host.
    p.assert_all_solved(5);
    // The environment held no macro: arguments only.
    assert!(p.rec.calls().iter().all(|c| c.vars("NAGIOS_").is_empty()));
}

#[test]
fn icinga2_with_the_shipped_definitions_opens_and_solves_every_ticket() {
    let p = Program::new();
    let icinga = Icinga2::start(Icinga2Options {
        hosts: story_hosts(),
        commands: p.definitions("icinga2.conf"),
        ..Icinga2Options::default()
    });
    let (web, http, db, flap) = ("srv-web-01", "HTTP", "DB", "FLAP");
    let http_t = Target::service(web, http);

    // The downtime first: Icinga 2 ends it on a 60 s timer.
    icinga.service_result(web, db, 2, "CRITICAL - before maintenance");
    p.wait_ticket("the DB ticket", DB_TITLE, |_| true);
    icinga.schedule_downtime(
        &Target::service(web, db),
        Duration::from_secs(3),
        "Paul",
        "maintenance window",
    );
    p.wait_ticket("the downtime's start", DB_TITLE, |t| {
        followups_with(t, "Downtime started by Paul")
    });
    icinga.service_result(web, db, 0, "OK - during maintenance");

    icinga.service_result(web, http, 2, "-5 degrees C");
    let t = p.wait_ticket("the HTTP ticket", HTTP_TITLE, |_| true);
    assert_eq!(t.priority, 4);
    assert!(t.content.contains("-5 degrees C"), "{}", t.content);
    icinga.acknowledge(&http_t, "Jeanne", "-- on it");
    p.wait_ticket("the acknowledgement", HTTP_TITLE, |t| {
        followups_with(t, "Acknowledged by Jeanne") && followups_with(t, "-- on it")
    });
    icinga.custom_notification(&http_t, "Paul", "call the vendor");
    p.wait_ticket("the custom notification", HTTP_TITLE, |t| {
        followups_with(t, "Custom notification by Paul")
    });

    // Flapping: five changes notified, the sixth result (OK) starts the
    // flapping; FLAPPINGEND (OK) after steady results solves.
    for i in 0..6u8 {
        let state = if i % 2 == 0 { 2 } else { 0 };
        icinga.service_result(web, flap, state, &format!("flap {i}"));
        p.rec.wait_calls_with(flap, usize::from(i) + 1, WAIT);
    }
    let last = p.wait_ticket("the flapping follow-up", FLAP_TITLE, |t| {
        followups_with(t, "Flapping started")
    });
    assert_eq!(last.status, 1, "flapping solved the ticket");
    for i in 0..20 {
        icinga.service_result(web, flap, 0, &format!("steady {i}"));
    }
    let t = p.wait_ticket("the flapping end", FLAP_TITLE, |t| {
        t.id == last.id && solved(t)
    });
    assert!(
        t.solutions[0].contains("Flapping stopped"),
        "{:?}",
        t.solutions
    );

    icinga.host_result("srv-down-01", 1, "DOWN - no route");
    let t = p.wait_ticket("the host ticket", HOST_TITLE, |_| true);
    assert_eq!(t.priority, 5);
    let group = p.rec.calls_with("srv-down-01").first().map(|c| {
        (
            c.opt("--group").map(str::to_owned),
            c.opt("--service").map(str::to_owned),
        )
    });
    assert_eq!(
        group,
        Some((Some("Lyon".to_owned()), Some(String::new()))),
        "the first group, and an empty service argument"
    );
    icinga.host_result("srv-down-01", 0, "UP - back");
    p.wait_ticket("the host recovery", HOST_TITLE, solved);

    icinga.service_result(web, http, 0, "OK - back");
    p.wait_ticket("the HTTP recovery", HTTP_TITLE, solved);

    // Icinga 2 sends the recovery held back during the downtime once it is
    // over (a RECOVERY), and the DOWNTIMEEND later (its 60 s timer): the
    // ticket is solved by the first, the second finds none open.
    let t = wait_until("the DB ticket solved", Duration::from_secs(90), || {
        p.sim()
            .tickets()
            .into_iter()
            .find(|t| t.name == DB_TITLE && solved(t))
    });
    assert_eq!(t.solutions.len(), 1);
    wait_until("the DOWNTIMEEND", Duration::from_secs(90), || {
        p.rec
            .calls_with(db)
            .iter()
            .any(|c| c.opt("--type") == Some("DOWNTIMEEND"))
            .then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    // HTTP, DB, FLAP three times (two recoveries before flapping), host.
    p.assert_all_solved(6);
}

/// The blocks the README quotes under "Wiring the monitoring engine", each
/// after a `<!-- conf/engines/NAME -->` line, are parts of those files.
#[test]
fn the_readme_quotes_the_shipped_definitions() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut quoted: Vec<(String, String)> = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .strip_prefix("<!-- conf/engines/")
            .and_then(|l| l.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert!(fence.starts_with("```"), "a code block after {line}");
        let block: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        quoted.push((name.to_owned(), block.join("\n") + "\n"));
    }
    for name in ["nagios4.cfg", "icinga2.conf"] {
        let blocks: Vec<&String> = quoted
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, b)| b)
            .collect();
        assert!(!blocks.is_empty(), "the README quotes nothing of {name}");
        let file = shipped(name);
        for block in blocks {
            assert!(
                file.contains(block.as_str()),
                "the README's quote of {name} is not in conf/engines/{name}:\n{block}"
            );
        }
    }
    assert!(
        readme.contains(INSTALLED),
        "the README names where the package installs them"
    );
    // What the engine tests load is what the README quotes: both read the
    // same files, and every definition is quoted.
    for (name, must) in [
        (
            "nagios4.cfg",
            &[
                "notify-service-by-glpi",
                "notify-host-by-glpi",
                "contact_name                    glpi",
            ][..],
        ),
        (
            "icinga2.conf",
            &[
                "\"esia-glpi-service\"",
                "\"esia-glpi-host\"",
                "apply Notification \"glpi\" to Service",
                "apply Notification \"glpi\" to Host",
            ][..],
        ),
    ] {
        for m in must {
            assert!(
                quoted.iter().any(|(n, b)| n == name && b.contains(m)),
                "the README does not quote {m} of {name}"
            );
        }
    }
}

/// Where the extracted package's copy of a shipped file is.
fn installed(tree: &Path, name: &str) -> PathBuf {
    tree.join(INSTALLED.trim_start_matches('/')).join(name)
}

/// The package's copies equal the files (called by operations.rs's .deb
/// check).
pub(crate) fn assert_installed(tree: &Path) {
    for name in ["nagios4.cfg", "icinga2.conf"] {
        let copy = std::fs::read_to_string(installed(tree, name))
            .unwrap_or_else(|e| panic!("{name} not installed under {INSTALLED}: {e}"));
        assert_eq!(copy, shipped(name), "{name} as installed");
    }
}
