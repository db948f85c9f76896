//! Real monitoring engines run a notification command: a private Nagios 4
//! and a private Icinga 2 (support/engines.rs), whose notification command
//! is a recorder script, are driven through a whole story — a problem, an
//! acknowledgement (and its removal), a custom notification, a state change,
//! a recovery, a downtime with a recovery inside it, a cancelled downtime,
//! flapping, a host DOWN/UP, a re-notification, notifications switched off,
//! restarts with and without retention — and the tests assert what the
//! command received: the notification type, the states, the engine's event
//! and problem numbers, the author and comment, empty arguments and
//! arguments starting with `-`. ENGINES.md (beside support/engines.rs)
//! records what these stories showed.
//!
//! One engine per test, started once; passive results, `max_check_attempts`
//! 1, short downtimes. Each step waits for its notification, so the timings
//! printed (start, result → notification) are real.

use std::time::{Duration, Instant, SystemTime};

use crate::support::engines::{
    Call, HostSpec, Icinga2, Icinga2Options, Nagios, NagiosMode, NagiosOptions, Recorder,
    Retention, ServiceSpec, Target, describe_calls, wait_until,
};

/// How long one notification may take to come (the engines answer in
/// milliseconds, but for Icinga 2's 5 s and 60 s timers; a loaded CI
/// machine).
const WAIT: Duration = Duration::from_secs(30);

/// The objects of both stories: one host per concern, so that the steps do
/// not disturb each other (a DOWN host silences its services' problems).
fn story_hosts() -> Vec<HostSpec> {
    vec![
        HostSpec::new("srv-web-01")
            .group("Paris")
            .with(ServiceSpec::new("HTTP").no_flapping())
            .with(ServiceSpec::new("DB").no_flapping())
            .service("FLAP")
            .service("FLAP2")
            .with(ServiceSpec::new("RENOTIFY").renotify(2).no_flapping()),
        HostSpec::new("srv-down-01").group("Lyon").service("PING"),
    ]
}

/// What a story step notes: the timings, printed at the end.
struct Story {
    engine: &'static str,
    rec: Recorder,
    timings: Vec<(String, Duration)>,
    t0: Instant,
}

impl Story {
    fn new(engine: &'static str, rec: Recorder) -> Story {
        Story {
            engine,
            rec,
            timings: Vec::new(),
            t0: Instant::now(),
        }
    }

    /// The calls about `key` (its name is among the arguments).
    fn calls(&self, key: &str) -> Vec<Call> {
        self.rec.calls_with(key)
    }

    /// Waits for the `n`th notification about `key`, returns it and notes
    /// how long it took after `since`.
    #[track_caller]
    fn nth(&mut self, key: &str, n: usize, since: SystemTime, what: &str) -> Call {
        let calls = self.rec.wait_calls_with(key, n, WAIT);
        let call = calls[n - 1].clone();
        self.timings.push((what.to_owned(), call.after(since)));
        call
    }

    /// The types of the notifications about `key`, in order.
    fn types(&self, key: &str) -> Vec<String> {
        self.calls(key)
            .iter()
            .map(|c| c.opt("--type").unwrap_or("").to_owned())
            .collect()
    }

    fn print(&self) {
        println!("{}: the story took {:?}", self.engine, self.t0.elapsed());
        for (what, d) in &self.timings {
            println!("  {what}: {} ms", d.as_millis());
        }
        println!(
            "{}: every notification, in order:\n{}",
            self.engine,
            describe_calls(&self.rec.calls())
        );
    }
}

fn num(call: &Call, flag: &str) -> u64 {
    call.get(flag)
        .parse()
        .unwrap_or_else(|_| panic!("{flag} is not a number in {:?}", call.args))
}

// ---------------------------------------------------------------------------
// Nagios 4

/// Both notification commands: the recorder, given the macros as options
/// (double-quoted, so that an empty macro stays an empty argument).
fn nagios_commands(rec: &Recorder) -> String {
    let r = rec.script().display().to_string();
    format!(
        "define command {{\n  command_name esia-test-service\n  command_line {r} service \
         --type \"$NOTIFICATIONTYPE$\" --node \"$HOSTNAME$\" --group \"$HOSTGROUPNAME$\" \
         --service \"$SERVICEDESC$\" --state \"$SERVICESTATE$\" --state-type \"$SERVICESTATETYPE$\" \
         --last-state \"$LASTSERVICESTATE$\" --event-id \"$SERVICEEVENTID$\" \
         --last-event-id \"$LASTSERVICEEVENTID$\" --problem-id \"$SERVICEPROBLEMID$\" \
         --last-problem-id \"$LASTSERVICEPROBLEMID$\" --author \"$NOTIFICATIONAUTHOR$\" \
         --comment \"$NOTIFICATIONCOMMENT$\" --number \"$NOTIFICATIONNUMBER$\" \
         --downtime \"$SERVICEDOWNTIME$\" --output \"$SERVICEOUTPUT$\" --unquoted $NOTIFICATIONAUTHOR$ --end\n}}\n\
         define command {{\n  command_name esia-test-host\n  command_line {r} host \
         --type \"$NOTIFICATIONTYPE$\" --node \"$HOSTNAME$\" --service '' --state \"$HOSTSTATE$\" \
         --state-type \"$HOSTSTATETYPE$\" --last-state \"$LASTHOSTSTATE$\" \
         --event-id \"$HOSTEVENTID$\" --last-event-id \"$LASTHOSTEVENTID$\" \
         --problem-id \"$HOSTPROBLEMID$\" --last-problem-id \"$LASTHOSTPROBLEMID$\" \
         --author \"$NOTIFICATIONAUTHOR$\" --comment \"$NOTIFICATIONCOMMENT$\" \
         --number \"$NOTIFICATIONNUMBER$\" --output \"$HOSTOUTPUT$\"\n}}\n"
    )
}

fn nagios_story_options(rec: &Recorder) -> NagiosOptions {
    NagiosOptions {
        hosts: story_hosts(),
        ..NagiosOptions::with_commands(&nagios_commands(rec), "esia-test-service", "esia-test-host")
    }
}

#[test]
#[allow(clippy::too_many_lines)] // one story, read top to bottom
fn nagios_story() {
    let mut s = Story::new("nagios", Recorder::new());
    let t0 = Instant::now();
    let nagios = Nagios::start(nagios_story_options(&s.rec));
    println!(
        "nagios: started in {:?} ({:?} with writing and checking the configuration)",
        nagios.started_in(),
        t0.elapsed()
    );
    let (web, http) = ("srv-web-01", "HTTP");

    // A problem: the output starts with `-`, an empty macro in double
    // quotes is an empty argument, one without quotes disappears.
    let t = SystemTime::now();
    nagios.service_result(web, http, 2, "- connection refused");
    let problem = s.nth(http, 1, t, "PROBLEM after a passive CRITICAL");
    assert_eq!(problem.args[0], "service");
    assert_eq!(problem.get("--type"), "PROBLEM");
    assert_eq!(problem.get("--node"), web);
    assert_eq!(problem.get("--group"), "Paris");
    assert_eq!(problem.get("--state"), "CRITICAL");
    assert_eq!(problem.get("--state-type"), "HARD");
    assert_eq!(problem.get("--last-state"), "OK");
    assert_eq!(problem.get("--output"), "- connection refused");
    assert_eq!(problem.get("--author"), "");
    assert_eq!(problem.get("--comment"), "");
    assert_eq!(problem.get("--number"), "1");
    assert_eq!(
        problem.get("--unquoted"),
        "--end",
        "an unquoted empty macro vanishes"
    );
    let (e1, p1) = (num(&problem, "--event-id"), num(&problem, "--problem-id"));
    assert!(e1 > 0 && p1 > 0, "{:?}", problem.args);
    // Environment macros are off by default.
    assert!(problem.vars("NAGIOS_").is_empty(), "{:?}", problem.env);
    println!(
        "nagios: the environment of a notification command: {:?}",
        problem.env.keys().collect::<Vec<_>>()
    );
    // status.dat shows it within its 1 s update interval.
    nagios.wait_status("HTTP CRITICAL in status.dat", WAIT, |st| {
        st.service_field(web, http, "current_state") == Some("2")
    });

    // An acknowledgement: author and comment, same event and problem.
    let t = SystemTime::now();
    nagios.acknowledge_service(web, http, "Jeanne", "looking");
    let ack = s.nth(http, 2, t, "ACKNOWLEDGEMENT");
    assert_eq!(ack.get("--type"), "ACKNOWLEDGEMENT");
    assert_eq!(ack.get("--state"), "CRITICAL");
    assert_eq!(ack.get("--author"), "Jeanne");
    assert_eq!(ack.get("--comment"), "looking");
    assert_eq!(num(&ack, "--event-id"), e1);
    assert_eq!(num(&ack, "--problem-id"), p1);

    // Removing it notifies nothing: the next notification is the custom one.
    nagios.remove_service_ack(web, http);
    let t = SystemTime::now();
    nagios.custom_service_notification(web, http, "Paul", "custom message");
    let custom = s.nth(http, 3, t, "CUSTOM");
    assert_eq!(custom.get("--type"), "CUSTOM", "removing an ack notified");
    assert_eq!(custom.get("--author"), "Paul");
    assert_eq!(custom.get("--comment"), "custom message");
    assert_eq!(custom.get("--state"), "CRITICAL");

    // CRITICAL → WARNING: a new event, the same problem.
    let t = SystemTime::now();
    nagios.service_result(web, http, 1, "WARNING - slow");
    let warning = s.nth(http, 4, t, "PROBLEM after CRITICAL → WARNING");
    assert_eq!(warning.get("--type"), "PROBLEM");
    assert_eq!(warning.get("--state"), "WARNING");
    assert_eq!(warning.get("--last-state"), "CRITICAL");
    let e2 = num(&warning, "--event-id");
    assert!(e2 > e1);
    assert_eq!(num(&warning, "--last-event-id"), e1);
    assert_eq!(num(&warning, "--problem-id"), p1);

    // Recovery.
    let t = SystemTime::now();
    nagios.service_result(web, http, 0, "OK - back");
    let recovery = s.nth(http, 5, t, "RECOVERY");
    assert_eq!(recovery.get("--type"), "RECOVERY");
    assert_eq!(recovery.get("--state"), "OK");
    assert_eq!(recovery.get("--last-state"), "WARNING");
    assert_eq!(num(&recovery, "--last-event-id"), e2);
    // A service's RECOVERY still names the problem that ended (a host's
    // does not, below).
    assert_eq!(num(&recovery, "--problem-id"), p1);
    assert_eq!(recovery.get("--last-problem-id"), "0");

    // A downtime with a recovery inside it (DB), while the other steps run.
    let db = "DB";
    let t = SystemTime::now();
    nagios.service_result(web, db, 2, "CRITICAL - before maintenance");
    let db_problem = s.nth(db, 1, t, "PROBLEM (DB)");
    assert_eq!(db_problem.get("--type"), "PROBLEM");
    let t = SystemTime::now();
    nagios.schedule_service_downtime(
        web,
        db,
        Duration::from_secs(3),
        "Paul",
        "maintenance window",
    );
    let dt_start = s.nth(db, 2, t, "DOWNTIMESTART");
    let downtime_end = SystemTime::now() + Duration::from_secs(3);
    assert_eq!(dt_start.get("--type"), "DOWNTIMESTART");
    assert_eq!(dt_start.get("--state"), "CRITICAL");
    assert_eq!(dt_start.get("--author"), "Paul");
    assert_eq!(dt_start.get("--comment"), "maintenance window");
    // The downtime depth is raised after the notification.
    assert_eq!(dt_start.get("--downtime"), "0");
    nagios.wait_status("DB in a downtime in status.dat", WAIT, |st| {
        st.service_field(web, db, "scheduled_downtime_depth") == Some("1")
            && !st.of("servicedowntime").is_empty()
    });
    nagios.service_result(web, db, 0, "OK - during maintenance");

    // A host DOWN, then UP: the host command, its empty '' service.
    let down = "srv-down-01";
    let t = SystemTime::now();
    nagios.host_result(down, 1, "DOWN - no route");
    let host_problem = s.nth(down, 1, t, "host PROBLEM");
    assert_eq!(host_problem.args[0], "host");
    assert_eq!(host_problem.get("--type"), "PROBLEM");
    assert_eq!(host_problem.get("--state"), "DOWN");
    assert_eq!(host_problem.get("--service"), "");
    assert_eq!(host_problem.get("--last-state"), "UP");
    let h1 = num(&host_problem, "--event-id");
    let t = SystemTime::now();
    nagios.host_result(down, 0, "UP - back");
    let host_recovery = s.nth(down, 2, t, "host RECOVERY");
    assert_eq!(host_recovery.get("--type"), "RECOVERY");
    assert_eq!(host_recovery.get("--state"), "UP");
    assert_eq!(num(&host_recovery, "--last-event-id"), h1);
    // Unlike a service's, a host's RECOVERY has problem id 0 and the
    // problem that ended as the last one.
    assert_eq!(host_recovery.get("--problem-id"), "0");
    assert_eq!(
        host_recovery.get("--last-problem-id"),
        host_problem.get("--problem-id")
    );
    // Event ids are one counter for hosts and services.
    assert!(h1 > e2, "host event {h1}, service event {e2}");

    // A re-notification: the same CRITICAL after notification_interval
    // (2 s), a higher notification number; not before the interval.
    let renotify = "RENOTIFY";
    let t = SystemTime::now();
    nagios.service_result(web, renotify, 2, "CRITICAL - still");
    let first = s.nth(renotify, 1, t, "PROBLEM (RENOTIFY)");
    let renotify_at = Instant::now();
    nagios.service_result(web, renotify, 2, "CRITICAL - still, too soon");
    std::thread::sleep(
        Duration::from_secs(2).saturating_sub(renotify_at.elapsed()) + Duration::from_millis(1100),
    );
    let t = SystemTime::now();
    nagios.service_result(web, renotify, 2, "CRITICAL - still, later");
    let again = s.nth(renotify, 2, t, "re-notification");
    assert_eq!(again.get("--type"), "PROBLEM");
    assert_eq!(again.get("--number"), "2");
    assert_eq!(again.get("--output"), "CRITICAL - still, later");
    assert_eq!(again.get("--event-id"), first.get("--event-id"));
    assert_eq!(again.get("--problem-id"), first.get("--problem-id"));
    // $LASTSERVICESTATE$ is the previous check's: no longer OK.
    assert_eq!(first.get("--last-state"), "OK");
    assert_eq!(again.get("--last-state"), "CRITICAL");
    assert_eq!(
        s.calls(renotify).len(),
        2,
        "the result within the interval notified"
    );

    // The downtime ends: DOWNTIMEEND carries the state reached inside it.
    let dt_end = s.nth(db, 3, downtime_end, "DOWNTIMEEND after the downtime's end");
    assert_eq!(dt_end.get("--type"), "DOWNTIMEEND");
    assert_eq!(dt_end.get("--state"), "OK");
    assert_eq!(dt_end.get("--last-state"), "CRITICAL");
    assert_eq!(dt_end.get("--output"), "OK - during maintenance");
    assert_eq!(dt_end.get("--author"), "Paul");
    assert_eq!(dt_end.get("--comment"), "maintenance window");
    // The recovery inside the downtime is the event it carries; the problem
    // is over, the notification count was reset by it.
    assert_eq!(
        num(&dt_end, "--last-event-id"),
        num(&db_problem, "--event-id")
    );
    assert_eq!(dt_end.get("--problem-id"), "0");
    assert_eq!(
        dt_end.get("--last-problem-id"),
        db_problem.get("--problem-id")
    );
    assert_eq!(dt_end.get("--number"), "0");

    // Flapping: alternating results, each notified, until the fourth
    // starts the flapping; then steady OK results until it stops.
    let flap = "FLAP";
    let t = SystemTime::now();
    for i in 0..4 {
        let state = if i % 2 == 0 { 2 } else { 0 };
        nagios.service_result(web, flap, state, &format!("flap {i}"));
        s.rec.wait_calls_with(flap, i + 1, WAIT);
    }
    s.timings.push((
        "four alternating results, each notified".into(),
        s.calls(flap)[3].after(t),
    ));
    // CRITICAL, OK, CRITICAL notified; the fourth result (OK) starts the
    // flapping: FLAPPINGSTART carries OK, and no RECOVERY is sent.
    assert_eq!(
        s.types(flap),
        ["PROBLEM", "RECOVERY", "PROBLEM", "FLAPPINGSTART"]
    );
    let start = s.calls(flap)[3].clone();
    assert_eq!(start.get("--state"), "OK");
    assert_eq!(start.get("--last-state"), "CRITICAL");
    assert_eq!(start.get("--output"), "flap 3");
    let t = SystemTime::now();
    for i in 0..25 {
        nagios.service_result(web, flap, 0, &format!("steady {i}"));
        std::thread::sleep(Duration::from_millis(20));
    }
    let stop = s.nth(flap, 5, t, "FLAPPINGSTOP (after the first steady result)");
    // The 19th steady result brings the change below 5 %: FLAPPINGSTOP
    // (OK), and nothing else (no RECOVERY: the flapping started in OK).
    assert_eq!(stop.get("--type"), "FLAPPINGSTOP");
    assert_eq!(stop.get("--output"), "steady 18");
    assert_eq!(stop.get("--state"), "OK");
    assert_eq!(stop.get("--problem-id"), "0");
    nagios.wait_status("the last steady result in status.dat", WAIT, |st| {
        st.service_field(web, flap, "plugin_output") == Some("steady 24")
    });
    assert_eq!(s.types(flap)[4..], ["FLAPPINGSTOP"]);

    // Flapping that starts in a (notified) problem state, WARNING, and
    // stops in OK.
    let flap2 = "FLAP2";
    for (i, state) in [2, 0, 2, 1].into_iter().enumerate() {
        nagios.service_result(web, flap2, state, &format!("flap2 {i}"));
        s.rec.wait_calls_with(flap2, i + 1, WAIT);
    }
    assert_eq!(
        s.types(flap2),
        ["PROBLEM", "RECOVERY", "PROBLEM", "FLAPPINGSTART"]
    );
    assert_eq!(s.calls(flap2)[3].get("--state"), "WARNING");
    for i in 0..25 {
        nagios.service_result(web, flap2, 0, &format!("steady {i}"));
        std::thread::sleep(Duration::from_millis(20));
    }
    nagios.wait_status(
        "the last steady result of FLAP2 in status.dat",
        WAIT,
        |st| st.service_field(web, flap2, "plugin_output") == Some("steady 24"),
    );
    std::thread::sleep(Duration::from_millis(500));
    // FLAPPINGSTOP (OK) and no RECOVERY, although the flapping started in
    // a notified problem: the recovery came while flapping, unnotified.
    assert_eq!(s.types(flap2)[4..], ["FLAPPINGSTOP"]);
    let stop2 = &s.calls(flap2)[4];
    assert_eq!(stop2.get("--state"), "OK");
    assert_eq!(stop2.get("--output"), "steady 19");

    // A cancelled downtime.
    let t = SystemTime::now();
    nagios.service_result(web, db, 2, "CRITICAL - again");
    s.nth(db, 4, t, "PROBLEM (DB again)");
    nagios.schedule_service_downtime(web, db, Duration::from_mins(10), "Paul", "long maintenance");
    let t = SystemTime::now();
    s.nth(db, 5, t, "DOWNTIMESTART (long)");
    let t = SystemTime::now();
    nagios.cancel_downtimes(web, Some(db));
    let cancelled = s.nth(db, 6, t, "DOWNTIMECANCELLED");
    assert_eq!(cancelled.get("--type"), "DOWNTIMECANCELLED");
    assert_eq!(cancelled.get("--state"), "CRITICAL");
    // Unlike DOWNTIMEEND, a cancellation carries no author nor comment.
    assert_eq!(cancelled.get("--author"), "");
    assert_eq!(cancelled.get("--comment"), "");
    let t = SystemTime::now();
    nagios.service_result(web, db, 0, "OK - after the cancelled downtime");
    let db_recovery = s.nth(db, 7, t, "RECOVERY (DB)");
    assert_eq!(db_recovery.get("--type"), "RECOVERY");
    // The recovery inside the first downtime was never notified.
    assert_eq!(
        s.types(db),
        [
            "PROBLEM",
            "DOWNTIMESTART",
            "DOWNTIMEEND",
            "PROBLEM",
            "DOWNTIMESTART",
            "DOWNTIMECANCELLED",
            "RECOVERY"
        ]
    );

    // Notifications off: a problem notifies nothing; back on, its recovery?
    nagios.set_service_notifications(web, http, false);
    nagios.service_result(web, http, 2, "CRITICAL - unnoticed");
    nagios.set_service_notifications(web, http, true);
    let t = SystemTime::now();
    nagios.service_result(web, http, 0, "OK - recovered unnoticed");
    nagios.custom_service_notification(web, http, "Paul", "sentinel");
    let next = s.nth(http, 6, t, "the next notification after notifications off");
    // No RECOVERY for a problem that was never notified.
    assert_eq!(
        next.get("--type"),
        "CUSTOM",
        "a RECOVERY of a problem never notified"
    );

    // Restart keeping retention: the event ids go on.
    let before = num(&s.calls(http).last().unwrap().clone(), "--event-id");
    let t = Instant::now();
    nagios.restart(Retention::Keep);
    s.timings
        .push(("restart keeping retention".into(), t.elapsed()));
    // status.dat, written again by the new process: the retained state.
    let st = fresh_status(&nagios);
    assert_eq!(st.service_field(web, http, "has_been_checked"), Some("1"));
    assert_eq!(st.service_field(web, http, "current_state"), Some("0"));
    assert_eq!(
        st.service_field(web, http, "plugin_output"),
        Some("OK - recovered unnoticed")
    );
    let t = SystemTime::now();
    nagios.service_result(web, http, 2, "CRITICAL - after a restart");
    let kept = s.nth(http, 7, t, "PROBLEM after a restart with retention");
    assert_eq!(kept.get("--last-state"), "OK");
    let kept_id = num(&kept, "--event-id");
    assert!(
        kept_id > before,
        "event id {kept_id} after a restart, {before} before"
    );

    // Restart without retention: every service starts OK, counters anew.
    let t = Instant::now();
    nagios.restart(Retention::Drop);
    s.timings
        .push(("restart without retention".into(), t.elapsed()));
    // Never checked, OK: the CRITICAL it was in is forgotten.
    let st = fresh_status(&nagios);
    assert_eq!(st.service_field(web, http, "has_been_checked"), Some("0"));
    assert_eq!(st.service_field(web, http, "current_state"), Some("0"));
    assert_eq!(st.service_field(web, http, "current_event_id"), Some("0"));
    let t = SystemTime::now();
    nagios.service_result(web, http, 2, "CRITICAL - after a restart without retention");
    let fresh = s.nth(http, 8, t, "PROBLEM after a restart without retention");
    // It was CRITICAL; it starts OK, and the numbering starts again: the
    // event id is 1, lower than every earlier one.
    assert_eq!(fresh.get("--type"), "PROBLEM");
    assert_eq!(fresh.get("--last-state"), "OK");
    assert_eq!(fresh.get("--event-id"), "1");
    assert_eq!(fresh.get("--last-event-id"), "0");
    assert_eq!(fresh.get("--problem-id"), "1");
    assert_eq!(fresh.get("--last-problem-id"), "0");
    assert!(kept_id > 1);
    let st = nagios.wait_status("HTTP CRITICAL again in status.dat", WAIT, |st| {
        st.service_field(web, http, "current_state") == Some("2")
    });
    assert_eq!(st.service_field(web, http, "current_event_id"), Some("1"));

    s.print();
}

/// status.dat once the running Nagios wrote it (its pid in it).
fn fresh_status(nagios: &Nagios) -> crate::support::engines::StatusDat {
    let pid = nagios.pid().unwrap().to_string();
    nagios.wait_status("status.dat of the new process", WAIT, |st| {
        st.program()
            .is_some_and(|p| p.get("nagios_pid") == Some(&pid))
    })
}

/// `enable_environment_macros=1`: the macros come in the environment too;
/// and the daemon mode (pid in the lock file).
#[test]
fn nagios_environment_macros_and_daemon_mode() {
    // The recorder then runs a program with the same arguments.
    let rec = Recorder::then(
        std::path::Path::new("/bin/sh"),
        &["-c", "printf '%s\\n' \"$@\" > {dir}/then.out", "sh"],
    );
    let nagios = Nagios::start(NagiosOptions {
        environment_macros: true,
        mode: NagiosMode::Daemon,
        ..nagios_story_options(&rec)
    });
    println!("nagios -d: started in {:?}", nagios.started_in());
    let pid = nagios.pid().unwrap();
    let t = SystemTime::now();
    nagios.service_result("srv-web-01", "HTTP", 2, "CRITICAL - with the environment");
    let calls = nagios.wait_calls(&rec, "a PROBLEM", WAIT, |c| !c.is_empty());
    println!("nagios -d: PROBLEM after {:?}", calls[0].after(t));
    let then = wait_until("the program after the recorder", WAIT, || {
        std::fs::read_to_string(rec.dir().join("then.out")).ok()
    });
    assert_eq!(then.lines().collect::<Vec<_>>(), calls[0].args);
    let env = calls[0].vars("NAGIOS_");
    assert_eq!(env.get("NAGIOS_NOTIFICATIONTYPE"), Some(&"PROBLEM"));
    assert_eq!(env.get("NAGIOS_SERVICESTATE"), Some(&"CRITICAL"));
    assert_eq!(env.get("NAGIOS_SERVICEDESC"), Some(&"HTTP"));
    assert_eq!(env.get("NAGIOS_HOSTGROUPNAME"), Some(&"Paris"));
    assert_eq!(
        env.get("NAGIOS_SERVICEOUTPUT"),
        Some(&"CRITICAL - with the environment")
    );
    assert_eq!(
        env.get("NAGIOS_SERVICEEVENTID").copied(),
        calls[0].opt("--event-id")
    );
    assert!(
        nagios.status_dat().is_file(),
        "no status.dat in {}",
        nagios.dir().display()
    );
    nagios.stop();
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/stat")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z")),
        "the daemon {pid} still runs"
    );
}

// ---------------------------------------------------------------------------
// Icinga 2

/// Both notification commands: the recorder, given Icinga 2's runtime
/// macros as options. Icinga 2 sorts the arguments by key (`order` aside).
/// The host command shows three ways an empty service can arrive: the
/// `$service.name$` of a host notification is a missing macro, so
/// `--service-name` is left out; a literal `""` value passes the bare key
/// (`--service=`: one argument that a parser reads as an empty value); a
/// macro resolving to an empty string (the command's own `vars`) passes
/// the key and an empty argument.
fn icinga2_commands(rec: &Recorder) -> String {
    let r = rec.script().display().to_string();
    format!(
        "object NotificationCommand \"esia-test-service\" {{\n  command = [ \"{r}\", \"service\" ]\n\
         \x20 arguments = {{\n\
         \x20   \"--type\" = \"$notification.type$\"\n\
         \x20   \"--node\" = \"$host.name$\"\n\
         \x20   \"--group\" = \"$host.groups$\"\n\
         \x20   \"--service\" = \"$service.name$\"\n\
         \x20   \"--state\" = \"$service.state$\"\n\
         \x20   \"--state-type\" = \"$service.state_type$\"\n\
         \x20   \"--last-state\" = \"$service.last_state$\"\n\
         \x20   \"--last-state-type\" = \"$service.last_state_type$\"\n\
         \x20   \"--last-state-change\" = \"$service.last_state_change$\"\n\
         \x20   \"--author\" = \"$notification.author$\"\n\
         \x20   \"--comment\" = \"$notification.comment$\"\n\
         \x20   \"--number\" = \"$notification.notification_number$\"\n\
         \x20   \"--downtime\" = \"$service.downtime_depth$\"\n\
         \x20   \"--acknowledgement\" = \"$service.acknowledgement$\"\n\
         \x20   \"--output\" = \"$service.output$\"\n\
         \x20   \"--bare\" = \"\"\n\
         \x20   \"--missing\" = \"$service.no_such_attribute$\"\n\
         \x20 }}\n}}\n\
         object NotificationCommand \"esia-test-host\" {{\n  command = [ \"{r}\", \"host\" ]\n\
         \x20 vars.esia_no_service = \"\"\n\
         \x20 arguments = {{\n\
         \x20   \"--type\" = \"$notification.type$\"\n\
         \x20   \"--node\" = \"$host.name$\"\n\
         \x20   \"--service-name\" = \"$service.name$\"\n\
         \x20   \"--service=\" = \"\"\n\
         \x20   \"--service\" = \"$esia_no_service$\"\n\
         \x20   \"--state\" = \"$host.state$\"\n\
         \x20   \"--state-type\" = \"$host.state_type$\"\n\
         \x20   \"--last-state\" = \"$host.last_state$\"\n\
         \x20   \"--author\" = \"$notification.author$\"\n\
         \x20   \"--comment\" = \"$notification.comment$\"\n\
         \x20   \"--number\" = \"$notification.notification_number$\"\n\
         \x20   \"--output\" = \"$host.output$\"\n\
         \x20 }}\n}}\n"
    )
}

#[test]
#[allow(clippy::too_many_lines)] // one story, read top to bottom
fn icinga2_story() {
    let mut s = Story::new("icinga2", Recorder::new());
    let t0 = Instant::now();
    let icinga = Icinga2::start(Icinga2Options {
        hosts: story_hosts(),
        ..Icinga2Options::with_commands(
            &icinga2_commands(&s.rec),
            "esia-test-service",
            "esia-test-host",
        )
    });
    println!(
        "icinga2: started in {:?} ({:?} with the certificate and `icinga2 daemon -C`)",
        icinga.started_in(),
        t0.elapsed()
    );
    let (web, http) = ("srv-web-01", "HTTP");
    let http_t = Target::service(web, http);

    // A downtime with a recovery inside it (DB) first: Icinga 2 starts
    // fixed downtimes on a 5 s timer and ends them on a 60 s one, so it
    // runs while the other steps do.
    let db = "DB";
    let db_t = Target::service(web, db);
    let t = SystemTime::now();
    icinga.service_result(web, db, 2, "CRITICAL - before maintenance");
    let db_problem = s.nth(db, 1, t, "PROBLEM (DB)");
    assert_eq!(db_problem.get("--type"), "PROBLEM");
    let t = SystemTime::now();
    let downtime =
        icinga.schedule_downtime(&db_t, Duration::from_secs(3), "Paul", "maintenance window");
    let downtime_end = SystemTime::now() + Duration::from_secs(3);
    let dt_start = s.nth(db, 2, t, "DOWNTIMESTART");
    assert_eq!(dt_start.get("--type"), "DOWNTIMESTART");
    assert_eq!(dt_start.get("--state"), "CRITICAL");
    assert_eq!(dt_start.get("--author"), "Paul");
    assert_eq!(dt_start.get("--comment"), "maintenance window");
    // The downtime is in effect when it is notified (Nagios: not yet).
    assert_eq!(dt_start.get("--downtime"), "1");
    assert!(downtime.starts_with("srv-web-01!DB!"), "{downtime}");
    icinga.service_result(web, db, 0, "OK - during maintenance");

    // A problem: arguments sorted by key, a literal "" value gives the bare
    // key, a missing macro drops its argument.
    let t = SystemTime::now();
    icinga.service_result(web, http, 2, "- connection refused");
    let problem = s.nth(http, 1, t, "PROBLEM after a passive CRITICAL");
    assert_eq!(problem.args[0], "service");
    assert_eq!(problem.get("--type"), "PROBLEM");
    assert_eq!(problem.get("--node"), web);
    assert_eq!(problem.get("--group"), "Paris");
    assert_eq!(problem.get("--state"), "CRITICAL");
    assert_eq!(problem.get("--state-type"), "HARD");
    assert_eq!(problem.get("--output"), "- connection refused");
    assert_eq!(problem.get("--author"), "");
    assert_eq!(problem.get("--comment"), "");
    assert_eq!(problem.get("--number"), "1");
    assert!(problem.has_arg("--bare"));
    assert!(!problem.has_arg("--missing"), "{:?}", problem.args);
    // Sorted by key, whatever the order of the definition.
    let keys: Vec<&str> = problem
        .args
        .iter()
        .filter(|a| a.starts_with("--") && *a != "--bare")
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
    // A service never checked was UNKNOWN (soft).
    assert_eq!(problem.get("--last-state"), "UNKNOWN");
    assert_eq!(problem.get("--last-state-type"), "SOFT");
    // Only what `env` declares, and Icinga's own environment.
    println!(
        "icinga2: the environment of a notification command: {:?}",
        problem.env.keys().collect::<Vec<_>>()
    );

    // An acknowledgement.
    let t = SystemTime::now();
    icinga.acknowledge(&http_t, "Jeanne", "looking");
    let ack = s.nth(http, 2, t, "ACKNOWLEDGEMENT");
    assert_eq!(ack.get("--type"), "ACKNOWLEDGEMENT");
    assert_eq!(ack.get("--state"), "CRITICAL");
    assert_eq!(ack.get("--author"), "Jeanne");
    assert_eq!(ack.get("--comment"), "looking");
    assert_eq!(ack.get("--acknowledgement"), "1");
    assert_eq!(ack.get("--number"), "2");

    // Removing it: the next notification is the custom one?
    icinga.remove_acknowledgement(&http_t);
    let t = SystemTime::now();
    icinga.custom_notification(&http_t, "Paul", "custom message");
    let custom = s.nth(http, 3, t, "CUSTOM");
    assert_eq!(custom.get("--type"), "CUSTOM", "removing an ack notified");
    assert_eq!(custom.get("--author"), "Paul");
    assert_eq!(custom.get("--comment"), "custom message");
    assert_eq!(custom.get("--acknowledgement"), "0");

    // CRITICAL → WARNING.
    let t = SystemTime::now();
    icinga.service_result(web, http, 1, "WARNING - slow");
    let warning = s.nth(http, 4, t, "PROBLEM after CRITICAL → WARNING");
    assert_eq!(warning.get("--type"), "PROBLEM");
    assert_eq!(warning.get("--state"), "WARNING");
    assert_eq!(warning.get("--last-state"), "CRITICAL");
    // Every notification counts, acknowledgement and custom ones too.
    assert_eq!(warning.get("--number"), "4");

    // Recovery.
    let t = SystemTime::now();
    icinga.service_result(web, http, 0, "OK - back");
    let recovery = s.nth(http, 5, t, "RECOVERY");
    assert_eq!(recovery.get("--type"), "RECOVERY");
    assert_eq!(recovery.get("--state"), "OK");
    assert_eq!(recovery.get("--last-state"), "WARNING");
    assert_eq!(recovery.get("--number"), "1");

    // The state, read back from the REST API and Livestatus.
    let attrs = icinga.service_attrs(web, http);
    assert_eq!(attrs["state"].as_f64(), Some(0.0), "{attrs:#}");
    assert_eq!(attrs["last_check_result"]["output"], "OK - back");
    let ls = icinga.livestatus(
        "GET services\nColumns: host_name description state state_type acknowledged scheduled_downtime_depth plugin_output\nFilter: description = HTTP\nOutputFormat: json",
    );
    let rows: serde_json::Value = serde_json::from_str(&ls).unwrap();
    assert_eq!(
        rows,
        serde_json::json!([["srv-web-01", "HTTP", 0, 1, false, 0, "OK - back"]])
    );
    let list = icinga.api(
        "GET",
        "/v1/objects/services?attrs=state&attrs=state_type&attrs=downtime_depth&attrs=acknowledgement",
        None,
    );
    assert_eq!(list["results"].as_array().unwrap().len(), 6, "{list:#}");
    let status = icinga.api("GET", "/v1/status/CIB", None);
    assert!(
        status["results"][0]["status"]["num_services_ok"].is_number(),
        "{status:#}"
    );

    // A host DOWN, then UP.
    let down = "srv-down-01";
    let t = SystemTime::now();
    icinga.host_result(down, 1, "DOWN - no route");
    let host_problem = s.nth(down, 1, t, "host PROBLEM");
    assert_eq!(host_problem.args[0], "host");
    assert_eq!(host_problem.get("--type"), "PROBLEM");
    assert_eq!(host_problem.get("--state"), "DOWN");
    assert!(
        !host_problem.has_arg("--service-name"),
        "{:?}",
        host_problem.args
    );
    assert!(
        host_problem.has_arg("--service="),
        "{:?}",
        host_problem.args
    );
    assert_eq!(host_problem.get("--service"), "");
    // A host never checked was "DOWN" (its unknown raw state, as a host).
    assert_eq!(host_problem.get("--last-state"), "DOWN");
    let t = SystemTime::now();
    icinga.host_result(down, 0, "UP - back");
    let host_recovery = s.nth(down, 2, t, "host RECOVERY");
    assert_eq!(host_recovery.get("--type"), "RECOVERY");
    assert_eq!(host_recovery.get("--state"), "UP");
    assert_eq!(host_recovery.get("--last-state"), "DOWN");

    // A re-notification: Icinga 2 re-sends by itself (interval 2 s, its
    // notification timer runs every 5 s).
    let renotify = "RENOTIFY";
    let t = SystemTime::now();
    icinga.service_result(web, renotify, 2, "CRITICAL - still");
    let first = s.nth(renotify, 1, t, "PROBLEM (RENOTIFY)");
    let again = s.nth(renotify, 2, t, "re-notification (no new result)");
    assert_eq!(again.get("--type"), "PROBLEM");
    assert_eq!(again.get("--number"), "2");
    assert_eq!(again.get("--output"), first.get("--output"));
    assert!(
        again.after(first.at) >= Duration::from_secs(2),
        "re-notified after {:?}",
        again.after(first.at)
    );
    let t = SystemTime::now();
    icinga.service_result(web, renotify, 0, "OK");
    let end = s.nth(renotify, 3, t, "RECOVERY (RENOTIFY)");
    assert_eq!(end.get("--type"), "RECOVERY");

    // Flapping: alternating results, each notified, until the sixth
    // starts the flapping; then steady OK results until it ends.
    let flap = "FLAP";
    let t = SystemTime::now();
    for i in 0..6 {
        let state = if i % 2 == 0 { 2 } else { 0 };
        icinga.service_result(web, flap, state, &format!("flap {i}"));
        s.rec.wait_calls_with(flap, i + 1, WAIT);
    }
    s.timings.push((
        "six alternating results, each notified".into(),
        s.calls(flap)[5].after(t),
    ));
    // Five state changes notified, the sixth (OK) starts the flapping:
    // FLAPPINGSTART carries OK, no RECOVERY.
    assert_eq!(
        s.types(flap),
        [
            "PROBLEM",
            "RECOVERY",
            "PROBLEM",
            "RECOVERY",
            "PROBLEM",
            "FLAPPINGSTART"
        ]
    );
    let start = s.calls(flap)[5].clone();
    assert_eq!(start.get("--state"), "OK");
    assert_eq!(start.get("--output"), "flap 5");
    let t = SystemTime::now();
    for i in 0..20 {
        icinga.service_result(web, flap, 0, &format!("steady {i}"));
    }
    let stop = s.nth(flap, 7, t, "FLAPPINGEND (after the first steady result)");
    // The 15th steady result brings the change below 25 %.
    assert_eq!(stop.get("--type"), "FLAPPINGEND");
    assert_eq!(stop.get("--output"), "steady 14");
    assert_eq!(stop.get("--state"), "OK");
    // Nothing else, even after the 5 s timer that re-sends what was held
    // back (the downtime's end is awaited anyway).
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(s.types(flap)[6..], ["FLAPPINGEND"]);

    // Flapping that starts in a (notified) problem state, WARNING, and
    // ends in OK.
    let flap2 = "FLAP2";
    for (i, state) in [2, 0, 2, 0, 2, 1].into_iter().enumerate() {
        icinga.service_result(web, flap2, state, &format!("flap2 {i}"));
        s.rec.wait_calls_with(flap2, i + 1, WAIT);
    }
    assert_eq!(
        s.types(flap2),
        [
            "PROBLEM",
            "RECOVERY",
            "PROBLEM",
            "RECOVERY",
            "PROBLEM",
            "FLAPPINGSTART"
        ]
    );
    assert_eq!(s.calls(flap2)[5].get("--state"), "WARNING");
    for i in 0..20 {
        icinga.service_result(web, flap2, 0, &format!("steady {i}"));
    }
    std::thread::sleep(Duration::from_secs(7));
    // FLAPPINGEND (OK) and no RECOVERY, even after the 5 s timer.
    assert_eq!(s.types(flap2)[6..], ["FLAPPINGEND"]);
    let end2 = &s.calls(flap2)[6];
    assert_eq!(end2.get("--state"), "OK");
    assert_eq!(end2.get("--output"), "steady 15");

    // The downtime ends (its end was 3 s after it was scheduled; Icinga 2
    // notices on its 60 s timer).
    let end_at = downtime_end;
    let dt_end = icinga.wait_calls(&s.rec, "DOWNTIMEEND (DB)", Duration::from_mins(2), |c| {
        c.iter()
            .any(|c| c.has_arg(db) && c.get("--type") == "DOWNTIMEEND")
    });
    let dt_end = dt_end
        .into_iter()
        .find(|c| c.has_arg(db) && c.get("--type") == "DOWNTIMEEND")
        .unwrap();
    s.timings.push((
        "DOWNTIMEEND after the downtime's end (60 s timer)".into(),
        dt_end.after(end_at),
    ));
    assert_eq!(dt_end.get("--state"), "OK");
    assert_eq!(dt_end.get("--last-state"), "CRITICAL");
    assert_eq!(dt_end.get("--author"), "Paul");
    assert_eq!(dt_end.get("--comment"), "maintenance window");
    assert_eq!(dt_end.get("--downtime"), "0");
    // Unlike Nagios, Icinga 2 sends the recovery held back by the
    // downtime, once the downtime is over (its 5 s timer), before the
    // DOWNTIMEEND (its 60 s timer).
    assert_eq!(
        s.types(db),
        ["PROBLEM", "DOWNTIMESTART", "RECOVERY", "DOWNTIMEEND"]
    );
    let held = &s.calls(db)[2];
    assert_eq!(held.get("--output"), "OK - during maintenance");
    s.timings.push((
        "RECOVERY held back by the downtime, after its end".into(),
        held.after(end_at),
    ));

    // A cancelled (removed) downtime.
    let n = s.calls(db).len();
    let t = SystemTime::now();
    icinga.service_result(web, db, 2, "CRITICAL - again");
    s.nth(db, n + 1, t, "PROBLEM (DB again)");
    let t = SystemTime::now();
    icinga.schedule_downtime(&db_t, Duration::from_mins(10), "Paul", "long maintenance");
    s.nth(db, n + 2, t, "DOWNTIMESTART (long)");
    let t = SystemTime::now();
    icinga.remove_downtimes(&db_t);
    let removed = s.nth(db, n + 3, t, "notification of a removed downtime");
    // Icinga 2.13 has no DOWNTIMECANCELLED: a removal is a DOWNTIMEEND,
    // with the downtime's author and comment.
    assert_eq!(removed.get("--type"), "DOWNTIMEEND");
    assert_eq!(removed.get("--state"), "CRITICAL");
    assert_eq!(removed.get("--author"), "Paul");
    assert_eq!(removed.get("--comment"), "long maintenance");
    let t = SystemTime::now();
    icinga.service_result(web, db, 0, "OK - after the removed downtime");
    let db_recovery = s.nth(db, n + 4, t, "RECOVERY (DB)");
    assert_eq!(db_recovery.get("--type"), "RECOVERY");

    // Notifications off, a problem, notifications on, its recovery.
    let n = s.calls(http).len();
    icinga.set_notifications_of(&http_t, false);
    icinga.service_result(web, http, 2, "CRITICAL - unnoticed");
    icinga.set_notifications_of(&http_t, true);
    let t = SystemTime::now();
    icinga.service_result(web, http, 0, "OK - recovered unnoticed");
    icinga.custom_notification(&http_t, "Paul", "sentinel");
    let next = s.nth(
        http,
        n + 1,
        t,
        "the next notification after notifications off",
    );
    // No RECOVERY for a problem that was never notified.
    assert_eq!(next.get("--type"), "CUSTOM");

    // Restarts.
    let n = s.calls(http).len();
    let t = SystemTime::now();
    icinga.service_result(web, http, 2, "CRITICAL - before a restart");
    s.nth(http, n + 1, t, "PROBLEM before a restart");
    let t = Instant::now();
    icinga.restart(Retention::Keep);
    s.timings
        .push(("restart keeping the state file".into(), t.elapsed()));
    let kept = icinga.service_attrs(web, http);
    assert_eq!(kept["state"].as_f64(), Some(2.0), "{kept:#}");
    assert_eq!(
        kept["last_check_result"]["output"],
        "CRITICAL - before a restart"
    );
    let t = Instant::now();
    icinga.restart(Retention::Drop);
    s.timings
        .push(("restart without the state file".into(), t.elapsed()));
    // Without its state file: UNKNOWN, never checked.
    let fresh = icinga.service_attrs(web, http);
    assert_eq!(fresh["state"].as_f64(), Some(3.0), "{fresh:#}");
    assert!(fresh["last_check_result"].is_null(), "{fresh:#}");
    let ls = icinga.livestatus(
        "GET services\nColumns: state has_been_checked\nFilter: description = HTTP\nOutputFormat: json",
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&ls).unwrap(),
        serde_json::json!([[3, 0]])
    );
    let t = SystemTime::now();
    icinga.service_result(web, http, 2, "CRITICAL - after a restart without state");
    let again = s.nth(http, n + 2, t, "PROBLEM after a restart without state");
    assert_eq!(again.get("--type"), "PROBLEM");
    assert_eq!(again.get("--last-state"), "UNKNOWN");
    assert_eq!(again.get("--number"), "1");

    s.print();
}
