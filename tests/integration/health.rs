//! `esia-glpi health`, the check the monitoring engine runs on the program
//! itself: its four plugin states (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN),
//! one line with performance data — the real binary, the simulator.

use crate::support::glpi_sim::{Fault, FaultKind};
use crate::support::{Env, Run};

fn health(env: &Env, more: &[&str]) -> Run {
    let mut args = vec!["health"];
    args.extend_from_slice(more);
    env.esia(&args)
}

#[track_caller]
fn says(run: &Run, code: i32, start: &str) {
    run.code(code);
    assert!(run.stdout.starts_with(start), "{}", run.stdout);
    assert_eq!(run.stdout.lines().count(), 1, "one line: {}", run.stdout);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn ok_once_a_flush_succeeded_and_nothing_waits() {
    let env = Env::new();
    // Never flushed here: the timer may not run.
    let run = health(&env, &[]);
    says(&run, 1, "ESIA-GLPI WARNING - no flush has succeeded yet");
    env.esia(&["flush"]).ok();
    let run = health(&env, &[]);
    says(
        &run,
        0,
        "ESIA-GLPI OK - 0 event(s) kept; last flush 0 s ago |",
    );
    assert!(
        run.stdout.contains(
            "kept=0 oldest=0s;300;900 foreign=0 other_config=0 failing=0 flush_age=0s;300;900"
        ),
        "{}",
        run.stdout
    );
    let j = env.esia(&["--json", "health"]).ok().json();
    assert_eq!(j["status"], "OK");
    // A flush older than the threshold.
    let run = health(&env, &["--flush-warning", "0"]);
    says(
        &run,
        1,
        "ESIA-GLPI WARNING - the last successful flush was 0 s ago",
    );
}

#[test]
fn events_kept_too_long_warn_then_are_critical() {
    let env = Env::new();
    env.esia(&["flush"]).ok();
    env.sim
        .inject(Fault::new("/apirest.php/", FaultKind::Status(503)));
    env.notify("web01", "HTTP", "CRITICAL", &[]).code(5);
    says(&health(&env, &[]), 0, "ESIA-GLPI OK - 1 event(s) kept");
    let run = health(&env, &["--kept-warning", "0"]);
    says(
        &run,
        1,
        "ESIA-GLPI WARNING - 1 event(s) kept, the oldest for 0 s",
    );
    assert!(run.stdout.contains("| kept=1 "), "{}", run.stdout);
    let run = health(&env, &["--kept-warning", "0", "--kept-critical", "0"]);
    says(&run, 2, "ESIA-GLPI CRITICAL - 1 event(s) kept");
}

#[test]
fn a_key_glpi_keeps_refusing_is_critical_and_named() {
    let env = Env::new();
    // GLPI refuses: the user_token was revoked.
    let conf = std::fs::read_to_string(&env.config).unwrap();
    crate::support::write_private(
        &env.config,
        &conf.replace(crate::support::USER_TOKEN, "revoked-token-000000"),
    );
    env.notify("web01", "HTTP", "CRITICAL", &[]).code(4);
    for _ in 0..2 {
        env.esia(&["flush"]).code(4);
    }
    let run = health(&env, &["--attempts", "3"]);
    says(
        &run,
        2,
        "ESIA-GLPI CRITICAL - GLPI refused 1 key(s): web01/HTTP (3×)",
    );
    assert!(run.stdout.contains("failing=1"), "{}", run.stdout);
}

#[test]
fn events_kept_for_another_glpi_warn() {
    let a = Env::new();
    let mut b = Env::with_sim(crate::support::glpi_sim::Sim::start(), "");
    b.state.clone_from(&a.state);
    b.write_config("");
    a.notify("web01", "HTTP", "CRITICAL", &[]).ok();
    a.sim
        .inject(Fault::new("/apirest.php/", FaultKind::Status(503)));
    a.notify("web01", "HTTP", "WARNING", &[]).code(5);
    b.esia(&["flush"]).code(9);
    let run = health(&b, &[]);
    says(
        &run,
        1,
        "ESIA-GLPI WARNING - 1 event(s) kept for another GLPI",
    );
    assert!(run.stdout.contains("foreign=1"), "{}", run.stdout);
}

#[test]
fn an_unusable_configuration_is_unknown() {
    let env = Env::with_config("no_such_key = 1");
    let run = health(&env, &[]);
    run.code(3);
    assert!(
        run.stdout.starts_with("ESIA-GLPI UNKNOWN - "),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("no_such_key"), "{}", run.stdout);
    assert!(
        !run.stdout.contains('|'),
        "no performance data: {}",
        run.stdout
    );
}
