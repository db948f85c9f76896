//! `reconcile` against real engines, as processes: a real Nagios 4 in its
//! default behaviour (flap detection on, downtimes, a restart that lost its
//! retention file, notifications disabled) wired with the shipped
//! definitions drives the program through a storm against a slow, failing
//! GLPI simulator; then `flush` and `reconcile` (reading Nagios' own
//! `status.dat`) make GLPI mirror Nagios. A real Icinga 2 is read through
//! its REST API and through a `LivestatusListener` declared in its private
//! configuration.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::engines::{
    HostSpec, Icinga2, Icinga2Options, Nagios, NagiosOptions, Recorder, Retention, ServiceSpec,
    StatusDat, Target, wait_until,
};
use crate::support::glpi_sim::{Fault, FaultKind, Sim};
use crate::support::{BIN, Env};

const WAIT: Duration = Duration::from_mins(1);
const PROGRAM: &str = "/usr/bin/SEND_TICKET_GLPI";

/// The program as Nagios runs it (the shipped definitions, through the
/// recorder), with its configuration and state directory in the
/// recorder's directory (the `nagios` user's when the tests run as root).
struct Program {
    rec: Recorder,
    env: Env,
}

impl Program {
    fn new(sim: Sim) -> Program {
        let rec = Recorder::then(
            Path::new("{dir}/SEND_TICKET_GLPI"),
            &["--config", "{dir}/glpi.conf"],
        );
        let env = Env::with_sim(sim, "lang = \"en\"");
        std::os::unix::fs::symlink(BIN, rec.dir().join("SEND_TICKET_GLPI")).unwrap();
        Program { rec, env }
    }

    /// Writes the configuration: the simulator, the state directory in the
    /// recorder's directory, `[reconcile]` reading `status`.
    fn configure(&self, status: &Path) {
        self.configure_with(&format!(
            "[reconcile]\nstatus_file = \"{}\"\nmargin = 3\n",
            status.display()
        ));
    }

    /// Writes the configuration with `table` (a `[reconcile]` table) as
    /// `name` in the recorder's directory.
    fn configure_with(&self, table: &str) {
        self.configure_as("glpi.conf", table);
    }

    fn configure_as(&self, name: &str, table: &str) {
        let text = std::fs::read_to_string(&self.env.config).unwrap();
        let text = text.replace(
            &format!("state_dir=\"{}\"", self.env.state.display()),
            &format!("state_dir=\"{}\"", self.rec.dir().join("state").display()),
        );
        let text = format!("{text}{table}");
        let config = self.rec.dir().join(name);
        crate::support::write_private(&config, &text);
        if rustix::process::geteuid().is_root() {
            let out = std::process::Command::new("chown")
                .args(["-R", "nagios:nagios"])
                .arg(self.rec.dir())
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
        }
    }

    fn definitions(&self, name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("conf/engines")
            .join(name);
        let text = std::fs::read_to_string(path).unwrap();
        text.replace(PROGRAM, &self.rec.script().display().to_string())
    }

    /// `esia-glpi ARGS` as the engine's user, with this configuration.
    fn esia(&self, args: &[&str]) -> crate::support::Run {
        self.esia_with("glpi.conf", args)
    }

    /// `esia-glpi ARGS` as the engine's user, with the configuration `name`.
    fn esia_with(&self, name: &str, args: &[&str]) -> crate::support::Run {
        let mut c = if rustix::process::geteuid().is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "nagios", "--", BIN]);
            c
        } else {
            std::process::Command::new(BIN)
        };
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TZ", "UTC")
            .arg("--config")
            .arg(self.rec.dir().join(name))
            .args(args)
            .stdin(std::process::Stdio::null());
        let o = c.output().unwrap();
        crate::support::Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Waits until the notifications settled: no new run and no request to
    /// GLPI for two seconds.
    fn settle(&self) {
        let mut last = (usize::MAX, usize::MAX);
        let mut since = Instant::now();
        wait_until("the notifications to settle", WAIT, || {
            let now = (self.rec.calls().len(), self.env.sim.requests().len());
            if now != last {
                last = now;
                since = Instant::now();
            }
            (since.elapsed() > Duration::from_secs(2)).then_some(())
        });
    }
}

/// The tickets of a title, solved or not; its key's title for the
/// shipped template (`( group ) node:service`).
fn title(group: &str, node: &str, service: &str) -> String {
    format!("( {group} ) {node}:{service}")
}

/// The largest number of tickets a title ever had open at once, replayed
/// from the simulator's requests: the n-th ticket created is ticket n.
pub(crate) fn most_open_at_once(sim: &Sim) -> BTreeMap<String, usize> {
    let titles: BTreeMap<u64, String> = sim.tickets().into_iter().map(|t| (t.id, t.name)).collect();
    let mut open: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    let mut most: BTreeMap<String, usize> = BTreeMap::new();
    let mut created = 0u64;
    for r in sim.requests() {
        if r.method != "POST" || !(200..300).contains(&r.status) {
            continue;
        }
        if r.path.ends_with("/Ticket") {
            created += 1;
            let name = titles[&created].clone();
            let set = open.entry(name.clone()).or_default();
            set.insert(created);
            let n = set.len();
            let m = most.entry(name).or_default();
            *m = (*m).max(n);
        } else if r.path.ends_with("/ITILSolution") {
            let body: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
            if let Some(id) = body["input"]["items_id"].as_u64() {
                for set in open.values_mut() {
                    set.remove(&id);
                }
            }
        }
    }
    most
}

/// xorshift: a storm that is the same at every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// How many of `services` GLPI mirrors: an open ticket if and only if
/// status.dat says the service has a problem; in a downtime, whatever it
/// had. Returns (right, considered, the wrong ones).
fn mirrored(
    sim: &Sim,
    status: &StatusDat,
    services: &[(String, String, String)],
) -> (usize, usize, Vec<String>) {
    let tickets = sim.tickets();
    let (mut right, mut considered, mut wrong) = (0, 0, Vec::new());
    for (group, host, service) in services {
        let field = |f: &str| {
            status
                .service_field(host, service, f)
                .unwrap_or_default()
                .to_owned()
        };
        if field("scheduled_downtime_depth") != "0" {
            continue;
        }
        considered += 1;
        let name = title(group, host, service);
        let open = tickets
            .iter()
            .filter(|t| t.name == name && t.status < 5)
            .count();
        let problem = field("current_state") != "0";
        if open == usize::from(problem) {
            right += 1;
        } else {
            wrong.push(format!(
                "{host}/{service}: state {} ({}), {open} open ticket(s)",
                field("current_state"),
                field("plugin_output")
            ));
        }
    }
    (right, considered, wrong)
}

#[test]
#[expect(clippy::too_many_lines, reason = "one story, told in order")]
fn after_a_storm_from_a_default_nagios_reconcile_makes_glpi_mirror_it() {
    let p = Program::new(Sim::start());
    let hosts: Vec<HostSpec> = (1..=4)
        .map(|h| {
            (1..=5).fold(
                HostSpec::new(&format!("h{h}")).group(&format!("G{h}")),
                |spec, s| spec.service(&format!("S{s}")),
            )
        })
        .collect();
    let services: Vec<(String, String, String)> = hosts
        .iter()
        .flat_map(|h| {
            h.services
                .iter()
                .map(|s| (h.group.clone().unwrap(), h.name.clone(), s.name.clone()))
        })
        .collect();
    let nagios = Nagios::start(NagiosOptions {
        hosts: hosts.clone(),
        commands: p.definitions("nagios4.cfg"),
        contacts: "glpi".to_owned(),
        ..NagiosOptions::default()
    });
    p.configure(&nagios.status_dat());
    let sim = &p.env.sim;

    // GLPI slow and failing now and then: events are kept, flushed later.
    sim.inject(Fault::new("", FaultKind::Delay(Duration::from_millis(30))));
    sim.inject(Fault::new("/Ticket", FaultKind::Status(503)).probability(0.15));

    // 1. Every service has a problem (each gets its ticket), then a storm
    // of results: with flap detection on, many start flapping and Nagios
    // stops notifying them.
    for (_, host, service) in &services {
        nagios.service_result(host, service, 2, "CRITICAL - first");
    }
    p.settle();
    let mut rng = Rng(0x5eed_0fe5_1a00);
    for round in 0..8 {
        for (_, host, service) in &services {
            let state = [0, 0, 1, 2][usize::try_from(rng.next(4)).unwrap()];
            nagios.service_result(host, service, state, &format!("storm {round}"));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    p.settle();

    // 2. Nagios restarts without its retention file: it forgets every
    // problem; the results after the restart are all it knows.
    nagios.restart(Retention::Drop);
    for (_, host, service) in &services {
        let state = [0, 0, 0, 2][usize::try_from(rng.next(4)).unwrap()];
        nagios.service_result(host, service, state, "after the restart");
    }
    p.settle();

    // 3. Downtimes in which services recover: h1/S1's ends, h1/S2's lasts.
    for service in ["S1", "S2"] {
        nagios.service_result("h1", service, 2, "CRITICAL - before maintenance");
    }
    p.settle();
    nagios.schedule_service_downtime("h1", "S1", Duration::from_secs(4), "Paul", "short");
    nagios.schedule_service_downtime("h1", "S2", Duration::from_hours(1), "Paul", "long");
    nagios.wait_status("both in a downtime", WAIT, |st| {
        st.service_field("h1", "S1", "scheduled_downtime_depth") == Some("1")
            && st.service_field("h1", "S2", "scheduled_downtime_depth") == Some("1")
    });
    for service in ["S1", "S2"] {
        nagios.service_result("h1", service, 0, "OK - during maintenance");
    }
    nagios.wait_status("the short downtime's end", WAIT, |st| {
        st.service_field("h1", "S1", "scheduled_downtime_depth") == Some("0")
    });

    // 4. A problem whose notification is never sent (notifications off),
    // and a recovery never sent either.
    nagios.service_result("h2", "S1", 0, "OK");
    nagios.service_result("h2", "S2", 2, "CRITICAL - ticket");
    p.settle();
    nagios.set_service_notifications("h2", "S1", false);
    nagios.set_service_notifications("h2", "S2", false);
    nagios.service_result("h2", "S1", 2, "CRITICAL - nobody told");
    nagios.service_result("h2", "S2", 0, "OK - nobody told");

    // 5. A service that starts flapping and ends in a problem.
    for i in 0..8u8 {
        nagios.service_result(
            "h3",
            "S1",
            if i % 2 == 0 { 0 } else { 2 },
            &format!("flap {i}"),
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    p.settle();

    // The storm is over: GLPI answers again; flush delivers what was kept.
    sim.clear_faults();
    let flush = p.esia(&["flush"]);
    assert!(
        matches!(flush.code, 0),
        "flush: {}\n{}",
        flush.stdout,
        flush.stderr
    );
    let status = nagios.wait_status("status.dat after the storm", WAIT, |st| {
        st.service_field("h3", "S1", "plugin_output") == Some("flap 7")
    });
    let (before, considered, wrong_before) = mirrored(sim, &status, &services);
    println!("before reconcile: {before} of {considered} services right: {wrong_before:#?}");

    // Past the margin (3 s), reconcile.
    std::thread::sleep(Duration::from_secs(4));
    let r = p.esia(&["--json", "reconcile"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    println!("reconcile: {report:#}");
    let status = nagios.status();
    let (after, considered, wrong) = mirrored(sim, &status, &services);
    println!("after reconcile: {after} of {considered} services right");
    assert!(
        wrong.is_empty(),
        "{after} of {considered} right; wrong: {wrong:#?}\nreconcile: {report:#}\n{}",
        sim.trail()
    );
    assert!(
        considered >= 19,
        "only h1/S2 is in a downtime: {considered}"
    );
    // The service still in its downtime kept what it had: its ticket.
    let s2 = title("G1", "h1", "S2");
    assert_eq!(
        sim.tickets()
            .iter()
            .filter(|t| t.name == s2 && t.status < 5)
            .count(),
        1
    );
    // Never two tickets open for a service.
    let most = most_open_at_once(sim);
    assert!(most.values().all(|n| *n <= 1), "{most:#?}\n{}", sim.trail());
    // Reconcile had work to do: the case this test is about.
    assert!(before < considered, "the storm left nothing for reconcile");

    // A stale status.dat (a Nagios that stopped writing it) changes
    // nothing: exit 8. h4/S5 goes CRITICAL unnoticed by Nagios' contact.
    nagios.set_service_notifications("h4", "S5", false);
    nagios.service_result("h4", "S5", 2, "CRITICAL - last words");
    nagios.wait_status("the last words", WAIT, |st| {
        st.service_field("h4", "S5", "plugin_output") == Some("CRITICAL - last words")
    });
    let stale = std::fs::read_to_string(nagios.status_dat()).unwrap();
    nagios.stop();
    let tickets = sim.tickets();
    let old = stale
        .lines()
        .find_map(|l| l.trim().strip_prefix("created="))
        .unwrap()
        .parse::<i64>()
        .unwrap();
    let stale = stale.replace(&format!("created={old}"), &format!("created={}", old - 600));
    let copy = p.rec.dir().join("stale-status.dat");
    std::fs::write(&copy, stale).unwrap();
    let r = p.esia(&["reconcile", "--status-file", copy.to_str().unwrap()]);
    assert_eq!(r.code, 8, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("is stale"), "{}", r.stderr);
    assert_eq!(sim.tickets(), tickets, "nothing changed on old news");
}

/// The `[reconcile]` table of Icinga 2's REST API, as the README gives it:
/// an `ApiUser` with only the permissions reconcile needs (declared in the
/// engine's private configuration), its password in a file.
const RECONCILE_API_USER: &str = "esia-reconcile";
const RECONCILE_API_PASSWORD: &str = "reconcile-Pw-8c1f0e";

fn api_user() -> String {
    format!(
        "object ApiUser \"{RECONCILE_API_USER}\" {{\n  password = \"{RECONCILE_API_PASSWORD}\"\n  \
         permissions = [ \"status/query\", \"objects/query/Host\", \"objects/query/Service\" ]\n}}\n"
    )
}

fn icinga2_table(p: &Program, icinga: &Icinga2, password: &str) -> String {
    let file = p.rec.dir().join("icinga2-api.password");
    std::fs::write(&file, format!("{password}\n")).unwrap();
    format!(
        "[reconcile]\nicinga2_url = \"{}\"\nicinga2_user = \"{RECONCILE_API_USER}\"\n\
         icinga2_password_file = \"{}\"\nca_file = \"{}\"\nmargin = 3\n",
        icinga.api_url(),
        file.display(),
        icinga.ca_file().display()
    )
}

/// The action of `node`/`service` in a reconcile report.
fn action(report: &serde_json::Value, node: &str, service: &str) -> (String, String) {
    let line = report["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["node"] == node && k["service"] == service)
        .unwrap_or_else(|| panic!("no line for {node}/{service}: {report:#}"));
    (
        line["action"].as_str().unwrap_or_default().to_owned(),
        line["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

fn open_count(sim: &Sim, name: &str) -> usize {
    sim.tickets()
        .iter()
        .filter(|t| t.name == name && t.status < 5)
        .count()
}

#[test]
#[expect(clippy::too_many_lines, reason = "one story, told in order")]
fn icinga2_through_its_rest_api_and_its_livestatus_listener() {
    let p = Program::new(Sim::start());
    let hosts = vec![
        HostSpec::new("h1")
            .group("G1")
            .with(ServiceSpec::new("S1").no_flapping())
            .with(ServiceSpec::new("S2").no_flapping())
            .with(ServiceSpec::new("S3").no_flapping())
            .with(ServiceSpec::new("S4").no_flapping()),
        HostSpec::new("h2").group("G2"),
    ];
    let icinga = Icinga2::start(Icinga2Options {
        hosts,
        commands: p.definitions("icinga2.conf"),
        extra: api_user(),
        ..Icinga2Options::default()
    });
    p.configure_with(&icinga2_table(&p, &icinga, RECONCILE_API_PASSWORD));
    p.configure_as(
        "livestatus.conf",
        &format!(
            "[reconcile]\nlivestatus = \"{}\"\nmargin = 3\n",
            icinga.livestatus_socket().display()
        ),
    );
    let sim = &p.env.sim;
    let (s1, s2, s3) = (
        title("G1", "h1", "S1"),
        title("G1", "h1", "S2"),
        title("G1", "h1", "S3"),
    );
    let host = "( G2 ) h2".to_owned();

    // Tickets for S1, S3 and the host h2; S2 had one, solved.
    for s in ["S1", "S2", "S3"] {
        icinga.service_result("h1", s, 2, &format!("CRITICAL - {s}"));
    }
    icinga.host_result("h2", 1, "DOWN - no route");
    wait_until("four tickets", WAIT, || {
        (sim.tickets().len() == 4).then_some(())
    });
    icinga.service_result("h1", "S2", 0, "OK - S2");
    wait_until("S2 solved", WAIT, || {
        (open_count(sim, &s2) == 0).then_some(())
    });
    icinga.service_result("h1", "S4", 0, "OK - S4");
    // Nobody is told any more: S1 and h2 recover, S2 fails again.
    for t in [
        Target::service("h1", "S1"),
        Target::service("h1", "S2"),
        Target::host("h2"),
    ] {
        icinga.set_notifications_of(&t, false);
    }
    icinga.service_result("h1", "S1", 0, "OK - nobody told");
    icinga.service_result("h1", "S2", 2, "CRITICAL - nobody told");
    icinga.host_result("h2", 0, "UP - nobody told");
    // S3 recovers inside a downtime that lasts: it keeps its ticket.
    icinga.schedule_downtime(
        &Target::service("h1", "S3"),
        Duration::from_hours(1),
        "Paul",
        "long",
    );
    wait_until("S3 in a downtime", WAIT, || {
        (icinga.service_attrs("h1", "S3")["downtime_depth"].as_f64() == Some(1.0)).then_some(())
    });
    icinga.service_result("h1", "S3", 0, "OK - during maintenance");
    p.settle();
    std::thread::sleep(Duration::from_secs(4));

    // Through the REST API.
    let r = p.esia(&["--json", "reconcile"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert!(
        report["source"]
            .as_str()
            .unwrap()
            .starts_with("Icinga 2 API https://"),
        "{report:#}"
    );
    assert_eq!(action(&report, "h1", "S1").0, "solved", "{report:#}");
    assert_eq!(action(&report, "h1", "S2").0, "opened", "{report:#}");
    assert_eq!(
        action(&report, "h1", "S3"),
        ("left".into(), "in_downtime".into())
    );
    assert_eq!(action(&report, "h2", "").0, "solved", "{report:#}");
    assert_eq!(
        (
            open_count(sim, &s1),
            open_count(sim, &s2),
            open_count(sim, &s3),
            open_count(sim, &host)
        ),
        (0, 1, 1, 0),
        "{}",
        sim.trail()
    );
    let opened = sim
        .tickets()
        .into_iter()
        .rev()
        .find(|t| t.name == s2)
        .unwrap();
    assert!(
        opened.content.contains("CRITICAL - nobody told"),
        "{}",
        opened.content
    );

    // Through the LivestatusListener: S2 recovers, S1 fails, unnoticed.
    icinga.service_result("h1", "S2", 0, "OK - again nobody told");
    icinga.service_result("h1", "S1", 2, "CRITICAL - again nobody told");
    std::thread::sleep(Duration::from_secs(4));
    let r = p.esia_with("livestatus.conf", &["--json", "reconcile"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert!(
        report["source"]
            .as_str()
            .unwrap()
            .starts_with("Livestatus "),
        "{report:#}"
    );
    assert_eq!(action(&report, "h1", "S1").0, "opened", "{report:#}");
    assert_eq!(action(&report, "h1", "S2").0, "solved", "{report:#}");
    assert_eq!((open_count(sim, &s1), open_count(sim, &s2)), (1, 0));
    let most = most_open_at_once(sim);
    assert!(most.values().all(|n| *n <= 1), "{most:#?}");

    // A wrong password: refused, exit 8, nothing changed, no secret shown.
    p.configure_with(&icinga2_table(&p, &icinga, "not-the-password"));
    let tickets = sim.tickets();
    let r = p.esia(&["reconcile"]);
    assert_eq!(r.code, 8, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("refused"), "{}", r.stderr);
    assert!(r.stderr.contains("icinga2_password_file"), "{}", r.stderr);
    assert!(!r.stderr.contains("not-the-password"), "{}", r.stderr);
    assert_eq!(sim.tickets(), tickets);
    // Icinga 2 stopped: unreachable, exit 8; Livestatus too.
    drop(icinga);
    assert_eq!(p.esia(&["reconcile"]).code, 8);
    let r = p.esia_with("livestatus.conf", &["reconcile"]);
    assert_eq!(r.code, 8, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(sim.tickets(), tickets);
}
