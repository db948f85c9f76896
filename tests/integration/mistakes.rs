//! SPEC "A configuration mistake loses nothing" and "Identity": an alert
//! that meets an invalid configuration is kept and delivered once the file
//! is fixed (by that configuration only); events kept while `host` was wrong
//! or spelt another way reach their GLPI once the configuration is right;
//! events kept for another GLPI make `flush` exit 9 until `state adopt`
//! hands them over. The real binary against the simulator (and a real
//! PostgreSQL for the database backend).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::glpi_sim::{Fault, FaultKind, Sim};
use crate::support::pg::Pg;
use crate::support::{BIN, Env, Run, write_private};

/// The configuration with `from` replaced by `to` (it must be there).
#[track_caller]
fn edit(env: &Env, path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(&env.config).unwrap();
    assert!(text.contains(from), "{from} in {text}");
    write_private(path, &text.replace(from, to));
}

/// A bare command (as `Env::cmd`) with the configuration at `config`.
fn cmd_with(config: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TZ", "UTC")
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null());
    c
}

/// `notify` with the configuration at `config`.
fn notify_with(env: &Env, config: &Path, state: &str, more: &[&str]) -> Run {
    let mut c = cmd_with(config);
    c.args(["--json", "notify", "--node", "web01", "--service", "HTTP"])
        .args(["--state", state])
        .args(more);
    env.run(&mut c)
}

fn flush_with(env: &Env, config: &Path) -> Run {
    env.run(cmd_with(config).arg("flush"))
}

#[test]
fn an_alert_that_met_a_key_typo_is_delivered_after_the_fix_by_that_configuration_only() {
    let env = Env::new();
    let good = std::fs::read_to_string(&env.config).unwrap();
    // A misspelt key; the fixed file will say default_priority = 5.
    edit(&env, &env.config, "user_token=", "user_tokn=");
    let run = notify_with(&env, &env.config, "CRITICAL", &["--output", "down"]);
    run.code(3);
    assert_eq!(run.json()["action"], "spooled", "{}", run.stdout);
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("user_tokn"),
        "the error comes first: {}",
        run.stderr
    );
    assert!(run.stderr.contains("the event is kept"), "{}", run.stderr);
    assert!(
        env.sim.requests().is_empty(),
        "nothing sent with a bad file"
    );

    // Another configuration, valid, on the same state directory: its flush
    // does not deliver what this file kept.
    let other = env.dir.path().join("other.conf");
    write_private(&other, &good);
    let flush = flush_with(&env, &other);
    flush.ok();
    assert!(
        flush.stdout.contains("1 kept by another configuration"),
        "{}",
        flush.stdout
    );
    assert!(env.sim.tickets().is_empty(), "{}", env.sim.trail());

    // Fixed: its flush delivers it, at the fixed file's default priority.
    write_private(&env.config, &format!("{good}default_priority = 5\n"));
    let flush = flush_with(&env, &env.config);
    flush.ok();
    let tickets = env.sim.tickets();
    assert_eq!(tickets.len(), 1, "{}", env.sim.trail());
    assert_eq!(tickets[0].priority, 5);
    assert!(tickets[0].content.contains("down"));
    // Nothing left anywhere.
    flush_with(&env, &other).ok();
    assert_eq!(env.sim.tickets().len(), 1);
}

#[test]
fn an_alert_that_met_a_missing_password_file_is_kept_then_delivered() {
    let env = Env::over(crate::support::Transport::V2, "");
    let password = env.password_file();
    let saved = std::fs::read(&password).unwrap();
    std::fs::remove_file(&password).unwrap();
    let run = env.notify("web01", "HTTP", "CRITICAL", &["-L", "2"]);
    run.code(3);
    assert_eq!(run.json()["action"], "spooled", "{}", run.stdout);
    std::fs::write(&password, saved).unwrap();
    std::fs::set_permissions(
        &password,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    // Fixed: the next flush delivers it.
    env.esia(&["flush"]).ok();
    let t = &env.sim.tickets()[0];
    assert_eq!(t.priority, 2, "the -L it was given");
}

#[test]
fn an_alert_that_met_a_typo_is_delivered_through_the_state_database_after_the_fix() {
    let pg = Pg::start();
    let env = Env::with_sim(Sim::start(), "");
    let password = env.dir.path().join("pg-password");
    pg.write_password_file(&password);
    env.write_config(&pg.state_table(&password));
    let good = std::fs::read_to_string(&env.config).unwrap();
    edit(&env, &env.config, "timeout=3", "timeout=\"3\"");
    let run = env.notify("web01", "HTTP", "CRITICAL", &[]);
    run.code(3);
    assert_eq!(run.json()["action"], "spooled", "{}", run.stdout);
    write_private(&env.config, &good);
    env.esia(&["flush"]).ok();
    assert_eq!(env.sim.tickets().len(), 1, "{}", env.sim.trail());
    assert_eq!(pg.query("SELECT count(*) FROM kept").trim(), "0");
}

#[test]
fn events_kept_while_host_was_unreachable_are_delivered_after_the_fix() {
    let env = Env::new();
    let good = std::fs::read_to_string(&env.config).unwrap();
    edit(&env, &env.config, &env.sim.base_url(), "http://127.0.0.1:1");
    let run = env.notify("web01", "HTTP", "CRITICAL", &["--output", "first"]);
    run.code(5);
    assert_eq!(run.json()["action"], "spooled");
    write_private(&env.config, &good);
    let flush = env.esia(&["flush"]);
    flush.ok();
    assert!(
        flush.stdout.contains("flushed 1 event(s)"),
        "{}",
        flush.stdout
    );
    assert_eq!(env.sim.tickets().len(), 1, "{}", env.sim.trail());
}

/// Kept for the GLPI at 127.0.0.1 (learned), then the configuration names
/// it `localhost` — another file, a cold cache: the run asks GLPI which it
/// is, and delivers.
#[test]
fn events_kept_under_another_spelling_of_the_same_glpi_are_delivered() {
    let env = Env::new();
    let base = env.sim.base_url();
    env.notify("web01", "HTTP", "CRITICAL", &[]).ok();
    env.sim
        .inject(Fault::new("/apirest.php/", FaultKind::Status(503)));
    let run = env.notify("web01", "HTTP", "WARNING", &["--output", "kept"]);
    run.code(5);
    env.sim.clear_faults();
    let localhost = env.dir.path().join("localhost.conf");
    edit(
        &env,
        &localhost,
        &base,
        &base.replace("127.0.0.1", "localhost"),
    );
    // The cache names the GLPI of each spelling: a new spelling asks.
    let flush = flush_with(&env, &localhost);
    flush.ok();
    assert!(
        flush.stdout.contains("flushed 1 event(s)"),
        "{}",
        flush.stdout
    );
    let t = &env.sim.tickets()[0];
    assert!(t.followups[0].contains("kept"), "{}", env.sim.trail());
    assert_eq!(env.sim.tickets().len(), 1);
}

#[test]
fn events_kept_for_another_glpi_make_flush_exit_9_until_state_adopt_hands_them_over() {
    let a = Env::new();
    let mut b = Env::with_sim(Sim::start(), "");
    b.state.clone_from(&a.state);
    b.write_config("");
    a.notify("web01", "HTTP", "CRITICAL", &[]).ok();
    a.sim
        .inject(Fault::new("/apirest.php/", FaultKind::Status(503)));
    a.notify("web01", "HTTP", "WARNING", &[]).code(5);
    // The configuration now names GLPI B.
    let flush = b.esia(&["flush"]);
    flush.code(9);
    assert!(
        flush.stderr.contains("state adopt"),
        "the hint names the way out: {}",
        flush.stderr
    );
    assert!(b.sim.tickets().is_empty());
    // state list still works, and adopt hands it over.
    let adopt = b.esia(&["state", "adopt", "web01", "HTTP"]);
    adopt.ok();
    assert!(
        adopt.stdout.contains("1 event(s) of 1 key(s) handed to"),
        "{}",
        adopt.stdout
    );
    b.esia(&["flush"]).ok();
    assert_eq!(b.sim.tickets().len(), 1, "{}", b.sim.trail());
    assert!(b.sim.tickets()[0].content.contains("WARNING"));
    // Nothing left for A.
    a.sim.clear_faults();
    a.esia(&["flush"]).ok();
    assert_eq!(a.sim.tickets()[0].followups.len(), 0);
    // Adopting with nothing to adopt says so.
    let again = b.esia(&["state", "adopt"]);
    assert!(
        again.ok().stdout.starts_with("0 event(s)"),
        "{}",
        again.stdout
    );
}
